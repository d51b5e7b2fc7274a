"""The dashboard's pages of students' work (instructors only, as every dashboard page).

=======================================  ===============================================
``submissions?user=NAME&problem=SLUG``   the submissions of a student and/or a problem
``submissions.zip?user=…&problem=…``     the same as notebooks in a zip
``submissions/ID``                       one submission: verdict, every case (hidden ones
                                         in full), the code as the judge ran it
``submissions/ID/diff?against=OTHER``    the difference between two submissions' code,
                                         older to newer
``gradebook``                            the gradebook as a page: best score per student
                                         and problem, each linking to its submissions
=======================================  ===============================================

Each page links back: submission → student, problem, gradebook, dashboard; gradebook
→ student and submissions; dashboard → gradebook and submissions.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from tornado import web

from codetutor.errors import CodeTutorError

from . import charts
from .gradebook import gradebook
from .handlers import DashboardBaseHandler
from .i18n import title_in, verdict_names, words
from .metrics import Endpoint
from .submissions import (
    Found,
    cases_view,
    diff_lines,
    get_submission,
    list_submissions,
    notebook_cells,
    statement_html,
    submissions_zip,
    viewer_words,
)

#: a user name or problem slug in a query (the Hub's names; the judge's slugs)
MAX_NAME = 255


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else charts.EMPTY


class WorkHandler(DashboardBaseHandler):
    """What the pages share: the language, the words, rendering, the judge's database."""

    def context(self) -> dict[str, Any]:
        lang = self.language()
        return {
            "lang": lang,
            "other_lang": "ko" if lang == "en" else "en",
            "w": {**words(lang), **viewer_words(lang)},
            "verdicts": verdict_names(lang),
            "colors": charts.VERDICT_COLORS,
            "user": self.current_user["name"] if self.current_user else "",
            "base_url": self.settings["base_url"],
        }

    def render_page(self, template: str, context: dict[str, Any]) -> None:
        html = self.settings["templates"].get_template(template).render(**context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Language", context["lang"])
        self.set_header("Cache-Control", "no-store")
        self.finish(html)

    def filters(self) -> tuple[str | None, str | None]:
        """``user`` and ``problem`` from the query; 400 without either, or too long."""
        user = self.get_query_argument("user", None) or None
        problem = self.get_query_argument("problem", None) or None
        if user is None and problem is None:
            raise CodeTutorError("name a student (user=) or a problem (problem=)", status=400)
        if len(user or "") > MAX_NAME or len(problem or "") > MAX_NAME:
            raise CodeTutorError("user and problem are names of at most 255 characters", status=400)
        return user, problem

    async def one(self, submission_id: str) -> Found:
        found: Found | None = await self.read_database(
            get_submission(self.settings["store"], int(submission_id))
        )
        if found is None:
            raise CodeTutorError(f"no submission {submission_id}", status=404)
        return found


def row_view(found: Found, lang: str) -> dict[str, Any]:
    """One line of a submissions list."""
    row = found.row
    return {
        "id": row.id,
        "user": found.user,
        "problem": found.problem.slug,
        "title": title_in(found.problem.title, lang, found.problem.slug),
        "version": found.problem.version,
        "status": row.status,
        "verdict": row.verdict,
        "score": row.score,
        "time_ms": row.time_ms,
        "when": _when(row.created_at),
    }


class SubmissionListHandler(WorkHandler):
    """``GET submissions?user=&problem=``: newest first, each linking to its page."""

    endpoint = Endpoint.OTHER

    @web.authenticated
    async def get(self) -> None:
        user, problem = self.filters()
        found = await self.read_database(
            list_submissions(self.settings["store"], user=user, problem=problem)
        )
        context = self.context()
        query = {k: v for k, v in (("user", user), ("problem", problem)) if v}
        context.update(
            student=user,
            problem=problem,
            problem_title=title_in(found[0].problem.title, context["lang"], problem)
            if problem and found
            else problem,
            rows=[row_view(f, context["lang"]) for f in found],
            zip_url=f"submissions.zip?{urlencode(query)}",
        )
        self.render_page("submissions.html", context)


class SubmissionZipHandler(WorkHandler):
    """``GET submissions.zip?user=&problem=``: each submission as a notebook, in a zip."""

    endpoint = Endpoint.OTHER

    @web.authenticated
    async def get(self) -> None:
        user, problem = self.filters()
        found = await self.read_database(
            list_submissions(self.settings["store"], user=user, problem=problem)
        )
        if not found:
            raise CodeTutorError("no submissions to download", status=404)
        stem = "-".join(part for part in (user, problem) if part)
        name = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
        self.set_header("Content-Type", "application/zip")
        self.set_header("Content-Disposition", f'attachment; filename="submissions-{name}.zip"')
        self.set_header("Cache-Control", "no-store")
        self.finish(submissions_zip(found))


class SubmissionPageHandler(WorkHandler):
    """``GET submissions/ID``: one submission, everything the judge knows of it."""

    endpoint = Endpoint.OTHER

    @web.authenticated
    async def get(self, submission_id: str) -> None:
        found = await self.one(submission_id)
        store = self.settings["store"]
        try:
            bundle: str | None = await self.read_database(store.get_bundle(found.problem.id))
        except KeyError:
            bundle = None
        others = await self.read_database(
            list_submissions(store, user=found.user, problem=found.problem.slug)
        )
        context = self.context()
        result = found.row.result or {}
        context.update(
            sub=row_view(found, context["lang"]),
            unpublished=found.problem.unpublished_at is not None,
            statement=statement_html(found.problem),
            cases=cases_view(found, bundle),
            cells=notebook_cells(found),
            error=result.get("error"),
            stdout=result.get("stdout"),
            internal=result.get("internal_message"),
            others=[row_view(f, context["lang"]) for f in others if f.row.id != found.row.id],
        )
        self.render_page("submission.html", context)


class SubmissionDiffHandler(WorkHandler):
    """``GET submissions/ID/diff?against=OTHER``: what changed from the older to the newer."""

    endpoint = Endpoint.OTHER

    @web.authenticated
    async def get(self, submission_id: str) -> None:
        against = self.get_query_argument("against", "")
        if not against.isdigit() or len(against) > 9:
            raise CodeTutorError("against= must name another submission (its number)", status=400)
        # older to newer, whichever of the two the page came from
        first, second = sorted((int(submission_id), int(against)))
        old = await self.one(str(first))
        new = await self.one(str(second))
        context = self.context()
        context.update(
            new=row_view(new, context["lang"]),
            old=row_view(old, context["lang"]),
            lines=diff_lines(old, new),
        )
        self.render_page("diff.html", context)


class GradebookPageHandler(WorkHandler):
    """``GET gradebook``: students by problems, best score, linking to the submissions."""

    endpoint = Endpoint.GRADEBOOK

    @web.authenticated
    async def get(self) -> None:
        insight = await self.load_insight()
        context = self.context()
        lang = context["lang"]
        table: dict[str, dict[str, Any]] = defaultdict(dict)
        for row in gradebook(insight):
            table[row.student][row.problem] = row
        problems = sorted(insight.history.problems)
        context.update(
            problems=[
                (slug, title_in(insight.history.problems[slug].title, lang, slug))
                for slug in problems
            ],
            students=sorted(table),
            table=table,
        )
        self.render_page("gradebook.html", context)


#: the pages' routes, for :data:`.app.ROUTES`
ROUTES: list[tuple[str, type[web.RequestHandler], None]] = [
    ("gradebook", GradebookPageHandler, None),
    ("submissions", SubmissionListHandler, None),
    (r"submissions\.zip", SubmissionZipHandler, None),
    (r"submissions/(\d{1,9})", SubmissionPageHandler, None),
    (r"submissions/(\d{1,9})/diff", SubmissionDiffHandler, None),
]
