"""``codetutor judge-service``: the judge's JSON API plus its worker processes."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

from codetutor.insight.model import InsightCache
from codetutor.insight.recommend import Recommender
from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from sqlalchemy.exc import DBAPIError
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Float, Int, Unicode, default

from codetutor.cli import HubServiceApp, UsageError
from codetutor.ratelimit import RateLimiter

from .. import metrics
from ..events import SubmissionWatcher, configure_logging
from ..models import SubmissionStatus
from ..publish import Publisher
from ..queue import DatabaseQueue, Queue, RedisQueue
from ..store import Store, is_unavailable
from ..worker import JudgeBackendMixin, Worker, WorkerPool, load_config
from . import problems, reports, submissions, tutoring
from .base import (
    CallbackHandler,
    HealthHandler,
    MetricsHandler,
    NotFoundHandler,
    OpenAPIHandler,
)

#: The API's routes: (path under the service prefix, handler, route name or None).
#: Each resource module lists its own; a new one is one more line here.
ROUTES: list[tuple[str, type[web.RequestHandler], str | None]] = [
    *problems.ROUTES,
    *submissions.ROUTES,
    *reports.ROUTES,
    *tutoring.ROUTES,
    ("api/openapi.yaml", OpenAPIHandler, None),
    ("health", HealthHandler, None),
    ("metrics", MetricsHandler, None),
    ("oauth_callback", CallbackHandler, None),
]


class JudgeServiceApp(JudgeBackendMixin, HubServiceApp):
    """``codetutor judge-service``: the judge's JSON API plus its worker processes."""

    name = "judge-service"
    description = "Run the judge service (a JupyterHub service) and its workers."

    classes = [
        Store,
        DatabaseQueue,
        RedisQueue,
        Worker,
        WorkerPool,
        RateLimiter,
        HubOAuth,
        Recommender,
    ]

    config_file = Unicode("", help="A config file (.py or .json) to load.").tag(config=True)

    default_port = 10101
    default_prefix = "/services/judge/"

    workers = Int(help="Worker processes to run (default: one per CPU core; 0: none).").tag(
        config=True
    )

    @default("workers")
    def _default_workers(self) -> int:
        return os.cpu_count() or 1

    max_submission_bytes = Int(
        2 << 20, help="Largest submission request body (code or notebook JSON)."
    ).tag(config=True)

    max_notebook_bytes = Int(8 << 20, help="Largest problem notebook accepted for publishing.").tag(
        config=True
    )

    queue_full_retry_s = Int(5, help="Retry-After (seconds) sent when the queue is full.").tag(
        config=True
    )

    active_user_window_s = Float(
        300.0, help="A user counts in active_users this long after their last request."
    ).tag(config=True)

    stream_ping_s = Float(15.0, help="Keep-alive comment interval of a live stream.").tag(
        config=True
    )

    stream_max_s = Float(600.0, help="Longest a live stream stays open.").tag(config=True)

    startup_timeout_s = Float(
        60.0, help="How long to wait on start for the database to answer."
    ).tag(config=True)

    aliases: Any = {
        "config": "JudgeServiceApp.config_file",
        "ip": "JudgeServiceApp.ip",
        "port": "JudgeServiceApp.port",
        "workers": "JudgeServiceApp.workers",
        "db-url": "JudgeServiceApp.db_url",
        "redis-url": "JudgeServiceApp.redis_url",
        "base-url": "JudgeServiceApp.base_url",
    }

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            load_config(self, self.config_file)
            # the command line wins over the file
            self.update_config(self.cli_config)
        configure_logging(logging.DEBUG if self.debug else logging.INFO)
        self.log = logging.getLogger("codetutor.judge.service")

    def start(self) -> None:
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        if self.workers < 0:
            raise UsageError("--workers must be 0 or more")
        asyncio.run(self.run())

    def make_app(
        self,
        *,
        store: Store,
        queue: Queue,
        limiter: RateLimiter,
        watcher: SubmissionWatcher,
        hub_auth: HubOAuth,
        pool: WorkerPool | None,
    ) -> web.Application:
        """The tornado application with its routes and settings."""
        base = self.base_url

        def route(path: str) -> str:
            return url_path_join(base, path)

        handlers: list[Any] = [
            web.url(route(path), handler, name=name) for path, handler, name in ROUTES
        ]
        if base != "/":
            handlers += [
                web.url("/health", HealthHandler),
                web.url("/metrics", MetricsHandler),
            ]
        return web.Application(
            handlers,
            default_handler_class=NotFoundHandler,
            store=store,
            queue=queue,
            limiter=limiter,
            watcher=watcher,
            hub_auth=hub_auth,
            pool=pool,
            publisher=Publisher(parent=self),
            insight=InsightCache(store),
            recommender=Recommender(parent=self),
            activity={},
            redis_url=self.redis_url,
            max_submission_bytes=self.max_submission_bytes,
            max_notebook_bytes=self.max_notebook_bytes,
            queue_full_retry_s=self.queue_full_retry_s,
            stream_ping_s=self.stream_ping_s,
            stream_max_s=self.stream_max_s,
            xsrf_cookies=True,
            cookie_secret=os.urandom(32),
            log_function=_log_request,
        )

    def worker_config(self) -> dict[str, Any]:
        """This service's configuration for its workers (the file the pool hands them)."""
        config = json.loads(json.dumps(self.config, default=_config_value))
        backend = config.setdefault("JudgeBackendMixin", {})
        backend["db_url"] = self.db_url
        backend["redis_url"] = self.redis_url
        if self.queue_class is not None:
            backend["queue_class"] = f"{self.queue_class.__module__}.{self.queue_class.__name__}"
        return dict(config)

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT; then stop the workers (they give back their work)."""
        store = self.make_store()
        await self._upgrade(store)
        queue = self.make_queue(store)
        await queue.connect()
        limiter = RateLimiter(parent=self, redis_url=self.redis_url)
        watcher = SubmissionWatcher(parent=self, store=store, redis_url=self.redis_url)
        hub_auth = HubOAuth(parent=self, base_url=self.base_url)
        pool: WorkerPool | None = None
        config_dir = tempfile.TemporaryDirectory(prefix="codetutor-judge-")
        if self.workers:
            config_path = Path(config_dir.name) / "worker.json"
            config_path.write_text(json.dumps(self.worker_config()))
            pool = WorkerPool(parent=self, config_path=str(config_path))
        app = self.make_app(
            store=store, queue=queue, limiter=limiter, watcher=watcher, hub_auth=hub_auth, pool=pool
        )
        server = HTTPServer(
            app,
            xheaders=True,
            max_body_size=max(self.max_notebook_bytes, self.max_submission_bytes) + 1024,
        )
        server.listen(self.port, self.ip)
        tasks = [
            asyncio.create_task(watcher.run()),
            asyncio.create_task(self._refresh_gauges(store, app)),
        ]
        if pool is not None:
            pool.start(self.workers)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.log.info(
            "judge service on http://%s:%s%s with %s workers, database %s, queue %s",
            self.ip,
            self.port,
            self.base_url,
            self.workers,
            store.engine.url.get_backend_name() if store.engine else "?",
            type(queue).__name__,
        )
        await stop.wait()
        self.log.info("stopping")
        server.stop()
        if pool is not None:
            await pool.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.close_all_connections()
        await limiter.close()
        await queue.close()
        await store.close()
        config_dir.cleanup()

    async def _upgrade(self, store: Store) -> None:
        """Migrate the database, waiting up to ``startup_timeout_s`` for it to answer."""
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            try:
                await store.upgrade()
                return
            except Exception as e:
                if not is_unavailable(e) or time.monotonic() > deadline:
                    raise
                self.log.warning("waiting for the database: %s", type(e).__name__)
                await asyncio.sleep(1.0)

    async def _refresh_gauges(self, store: Store, app: web.Application) -> None:
        while True:
            try:
                counts = await store.status_counts()
                for status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
                    metrics.QUEUE_DEPTH.labels(status=status.value).set(counts.get(status.value, 0))
                metrics.ACTIVE_SANDBOXES.set(counts.get(SubmissionStatus.RUNNING.value, 0))
            except DBAPIError as e:
                self.log.warning("cannot refresh queue gauges: %s", type(e.orig).__name__)
            activity: dict[str, float] = app.settings["activity"]
            horizon = time.monotonic() - self.active_user_window_s
            for name in [n for n, t in activity.items() if t < horizon]:
                del activity[name]
            metrics.ACTIVE_USERS.set(len(activity))
            await asyncio.sleep(1.0)


def _config_value(value: Any) -> str:
    """A config value as the JSON config file of a worker can hold it."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def _log_request(handler: web.RequestHandler) -> None:
    status = handler.get_status()
    if status < 400 and handler.request.path.endswith(("/health", "/metrics")):
        return
    log = logging.getLogger("codetutor.judge.access")
    level = logging.INFO if status < 500 else logging.ERROR
    log.log(
        level,
        "%s %s %s %.1fms",
        status,
        handler.request.method,
        handler.request.uri,
        1000 * handler.request.request_time(),
    )
