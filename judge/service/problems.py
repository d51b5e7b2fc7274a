"""Problems: list and publish, one problem, its student notebook."""

from __future__ import annotations

import json

import nbformat

from ..exceptions import ProblemError
from ..metrics import Endpoint
from ..problem import Problem
from .base import NOTEBOOK_TYPE, SCOPE_PUBLISH, APIError, JudgeHandler
from .views import problem_view


class ProblemsHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEMS

    async def get(self) -> None:
        problems = await self.store.latest_problems()
        self.write_json({"problems": [problem_view(p) for p in problems]})

    async def post(self) -> None:
        self.require_scope(SCOPE_PUBLISH)
        raw = self.read_json_body(self.settings["max_notebook_bytes"], "the notebook")
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise APIError(400, "the body is not a Jupyter notebook (no 'cells' list)")
        try:
            nb = nbformat.reads(json.dumps(raw), as_version=4)
        except Exception as e:
            raise APIError(400, f"the body is not a readable Jupyter notebook: {e}") from None
        try:
            problem = await self.settings["publisher"].publish(Problem.from_notebook(nb))
        except ProblemError as e:
            raise APIError(422, e.message, extra={"cell": e.cell, "line": e.line}) from None
        user = await self.store.ensure_user(self.user_name)
        published = await self.store.publish_problem(user=user, problem=problem)
        row = published.problem
        self.log.info("%s published %s version %s", self.user_name, row.slug, row.version)
        self.set_header("Location", self.reverse_url("problem", row.slug))
        self.write_json(
            {**problem_view(row), "created": published.created_version},
            201 if published.created_version else 200,
        )


class ProblemHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEM
    query_parameters = frozenset({"version"})

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.write_json(problem_view(problem))


class ProblemNotebookHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEM_NOTEBOOK
    query_parameters = frozenset({"version"})

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.set_header("Content-Type", NOTEBOOK_TYPE)
        self.set_header("Content-Disposition", f'attachment; filename="{problem.slug}.ipynb"')
        self.finish(problem.student_notebook)


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/problems", ProblemsHandler, "problems"),
    (r"api/problems/([a-z0-9][a-z0-9_-]*)", ProblemHandler, "problem"),
    (r"api/problems/([a-z0-9][a-z0-9_-]*)/notebook", ProblemNotebookHandler, None),
]
