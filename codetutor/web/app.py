"""The application base of the services the Hub runs (judge, tutor, LLM, dashboard).

- :class:`ServiceAddress`: where a service listens and under which prefix,
  defaulting to what the Hub tells a managed service.
- :class:`HubServiceApp`: a ``codetutor`` command that runs a service: it loads
  its config file (the command line wins over it), logs JSON lines
  (:mod:`codetutor.logging`), runs until SIGTERM or SIGINT and then stops cleanly.
- :class:`WebServiceApp`: a :class:`HubServiceApp` that serves its own tornado
  application, built by :func:`service_application` (its routes under the
  prefix, /health and /metrics, a JSON 404, the request log, the request metrics).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

from jupyterhub.utils import url_path_join
from prometheus_client import CollectorRegistry
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import HasTraits, Int, Unicode, default, validate
from traitlets.config import Application

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.logging import configure_logging

from .handlers import HealthHandler, MetricsHandler, NotFoundHandler, log_request
from .metrics import HTTPMetrics

#: One route of a service: (path under its prefix, handler class, route name or None).
Route = tuple[str, type[web.RequestHandler], str | None]


def load_config(app: Application, path: str) -> None:
    """Load a ``.py`` or ``.json`` config file into ``app``; :class:`UsageError` if unreadable."""
    file = Path(path)
    if not file.is_file():
        raise UsageError(f"no such config file: {path}")
    try:
        app.load_config_file(file.name, path=str(file.parent))
    except Exception as e:
        raise UsageError(f"cannot load {path}: {e}") from e


class ServiceAddress(HasTraits):
    """Where a service listens, and its URL prefix.

    They default to what the Hub tells a managed service (``JUPYTERHUB_SERVICE_URL``,
    ``JUPYTERHUB_SERVICE_PREFIX``), else to the service's own :attr:`default_port`
    and :attr:`default_prefix`.
    """

    default_port: ClassVar[int] = 8000
    default_prefix: ClassVar[str] = "/"

    ip = Unicode(
        help="Address to listen on (default: from JUPYTERHUB_SERVICE_URL, else 127.0.0.1)."
    ).tag(config=True)

    @default("ip")
    def _default_ip(self) -> str:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return (urlparse(url).hostname or "127.0.0.1") if url else "127.0.0.1"

    port = Int(
        help="Port to listen on (default: from JUPYTERHUB_SERVICE_URL, else the service's own)."
    ).tag(config=True)

    @default("port")
    def _default_port(self) -> int:
        url = os.environ.get("JUPYTERHUB_SERVICE_URL")
        return (urlparse(url).port or self.default_port) if url else self.default_port

    base_url = Unicode(
        help="URL prefix of the service (default: JUPYTERHUB_SERVICE_PREFIX, else the "
        "service's own, /services/NAME/)."
    ).tag(config=True)

    @default("base_url")
    def _default_base_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or self.default_prefix

    @validate("base_url")
    def _slashes(self, proposal: Any) -> str:
        value = "/" + str(proposal["value"]).strip("/") + "/"
        return value.replace("//", "/")


def service_application(
    routes: Sequence[Route],
    *,
    base_url: str,
    http_metrics: HTTPMetrics,
    registry: CollectorRegistry,
    health: Callable[[], dict[str, Any] | Awaitable[dict[str, Any]]],
    health_handler: type[web.RequestHandler] = HealthHandler,
    metrics_handler: type[web.RequestHandler] = MetricsHandler,
    not_found_handler: type[web.RequestHandler] = NotFoundHandler,
    extra_handlers: Sequence[Any] = (),
    **settings: Any,
) -> web.Application:
    """A service's tornado application.

    ``routes`` are joined to ``base_url``; ``health`` and ``metrics`` are served
    there too and, under a prefix, also at ``/health`` and ``/metrics`` (probes
    and Prometheus reach the service directly). Unknown paths get a JSON 404.
    ``extra_handlers`` are tornado handler specs at absolute paths. ``base_url`` is
    a setting too; other ``settings``
    are passed on (the handlers' managers, ``service_label``, ...).
    """
    handlers: list[Any] = [
        web.url(url_path_join(base_url, path), handler, name=name) for path, handler, name in routes
    ]
    handlers += [
        web.url(url_path_join(base_url, "health"), health_handler),
        web.url(url_path_join(base_url, "metrics"), metrics_handler),
    ]
    if base_url != "/":
        handlers += [web.url("/health", health_handler), web.url("/metrics", metrics_handler)]
    handlers += list(extra_handlers)
    settings.setdefault("log_function", log_request)
    return web.Application(
        handlers,
        default_handler_class=not_found_handler,
        base_url=base_url,
        http_metrics=http_metrics,
        metrics_registry=registry,
        health=health,
        **settings,
    )


class HubServiceApp(CodeTutorBaseApp):
    """Base of a ``codetutor`` command that runs a service until it is told to stop.

    Subclasses implement :meth:`start_service` and :meth:`stop_service`; bad
    settings found before starting raise :class:`~codetutor.cli.UsageError`
    from :meth:`check_settings`.
    """

    #: the logger of the service's own records (the JSON logs' ``logger``)
    logger_name: ClassVar[str] = "codetutor"

    config_file = Unicode(
        "", help="A config file (.py or .json) to load; the command line wins over it."
    ).tag(config=True)

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            load_config(self, self.config_file)
            self.update_config(self.cli_config)
        configure_logging(logging.DEBUG if self.debug else logging.INFO)
        self.log = logging.getLogger(self.logger_name)

    def check_settings(self) -> None:
        """Raise :class:`UsageError` for settings the service cannot run with."""
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")

    def start(self) -> None:
        self.check_settings()
        asyncio.run(self.serve())

    async def serve(self) -> None:
        """Coroutine: start the service, wait for SIGTERM or SIGINT, stop it."""
        await self.start_service()
        await self.wait_for_signal()
        self.log.info("stopping")
        await self.stop_service()

    async def wait_for_signal(self) -> None:
        """Coroutine: return once the process gets SIGTERM or SIGINT."""
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGTERM, signal.SIGINT)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)

    async def start_service(self) -> None:
        """Coroutine: start serving (returns once the service is up)."""
        raise NotImplementedError

    async def stop_service(self) -> None:
        """Coroutine: stop serving and release everything the service holds."""
        raise NotImplementedError


class WebServiceApp(ServiceAddress, HubServiceApp):
    """A :class:`HubServiceApp` that listens with its own tornado application.

    Subclasses implement :meth:`make_app` and may override the hooks around it:
    :meth:`setup` (before listening), :meth:`started` (after), :meth:`draining`
    (after it stops accepting, before open connections are closed) and
    :meth:`teardown` (last).
    """

    #: trust X-Forwarded-For/-Proto from the proxy in front of the service
    xheaders: ClassVar[bool] = True

    http_server: HTTPServer | None = None
    web_app: web.Application | None = None

    def check_settings(self) -> None:
        super().check_settings()
        if not 0 < self.port < 65536:
            raise UsageError("--port must be between 1 and 65535")

    def make_app(self) -> web.Application:
        """The tornado application (see :func:`service_application`)."""
        raise NotImplementedError

    def max_body_size(self) -> int | None:
        """The largest request body accepted (None: tornado's default)."""
        return None

    async def setup(self) -> None:
        """Coroutine: what must exist before :meth:`make_app` (stores, queues)."""

    async def started(self) -> None:
        """Coroutine: called once the service listens."""
        self.log.info("%s on http://%s:%s%s", self.name, self.ip, self.port, self.base_url)

    async def draining(self) -> None:
        """Coroutine: called once the service stopped accepting connections."""

    async def teardown(self) -> None:
        """Coroutine: release what :meth:`setup` made."""

    async def start_service(self) -> None:
        await self.setup()
        self.web_app = self.make_app()
        self.http_server = HTTPServer(
            self.web_app, xheaders=self.xheaders, max_body_size=self.max_body_size()
        )
        self.http_server.listen(self.port, self.ip)
        await self.started()

    async def stop_service(self) -> None:
        if self.http_server is not None:
            self.http_server.stop()
        await self.draining()
        if self.http_server is not None:
            await asyncio.wait_for(self.http_server.close_all_connections(), timeout=10)
        await self.teardown()
