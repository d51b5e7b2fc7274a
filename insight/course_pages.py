"""The dashboard's per-course views: a course's gradebook as a page and as a download.

``GET courses/C/gradebook?mode=deadline|best``: the page, one table per assignment
(students by problems, points earned and attempts, each student's total).
``GET courses/C/gradebook.csv|json?mode=deadline|best``: the same rows as the judge
API's ``api/courses/C/gradebook`` (:func:`~.gradebook.load_course_gradebook`, scored
by :mod:`codetutor.judge.policy`), for the course's instructors (Hub group
``course:C:instructors``, or admins).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from tornado import web

from codetutor.errors import CodeTutorError
from codetutor.judge.courses import CourseBook, Member, Role
from codetutor.judge.policy import GradeMode
from codetutor.judge.store import Store
from codetutor.judge.verdict import dumps
from codetutor.web import Route

from .gradebook import (
    CourseGradeRow,
    course_gradebook_csv,
    course_gradebook_json,
    load_course_gradebook,
)
from .handlers import DashboardBaseHandler
from .metrics import Endpoint
from .submission_pages import WorkHandler

#: the scope that makes a user an admin of every course (as in the judge API)
SCOPE_PUBLISH = "custom:problems:write"


#: the course gradebook page's own words
COURSE_WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "title": "Course gradebook",
        "due": "due",
        "total": "Total",
        "none": "No assignments yet.",
        "modes": {"best": "Best within policy", "deadline": "As of the deadline"},
        "explain": {
            "best": "Each problem: its points times the best score times the credit in force "
            "when it was submitted (late policy, extensions).",
            "deadline": "Each problem: its points times the best score made by the "
            "student's own due time.",
        },
    },
    "ko": {
        "title": "과목 성적부",
        "due": "마감",
        "total": "합계",
        "none": "아직 과제가 없습니다.",
        "modes": {"best": "정책 안에서 최고 점수", "deadline": "마감 시점 기준"},
        "explain": {
            "best": "문제마다: 배점에 최고 점수와 제출 시점의 인정 비율(지각 정책, 연장 반영)을 곱한 값.",
            "deadline": "문제마다: 배점에 학생 본인의 마감까지 받은 최고 점수를 곱한 값.",
        },
    },
}


class CourseGradebookBase(DashboardBaseHandler):
    """The course's instructors (or admins) only; the mode from the query."""

    async def course_rows(self, slug: str) -> tuple[Any, GradeMode, list[CourseGradeRow]]:
        """Coroutine: ``(course, mode, rows)``; 404 unless an instructor of it, 400 bad mode."""
        model = self.current_user
        member = Member(
            str(model["name"]),
            frozenset(str(g) for g in model.get("groups") or []),
            bool(model.get("admin")) or bool(self.hub_auth.check_scopes({SCOPE_PUBLISH}, model)),
        )
        if member.role(slug) is not Role.INSTRUCTOR:
            raise CodeTutorError(f"no course {slug!r} of yours", status=404)
        try:
            mode = GradeMode(self.get_query_argument("mode", GradeMode.BEST_WITHIN_POLICY.value))
        except ValueError:
            raise CodeTutorError("mode must be deadline or best", status=400) from None
        store: Store = self.settings["store"]
        book = CourseBook(store)
        course = await book.course(slug)
        return course, mode, list(await load_course_gradebook(book, course, mode))


class CourseGradebookPageHandler(CourseGradebookBase, WorkHandler):
    """``GET courses/C/gradebook?mode=deadline|best``: the course gradebook as a page."""

    endpoint = Endpoint.GRADEBOOK
    query_parameters = frozenset({"mode", "lang"})

    @web.authenticated
    async def get(self, slug: str) -> None:
        course, mode, rows = await self.course_rows(slug)
        context = self.context()
        cw = COURSE_WORDS[context["lang"]]
        by_assignment: dict[str, list[CourseGradeRow]] = defaultdict(list)
        for row in rows:
            by_assignment[row.assignment].append(row)
        assignments = []
        for name, group in by_assignment.items():
            problems = list(dict.fromkeys((r.problem, r.points) for r in group))
            totals: dict[str, float] = defaultdict(float)
            for r in group:
                totals[r.student] += r.earned
            assignments.append(
                {
                    "id": name,
                    "title": name,
                    "due": min(r.due for r in group).strftime("%Y-%m-%d %H:%M UTC"),
                    "problems": problems,
                    "points": sum(p for _, p in problems),
                    "students": sorted(totals),
                    "cells": {(r.student, r.problem): r for r in group},
                    "totals": totals,
                }
            )
        context.update(
            course=slug,
            course_title=getattr(course, "title", None) or slug,
            mode=mode.value,
            modes=list(cw["modes"].items()),
            cw=cw,
            assignments=assignments,
        )
        self.render_page("course_gradebook.html", context)


class CourseGradebookFileHandler(CourseGradebookBase):
    """``GET courses/C/gradebook.(csv|json)?mode=deadline|best``: a course's gradebook."""

    endpoint = Endpoint.GRADEBOOK
    query_parameters = frozenset({"mode"})

    @web.authenticated
    async def get(self, slug: str, form: str) -> None:
        _, mode, rows = await self.course_rows(slug)
        stamp = datetime.now().strftime("%Y%m%d")
        name = f"gradebook-{slug}-{mode.value}-{stamp}.{form}"
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        if form == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.finish(course_gradebook_csv(rows))
        else:
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(dumps(course_gradebook_json(slug, mode, rows), ensure_ascii=False))


ROUTES: list[Route] = [
    (r"courses/([a-z0-9][a-z0-9_-]{0,63})/gradebook", CourseGradebookPageHandler, None),
    (r"courses/([a-z0-9][a-z0-9_-]{0,63})/gradebook\.(csv|json)", CourseGradebookFileHandler, None),
]
