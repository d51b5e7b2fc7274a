"""The dashboard's similarity pages, downloads and API (instructors only, as every page here).

- ``similarity``: problems with their suspicious pairs and clusters (``?lang=ko|en``);
- ``similarity/PROBLEM``: its pairs ranked, clusters of three or more, and each
  student's submissions (times, verdicts) and tutor use on it;
- ``similarity/PROBLEM/pair?a=NAME&b=NAME``: the two submissions side by side, the
  matching regions highlighted;
- ``similarity.csv`` / ``similarity.json``: every pair (the JSON has the regions);
- ``POST similarity/run``: compare now (the page's button; an API call with a token).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tornado import web

from codetutor.errors import CodeTutorError
from codetutor.judge.verdict import dumps

from .handlers import DashboardBaseHandler, _when
from .i18n import title_in, verdict_names, words
from .metrics import Endpoint
from .similarity_report import ClassReport, ProblemReport, SimilarityChecker


def highlighted(code: str, regions: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """``code`` cut into ``(text, matched)`` pieces along ``regions`` (character ranges)."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(regions):
        start = max(start, at)
        if start > at:
            pieces.append((code[at:start], False))
        if end > start:
            pieces.append((code[start:end], True))
        at = max(at, end)
    if at < len(code):
        pieces.append((code[at:], False))
    return pieces


class SimilarityBaseHandler(DashboardBaseHandler):
    endpoint = Endpoint.SIMILARITY

    @property
    def checker(self) -> SimilarityChecker:
        checker: SimilarityChecker = self.settings["similarity"]
        return checker

    def context(self, lang: str) -> dict[str, Any]:
        return {
            "lang": lang,
            "other_lang": "ko" if lang == "en" else "en",
            "w": words(lang),
            "user": self.current_user["name"] if self.current_user else "",
            "base_url": self.settings["base_url"],
            "xsrf_form_html": self.xsrf_form_html,
        }

    def render_page(self, template: str, context: dict[str, Any]) -> None:
        html = self.settings["templates"].get_template(template).render(**context)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.set_header("Content-Language", context["lang"])
        self.set_header("Cache-Control", "no-store")
        self.finish(html)

    def problem_report(self, report: ClassReport, problem: str) -> ProblemReport:
        found = report.problems.get(problem)
        if found is None:
            raise CodeTutorError(f"no compared submissions of problem {problem!r}", status=404)
        return found


def _student_rows(p: ProblemReport, lang: str) -> list[dict[str, Any]]:
    names = verdict_names(lang)
    flagged = {k for pair in p.pairs for k in (pair["a"], pair["b"])}
    rows = []
    for name, s in sorted(p.students.items()):
        rows.append(
            {
                "name": name,
                "flagged": name in flagged,
                "compared_at": _when(s["compared_at"]),
                "submissions": [
                    {**x, "when": _when(x["at"]), "verdict_name": names.get(x["verdict"] or "", "")}
                    for x in s["submissions"]
                ],
                "tutor_messages": s["tutor_messages"],
                "tutor_first_at": _when(s["tutor_first_at"]),
            }
        )
    return sorted(rows, key=lambda r: (not r["flagged"], r["name"]))


class SimilarityHandler(SimilarityBaseHandler):
    """``GET similarity`` and ``similarity/PROBLEM``: the report pages."""

    @web.authenticated
    async def get(self, problem: str | None = None) -> None:
        lang = self.language()
        report = await self.checker.current()
        context = self.context(lang)
        context["generated"] = _when(report.generated_at)
        context["threshold"] = report.threshold
        context["problem"] = problem
        if problem is None:
            context["problems"] = [
                {
                    "problem": p.problem,
                    "title": title_in(p.title, lang, p.problem),
                    "compared": p.compared,
                    "pairs": len(p.pairs),
                    "clusters": len(p.clusters),
                    "top": p.pairs[0]["score"] if p.pairs else None,
                }
                for p in sorted(report.problems.values(), key=lambda p: (-len(p.pairs), p.problem))
            ]
            self.render_page("similarity.html", context)
            return
        p = self.problem_report(report, problem)
        context["title"] = title_in(p.title, lang, p.problem)
        context["pairs"] = p.pairs
        context["clusters"] = p.clusters
        context["students"] = _student_rows(p, lang)
        self.render_page("similarity_problem.html", context)


class SimilarityPairHandler(SimilarityBaseHandler):
    """``GET similarity/PROBLEM/pair?a=NAME&b=NAME``: two submissions side by side."""

    query_parameters = frozenset({"a", "b", "lang", "token"})

    @web.authenticated
    async def get(self, problem: str) -> None:
        lang = self.language()
        a, b = self.get_query_argument("a", ""), self.get_query_argument("b", "")
        report = await self.checker.current()
        p = self.problem_report(report, problem)
        pair = next(
            (x for x in p.pairs if {x["a"], x["b"]} == {a, b} and a != b),
            None,
        )
        if pair is None:
            raise CodeTutorError(
                f"{a!r} and {b!r} are not a reported pair of {problem}", status=404
            )
        context = self.context(lang)
        context["problem"] = problem
        context["title"] = title_in(p.title, lang, p.problem)
        context["pair"] = pair
        context["sides"] = [
            {
                "name": pair[key],
                "pieces": highlighted(p.codes[pair[key]], [tuple(r) for r in pair[regions]]),
                "student": p.students.get(pair[key]),
                "compared_at": _when((p.students.get(pair[key]) or {}).get("compared_at")),
            }
            for key, regions in (("a", "regions_a"), ("b", "regions_b"))
        ]
        self.render_page("similarity_pair.html", context)


class SimilarityFileHandler(SimilarityBaseHandler):
    """``GET similarity.csv`` / ``similarity.json``: every reported pair as a download."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        if self.request.path.endswith(".json"):
            super(DashboardBaseHandler, self).write_error(status_code, **kwargs)
        else:
            super().write_error(status_code, **kwargs)

    @web.authenticated
    async def get(self, form: str) -> None:
        report = await self.checker.current()
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        self.set_header("Cache-Control", "no-store")
        if form == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.set_header("Content-Disposition", f'attachment; filename="similarity-{stamp}.csv"')
            self.finish(("\ufeff" + report.to_csv()).encode("utf-8"))
            return
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(dumps(report.to_json(), ensure_ascii=False))


class SimilarityRunHandler(SimilarityBaseHandler):
    """``POST similarity/run``: compare now; a form post (the page's button) goes back to the
    page, an API call gets ``{"generated_at", "seconds", "problems", "pairs"}``."""

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        super(DashboardBaseHandler, self).write_error(status_code, **kwargs)

    def check_xsrf_cookie(self) -> None:
        # checked in post(), after authentication, and only for a browser's cookie
        return

    @web.authenticated
    async def post(self) -> None:
        by_token = "Authorization" in self.request.headers or self.get_argument("token", None)
        if not by_token:
            # a browser's cookie: the form carries _xsrf
            web.RequestHandler.check_xsrf_cookie(self)
        report = await self.checker.run()
        form = self.request.headers.get("Content-Type", "").startswith(
            "application/x-www-form-urlencoded"
        )
        if form:
            self.redirect(f"{self.settings['base_url']}similarity?lang={self.language()}")
            return
        self.write_json(
            {
                "generated_at": report.generated_at,
                "seconds": round(report.seconds, 3),
                "problems": len(report.problems),
                "pairs": sum(len(p.pairs) for p in report.problems.values()),
            }
        )
