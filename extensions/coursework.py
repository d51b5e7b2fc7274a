"""The student's courses and assignments, relayed to the judge with the user's Hub token.

=================================================  ==============================================
``GET  courses``                                   the judge's ``{"courses": [...]}`` for this user
``GET  assignments``                               ``{"assignments": [...]}``: every assignment of
                                                   every course this user belongs to, each as the
                                                   judge shows it (own due time, credit now, exam)
``GET  courses/C/assignments/A``                   one assignment, as the judge shows it
``POST courses/C/assignments/A/start``             start this user's exam window
=================================================  ==============================================

Who may see what is the judge's decision (course groups on the Hub); its 4xx
answers keep their status and message.
"""

from __future__ import annotations

from typing import Any

from tornado import web

from .exceptions import ServiceError
from .handlers import API, SLUG, SLUG_RE, CodeTutorHandler


class CoursesHandler(CodeTutorHandler):
    """``GET /codetutor/api/courses``: the courses this user belongs to."""

    @web.authenticated
    async def get(self) -> None:
        status, body = await self.judge.request("GET", "api/courses")
        self.write_json(body, status)


class MyAssignmentsHandler(CodeTutorHandler):
    """``GET /codetutor/api/assignments``: the assignments of all this user's courses.

    One call for the course list, then one per course. A course that went away
    between the two (404) is skipped; any other error is the answer.
    """

    @web.authenticated
    async def get(self) -> None:
        _, listing = await self.judge.request("GET", "api/courses")
        courses = listing.get("courses", []) if isinstance(listing, dict) else []
        assignments: list[Any] = []
        for course in courses:
            slug = course.get("id") if isinstance(course, dict) else None
            if not isinstance(slug, str) or not SLUG_RE.fullmatch(slug):
                continue
            try:
                _, body = await self.judge.request("GET", f"api/courses/{slug}/assignments")
            except ServiceError as e:
                if e.status == 404:
                    continue
                raise
            for assignment in body.get("assignments", []) if isinstance(body, dict) else []:
                if isinstance(assignment, dict):
                    assignment.setdefault("course_title", course.get("title") or slug)
                    assignments.append(assignment)
        self.write_json({"assignments": assignments})


class AssignmentHandler(CodeTutorHandler):
    """``GET /codetutor/api/courses/C/assignments/A``: one assignment as this user sees it."""

    @web.authenticated
    async def get(self, course: str, assignment: str) -> None:
        status, body = await self.judge.request(
            "GET", f"api/courses/{course}/assignments/{assignment}"
        )
        self.write_json(body, status)


class ExamStartHandler(CodeTutorHandler):
    """``POST /codetutor/api/courses/C/assignments/A/start``: this user's exam window starts."""

    @web.authenticated
    async def post(self, course: str, assignment: str) -> None:
        status, body = await self.judge.request(
            "POST", f"api/courses/{course}/assignments/{assignment}/start", {}
        )
        self.write_json(body, status)


def coursework_handlers() -> list[tuple[str, type[web.RequestHandler]]]:
    """The routes of this module (Jupyter Server prefixes its base URL)."""
    return [
        (rf"{API}/courses", CoursesHandler),
        (rf"{API}/assignments", MyAssignmentsHandler),
        (rf"{API}/courses/{SLUG}/assignments/{SLUG}", AssignmentHandler),
        (rf"{API}/courses/{SLUG}/assignments/{SLUG}/start", ExamStartHandler),
    ]
