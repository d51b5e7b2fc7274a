"""Late policies: how much credit a submission made at a given moment earns.

This module is the one place where deadlines turn into credit. The submit path
(:mod:`codetutor.judge.service.courses`), the gradebook (:mod:`codetutor.insight.gradebook`)
and grade passback to an LMS all call it; none of them compares times on its own.
It is pure: no clock, no database, no IO. The caller passes the moment.

The contract::

    credit(assignment, submitted_at, extension=None, *, exam_started_at=None) -> float

returns the fraction of a submission's score that counts, ``0.0 .. 1.0``:

- ``assignment`` is anything with :class:`Schedule`'s attributes: ``opens_at`` and
  ``due_at`` (timezone-aware), ``policy`` (a :class:`LatePolicy`) and
  ``exam_minutes`` (``None`` unless the assignment is an exam). The database row
  :class:`codetutor.judge.models.Assignment` is one; so is :class:`Terms`.
- ``extension`` is the student's :class:`Extension` or ``None``: a personal due
  time replaces the assignment's, and a time multiplier stretches an exam's window.
- before ``opens_at``: ``0.0``; at or before the (personal) due time: ``1.0``
  (the due instant itself is on time);
- after it, by :attr:`LatePolicy.kind`:

  ``none``      ``0.0``;
  ``by_date``   the credit of the first step whose end (``due + hours``) is at or
                after the moment, else ``0.0``; e.g. steps ``[(48 h, 0.8)]``:
                80 % until two days late, then nothing;
  ``per_hour``  ``1 - penalty * started late hours`` (one second late is one
                hour), never below 0, and ``0.0`` after ``max_hours`` late;

- an exam (``exam_minutes`` set) gives credit only inside the student's window,
  :func:`exam_window_end`: from ``exam_started_at`` for ``exam_minutes *
  time_multiplier``, and never past the due time; late policies do not apply
  to exams. Without ``exam_started_at`` (never opened) an exam earns ``0.0``.

Related: :func:`closes_at` (the last moment with any credit: after it the
submit path refuses a submission, or takes it for practice), :func:`grade`
(a problem's fraction from all of a student's attempts, "as of the deadline"
or "best within policy") and :meth:`LatePolicy.from_dict` (the JSON form used by
the API and the course files, :class:`PolicyError` on bad input).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from .exceptions import JudgeException

HOUR = timedelta(hours=1)
#: the longest late window or extension a policy may describe (a year)
MAX_HOURS = 24 * 366


class PolicyError(JudgeException):
    """A late policy, extension or schedule given as data is malformed (HTTP 400)."""

    status = 400


class PolicyKind(enum.StrEnum):
    """What happens after the due time."""

    NONE = "none"
    BY_DATE = "by_date"
    PER_HOUR = "per_hour"


class GradeMode(enum.StrEnum):
    """How the gradebook reads a student's attempts at one problem."""

    #: the best score submitted by the (personal) due time, at full credit
    AS_OF_DEADLINE = "deadline"
    #: the best of score * :func:`credit` over every attempt
    BEST_WITHIN_POLICY = "best"


@dataclass(frozen=True)
class CreditStep:
    """``credit`` for a submission at most ``hours`` after the due time."""

    hours: float
    credit: float


@dataclass(frozen=True)
class LatePolicy:
    """What a late submission earns (see the module's docstring)."""

    kind: PolicyKind = PolicyKind.NONE
    #: ``by_date``: steps by increasing ``hours``
    steps: tuple[CreditStep, ...] = ()
    #: ``per_hour``: the fraction lost per started hour late
    penalty: float = 0.0
    #: ``per_hour``: no credit at all after this many hours late (``None``: until 0)
    max_hours: float | None = None

    @classmethod
    def from_dict(cls, data: Any) -> LatePolicy:
        """The policy from its JSON form; :class:`PolicyError` naming what is wrong.

        ``{"kind": "none"}``, ``{"kind": "by_date", "steps": [{"hours": 48,
        "credit": 0.8}, ...]}`` or ``{"kind": "per_hour", "penalty": 0.05,
        "max_hours": 72}`` (``max_hours`` optional).
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise PolicyError("'late_policy' must be an object with a 'kind'")
        try:
            kind = PolicyKind(str(data.get("kind")))
        except ValueError:
            choices = ", ".join(k.value for k in PolicyKind)
            raise PolicyError(f"late_policy.kind must be one of: {choices}") from None
        allowed = {
            PolicyKind.NONE: {"kind"},
            PolicyKind.BY_DATE: {"kind", "steps"},
            PolicyKind.PER_HOUR: {"kind", "penalty", "max_hours"},
        }[kind]
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise PolicyError(
                f"late_policy ({kind.value}) has unknown field(s): {', '.join(unknown)}"
            )
        if kind is PolicyKind.NONE:
            return cls()
        if kind is PolicyKind.BY_DATE:
            raw = data.get("steps")
            if not isinstance(raw, list) or not raw:
                raise PolicyError("late_policy.steps must be a non-empty list of {hours, credit}")
            steps: list[CreditStep] = []
            for i, step in enumerate(raw):
                if not isinstance(step, Mapping) or set(step) != {"hours", "credit"}:
                    raise PolicyError(f"late_policy.steps[{i}] must be {{hours, credit}}")
                hours = _number(step["hours"], f"late_policy.steps[{i}].hours", 0, MAX_HOURS)
                credit_ = _number(step["credit"], f"late_policy.steps[{i}].credit", 0, 1)
                if hours == 0:
                    raise PolicyError(f"late_policy.steps[{i}].hours must be above 0")
                steps.append(CreditStep(hours, credit_))
            # in the order of their ends (of two with the same end, the first listed counts)
            return cls(kind, steps=tuple(sorted(steps, key=lambda s: s.hours)))
        penalty = _number(data.get("penalty"), "late_policy.penalty", 0, 1)
        if penalty == 0:
            raise PolicyError(
                "late_policy.penalty must be above 0 (a per_hour policy loses credit)"
            )
        max_hours = data.get("max_hours")
        if max_hours is not None:
            max_hours = _number(max_hours, "late_policy.max_hours", 0, MAX_HOURS)
        return cls(kind, penalty=penalty, max_hours=max_hours)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form :meth:`from_dict` reads."""
        if self.kind is PolicyKind.BY_DATE:
            return {
                "kind": self.kind.value,
                "steps": [{"hours": s.hours, "credit": s.credit} for s in self.steps],
            }
        if self.kind is PolicyKind.PER_HOUR:
            return {"kind": self.kind.value, "penalty": self.penalty, "max_hours": self.max_hours}
        return {"kind": self.kind.value}

    def late_credit(self, late: timedelta) -> float:
        """The credit ``late`` (> 0) after the due time."""
        if self.kind is PolicyKind.BY_DATE:
            for step in self.steps:
                if late <= step.hours * HOUR:
                    return step.credit
            return 0.0
        if self.kind is PolicyKind.PER_HOUR:
            if self.max_hours is not None and late > self.max_hours * HOUR:
                return 0.0
            started_hours = math.ceil(late / HOUR)
            return max(0.0, round(1.0 - self.penalty * started_hours, 9))
        return 0.0

    def late_window(self) -> timedelta | None:
        """How long after the due time some credit is still given (``None``: forever)."""
        if self.kind is PolicyKind.BY_DATE:
            positive = [s.hours for s in self.steps if s.credit > 0]
            return max(positive) * HOUR if positive else timedelta(0)
        if self.kind is PolicyKind.PER_HOUR:
            limit = self.max_hours * HOUR if self.max_hours is not None else None
            if self.penalty > 0:
                # the last started hour that still leaves credit above 0
                hours = math.ceil(round(1.0 / self.penalty, 9)) - 1
                limit = min(limit, hours * HOUR) if limit is not None else hours * HOUR
            return limit
        return timedelta(0)


class Schedule(Protocol):
    """What :func:`credit` reads of an assignment."""

    @property
    def opens_at(self) -> datetime: ...

    @property
    def due_at(self) -> datetime: ...

    @property
    def exam_minutes(self) -> int | None: ...

    @property
    def policy(self) -> LatePolicy: ...


@dataclass(frozen=True)
class Terms:
    """An assignment's schedule as plain data (the database row is another :class:`Schedule`)."""

    opens_at: datetime
    due_at: datetime
    policy: LatePolicy = field(default_factory=LatePolicy)
    exam_minutes: int | None = None


@dataclass(frozen=True)
class Extension:
    """One student's exception to an assignment's schedule."""

    #: the student's own due time (``None``: the assignment's)
    due_at: datetime | None = None
    #: stretches an exam's window (1.5: half as much time again)
    time_multiplier: float = 1.0


@dataclass(frozen=True)
class Attempt:
    """A judged submission as :func:`grade` reads it."""

    submitted_at: datetime
    score: float


def due_for(assignment: Schedule, extension: Extension | None = None) -> datetime:
    """The due time that holds for the student: their extension's, else the assignment's."""
    if extension is not None and extension.due_at is not None:
        return extension.due_at
    return assignment.due_at


def exam_window_end(
    assignment: Schedule, started_at: datetime, extension: Extension | None = None
) -> datetime:
    """When the student's exam window closes: start + minutes * multiplier, at most the due time.

    Raises :class:`PolicyError` if the assignment is not an exam.
    """
    if assignment.exam_minutes is None:
        raise PolicyError("this assignment is not an exam")
    multiplier = extension.time_multiplier if extension is not None else 1.0
    end = started_at + timedelta(minutes=assignment.exam_minutes * multiplier)
    return min(end, due_for(assignment, extension))


def credit(
    assignment: Schedule,
    submitted_at: datetime,
    extension: Extension | None = None,
    *,
    exam_started_at: datetime | None = None,
) -> float:
    """The fraction (0..1) of a score made at ``submitted_at`` that counts (see the module)."""
    if submitted_at.tzinfo is None:
        raise PolicyError("submitted_at must be timezone-aware")
    if submitted_at < assignment.opens_at:
        return 0.0
    if assignment.exam_minutes is not None:
        if exam_started_at is None or submitted_at < exam_started_at:
            return 0.0
        return (
            1.0 if submitted_at <= exam_window_end(assignment, exam_started_at, extension) else 0.0
        )
    due = due_for(assignment, extension)
    if submitted_at <= due:
        return 1.0
    return assignment.policy.late_credit(submitted_at - due)


def closes_at(
    assignment: Schedule,
    extension: Extension | None = None,
    *,
    exam_started_at: datetime | None = None,
) -> datetime | None:
    """The last moment at which :func:`credit` is above 0 (``None``: it never closes).

    For an exam that was started, the end of its window; for one not started
    yet, the due time (no one can start after it).
    """
    if assignment.exam_minutes is not None:
        if exam_started_at is None:
            return due_for(assignment, extension)
        return exam_window_end(assignment, exam_started_at, extension)
    window = assignment.policy.late_window()
    if window is None:
        return None
    return due_for(assignment, extension) + window


def grade(
    attempts: Iterable[Attempt],
    assignment: Schedule,
    extension: Extension | None = None,
    *,
    mode: GradeMode = GradeMode.BEST_WITHIN_POLICY,
    exam_started_at: datetime | None = None,
) -> float:
    """The fraction (0..1) of a problem's points a student's attempts earn.

    ``AS_OF_DEADLINE``: the best score among attempts with full credit (made
    by the due time, inside the exam window); ``BEST_WITHIN_POLICY``: the best
    ``score * credit`` over all attempts. No attempt: ``0.0``.
    """
    best = 0.0
    for attempt in attempts:
        share = credit(assignment, attempt.submitted_at, extension, exam_started_at=exam_started_at)
        if mode is GradeMode.AS_OF_DEADLINE:
            share = 1.0 if share >= 1.0 else 0.0
        best = max(best, attempt.score * share)
    return round(best, 9)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise PolicyError(f"{name} must be a number")
    if not low <= value <= high:
        raise PolicyError(f"{name} must be between {low:g} and {high:g}")
    return float(value)
