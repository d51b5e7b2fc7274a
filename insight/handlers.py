"""The dashboard's tornado handlers: the page, the gradebook files, health, metrics.

Thin (STYLE.md 4): authenticate with the Hub (OAuth cookie of the browser, or a
token), let only users holding the service's access scope in (the Hub grants
``access:services!service=dashboard`` to instructors), read the class's
:class:`~codetutor.insight.model.Insight` from the cache in ``self.settings``,
render.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from jupyterhub.services.auth import HubOAuth, HubOAuthenticated
from sqlalchemy.exc import DBAPIError
from tornado import web

from codetutor.errors import CodeTutorError
from codetutor.judge.verdict import dumps
from codetutor.tutor.transcripts import Transcripts
from codetutor.web import JSONHandler

from . import charts
from .gradebook import gradebook, gradebook_csv, gradebook_json
from .i18n import pick_language, title_in, verdict_names, words
from .metrics import Endpoint
from .model import Insight, InsightCache, elo
from .overview import class_overview
from .recommend import Recommender, recommendations_view

log = logging.getLogger("codetutor.insight")

T = TypeVar("T")


def write_gradebook(
    handler: web.RequestHandler, insight: Insight, form: str, *, filename: str, spreadsheet: bool
) -> None:
    """Answer with the class's gradebook as ``form`` (``csv`` or ``json``).

    The one implementation behind both services that serve the gradebook: the
    judge API's ``api/gradebook`` and the dashboard's ``gradebook.csv``/``.json``.
    CSV is an attachment named ``filename``; for a ``spreadsheet`` download it
    starts with a byte-order mark (so that spreadsheet programs read Korean names
    as UTF-8) and JSON is an attachment too.
    """
    handler.set_header("Cache-Control", "no-store")
    if form == "csv":
        handler.set_header("Content-Type", "text/csv; charset=UTF-8")
        handler.set_header("Content-Disposition", f'attachment; filename="{filename}.csv"')
        text = gradebook_csv(gradebook(insight))
        handler.finish((("\ufeff" if spreadsheet else "") + text).encode("utf-8"))
        return
    if spreadsheet:
        handler.set_header("Content-Disposition", f'attachment; filename="{filename}.json"')
    handler.set_header("Content-Type", "application/json; charset=UTF-8")
    handler.finish(dumps(gradebook_json(insight), ensure_ascii=False))


class DashboardBaseHandler(HubOAuthenticated, JSONHandler):
    """Hub authentication (instructors only, by the service's access scope); errors as HTML.

    Request context, metrics and the mapping of errors to statuses are
    :class:`~codetutor.web.JSONHandler`'s; only the error page is HTML here.
    """

    endpoint: ClassVar[str] = Endpoint.OTHER

    @property
    def hub_auth(self) -> HubOAuth:
        auth: HubOAuth = self.settings["hub_auth"]
        return auth

    @property
    def insight_cache(self) -> InsightCache:
        cache: InsightCache = self.settings["insight"]
        return cache

    @property
    def hub_scopes(self) -> set[str]:
        # never "anyone the Hub knows": without configured access scopes, this service's own
        return set(self.hub_auth.access_scopes) or {
            f"access:services!service={self.settings['service_name']}"
        }

    async def load_insight(self) -> Insight:
        """Coroutine: the class's insight now; 503 while the judge's database cannot answer."""
        insight: Insight = await self.read_database(self.insight_cache.get())
        return insight

    async def read_database(self, read: Awaitable[T]) -> T:
        """Coroutine: await ``read`` (of the judge's database); 503 while it cannot answer."""
        try:
            return await read
        except DBAPIError as e:
            raise CodeTutorError(
                "the judge database is unavailable",
                f"judge database unavailable: {type(e.orig).__name__}",
                status=503,
                headers={"Retry-After": "5"},
            ) from None

    def language(self) -> str:
        return pick_language(
            self.get_query_argument("lang", None), self.request.headers.get("Accept-Language")
        )

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        message = str(self.error_body(status_code, error)["message"])
        if self.get_status() == 403:
            message = "the class dashboard is for instructors"
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            "<!doctype html><meta charset=utf-8><title>Code Tutor</title>"
            f"<p>{self.get_status()}: {web.escape.xhtml_escape(message)}</p>"
        )


def _when(value: str | None) -> str:
    if not value:
        return charts.EMPTY
    moment = datetime.fromisoformat(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def page_context(overview: dict[str, Any], lang: str) -> dict[str, Any]:
    """Everything the dashboard template shows, in ``lang``, charts rendered as SVG."""
    w = words(lang)
    verdicts = verdict_names(lang)
    problems = overview["problems"]
    tried = [p for p in problems if p["attempts"]]

    def title(p: dict[str, Any]) -> str:
        return title_in(p["title"], lang, p["problem"])

    totals = overview["totals"]
    activity = overview["activity"]
    return {
        "lang": lang,
        "other_lang": "ko" if lang == "en" else "en",
        "w": w,
        "totals": totals,
        "acceptance": totals["accepted"] / totals["submissions"] if totals["submissions"] else None,
        "generated": _when(overview["generated_at"]),
        "chart_activity": charts.columns(
            "activity",
            w["activity"],
            [a["day"][5:] for a in activity],
            [
                (w["submitted_series"], "#1565c0", [a["submissions"] for a in activity]),
                (
                    w["accepted_series"],
                    charts.VERDICT_COLORS["accepted"],
                    [a["accepted"] for a in activity],
                ),
            ],
        ),
        "chart_acceptance": charts.horizontal_bars(
            "acceptance",
            w["acceptance_chart"],
            [
                charts.Bar(title(p), p["acceptance_rate"], f"({p['attempts']})")
                for p in sorted(tried, key=lambda p: (p["acceptance_rate"], p["problem"]))
            ],
        ),
        "chart_verdicts": charts.stacked_bars(
            "verdicts",
            w["verdict_chart"],
            [(title(p), p["verdicts"]) for p in tried],
            verdicts,
        ),
        "chart_tags": charts.horizontal_bars(
            "tags",
            w["tag_chart"],
            [
                charts.Bar(t["tag"], t["mastery"])
                for t in sorted(overview["tags"], key=lambda t: (t["mastery"] or 0, t["tag"]))
                if t["mastery"] is not None
            ],
            color="#6a1b9a",
        ),
        "problems": [
            {
                **p,
                "shown_title": title(p),
                "verdict_list": [
                    (verdicts.get(k, k), n, charts.VERDICT_COLORS.get(k, "#616161"))
                    for k, n in list(p["verdicts"].items())[:3]
                ],
            }
            for p in problems
        ],
        "students": sorted(
            overview["students"], key=lambda s: (not s["struggling"], -s["solved"], s["user"])
        ),
        "recent": [
            {
                **r,
                "when": _when(r["at"]),
                "verdict_name": verdicts.get(r["verdict"], r["verdict"]),
                "color": charts.VERDICT_COLORS.get(r["verdict"], "#616161"),
            }
            for r in overview["recent"]
        ],
        "titles": {p["problem"]: title(p) for p in problems},
        "base_url": "",
    }


class DashboardHandler(DashboardBaseHandler):
    """``GET /services/dashboard/``: the class dashboard page (``?lang=ko|en``)."""

    endpoint = Endpoint.DASHBOARD

    @web.authenticated
    async def get(self) -> None:
        lang = self.language()
        insight = await self.load_insight()
        context = page_context(class_overview(insight), lang)
        context["base_url"] = self.settings["base_url"]
        context["user"] = self.current_user["name"] if self.current_user else ""
        html = self.settings["templates"].get_template("dashboard.html").render(**context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Language", lang)
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


def student_context(
    insight: Insight, recommender: Recommender, user: str, lang: str
) -> dict[str, Any]:
    """One student's page in ``lang``: mastery chart, recommendations, problem records."""
    w = words(lang)
    view = recommendations_view(insight, recommender, user, limit=5)
    problems = insight.history.problems
    records = []
    for slug, record in sorted(insight.records[user].items()):
        info = problems[slug]
        records.append(
            {
                "problem": slug,
                "title": title_in(info.title, lang, slug),
                "difficulty": info.difficulty,
                "attempts": record.attempts,
                "best_score": record.best_score,
                "first_accepted_at": _when(
                    record.first_accepted_at.isoformat() if record.first_accepted_at else None
                ),
                "struggling": slug in insight.struggling(user),
            }
        )
    tried = [m for m in view["mastery"] if m["attempts"]]
    return {
        "lang": lang,
        "other_lang": "ko" if lang == "en" else "en",
        "w": w,
        "student": user,
        "rating": view["rating"],
        "solved": len(view["solved"]),
        "chart_mastery": charts.horizontal_bars(
            "mastery",
            w["mastery_chart"],
            [charts.Bar(m["tag"], m["mastery"], f"({m['solved']}/{m['attempts']})") for m in tried],
            color="#6a1b9a",
        ),
        "recommendations": [
            {
                **r,
                "shown_title": title_in(r["title"], lang, r["problem"]),
                "reasons_text": [x[lang] for x in r["reasons"]],
                "problem_rating": elo(insight.model.problem_difficulty(problems[r["problem"]])),
            }
            for r in view["recommendations"]
        ],
        "records": records,
        "base_url": "",
    }


class StudentHandler(DashboardBaseHandler):
    """``GET students/NAME``: one student's mastery, recommendations and problems."""

    endpoint = Endpoint.STUDENT

    @web.authenticated
    async def get(self, name: str) -> None:
        lang = self.language()
        insight = await self.load_insight()
        if name not in insight.records:
            raise web.HTTPError(404, "no submissions of %s", name)
        context = student_context(insight, self.settings["recommender"], name, lang)
        context["base_url"] = self.settings["base_url"]
        context["user"] = self.current_user["name"] if self.current_user else ""
        html = self.settings["templates"].get_template("student.html").render(**context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Language", lang)
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


def _conversation_context(lang: str, user: str, base_url: str) -> dict[str, Any]:
    return {
        "lang": lang,
        "other_lang": "ko" if lang == "en" else "en",
        "w": words(lang),
        "user": user,
        "base_url": base_url,
    }


class ConversationsHandler(DashboardBaseHandler):
    """``GET conversations`` and ``conversations/PROBLEM``: the class's tutor conversations.

    The problems students talked to the tutor about, then each student's whole
    conversation on one problem, read from the tutor's
    :class:`~codetutor.tutor.transcripts.Transcripts` (``settings["transcripts"]``).
    Instructors only, as every page here.
    """

    endpoint = Endpoint.OTHER

    @web.authenticated
    async def get(self, problem: str | None = None) -> None:
        lang = self.language()
        transcripts: Transcripts = self.settings["transcripts"]
        user = self.current_user["name"] if self.current_user else ""
        context = _conversation_context(lang, user, self.settings["base_url"])
        context["recorded"] = transcripts.enabled
        context["problem"] = problem
        try:
            if problem is None:
                context["problems"] = [
                    {**p, "last": _when(datetime.fromtimestamp(p["last_at"], UTC).isoformat())}
                    for p in await transcripts.problems()
                ]
            else:
                context["conversations"] = {
                    name: [
                        {**m, "when": _when(datetime.fromtimestamp(m["at"], UTC).isoformat())}
                        for m in messages
                    ]
                    for name, messages in (await transcripts.conversations(problem)).items()
                }
        except DBAPIError as e:
            raise CodeTutorError(
                "the tutor's conversations are unavailable",
                f"transcripts database unavailable: {type(e.orig).__name__}",
                status=503,
                headers={"Retry-After": "5"},
            ) from None
        html = self.settings["templates"].get_template("conversations.html").render(**context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Language", lang)
        self.set_header("Cache-Control", "no-store")
        self.finish(html)


class GradebookFileHandler(DashboardBaseHandler):
    """``GET gradebook.csv`` / ``gradebook.json``: the gradebook as a download."""

    endpoint = Endpoint.GRADEBOOK

    @web.authenticated
    async def get(self, form: str) -> None:
        insight = await self.load_insight()
        stamp = datetime.now().strftime("%Y%m%d")
        write_gradebook(self, insight, form, filename=f"gradebook-{stamp}", spreadsheet=True)
