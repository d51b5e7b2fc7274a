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
- ``gradebook``, ``submissions``, ``submissions/ID``, ``submissions/ID/diff``,
  ``submissions.zip``: students' work, code and hidden-case details included
  (:mod:`.submission_pages`);
- ``similarity``, ``similarity/PROBLEM``, ``similarity/PROBLEM/pair``, ``similarity.csv``,
  ``similarity.json``, ``POST similarity/run``: similar submissions
  (:mod:`.similarity_handlers`), compared in the background by
  :class:`~.similarity_report.SimilarityChecker` (``--archive=DIR``: earlier terms);
- ``oauth_callback``: the end of the Hub's OAuth login;
- ``health`` and ``metrics`` (no authentication).

Only users with the Hub scope ``access:services!service=dashboard`` get in;
the Hub's instructor role carries it. The numbers are read from the judge's
database (read only, but for a similarity report made on demand, which is stored
there; the judge service owns its schema).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import jinja2
from jupyterhub.services.auth import HubOAuth
from tornado import web
from traitlets import Unicode, default

from codetutor.judge.store import Store
from codetutor.tutor.transcripts import Transcripts
from codetutor.web import HubCallbackHandler, Route, WebServiceApp, service_application

from . import course_pages, metrics, submission_pages
from .handlers import (
    ConversationsHandler,
    DashboardHandler,
    GradebookFileHandler,
    StudentHandler,
)
from .model import InsightCache
from .recommend import Recommender
from .similarity_handlers import (
    SimilarityFileHandler,
    SimilarityHandler,
    SimilarityPairHandler,
    SimilarityRunHandler,
)
from .similarity_report import SimilarityChecker

TEMPLATES = Path(__file__).with_name("templates")

#: The dashboard's routes (path under the prefix, handler, name); /health and /metrics
#: are the skeleton's.
ROUTES: list[Route] = [
    ("", DashboardHandler, None),
    (r"gradebook\.(csv|json)", GradebookFileHandler, None),
    (r"students/([^/]+)", StudentHandler, None),
    ("conversations", ConversationsHandler, None),
    (r"conversations/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", ConversationsHandler, None),
    *submission_pages.ROUTES,
    *course_pages.ROUTES,
    (r"similarity\.(csv|json)", SimilarityFileHandler, None),
    ("similarity", SimilarityHandler, None),
    ("similarity/run", SimilarityRunHandler, None),
    (r"similarity/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})", SimilarityHandler, None),
    (r"similarity/([A-Za-z0-9][A-Za-z0-9_.-]{0,127})/pair", SimilarityPairHandler, None),
    ("oauth_callback", HubCallbackHandler, None),
]


class DashboardApp(WebServiceApp):
    """``codetutor dashboard``: run the class dashboard service (module docstring)."""

    name = "dashboard"
    description = "Run the instructors' class dashboard (a JupyterHub service)."
    logger_name = "codetutor.insight"

    classes = [Store, HubOAuth, Recommender, SimilarityChecker]

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
        "config": "DashboardApp.config_file",
        "ip": "DashboardApp.ip",
        "port": "DashboardApp.port",
        "base-url": "DashboardApp.base_url",
        "db-url": "DashboardApp.db_url",
        "archive": "SimilarityChecker.archive_dir",
    }

    store: Store
    transcripts: Transcripts
    similarity: SimilarityChecker

    def make_store(self) -> Store:
        return Store(parent=self, url=self.db_url) if self.db_url else Store(parent=self)

    async def setup(self) -> None:
        self.transcripts = Transcripts(parent=self)
        self.store = self.make_store()
        await self.store.connect()
        self.similarity = SimilarityChecker(
            parent=self, store=self.store, transcripts=self.transcripts
        )
        self.similarity.start()

    async def health(self) -> dict[str, Any]:
        """The /health document: ``unavailable`` (503) while the judge's database does not answer."""
        error = await self.store.ping()
        return {"status": "ok" if error is None else "unavailable", "database": {"error": error}}

    def make_app(self) -> web.Application:
        """The tornado application with its routes and settings."""
        extra: list[Any] = []
        if self.base_url != "/":
            # the prefix without its slash redirects to the page
            extra.append(
                web.url(self.base_url.rstrip("/"), web.RedirectHandler, {"url": self.base_url})
            )
        return service_application(
            ROUTES,
            extra_handlers=extra,
            base_url=self.base_url,
            http_metrics=metrics.HTTP,
            registry=metrics.REGISTRY,
            health=self.health,
            service_label="dashboard service",
            access_logger="codetutor.insight.access",
            store=self.store,
            insight=InsightCache(self.store),
            recommender=Recommender(parent=self),
            transcripts=self.transcripts,
            similarity=self.similarity,
            hub_auth=HubOAuth(parent=self, base_url=self.base_url),
            service_name=self.service_name,
            templates=jinja2.Environment(
                loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True
            ),
            cookie_secret=os.urandom(32),
            xsrf_cookies=True,
        )

    async def teardown(self) -> None:
        await self.similarity.stop()
        await self.transcripts.close()
        await self.store.close()
