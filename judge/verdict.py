"""Verdicts and per-case results (SPEC.md section 4).

What leaves the judge (``codetutor judge --json``, the judge API) is strict
JSON: :meth:`JudgeResult.to_dict` gives only finite numbers and strings that
encode as UTF-8, whatever the student's code sent, and :func:`dumps` refuses
``NaN``/``Infinity`` everywhere else.
"""

from __future__ import annotations

import json
import math
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
            "time_ms": _milliseconds(self.time_ms),
        }
        for key in ("expected", "actual", "message", "stdout"):
            value = getattr(self, key)
            if value is not None:
                d[key] = _text(value)
        return d if audience == "instructor" else student_case(d)


@dataclass
class StudentError:
    """Where the student's own code failed (their code, so always shown)."""

    kind: str
    message: str
    cell: int | None = None
    line: int | None = None
    traceback: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: json_safe(v) for k, v in self.__dict__.items() if v is not None}


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
            "score": round(min(1.0, max(0.0, _finite(self.score))), 6),
            "time_ms": _milliseconds(self.time_ms),
            "cases": [c.to_dict(audience) for c in self.cases],
        }
        if self.problem_id is not None:
            d["problem_id"] = self.problem_id
        if self.error is not None:
            d["error"] = self.error.to_dict()
        if self.stdout:
            d["stdout"] = _text(self.stdout)
        if self.internal_message:
            d["internal_message"] = _text(self.internal_message)
        return d if audience == "instructor" else student_view(d)


#: What a student sees of a hidden case; the rest of it is for instructors.
HIDDEN_CASE_FIELDS = ("name", "visibility", "status", "time_ms")
#: Fields of a result that only instructors see.
INSTRUCTOR_FIELDS = ("internal_message",)


def student_case(case: dict[str, Any]) -> dict[str, Any]:
    """A case of a result as a student may see it: a hidden case keeps only
    :data:`HIDDEN_CASE_FIELDS`."""
    if case.get("visibility") == Visibility.PUBLIC.value:
        return case
    return {k: case[k] for k in HIDDEN_CASE_FIELDS if k in case}


def student_view(result: dict[str, Any]) -> dict[str, Any]:
    """A result (:meth:`JudgeResult.to_dict`, as stored) as a student may see it.

    The one place the judge redacts for students: hidden cases reduced by
    :func:`student_case`, :data:`INSTRUCTOR_FIELDS` left out. Returns a new dict.
    """
    view = {k: v for k, v in result.items() if k not in INSTRUCTOR_FIELDS}
    view["cases"] = [student_case(case) for case in result.get("cases", [])]
    return view


def overall(cases: list[CaseResult]) -> tuple[Verdict, float]:
    """The verdict of the first case that did not pass, and the fraction passed."""
    if not cases:
        return Verdict.INTERNAL_ERROR, 0.0
    passed = sum(1 for c in cases if c.status is CaseStatus.PASSED)
    for case in cases:
        if case.status is not CaseStatus.PASSED:
            return case.status.verdict, passed / len(cases)
    return Verdict.ACCEPTED, 1.0


def _finite(value: Any) -> float:
    """``value`` as a finite float; 0.0 for NaN, infinities and anything not a number."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    return number if math.isfinite(number) else 0.0


def _milliseconds(value: Any) -> float:
    return round(max(0.0, _finite(value)), 1)


def _text(value: Any) -> str:
    """``value`` as a string that encodes as UTF-8 (lone surrogates become U+FFFD)."""
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text


def json_safe(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by ``None`` and strings made UTF-8-safe.

    Dicts, lists and tuples are copied; other values are returned as they are.
    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {json_safe(k) if isinstance(k, str) else k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def dumps(data: Any, **kwargs: Any) -> str:
    """Strict JSON text for ``data``: never ``NaN`` or ``Infinity`` (see :func:`json_safe`)."""
    return json.dumps(json_safe(data), allow_nan=False, **kwargs)
