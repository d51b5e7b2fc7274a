"""``codetutor dashboard``: the instructors' class dashboard, a JupyterHub service.

Serves, under its prefix (``/services/dashboard/`` when the Hub runs it):

- ``""``: the dashboard page (``?lang=ko|en``; default from ``Accept-Language``):
  totals, charts (activity per day, acceptance rate and verdicts per problem,
  mean mastery per topic) and tables (students with those struggling first,
  problems, recent activity), all rendered on the server as HTML and SVG;
- ``students/NAME``: one student: rating, mastery per topic (chart), the
  problems the recommender would give them next with its reasons, and their
  record on each problem tried;
- ``gradebook.csv`` and ``gradebook.json``: the gradebook as a download;
- ``oauth_callback``: the end of the Hub's OAuth login;
- ``health`` and ``metrics`` (no authentication).

Only users with the Hub scope ``access:services!service=dashboard`` get in;
the Hub's instructor role carries it. The numbers are read from the judge's
database (read only; the judge service owns its schema).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path
from typing import Any

import jinja2
from jupyterhub.services.auth import HubOAuth
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Unicode, default

from codetutor.cli import HubServiceApp, UsageError
from codetutor.judge.store import Store
from codetutor.logging import configure_logging

from .handlers import (
    CallbackHandler,
    DashboardHandler,
    GradebookFileHandler,
    HealthHandler,
    MetricsHandler,
    StudentHandler,
)
from .model import InsightCache
from .recommend import Recommender

TEMPLATES = Path(__file__).with_name("templates")


class DashboardApp(HubServiceApp):
    """``codetutor dashboard``: run the class dashboard service (module docstring)."""

    name = "dashboard"
    description = "Run the instructors' class dashboard (a JupyterHub service)."

    classes = [Store, HubOAuth, Recommender]

    default_port = 10103
    default_prefix = "/services/dashboard/"

    service_name = Unicode(
        help="The service's name in the Hub (default: JUPYTERHUB_SERVICE_NAME, else dashboard); "
        "users need access:services!service=NAME."
    ).tag(config=True)

    @default("service_name")
    def _default_service_name(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME") or "dashboard"

    db_url = Unicode(
        "", help="The judge's database URL (default: the judge's own default, SQLite)."
    ).tag(config=True)

    aliases: Any = {
        "ip": "DashboardApp.ip",
        "port": "DashboardApp.port",
        "base-url": "DashboardApp.base_url",
        "db-url": "DashboardApp.db_url",
    }

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        configure_logging(logging.DEBUG if self.debug else logging.INFO)
        self.log = logging.getLogger("codetutor.insight")

    def start(self) -> None:
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        if not 0 < self.port < 65536:
            raise UsageError("--port must be between 1 and 65535")
        asyncio.run(self.run())

    def make_store(self) -> Store:
        return Store(parent=self, url=self.db_url) if self.db_url else Store(parent=self)

    def make_app(self, *, store: Store, hub_auth: HubOAuth) -> web.Application:
        """The tornado application with its routes and settings."""

        def route(path: str) -> str:
            return url_path_join(self.base_url, path)

        handlers: list[Any] = [
            (route(""), DashboardHandler),
            (route(r"gradebook\.(csv|json)"), GradebookFileHandler),
            (route(r"students/([^/]+)"), StudentHandler),
            (route("oauth_callback"), CallbackHandler),
            (route("health"), HealthHandler),
            (route("metrics"), MetricsHandler),
        ]
        if self.base_url != "/":
            handlers.append(
                (self.base_url.rstrip("/"), web.RedirectHandler, {"url": self.base_url})
            )
        return web.Application(
            handlers,
            store=store,
            insight=InsightCache(store),
            recommender=Recommender(parent=self),
            hub_auth=hub_auth,
            base_url=self.base_url,
            service_name=self.service_name,
            templates=jinja2.Environment(
                loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
            ),
            cookie_secret=os.urandom(32),
            xsrf_cookies=True,
        )

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT."""
        store = self.make_store()
        await store.connect()
        hub_auth = HubOAuth(parent=self, base_url=self.base_url)
        app = self.make_app(store=store, hub_auth=hub_auth)
        server = HTTPServer(app, xheaders=True)
        server.listen(self.port, self.ip)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.log.info("class dashboard on http://%s:%s%s", self.ip, self.port, self.base_url)
        await stop.wait()
        server.stop()
        await server.close_all_connections()
        await store.close()
