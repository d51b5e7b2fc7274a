"""The course manager: what the course handlers and the submit path do, without HTTP.

:class:`CourseManager` (``settings["courses"]``) answers who may see and change a
course (:class:`~..courses.Member`), shows assignments with the caller's own due
time and the credit in force now, starts exams, admits a submission to an
assignment (or refuses it after the close, or takes it for practice) and gives
its receipt, and computes a course's gradebook. Every time it reads comes from
its :class:`Clock` (a configurable class: tests set the time, never sleep).
Credit comes only from :mod:`codetutor.judge.policy`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from traitlets import Instance, Type, default
from traitlets.config import LoggingConfigurable

from codetutor.insight.gradebook import CourseGradeRow, load_course_gradebook

from .. import policy
from ..courses import (
    AssignmentSpec,
    CourseBook,
    CourseError,
    Member,
    Role,
    as_extension,
    parse_assignment,
    parse_course,
    parse_extension,
    parse_slug,
    problem_points,
)
from ..models import Assignment, AssignmentSubmission, Course, User, utcnow
from ..models import Submission as SubmissionRow
from ..store import Store


class Clock:
    """The course clock: the real time (UTC). Tests configure a subclass."""

    def now(self) -> datetime:
        return utcnow()


@dataclass(frozen=True)
class Admission:
    """A submission let in for an assignment: what it will count for."""

    course: Course
    assignment: Assignment
    user: User
    problem: str
    at: datetime
    credit: float
    practice: bool


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def receipt_hash(body: dict[str, Any]) -> str:
    """SHA-256 of the submitted notebook (canonical JSON: sorted keys, no spaces) or code."""
    notebook = body.get("notebook")
    if notebook is not None:
        text = json.dumps(notebook, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(body.get("code", ""))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class CourseManager(LoggingConfigurable):
    """Courses, assignments, extensions, exams and course gradebooks (coroutines)."""

    store = Instance(Store)

    clock_class = Type(
        default_value=Clock,
        klass=Clock,
        help="The course clock (the real time; tests give one they set).",
    ).tag(config=True)

    clock = Instance(Clock)

    @default("clock")
    def _default_clock(self) -> Clock:
        return self.clock_class()

    @property
    def book(self) -> CourseBook:
        return CourseBook(self.store)

    # -- who may do what ----------------------------------------------------

    async def course_for(self, member: Member, slug: str, *, instructor: bool = False) -> Course:
        """The course if ``member`` belongs to it (404 otherwise, not to reveal it);
        403 when ``instructor`` is needed and they are a student."""
        role = member.role(slug)
        if role is None:
            raise CourseError(f"no course {slug!r}", status=404)
        course = await self.book.course(slug)
        if instructor and role is not Role.INSTRUCTOR:
            raise CourseError(f"only the instructors of {slug!r} may do this", status=403)
        return course

    # -- courses --------------------------------------------------------------

    async def list_courses(self, member: Member) -> list[dict[str, Any]]:
        rows = await self.book.courses(None if member.admin else member.courses())
        return [self.course_brief(c, member) for c in rows if member.role(c.slug) is not None]

    def course_brief(self, course: Course, member: Member) -> dict[str, Any]:
        role = member.role(course.slug)
        return {
            "id": course.slug,
            "title": course.title,
            "role": role.value if role else None,
            "problems": list(course.problems),
        }

    async def put_course(self, member: Member, body: Any) -> tuple[dict[str, Any], bool]:
        """Create (admins) or update (its instructors) a course; ``(view, created)``."""
        spec = parse_course(body)
        if not member.admin:
            if member.role(spec.slug) is not Role.INSTRUCTOR:
                raise CourseError("only admins create courses", status=403)
            await self.book.course(spec.slug)
        await self._check_problems(spec.problems)
        row, created = await self.book.put_course(spec)
        return self.course_brief(row, member), created

    async def course_view(self, member: Member, slug: str) -> dict[str, Any]:
        """The course with the assignments the caller may see."""
        course = await self.course_for(member, slug)
        view = self.course_brief(course, member)
        view["assignments"] = [
            await self.assignment_view(course, a, member)
            for a in await self.book.assignments(course)
        ]
        return view

    # -- assignments ----------------------------------------------------------

    async def put_assignment(
        self, member: Member, slug: str, body: Any
    ) -> tuple[dict[str, Any], bool]:
        """Create or update an assignment (instructors); its problems join the course's."""
        course = await self.course_for(member, slug, instructor=True)
        spec = parse_assignment(body)
        await self._check_problems([p for p, _ in spec.problems])
        missing = [p for p, _ in spec.problems if p not in course.problems]
        if missing:
            await self.book.put_course(
                parse_course(
                    {
                        "id": course.slug,
                        "title": course.title,
                        "problems": [*course.problems, *missing],
                    }
                )
            )
            course = await self.book.course(course.slug)
        row, created = await self.book.put_assignment(course, spec)
        return await self.assignment_view(course, row, member), created

    async def assignment(self, member: Member, slug: str, assignment: str) -> dict[str, Any]:
        course = await self.course_for(member, slug)
        return await self.assignment_view(
            course, await self.book.assignment(course, parse_slug(assignment, "assignment")), member
        )

    async def assignment_view(
        self, course: Course, row: Assignment, member: Member
    ) -> dict[str, Any]:
        """The assignment as the caller sees it, with their own due time and credit now.

        Students see an assignment's problems once it is open, an exam's only
        once they started it (until their window ends).
        """
        now = self.clock.now()
        user = await self.store.ensure_user(member.name)
        extension = as_extension(await self.book.extension(row, user))
        started = await self.book.exam_start(row, user) if row.exam_minutes else None
        closes = policy.closes_at(row, extension, exam_started_at=started)
        is_open = row.opens_at <= now and (closes is None or now <= closes)
        if row.exam_minutes is not None and started is None:
            is_open = False
        view: dict[str, Any] = {
            "id": row.slug,
            "course": course.slug,
            "title": row.title,
            "opens_at": iso(row.opens_at),
            "due_at": iso(row.due_at),
            "late_policy": row.late_policy,
            "after_close": row.after_close,
            "exam_minutes": row.exam_minutes,
            "due": iso(policy.due_for(row, extension)),
            "closes_at": iso(closes),
            "credit_now": policy.credit(row, now, extension, exam_started_at=started),
            "open": is_open,
            "extension": (
                {"due_at": iso(extension.due_at), "time_multiplier": extension.time_multiplier}
                if extension
                else None
            ),
            "exam": None,
            "now": iso(now),
        }
        if row.exam_minutes is not None:
            ends = policy.exam_window_end(row, started, extension) if started else None
            view["exam"] = {
                "minutes": row.exam_minutes,
                "started_at": iso(started),
                "ends_at": iso(ends),
                "remaining_s": max(0.0, (ends - now).total_seconds()) if ends else None,
                "receipts": [
                    {
                        "submission": r.submission_id,
                        "problem": r.problem,
                        "sha256": r.receipt,
                        "submitted_at": iso(r.submitted_at),
                    }
                    for r in await self.book.receipts(row, user)
                ],
            }
        shown = member.role(course.slug) is Role.INSTRUCTOR or (
            row.opens_at <= now and (row.exam_minutes is None or started is not None)
        )
        view["problems"] = (
            [{"problem": p, "points": pts} for p, pts in problem_points(row)] if shown else []
        )
        return view

    async def put_extension(
        self, member: Member, slug: str, assignment: str, body: Any
    ) -> dict[str, Any]:
        """Give a student an extension (instructors); the student's view of it."""
        course = await self.course_for(member, slug, instructor=True)
        row = await self.book.assignment(course, parse_slug(assignment, "assignment"))
        name, extension = parse_extension(body)
        user = await self.store.ensure_user(name)
        await self.book.put_extension(row, user, extension)
        return self.extension_view(name, extension, row)

    async def extensions(self, member: Member, slug: str, assignment: str) -> list[dict[str, Any]]:
        course = await self.course_for(member, slug, instructor=True)
        row = await self.book.assignment(course, parse_slug(assignment, "assignment"))
        found = await self.book.extensions(row)
        return [self.extension_view(n, e, row) for n, e in sorted(found.items())]

    def extension_view(
        self, name: str, extension: policy.Extension, row: Assignment
    ) -> dict[str, Any]:
        return {
            "user": name,
            "due_at": iso(extension.due_at),
            "time_multiplier": extension.time_multiplier,
            "due": iso(policy.due_for(row, extension)),
        }

    async def start_exam(self, member: Member, slug: str, assignment: str) -> dict[str, Any]:
        """Start the caller's exam window now (once); the assignment as they now see it."""
        course = await self.course_for(member, slug)
        row = await self.book.assignment(course, parse_slug(assignment, "assignment"))
        if row.exam_minutes is None:
            raise CourseError(f"{row.slug!r} is not an exam", status=409)
        now = self.clock.now()
        user = await self.store.ensure_user(member.name)
        extension = as_extension(await self.book.extension(row, user))
        if await self.book.exam_start(row, user) is None:
            if now < row.opens_at:
                raise CourseError(f"{row.slug!r} opens at {iso(row.opens_at)}", status=403)
            due = policy.due_for(row, extension)
            if now >= due:
                raise CourseError(f"{row.slug!r} closed at {iso(due)}", status=403)
            await self.book.start_exam(row, user, now)
            self.log.info("%s started exam %s/%s", member.name, course.slug, row.slug)
        return await self.assignment_view(course, row, member)

    # -- the submit path and the tutor --------------------------------------------

    async def active_exam(self, name: str) -> tuple[Assignment, datetime] | None:
        """The exam ``name`` is inside right now and when its window ends, or ``None``."""
        now = self.clock.now()
        user = await self.store.ensure_user(name)
        for row, started in await self.book.user_exam_sessions(user):
            extension = as_extension(await self.book.extension(row, user))
            ends = policy.exam_window_end(row, started, extension)
            if started <= now <= ends:
                return row, ends
        return None

    async def exam_problems(self, name: str) -> set[str] | None:
        """The problems ``name`` may see now: their exam's while they are in one, else ``None``."""
        active = await self.active_exam(name)
        return {p for p, _ in problem_points(active[0])} if active is not None else None

    async def refuse_during_exam(self, name: str, what: str) -> None:
        """403 naming the exam while ``name`` is in one (the tutor and review are off)."""
        active = await self.active_exam(name)
        if active is not None:
            row, ends = active
            raise CourseError(
                f"{what} is off during the exam {row.slug!r} (until {iso(ends)})",
                status=403,
                extra={"exam": {"assignment": row.slug, "ends_at": iso(ends)}},
            )

    async def admit(
        self, member: Member, problem: str, target: tuple[str, str] | None
    ) -> Admission | None:
        """Whether a submission of ``problem`` may go in, and what it counts for.

        ``target`` is ``(course, assignment)`` or ``None`` (practice outside any
        assignment, or the exam the student is in). Raises :class:`CourseError`:
        403 before the opening, after the close of a ``refuse`` assignment, outside
        an exam's window, or for a problem that is not the exam's during an exam;
        404 for a course or assignment not theirs; 409 for a problem not in the
        assignment, or an exam not started.
        """
        now = self.clock.now()
        active = await self.active_exam(member.name)
        if target is None:
            if active is None:
                return None
            row, ends = active
            if problem not in [p for p, _ in problem_points(row)]:
                raise CourseError(
                    f"during the exam {row.slug!r} (until {iso(ends)}) only its problems "
                    "can be submitted",
                    status=403,
                )
            course = await self._course_by_id(row.course_id)
        else:
            course = await self.course_for(member, target[0])
            row = await self.book.assignment(course, target[1])
            if active is not None and active[0].id != row.id:
                raise CourseError(
                    f"during the exam {active[0].slug!r} only its problems can be submitted",
                    status=403,
                )
        if problem not in [p for p, _ in problem_points(row)]:
            raise CourseError(f"{problem!r} is not a problem of {row.slug!r}", status=409)
        user = await self.store.ensure_user(member.name)
        extension = as_extension(await self.book.extension(row, user))
        if now < row.opens_at:
            raise CourseError(f"{row.slug!r} opens at {iso(row.opens_at)}", status=403)
        started = await self.book.exam_start(row, user) if row.exam_minutes else None
        if row.exam_minutes is not None and started is None:
            raise CourseError(
                f"{row.slug!r} is an exam: start it first "
                f"(POST api/courses/{course.slug}/assignments/{row.slug}/start)",
                status=409,
            )
        closes = policy.closes_at(row, extension, exam_started_at=started)
        practice = closes is not None and now > closes
        if practice and row.after_close == "refuse":
            raise CourseError(
                f"{row.slug!r} closed at {iso(closes)}: submissions are no longer accepted",
                status=403,
                extra={"closed_at": iso(closes)},
            )
        credit = 0.0 if practice else policy.credit(row, now, extension, exam_started_at=started)
        return Admission(course, row, user, problem, now, credit, practice)

    def counts_for(
        self, admission: Admission, body: dict[str, Any]
    ) -> tuple[Callable[[SubmissionRow], list[AssignmentSubmission]], dict[str, Any]]:
        """What a submission counts for: the rows to store with it (in the submission's
        own transaction, so none is judged without them), and the ``assignment`` part
        of the 202 answer."""
        row = admission.assignment
        receipt = receipt_hash(body) if row.exam_minutes is not None else None

        def attach(submission: SubmissionRow) -> list[AssignmentSubmission]:
            return [
                AssignmentSubmission(
                    submission_id=submission.id,
                    assignment_id=row.id,
                    user_id=admission.user.id,
                    problem=admission.problem,
                    submitted_at=admission.at,
                    credit=admission.credit,
                    practice=admission.practice,
                    receipt=receipt,
                )
            ]

        view = {
            "course": admission.course.slug,
            "id": row.slug,
            "submitted_at": iso(admission.at),
            "credit": admission.credit,
            "practice": admission.practice,
            "receipt": receipt,
        }
        return attach, view

    async def record(
        self, admission: Admission, submission: SubmissionRow, body: dict[str, Any]
    ) -> dict[str, Any]:
        """Store what an already stored submission counts for (a transaction of its own:
        submitting uses :meth:`counts_for`); the ``assignment`` part of the 202 answer."""
        attach, view = self.counts_for(admission, body)
        for row in attach(submission):
            await self.book.record(row)
        return view

    # -- the gradebook ------------------------------------------------------------

    async def gradebook(
        self, member: Member, slug: str, mode: policy.GradeMode
    ) -> tuple[Course, list[CourseGradeRow]]:
        """The course's gradebook (instructors): a row per student, assignment and problem."""
        course = await self.course_for(member, slug, instructor=True)
        return course, await load_course_gradebook(self.book, course, mode)

    # -- helpers --------------------------------------------------------------------

    async def _check_problems(self, slugs: Any) -> None:
        for slug in slugs:
            if await self.store.get_problem(slug) is None:
                raise CourseError(
                    f"no problem {slug!r} in the judge (publish it first)", status=404
                )

    async def _course_by_id(self, course_id: int) -> Course:
        for course in await self.book.courses():
            if course.id == course_id:
                return course
        raise CourseError("the exam's course is gone", status=404)


def spec_of(row: Assignment) -> AssignmentSpec:
    """An assignment row as the spec it was made from (for export)."""
    return parse_assignment(
        {
            "id": row.slug,
            "title": row.title,
            "opens_at": iso(row.opens_at),
            "due_at": iso(row.due_at),
            "late_policy": row.late_policy,
            "after_close": row.after_close,
            "exam_minutes": row.exam_minutes,
            "problems": row.problems,
        }
    )
