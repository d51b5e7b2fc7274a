"""Class insight through the judge API: recommendations, gradebook, class overview."""

from __future__ import annotations

from codetutor.insight.handlers import write_gradebook
from codetutor.insight.overview import class_overview
from codetutor.insight.recommend import recommendations_view

from ..metrics import Endpoint
from .base import SCOPE_READ_ALL, APIError, JudgeHandler, query_int


class RecommendationsHandler(JudgeHandler):
    """``GET api/recommendations``: next problems for the caller (or ``user``, for instructors)."""

    endpoint = Endpoint.RECOMMENDATIONS
    query_parameters = frozenset({"user", "limit"})

    async def get(self) -> None:
        name = self.get_query_argument("user", None) or self.user_name
        if name != self.user_name:
            self.require_scope(SCOPE_READ_ALL)
        limit = query_int(self, "limit", 5, 1, 20)
        insight = await self.settings["insight"].get()
        # never a problem an instructor unpublished (students cannot open it)
        hidden = {p.slug for p in await self.store.latest_problems() if p.unpublished_at}
        view = recommendations_view(
            insight, self.settings["recommender"], name, limit + len(hidden)
        )
        picks = [r for r in view["recommendations"] if r["problem"] not in hidden]
        self.write_json({**view, "recommendations": picks[:limit]})


class GradebookHandler(JudgeHandler):
    """``GET api/gradebook?format=json|csv``: best score and first acceptance per student and problem.

    Without ``format``, CSV when the ``Accept`` header names ``text/csv``, else JSON.
    """

    endpoint = Endpoint.GRADEBOOK
    query_parameters = frozenset({"format"})

    async def get(self) -> None:
        self.require_scope(SCOPE_READ_ALL)
        wants_csv = "text/csv" in self.request.headers.get("Accept", "")
        form = self.get_query_argument("format", "csv" if wants_csv else "json")
        if form not in ("json", "csv"):
            raise APIError(400, "format must be json or csv")
        insight = await self.settings["insight"].get()
        write_gradebook(self, insight, form, filename="gradebook", spreadsheet=False)


class ClassInsightHandler(JudgeHandler):
    """``GET api/insight``: the class overview of the instructors' dashboard."""

    endpoint = Endpoint.CLASS_INSIGHT
    query_parameters = frozenset({"days"})

    async def get(self) -> None:
        self.require_scope(SCOPE_READ_ALL)
        days = query_int(self, "days", 14, 1, 366)
        insight = await self.settings["insight"].get()
        self.write_json(class_overview(insight, days=days))


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/recommendations", RecommendationsHandler, None),
    ("api/gradebook", GradebookHandler, None),
    ("api/insight", ClassInsightHandler, None),
]
