"""Verdicts and per-case results (SPEC.md section 4)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal

from .problem import Visibility


class Verdict(str, Enum):
    ACCEPTED = "accepted"
    WRONG_ANSWER = "wrong_answer"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT_EXCEEDED = "time_limit_exceeded"
    MEMORY_LIMIT_EXCEEDED = "memory_limit_exceeded"
    OUTPUT_LIMIT_EXCEEDED = "output_limit_exceeded"
    SYNTAX_ERROR = "syntax_error"
    INTERNAL_ERROR = "internal_error"


class CaseStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    #: not run: the submission failed before this case could run
    SKIPPED = "skipped"

    @property
    def verdict(self) -> Verdict:
        return _VERDICT_OF_STATUS[self]


_VERDICT_OF_STATUS = {
    CaseStatus.PASSED: Verdict.ACCEPTED,
    CaseStatus.FAILED: Verdict.WRONG_ANSWER,
    CaseStatus.ERROR: Verdict.RUNTIME_ERROR,
    CaseStatus.TIMEOUT: Verdict.TIME_LIMIT_EXCEEDED,
    CaseStatus.MEMORY_LIMIT: Verdict.MEMORY_LIMIT_EXCEEDED,
    CaseStatus.OUTPUT_LIMIT: Verdict.OUTPUT_LIMIT_EXCEEDED,
    CaseStatus.SKIPPED: Verdict.RUNTIME_ERROR,
}

Audience = Literal["student", "instructor"]


@dataclass
class CaseResult:
    """The outcome of one case. ``expected``/``actual``/``message``/``stdout``
    are feedback shown only for public cases (and to instructors)."""

    name: str
    visibility: Visibility
    status: CaseStatus
    time_ms: float = 0.0
    expected: str | None = None
    actual: str | None = None
    message: str | None = None
    stdout: str | None = None

    def to_dict(self, audience: Audience = "student") -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "visibility": self.visibility.value,
            "status": self.status.value,
            "time_ms": round(self.time_ms, 1),
        }
        if self.visibility is Visibility.PUBLIC or audience == "instructor":
            for key in ("expected", "actual", "message", "stdout"):
                value = getattr(self, key)
                if value is not None:
                    d[key] = value
        return d


@dataclass
class StudentError:
    """Where the student's own code failed (their code, so always shown)."""

    kind: str
    message: str
    cell: int | None = None
    line: int | None = None
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class JudgeResult:
    """A verdict with everything a student or instructor may see about it."""

    verdict: Verdict
    score: float
    time_ms: float
    cases: list[CaseResult] = field(default_factory=list)
    error: StudentError | None = None
    stdout: str | None = None
    problem_id: str | None = None
    internal_message: str | None = None

    def to_dict(self, audience: Audience = "student") -> dict[str, Any]:
        """The JSON of ``codetutor judge --json`` and of the judge API.

        Hidden cases show only name, visibility, status and time to students.
        """
        d: dict[str, Any] = {
            "verdict": self.verdict.value,
            "score": round(self.score, 6),
            "time_ms": round(self.time_ms, 1),
            "cases": [c.to_dict(audience) for c in self.cases],
        }
        if self.problem_id is not None:
            d["problem_id"] = self.problem_id
        if self.error is not None:
            d["error"] = self.error.to_dict()
        if self.stdout:
            d["stdout"] = self.stdout
        if audience == "instructor" and self.internal_message:
            d["internal_message"] = self.internal_message
        return d


def overall(cases: list[CaseResult]) -> tuple[Verdict, float]:
    """The verdict of the first case that did not pass, and the fraction passed."""
    if not cases:
        return Verdict.INTERNAL_ERROR, 0.0
    passed = sum(1 for c in cases if c.status is CaseStatus.PASSED)
    for case in cases:
        if case.status is not CaseStatus.PASSED:
            return case.status.verdict, passed / len(cases)
    return Verdict.ACCEPTED, 1.0
