"""What the judge serves to student and instructor views: JSON views of its rows."""

from __future__ import annotations

from typing import Any

from ..models import Problem as ProblemRow
from ..models import Submission as SubmissionRow
from ..verdict import student_view


def problem_view(problem: ProblemRow) -> dict[str, Any]:
    """The student's view of a problem version (no solution, no hidden tests)."""
    return {**problem.public, "id": problem.slug, "version": problem.version}


def result_view(result: dict[str, Any] | None, *, instructor: bool) -> dict[str, Any] | None:
    """A stored (instructor) result as its reader may see it (see :func:`~..verdict.student_view`)."""
    if result is None or instructor:
        return result
    return student_view(result)


def submission_view(
    sub: SubmissionRow,
    problem: ProblemRow,
    user: str,
    *,
    instructor: bool,
    brief: bool = False,
) -> dict[str, Any]:
    """A submission as JSON; ``brief`` leaves out code and per-case results."""
    view: dict[str, Any] = {
        "id": sub.id,
        "problem": problem.slug,
        "version": problem.version,
        "user": user,
        "status": sub.status,
        "verdict": sub.verdict,
        "score": sub.score,
        "time_ms": sub.time_ms,
        "attempts": sub.attempts,
        "created_at": sub.created_at.isoformat(),
        "started_at": sub.started_at.isoformat() if sub.started_at else None,
        "finished_at": sub.finished_at.isoformat() if sub.finished_at else None,
    }
    if not brief:
        view["code"] = sub.code
        view["result"] = result_view(sub.result, instructor=instructor)
    return view
