"""Submission history: the judge's problems and judged submissions, as the insight model reads them.

:func:`load_history` reads them from the judge's
:class:`~codetutor.judge.store.Store`; :func:`history_signature` is a cheap value
that changes whenever they do. ``internal_error`` verdicts (the judge's fault,
never the student's) are kept here and skipped by the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from codetutor.judge.models import Problem, Submission, SubmissionStatus, User
from codetutor.judge.store import Store
from codetutor.judge.verdict import Verdict

ACCEPTED = Verdict.ACCEPTED.value
INTERNAL_ERROR = Verdict.INTERNAL_ERROR.value


def iso(value: datetime | None) -> str | None:
    """``value`` in ISO 8601, or None."""
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class ProblemInfo:
    """The newest version of a problem: what recommendations and statistics show."""

    slug: str
    version: int
    title: dict[str, str]
    difficulty: int
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    """One judged submission. ``at`` is when it was submitted."""

    id: int
    user: str
    problem: str
    verdict: str
    score: float
    at: datetime

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPTED


@dataclass(frozen=True)
class History:
    """Problems (newest version of each slug) and judged attempts, oldest first."""

    problems: dict[str, ProblemInfo]
    attempts: tuple[Attempt, ...]

    @property
    def users(self) -> list[str]:
        """Everyone with at least one judged submission, by name."""
        return sorted({a.user for a in self.attempts})


async def history_signature(store: Store) -> tuple[Any, ...]:
    """Coroutine: a cheap value that changes whenever a verdict or a problem version is added."""
    async with store.session() as s:
        judged = (
            await s.execute(
                select(func.count(), func.max(Submission.finished_at), func.max(Submission.id))
                .select_from(Submission)
                .where(Submission.status == SubmissionStatus.JUDGED.value)
            )
        ).one()
        problems = (await s.execute(select(func.count(), func.max(Problem.id)))).one()
    return (*judged, *problems)


async def load_history(store: Store) -> History:
    """Coroutine: every problem (newest versions) and every judged submission, from ``store``.

    Submissions of older versions of a problem count for its slug.
    """
    problems = await load_problems(store)
    return History(problems=problems, attempts=await load_attempts(store, problems))


async def load_problems(store: Store) -> dict[str, ProblemInfo]:
    """Coroutine: the newest version of every problem, by slug."""
    latest = await store.latest_problems()
    problems = {
        p.slug: ProblemInfo(
            slug=p.slug,
            version=p.version,
            title=dict(p.title),
            difficulty=int(p.difficulty),
            tags=tuple(p.tags),
        )
        for p in latest
    }
    return problems


async def load_attempts(
    store: Store, problems: dict[str, ProblemInfo], *, finished_since: datetime | None = None
) -> tuple[Attempt, ...]:
    """Coroutine: judged submissions (those finished at or after ``finished_since``), oldest first."""
    query = (
        select(
            Submission.id,
            User.name,
            Problem.slug,
            Submission.verdict,
            Submission.score,
            Submission.created_at,
        )
        .join(User, User.id == Submission.user_id)
        .join(Problem, Problem.id == Submission.problem_id)
        .where(Submission.status == SubmissionStatus.JUDGED.value)
        .order_by(Submission.created_at, Submission.id)
    )
    if finished_since is not None:
        query = query.where(Submission.finished_at >= finished_since)
    async with store.session() as s:
        rows = (await s.execute(query)).all()
    return tuple(
        Attempt(
            id=sid,
            user=name,
            problem=slug,
            verdict=verdict or INTERNAL_ERROR,
            score=float(score or 0.0),
            at=created,
        )
        for sid, name, slug, verdict, score, created in rows
        if slug in problems
    )
