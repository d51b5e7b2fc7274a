"""``codetutor judge-service``: the judge's JSON API plus its worker processes."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from jupyterhub.services.auth import HubOAuth
from sqlalchemy.exc import DBAPIError
from tornado import web
from traitlets import Float, Int, default

from codetutor.cli import UsageError
from codetutor.insight.model import InsightCache
from codetutor.insight.recommend import Recommender
from codetutor.ratelimit import RateLimiter
from codetutor.web import HubCallbackHandler, Route, WebServiceApp, service_application

from .. import metrics
from ..events import SubmissionWatcher
from ..models import SubmissionStatus
from ..publish import Publisher, QueuedPublisher
from ..queue import DatabaseQueue, Queue, RedisQueue
from ..store import Store, is_unavailable
from ..worker import JudgeBackendMixin, Worker, WorkerPool
from . import courses, problems, reports, submissions, tutoring
from .base import OpenAPIHandler, rate_limited
from .coursework import CourseManager
from .manager import SubmissionManager

#: The API's routes: (path under the service prefix, handler, route name or None).
#: Each resource module lists its own; a new one is one more line here. /health and
#: /metrics are the skeleton's (:func:`codetutor.web.service_application`).
ROUTES: list[Route] = [
    *problems.ROUTES,
    *submissions.ROUTES,
    *reports.ROUTES,
    *tutoring.ROUTES,
    *courses.ROUTES,
    ("api/openapi.yaml", OpenAPIHandler, None),
    ("oauth_callback", HubCallbackHandler, None),
]


class JudgeServiceApp(JudgeBackendMixin, WebServiceApp):
    """``codetutor judge-service``: the judge's JSON API plus its worker processes."""

    name = "judge-service"
    description = "Run the judge service (a JupyterHub service) and its workers."
    logger_name = "codetutor.judge.service"

    classes = [
        Store,
        DatabaseQueue,
        RedisQueue,
        Worker,
        WorkerPool,
        RateLimiter,
        HubOAuth,
        Recommender,
        CourseManager,
    ]

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

    store: Store
    queue: Queue
    limiter: RateLimiter
    watcher: SubmissionWatcher
    hub_auth: HubOAuth
    pool: WorkerPool | None = None

    def check_settings(self) -> None:
        super().check_settings()
        if self.workers < 0:
            raise UsageError("--workers must be 0 or more")

    def max_body_size(self) -> int:
        return max(self.max_notebook_bytes, self.max_submission_bytes) + 1024

    async def setup(self) -> None:
        """Migrate the database; connect the queue; make the limiter, watcher and workers."""
        self.store = self.make_store()
        await self._upgrade(self.store)
        self.queue = self.make_queue(self.store)
        await self.queue.connect()
        self.limiter = RateLimiter(parent=self, redis_url=self.redis_url)
        self.watcher = SubmissionWatcher(parent=self, store=self.store, redis_url=self.redis_url)
        self.hub_auth = HubOAuth(parent=self, base_url=self.base_url)
        self._config_dir = tempfile.TemporaryDirectory(prefix="codetutor-judge-")
        if self.workers:
            config_path = Path(self._config_dir.name) / "worker.json"
            config_path.write_text(json.dumps(self.worker_config()))
            self.pool = WorkerPool(parent=self, config_path=str(config_path))

    def make_app(self) -> web.Application:
        """The tornado application with its routes and settings."""
        return service_application(
            ROUTES,
            base_url=self.base_url,
            http_metrics=metrics.HTTP,
            registry=metrics.REGISTRY,
            health=self.health,
            service_label="judge service",
            access_logger="codetutor.judge.access",
            store=self.store,
            queue=self.queue,
            limiter=self.limiter,
            on_rate_limited=rate_limited,
            watcher=self.watcher,
            hub_auth=self.hub_auth,
            pool=self.pool,
            submissions=SubmissionManager(
                parent=self,
                store=self.store,
                queue=self.queue,
                queue_full_retry_s=self.queue_full_retry_s,
            ),
            # The reference run happens in a worker (sandboxes start only there): this
            # service's own, or (--workers=0 with Redis) the separate workers sharing its
            # queue. Only a service with neither publishes in its own process.
            publisher=QueuedPublisher(parent=self, queue=self.queue)
            if self.workers or self.redis_url
            else Publisher(parent=self),
            courses=CourseManager(parent=self, store=self.store),
            insight=InsightCache(self.store),
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
        )

    async def health(self) -> dict[str, Any]:
        """The /health document: ``unavailable`` (503) without the database,
        ``degraded`` without a configured Redis."""
        database_error = await self.store.ping()
        redis_error: str | None = None
        redis_configured = bool(self.redis_url)
        if redis_configured:
            redis_error = await self.queue.transport_status()
        status = "ok"
        if database_error is not None:
            status = "unavailable"
        elif redis_error is not None:
            status = "degraded"
        return {
            "status": status,
            "database": {"ok": database_error is None, "error": database_error},
            "redis": {
                "configured": redis_configured,
                "ok": redis_configured and redis_error is None,
                "error": redis_error,
            },
            "workers": len(self.pool.pids()) if self.pool else 0,
        }

    async def started(self) -> None:
        assert self.web_app is not None
        self._tasks = [
            asyncio.create_task(self.watcher.run()),
            asyncio.create_task(self._refresh_gauges(self.store, self.web_app)),
        ]
        if self.pool is not None:
            self.pool.start(self.workers)
        self.log.info(
            "judge service on http://%s:%s%s with %s workers, database %s, queue %s",
            self.ip,
            self.port,
            self.base_url,
            self.workers,
            self.store.engine.url.get_backend_name() if self.store.engine else "?",
            type(self.queue).__name__,
        )

    async def draining(self) -> None:
        """Stop the workers (they give back their work) and the background tasks."""
        if self.pool is not None:
            await self.pool.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def teardown(self) -> None:
        await self.limiter.close()
        await self.queue.close()
        await self.store.close()
        self._config_dir.cleanup()

    def worker_config(self) -> dict[str, Any]:
        """This service's configuration for its workers (the file the pool hands them)."""
        config = json.loads(json.dumps(self.config, default=_config_value))
        backend = config.setdefault("JudgeBackendMixin", {})
        backend["db_url"] = self.db_url
        backend["redis_url"] = self.redis_url
        if self.queue_class is not None:
            backend["queue_class"] = f"{self.queue_class.__module__}.{self.queue_class.__name__}"
        return dict(config)

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
