"""Courses and assignments: who belongs where, what an assignment is, and their rows.

A course's members are two Hub groups, read from the caller's Hub user model on
every request (so a new course or a new member needs no restart):
``course:<id>:instructors`` and ``course:<id>:students``. Admins (the Hub's
``admin`` flag, or the problem publishers' scope) are instructors of every course.

- :class:`Member` and :class:`Role`: the caller and what they are in a course.
- :func:`parse_course`, :func:`parse_assignment`, :func:`parse_extension`: the JSON
  forms of the API and of the course files (:mod:`codetutor.judge.coursefiles`),
  validated; :class:`CourseError` (HTTP 400) names what is wrong.
- :class:`CourseBook`: the course tables through a :class:`~.store.Store` (coroutines).

Deadlines become credit only in :mod:`codetutor.judge.policy`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from . import policy
from .exceptions import JudgeException
from .models import (
    Assignment,
    AssignmentSubmission,
    Course,
    ExamSession,
    Extension,
    Submission,
    SubmissionStatus,
    User,
    utcnow,
)
from .store import Store

SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
AFTER_CLOSE = ("refuse", "practice")
MAX_EXAM_MINUTES = 7 * 24 * 60
MAX_PROBLEMS = 200
MIN_YEAR, MAX_YEAR = 1970, 9000


class CourseError(JudgeException):
    """Bad course or assignment data (400), or a course thing that is not there (404)."""

    status = 400


class Role(enum.StrEnum):
    INSTRUCTOR = "instructor"
    STUDENT = "student"


def instructors_group(course: str) -> str:
    return f"course:{course}:instructors"


def students_group(course: str) -> str:
    return f"course:{course}:students"


@dataclass(frozen=True)
class Member:
    """The caller: Hub name, Hub groups, and whether they administer every course."""

    name: str
    groups: frozenset[str]
    admin: bool = False

    def role(self, course: str) -> Role | None:
        """What the caller is in ``course`` (instructor wins), or ``None``."""
        if self.admin or instructors_group(course) in self.groups:
            return Role.INSTRUCTOR
        if students_group(course) in self.groups:
            return Role.STUDENT
        return None

    def courses(self) -> set[str]:
        """The course ids named by the caller's groups."""
        found = set()
        for group in self.groups:
            parts = group.split(":")
            if len(parts) == 3 and parts[0] == "course" and parts[2] in ("instructors", "students"):
                found.add(parts[1])
        return found


@dataclass(frozen=True)
class CourseSpec:
    slug: str
    title: str
    problems: tuple[str, ...]


@dataclass(frozen=True)
class AssignmentSpec:
    slug: str
    title: str
    opens_at: datetime
    due_at: datetime
    policy: policy.LatePolicy
    after_close: str
    exam_minutes: int | None
    problems: tuple[tuple[str, float], ...]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form :func:`parse_assignment` reads."""
        return {
            "id": self.slug,
            "title": self.title,
            "opens_at": self.opens_at.isoformat(),
            "due_at": self.due_at.isoformat(),
            "late_policy": self.policy.to_dict(),
            "after_close": self.after_close,
            "exam_minutes": self.exam_minutes,
            "problems": [{"problem": p, "points": pts} for p, pts in self.problems],
        }


def parse_slug(value: Any, name: str) -> str:
    if not isinstance(value, str) or not SLUG.fullmatch(value):
        raise CourseError(f"{name} must be an id of lowercase letters, digits, - and _")
    return value


def parse_time(value: Any, name: str) -> datetime:
    """An ISO 8601 time with its UTC offset (``2027-03-01T23:59:00+09:00``), as UTC."""
    if not isinstance(value, str):
        raise CourseError(f"{name} must be an ISO 8601 time with a UTC offset")
    try:
        parsed = datetime.fromisoformat(value.upper())
    except ValueError:
        raise CourseError(f"{name} is not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        raise CourseError(f"{name} needs a UTC offset (e.g. +09:00 or Z)")
    # a well-formed time too far from now for a course (409: the schema cannot say it);
    # far enough from datetime's limits that a year of late hours still fits
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise CourseError(f"{name} must be in the years {MIN_YEAR} to {MAX_YEAR}", status=409)
    return parsed.astimezone(UTC)


def _fields(
    data: Any, what: str, allowed: Iterable[str], required: Iterable[str]
) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise CourseError(f"{what} must be a JSON object")
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise CourseError(f"{what} has unknown field(s): {', '.join(unknown)}")
    missing = [f for f in required if f not in data]
    if missing:
        raise CourseError(f"{what} needs {', '.join(missing)}")
    return data


def _title(value: Any, default: str) -> str:
    """The title (``None``: ``default``); no NUL, which PostgreSQL cannot store."""
    if value is None:
        return default
    if not isinstance(value, str) or not 0 < len(value) <= 255 or "\x00" in value:
        raise CourseError("title must be text of 1 to 255 characters, without NUL")
    return value


def parse_course(data: Any) -> CourseSpec:
    """``{"id", "title"?, "problems"?: [slug, ...]}``."""
    data = _fields(data, "the course", ("id", "title", "problems"), ("id",))
    slug = parse_slug(data["id"], "id")
    problems = data.get("problems", [])
    if not isinstance(problems, list) or len(problems) > MAX_PROBLEMS:
        raise CourseError(f"problems must be a list of at most {MAX_PROBLEMS} problem ids")
    chosen = tuple(parse_slug(p, "problems[]") for p in problems)
    if len(set(chosen)) != len(chosen):
        raise CourseError("problems lists a problem twice")
    return CourseSpec(slug, _title(data.get("title"), slug), chosen)


def parse_assignment(data: Any) -> AssignmentSpec:
    """The assignment's JSON form (see ``judge/openapi.yaml``, ``AssignmentInput``)."""
    allowed = ("id", "title", "opens_at", "due_at", "late_policy", "after_close")
    data = _fields(
        data,
        "the assignment",
        (*allowed, "exam_minutes", "problems"),
        ("id", "opens_at", "due_at", "problems"),
    )
    slug = parse_slug(data["id"], "id")
    opens_at = parse_time(data["opens_at"], "opens_at")
    due_at = parse_time(data["due_at"], "due_at")
    if due_at < opens_at:
        raise CourseError("due_at is before opens_at", status=409)
    try:
        late = policy.LatePolicy.from_dict(data.get("late_policy"))
    except policy.PolicyError as e:
        raise CourseError(e.message) from None
    after_close = data.get("after_close", "refuse")
    if after_close not in AFTER_CLOSE:
        raise CourseError("after_close must be 'refuse' or 'practice'")
    exam = data.get("exam_minutes")
    if exam is not None and (
        isinstance(exam, bool) or not isinstance(exam, int) or not 1 <= exam <= MAX_EXAM_MINUTES
    ):
        raise CourseError(f"exam_minutes must be a whole number from 1 to {MAX_EXAM_MINUTES}")
    raw = data["problems"]
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_PROBLEMS:
        raise CourseError(f"problems must be a list of 1 to {MAX_PROBLEMS} {{problem, points}}")
    problems = []
    for i, item in enumerate(raw):
        item = _fields(item, f"problems[{i}]", ("problem", "points"), ("problem",))
        points = item.get("points", 1)
        if (
            isinstance(points, bool)
            or not isinstance(points, int | float)
            or not 0 <= points <= 1e6
        ):
            raise CourseError(f"problems[{i}].points must be a number from 0 to 1000000")
        problems.append((parse_slug(item["problem"], f"problems[{i}].problem"), float(points)))
    if len({p for p, _ in problems}) != len(problems):
        # 409: a schema cannot say "unique by problem"
        raise CourseError("problems lists a problem twice", status=409)
    return AssignmentSpec(
        slug=slug,
        title=_title(data.get("title"), slug),
        opens_at=opens_at,
        due_at=due_at,
        policy=late,
        after_close=after_close,
        exam_minutes=exam,
        problems=tuple(problems),
    )


def parse_extension(data: Any) -> tuple[str, policy.Extension]:
    """``{"user", "due_at"?, "time_multiplier"?}``: whose extension and what it is."""
    data = _fields(data, "the extension", ("user", "due_at", "time_multiplier"), ("user",))
    user = data["user"]
    if not isinstance(user, str) or not 0 < len(user) <= 255 or "\x00" in user:
        raise CourseError("user must be a Hub user name (1 to 255 characters, without NUL)")
    due = data.get("due_at")
    multiplier = data.get("time_multiplier", 1.0)
    if isinstance(multiplier, bool) or not isinstance(multiplier, int | float):
        raise CourseError("time_multiplier must be a number")
    if not 1.0 <= multiplier <= 10.0:
        raise CourseError("time_multiplier must be between 1 and 10")
    return user, policy.Extension(
        parse_time(due, "due_at") if due is not None else None, float(multiplier)
    )


def as_extension(row: Extension | None) -> policy.Extension | None:
    if row is None:
        return None
    return policy.Extension(row.due_at, row.time_multiplier)


@dataclass(frozen=True)
class GradedAttempt:
    """A judged submission made for an assignment (what the gradebook reads)."""

    user: str
    problem: str
    attempt: policy.Attempt


class CourseBook:
    """The course tables through a :class:`Store`; every method is a coroutine."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def courses(self, slugs: Iterable[str] | None = None) -> list[Course]:
        """Every course (or those of ``slugs``), by id."""
        query = select(Course).order_by(Course.slug)
        if slugs is not None:
            query = query.where(Course.slug.in_(list(slugs)))
        async with self.store.session() as s:
            return list(await s.scalars(query))

    async def course(self, slug: str) -> Course:
        """The course; :class:`CourseError` 404 when there is none."""
        async with self.store.session() as s:
            found = await s.scalar(select(Course).where(Course.slug == slug))
        if found is None:
            raise CourseError(f"no course {slug!r}", status=404)
        return found

    async def put_course(self, spec: CourseSpec) -> tuple[Course, bool]:
        """Create or update a course; ``(row, created)``."""
        for _ in range(3):
            try:
                async with self.store.session() as s:
                    row = await s.scalar(select(Course).where(Course.slug == spec.slug))
                    created = row is None
                    if row is None:
                        row = Course(slug=spec.slug, created_at=utcnow())
                        s.add(row)
                    row.title = spec.title
                    row.problems = list(spec.problems)
                return row, created
            except IntegrityError:
                continue
        raise CourseError(f"course {spec.slug!r} is being changed by someone else", status=409)

    async def assignments(self, course: Course) -> list[Assignment]:
        """The course's assignments in order."""
        async with self.store.session() as s:
            rows = await s.scalars(
                select(Assignment)
                .where(Assignment.course_id == course.id)
                .order_by(Assignment.position, Assignment.id)
            )
            return list(rows)

    async def assignment(self, course: Course, slug: str) -> Assignment:
        """One assignment; :class:`CourseError` 404 when the course has none called ``slug``."""
        async with self.store.session() as s:
            found = await s.scalar(
                select(Assignment).where(Assignment.course_id == course.id, Assignment.slug == slug)
            )
        if found is None:
            raise CourseError(f"no assignment {slug!r} in course {course.slug!r}", status=404)
        return found

    async def put_assignment(self, course: Course, spec: AssignmentSpec) -> tuple[Assignment, bool]:
        """Create or update an assignment of ``course`` (new ones go last); ``(row, created)``."""
        for _ in range(3):
            try:
                async with self.store.session() as s:
                    row = await s.scalar(
                        select(Assignment).where(
                            Assignment.course_id == course.id, Assignment.slug == spec.slug
                        )
                    )
                    created = row is None
                    if row is None:
                        count = len(
                            list(
                                await s.scalars(
                                    select(Assignment.id).where(Assignment.course_id == course.id)
                                )
                            )
                        )
                        row = Assignment(course_id=course.id, slug=spec.slug, position=count)
                        s.add(row)
                    row.title = spec.title
                    row.opens_at = spec.opens_at
                    row.due_at = spec.due_at
                    row.late_policy = spec.policy.to_dict()
                    row.after_close = spec.after_close
                    row.exam_minutes = spec.exam_minutes
                    row.problems = [{"problem": p, "points": pts} for p, pts in spec.problems]
                    row.updated_at = utcnow()
                return row, created
            except IntegrityError:
                continue
        raise CourseError(f"assignment {spec.slug!r} is being changed by someone else", status=409)

    async def extension(self, assignment: Assignment, user: User) -> Extension | None:
        async with self.store.session() as s:
            return await s.scalar(
                select(Extension).where(
                    Extension.assignment_id == assignment.id, Extension.user_id == user.id
                )
            )

    async def extensions(self, assignment: Assignment) -> dict[str, policy.Extension]:
        """Every extension of the assignment, by user name."""
        async with self.store.session() as s:
            rows = await s.execute(
                select(User.name, Extension)
                .join(Extension, Extension.user_id == User.id)
                .where(Extension.assignment_id == assignment.id)
            )
            return {name: policy.Extension(e.due_at, e.time_multiplier) for name, e in rows}

    async def put_extension(
        self, assignment: Assignment, user: User, extension: policy.Extension
    ) -> None:
        """Set (replace) the user's extension on the assignment."""
        for _ in range(3):
            try:
                async with self.store.session() as s:
                    row = await s.scalar(
                        select(Extension).where(
                            Extension.assignment_id == assignment.id, Extension.user_id == user.id
                        )
                    )
                    if row is None:
                        row = Extension(assignment_id=assignment.id, user_id=user.id)
                        s.add(row)
                    row.due_at = extension.due_at
                    row.time_multiplier = extension.time_multiplier
                return
            except IntegrityError:
                continue
        raise CourseError("the extension is being changed by someone else", status=409)

    async def exam_start(self, assignment: Assignment, user: User) -> datetime | None:
        """When the user started the exam, or ``None``."""
        async with self.store.session() as s:
            return await s.scalar(
                select(ExamSession.started_at).where(
                    ExamSession.assignment_id == assignment.id, ExamSession.user_id == user.id
                )
            )

    async def exam_starts(self, assignment: Assignment) -> dict[str, datetime]:
        async with self.store.session() as s:
            rows = await s.execute(
                select(User.name, ExamSession.started_at)
                .join(ExamSession, ExamSession.user_id == User.id)
                .where(ExamSession.assignment_id == assignment.id)
            )
            return {name: started for name, started in rows}

    async def start_exam(self, assignment: Assignment, user: User, now: datetime) -> datetime:
        """Start the user's exam at ``now`` (once: a second start returns the first)."""
        for _ in range(3):
            try:
                async with self.store.session() as s:
                    started = await s.scalar(
                        select(ExamSession.started_at).where(
                            ExamSession.assignment_id == assignment.id,
                            ExamSession.user_id == user.id,
                        )
                    )
                    if started is not None:
                        return started
                    s.add(ExamSession(assignment_id=assignment.id, user_id=user.id, started_at=now))
                return now
            except IntegrityError:
                continue
        raise CourseError("the exam is being started twice at once", status=409)

    async def user_exam_sessions(self, user: User) -> list[tuple[Assignment, datetime]]:
        """The user's started exams with their start times."""
        async with self.store.session() as s:
            rows = await s.execute(
                select(Assignment, ExamSession.started_at)
                .join(ExamSession, ExamSession.assignment_id == Assignment.id)
                .where(ExamSession.user_id == user.id)
            )
            return [(a, started) for a, started in rows]

    async def record(self, row: AssignmentSubmission) -> None:
        """Store which assignment a submission counts for (in its own transaction)."""
        async with self.store.session() as s:
            s.add(row)

    async def receipts(self, assignment: Assignment, user: User) -> list[AssignmentSubmission]:
        """The user's submissions for the assignment, oldest first."""
        async with self.store.session() as s:
            rows = await s.scalars(
                select(AssignmentSubmission)
                .where(
                    AssignmentSubmission.assignment_id == assignment.id,
                    AssignmentSubmission.user_id == user.id,
                )
                .order_by(AssignmentSubmission.submission_id)
            )
            return list(rows)

    async def graded_attempts(self, assignment: Assignment) -> list[GradedAttempt]:
        """Every judged submission made for the assignment, with its course-clock time."""
        async with self.store.session() as s:
            rows = await s.execute(
                select(User.name, AssignmentSubmission, Submission.score)
                .join(AssignmentSubmission, AssignmentSubmission.user_id == User.id)
                .join(Submission, Submission.id == AssignmentSubmission.submission_id)
                .where(
                    AssignmentSubmission.assignment_id == assignment.id,
                    Submission.status == SubmissionStatus.JUDGED.value,
                    Submission.score.is_not(None),
                )
                .order_by(AssignmentSubmission.submission_id)
            )
            return [
                GradedAttempt(name, a.problem, policy.Attempt(a.submitted_at, float(score or 0.0)))
                for name, a, score in rows
            ]


def problem_points(assignment: Assignment) -> Sequence[tuple[str, float]]:
    """The assignment's ``(problem, points)`` in order."""
    return [(str(p["problem"]), float(p["points"])) for p in assignment.problems]
