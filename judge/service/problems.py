"""Problems: list and publish, validate (a dry run), unpublish, one problem, its student notebook."""

from __future__ import annotations

import json
from typing import Any

import nbformat

from ..exceptions import ProblemError
from ..metrics import Endpoint
from ..models import Problem as ProblemRow
from ..problem import Problem
from ..publish import validation_view
from .base import NOTEBOOK_TYPE, SCOPE_PUBLISH, APIError, JudgeHandler
from .views import problem_view


class ProblemsHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEMS

    async def get(self) -> None:
        # instructors also see the problems they unpublished, marked as such
        instructor = self.has_scope(SCOPE_PUBLISH)
        problems = await self.store.latest_problems(unpublished=instructor)
        views = [problem_view(p) for p in problems]
        if instructor:
            views = [
                {**view, "published": p.unpublished_at is None}
                for view, p in zip(views, problems, strict=True)
            ]
        # during an exam a student sees only the exam's problems
        shown = await self.settings["courses"].exam_problems(self.user_name)
        if shown is not None:
            views = [view for view in views if view["id"] in shown]
        self.write_json({"problems": views})

    async def published_problem(self) -> Problem:
        """Coroutine: the body's notebook through the publish pipeline (not stored);
        400 for a body that is not a notebook, 422 naming the cell and line."""
        raw = self.read_json_body(self.settings["max_notebook_bytes"], "the notebook")
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise APIError(400, "the body is not a Jupyter notebook (no 'cells' list)")
        try:
            nb = nbformat.reads(json.dumps(raw), as_version=4)
        except Exception as e:
            raise APIError(400, f"the body is not a readable Jupyter notebook: {e}") from None
        try:
            published: Problem = await self.settings["publisher"].publish(Problem.from_notebook(nb))
        except ProblemError as e:
            raise APIError(422, e.message, extra={"cell": e.cell, "line": e.line}) from None
        return published

    async def post(self) -> None:
        self.require_scope(SCOPE_PUBLISH)
        problem = await self.published_problem()
        user = await self.store.ensure_user(self.user_name)
        published = await self.store.publish_problem(user=user, problem=problem)
        row = published.problem
        self.log.info("%s published %s version %s", self.user_name, row.slug, row.version)
        self.set_header("Location", self.reverse_url("problem", row.slug))
        self.write_json(
            {**problem_view(row), "created": published.created_version},
            201 if published.created_version else 200,
        )


class ValidateHandler(ProblemsHandler):
    """``POST api/validate``: publish's dry run, for instructors (Validate in JupyterLab).

    The same checks as ``POST api/problems`` (the reference solution runs in a worker)
    but nothing is stored: answers every case with its expected value
    (:func:`~..publish.validation_view`), or 422 naming the cell and line.
    """

    endpoint = Endpoint.VALIDATE
    # Not the problem list's GET: any other method is 405 with ``Allow: POST``.
    SUPPORTED_METHODS = ("POST",)

    async def post(self) -> None:
        self.require_scope(SCOPE_PUBLISH)
        self.write_json(validation_view(await self.published_problem()))


class ProblemHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEM
    query_parameters = frozenset({"version"})

    async def find_problem(self, slug: str, version: Any = None) -> ProblemRow:
        """As :meth:`JudgeHandler.find_problem`; an unpublished problem is 404 for students."""
        problem = await super().find_problem(slug, version)
        shown = await self.settings["courses"].exam_problems(self.user_name)
        if shown is not None and slug not in shown:
            raise APIError(404, f"no problem {slug!r} during your exam")
        if problem.unpublished_at is not None and not self.has_scope(SCOPE_PUBLISH):
            raise APIError(404, f"no problem {slug!r}")
        return problem

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.write_json(problem_view(problem))


class ProblemVisibilityHandler(JudgeHandler):
    """``POST api/problems/SLUG/visibility`` ``{"published": false}``: unpublish (instructors).

    An unpublished problem is hidden from students (list, notebook, submitting) and
    its submissions are kept; ``{"published": true}`` or publishing it again shows it.
    """

    endpoint = Endpoint.PROBLEM_VISIBILITY

    async def post(self, slug: str) -> None:
        self.require_scope(SCOPE_PUBLISH)
        body = self.read_json_body(4096, "the visibility")
        published = body.get("published") if isinstance(body, dict) else None
        if not isinstance(published, bool):
            raise APIError(400, 'the body must be {"published": true} or {"published": false}')
        row = await self.store.set_unpublished(slug, not published)
        if row is None:
            raise APIError(404, f"no problem {slug!r}")
        self.log.info(
            "%s %s %s", self.user_name, "republished" if published else "unpublished", slug
        )
        self.write_json({**problem_view(row), "published": row.unpublished_at is None})


class ProblemNotebookHandler(ProblemHandler):
    endpoint = Endpoint.PROBLEM_NOTEBOOK
    query_parameters = frozenset({"version"})

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.set_header("Content-Type", NOTEBOOK_TYPE)
        self.set_header("Content-Disposition", f'attachment; filename="{problem.slug}.ipynb"')
        self.finish(problem.student_notebook)


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/problems", ProblemsHandler, "problems"),
    ("api/validate", ValidateHandler, None),
    (r"api/problems/([a-z0-9][a-z0-9_-]*)/visibility", ProblemVisibilityHandler, None),
    (r"api/problems/([a-z0-9][a-z0-9_-]*)", ProblemHandler, "problem"),
    (r"api/problems/([a-z0-9][a-z0-9_-]*)/notebook", ProblemNotebookHandler, None),
]
