"""The gradebook: per student and problem, best score, attempts and time of first acceptance.

Per course (:func:`course_gradebook`): per assignment, student and problem, the points
earned under the assignment's late policy (:mod:`codetutor.judge.policy`), read "as of
the deadline" or "best within policy".
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from codetutor.judge import policy
from codetutor.judge.courses import CourseBook, problem_points
from codetutor.judge.models import Course

from .history import iso
from .model import Insight

#: gradebook CSV columns, in order
GRADEBOOK_COLUMNS = (
    "student",
    "problem",
    "best_score",
    "attempts",
    "accepted",
    "first_accepted_at",
)


@dataclass(frozen=True)
class GradebookRow:
    """One student's standing on one problem (``best_score`` None: never attempted)."""

    student: str
    problem: str
    best_score: float | None
    attempts: int
    first_accepted_at: datetime | None

    @property
    def accepted(self) -> bool:
        return self.first_accepted_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "problem": self.problem,
            "best_score": self.best_score,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "first_accepted_at": iso(self.first_accepted_at),
        }


def gradebook(insight: Insight, students: Iterable[str] | None = None) -> list[GradebookRow]:
    """A row per student (everyone with a judged submission) and problem, by student then problem.

    ``first_accepted_at`` is when the first accepted submission was submitted.
    """
    rows = []
    for user in sorted(students) if students is not None else insight.history.users:
        records = insight.records[user]
        for slug in sorted(insight.history.problems):
            record = records.get(slug)
            rows.append(
                GradebookRow(
                    student=user,
                    problem=slug,
                    best_score=round(record.best_score, 4) if record else None,
                    attempts=record.attempts if record else 0,
                    first_accepted_at=record.first_accepted_at if record else None,
                )
            )
    return rows


def gradebook_json(insight: Insight) -> dict[str, Any]:
    """The gradebook as JSON: students, problems (with titles) and one row per pair."""
    rows = gradebook(insight)
    return {
        "students": insight.history.users,
        "problems": [
            {"problem": p.slug, "title": p.title, "difficulty": p.difficulty}
            for p in sorted(insight.history.problems.values(), key=lambda p: p.slug)
        ],
        "columns": list(GRADEBOOK_COLUMNS),
        "rows": [r.to_dict() for r in rows],
    }


def gradebook_csv(rows: Sequence[GradebookRow]) -> str:
    """The gradebook as CSV text (header :data:`GRADEBOOK_COLUMNS`, RFC 4180, CRLF lines).

    An empty ``best_score`` means never attempted; ``accepted`` is ``true``/``false``;
    ``first_accepted_at`` is ISO 8601 UTC or empty. Cells that a spreadsheet would
    read as a formula are prefixed with ``'``.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GRADEBOOK_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _spreadsheet_safe(row.student),
                _spreadsheet_safe(row.problem),
                "" if row.best_score is None else f"{row.best_score:g}",
                row.attempts,
                "true" if row.accepted else "false",
                iso(row.first_accepted_at) or "",
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- per course: assignments scored by the late policy ---------------------------

#: course gradebook CSV columns, in order
COURSE_GRADEBOOK_COLUMNS = (
    "assignment",
    "student",
    "problem",
    "points",
    "earned",
    "best_score",
    "attempts",
    "due",
)


@dataclass(frozen=True)
class CourseGradeRow:
    """One student's standing on one problem of one assignment.

    ``earned`` is ``points`` times :func:`codetutor.judge.policy.grade` of their
    attempts (the same policy code as the submit path and grade passback);
    ``best_score`` is their best raw score, whatever its credit.
    """

    assignment: str
    student: str
    problem: str
    points: float
    earned: float
    best_score: float | None
    attempts: int
    due: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "assignment": self.assignment,
            "student": self.student,
            "problem": self.problem,
            "points": self.points,
            "earned": self.earned,
            "best_score": self.best_score,
            "attempts": self.attempts,
            "due": iso(self.due),
        }


def course_gradebook(
    assignment: Any,
    problems: Sequence[tuple[str, float]],
    attempts: Mapping[tuple[str, str], Sequence[policy.Attempt]],
    extensions: Mapping[str, policy.Extension],
    exam_starts: Mapping[str, datetime],
    mode: policy.GradeMode,
) -> list[CourseGradeRow]:
    """The rows of one assignment (a :class:`~codetutor.judge.policy.Schedule` with a ``slug``).

    ``attempts`` maps ``(student, problem)`` to their judged attempts. A row for
    every student who submitted, has an extension or started the exam, and every
    problem, by student then the assignment's order.
    """
    students = sorted({s for s, _ in attempts} | set(extensions) | set(exam_starts))
    rows = []
    for student in students:
        extension = extensions.get(student)
        for problem, points in problems:
            tried = attempts.get((student, problem), ())
            fraction = policy.grade(
                tried,
                assignment,
                extension,
                mode=mode,
                exam_started_at=exam_starts.get(student),
            )
            rows.append(
                CourseGradeRow(
                    assignment=str(assignment.slug),
                    student=student,
                    problem=problem,
                    points=points,
                    earned=round(points * fraction, 4),
                    best_score=round(max(a.score for a in tried), 4) if tried else None,
                    attempts=len(tried),
                    due=policy.due_for(assignment, extension),
                )
            )
    return rows


async def load_course_gradebook(
    book: CourseBook, course: Course, mode: policy.GradeMode
) -> list[CourseGradeRow]:
    """Coroutine: every assignment's rows of ``course``, read through ``book``.

    The one way the judge API and the dashboard build a course's gradebook.
    """
    rows: list[CourseGradeRow] = []
    for row in await book.assignments(course):
        attempts: dict[tuple[str, str], list[policy.Attempt]] = defaultdict(list)
        for graded in await book.graded_attempts(row):
            attempts[graded.user, graded.problem].append(graded.attempt)
        rows.extend(
            course_gradebook(
                row,
                problem_points(row),
                attempts,
                await book.extensions(row),
                await book.exam_starts(row) if row.exam_minutes else {},
                mode,
            )
        )
    return rows


def course_gradebook_json(
    course: str, mode: policy.GradeMode, rows: Sequence[CourseGradeRow]
) -> dict[str, Any]:
    """A course's gradebook as JSON: rows, and each student's total per assignment."""
    totals: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        total = totals.setdefault((row.assignment, row.student), [0.0, 0.0])
        total[0] += row.earned
        total[1] += row.points
    return {
        "course": course,
        "mode": mode.value,
        "columns": list(COURSE_GRADEBOOK_COLUMNS),
        "rows": [r.to_dict() for r in rows],
        "totals": [
            {"assignment": a, "student": s, "earned": round(e, 4), "points": p}
            for (a, s), (e, p) in totals.items()
        ],
    }


def course_gradebook_csv(rows: Sequence[CourseGradeRow]) -> str:
    """A course's gradebook as CSV (header :data:`COURSE_GRADEBOOK_COLUMNS`, spreadsheet-safe)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COURSE_GRADEBOOK_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _spreadsheet_safe(row.assignment),
                _spreadsheet_safe(row.student),
                _spreadsheet_safe(row.problem),
                f"{row.points:g}",
                f"{row.earned:g}",
                "" if row.best_score is None else f"{row.best_score:g}",
                row.attempts,
                iso(row.due) or "",
            ]
        )
    return out.getvalue()
