"""Courses: courses, assignments, extensions, exam starts and the course gradebook.

Thin handlers over :class:`~.coursework.CourseManager` (``settings["courses"]``).
Who may do what comes from the caller's Hub groups (:class:`~..courses.Member`):

==============================================================  ==========================
``GET  api/courses``                                            the caller's courses
``POST api/courses``                                            create (admins) or update
                                                                (its instructors) a course
``GET  api/courses/C``                                          a course and the assignments
                                                                the caller may see
``GET|POST api/courses/C/assignments``                          list; create or update
                                                                (instructors)
``GET  api/courses/C/assignments/A``                            one, with the caller's due
                                                                time and credit now
``POST api/courses/C/assignments/A/start``                      start one's exam window
``GET|POST api/courses/C/assignments/A/extensions``             extensions (instructors)
``GET  api/courses/C/gradebook?mode=deadline|best&format=…``    the course's gradebook
                                                                (instructors)
==============================================================  ==========================

A submission counts for an assignment when ``POST api/submissions`` names it
(``"assignment": {"course", "id"}``): see :meth:`.coursework.CourseManager.admit`.
"""

from __future__ import annotations

from typing import Any

from codetutor.insight.gradebook import course_gradebook_csv, course_gradebook_json

from ..courses import SLUG as SLUG_RE
from ..courses import Member
from ..metrics import Endpoint
from ..policy import GradeMode
from .base import SCOPE_PUBLISH, APIError, JudgeHandler
from .coursework import CourseManager

SLUG = r"([a-z0-9][a-z0-9_-]{0,63})"
MAX_BODY = 1 << 20


def member_of(handler: JudgeHandler) -> Member:
    """The caller as a course member: Hub name and groups; admins are Hub admins and publishers."""
    assert handler.user_model is not None
    groups = handler.user_model.get("groups") or []
    admin = bool(handler.user_model.get("admin")) or handler.has_scope(SCOPE_PUBLISH)
    return Member(handler.user_name, frozenset(str(g) for g in groups), admin)


def pop_target(body: Any) -> tuple[str, str] | None:
    """Take ``"assignment": {"course", "id"}`` out of a submission body; 400 if malformed."""
    if not isinstance(body, dict) or "assignment" not in body:
        return None
    target = body.pop("assignment")
    if (
        not isinstance(target, dict)
        or set(target) != {"course", "id"}
        or not all(isinstance(v, str) and SLUG_RE.fullmatch(v) for v in target.values())
    ):
        raise APIError(400, '\'assignment\' must be {"course": ID, "id": ID}')
    return target["course"], target["id"]


class CourseHandlerBase(JudgeHandler):
    """What the course handlers share: the manager and the caller as a member."""

    @property
    def courses(self) -> CourseManager:
        manager: CourseManager = self.settings["courses"]
        return manager

    @property
    def member(self) -> Member:
        return member_of(self)

    def body(self) -> Any:
        return self.read_json_body(MAX_BODY, "the body")


class CoursesHandler(CourseHandlerBase):
    """``GET api/courses`` (the caller's) and ``POST`` (create or update)."""

    endpoint = Endpoint.COURSES

    async def get(self) -> None:
        self.write_json({"courses": await self.courses.list_courses(self.member)})

    async def post(self) -> None:
        view, created = await self.courses.put_course(self.member, self.body())
        self.set_header("Location", self.reverse_url("course", view["id"]))
        self.write_json(view, 201 if created else 200)


class CourseHandler(CourseHandlerBase):
    """``GET api/courses/C``: the course with the assignments the caller may see."""

    endpoint = Endpoint.COURSE

    async def get(self, course: str) -> None:
        self.write_json(await self.courses.course_view(self.member, course))


class AssignmentsHandler(CourseHandlerBase):
    """``GET api/courses/C/assignments`` and ``POST`` (create or update, instructors)."""

    endpoint = Endpoint.ASSIGNMENTS

    async def get(self, course: str) -> None:
        view = await self.courses.course_view(self.member, course)
        self.write_json({"course": course, "assignments": view["assignments"]})

    async def post(self, course: str) -> None:
        view, created = await self.courses.put_assignment(self.member, course, self.body())
        self.set_header("Location", self.reverse_url("assignment", course, view["id"]))
        self.write_json(view, 201 if created else 200)


class AssignmentHandler(CourseHandlerBase):
    """``GET api/courses/C/assignments/A``."""

    endpoint = Endpoint.ASSIGNMENT

    async def get(self, course: str, assignment: str) -> None:
        self.write_json(await self.courses.assignment(self.member, course, assignment))


class ExamStartHandler(CourseHandlerBase):
    """``POST api/courses/C/assignments/A/start``: the caller's exam window starts now."""

    endpoint = Endpoint.EXAM_START

    async def post(self, course: str, assignment: str) -> None:
        self.write_json(await self.courses.start_exam(self.member, course, assignment))


class ExtensionsHandler(CourseHandlerBase):
    """``GET|POST api/courses/C/assignments/A/extensions`` (instructors)."""

    endpoint = Endpoint.EXTENSIONS

    async def get(self, course: str, assignment: str) -> None:
        found = await self.courses.extensions(self.member, course, assignment)
        self.write_json({"extensions": found})

    async def post(self, course: str, assignment: str) -> None:
        self.write_json(
            await self.courses.put_extension(self.member, course, assignment, self.body())
        )


class CourseGradebookHandler(CourseHandlerBase):
    """``GET api/courses/C/gradebook?mode=deadline|best&format=json|csv`` (instructors)."""

    endpoint = Endpoint.COURSE_GRADEBOOK
    query_parameters = frozenset({"mode", "format"})

    async def get(self, course: str) -> None:
        try:
            mode = GradeMode(self.get_query_argument("mode", GradeMode.BEST_WITHIN_POLICY.value))
        except ValueError:
            raise APIError(400, "mode must be deadline or best") from None
        wants_csv = "text/csv" in self.request.headers.get("Accept", "")
        form = self.get_query_argument("format", "csv" if wants_csv else "json")
        if form not in ("json", "csv"):
            raise APIError(400, "format must be json or csv")
        row, rows = await self.courses.gradebook(self.member, course, mode)
        if form == "json":
            self.write_json(course_gradebook_json(row.slug, mode, rows))
            return
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header(
            "Content-Disposition", f'attachment; filename="gradebook-{row.slug}-{mode.value}.csv"'
        )
        self.finish(course_gradebook_csv(rows))


A = rf"api/courses/{SLUG}/assignments/{SLUG}"

ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/courses", CoursesHandler, None),
    (rf"api/courses/{SLUG}", CourseHandler, "course"),
    (rf"api/courses/{SLUG}/assignments", AssignmentsHandler, None),
    (A, AssignmentHandler, "assignment"),
    (rf"{A}/start", ExamStartHandler, None),
    (rf"{A}/extensions", ExtensionsHandler, None),
    (rf"api/courses/{SLUG}/gradebook", CourseGradebookHandler, None),
]
