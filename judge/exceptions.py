"""Errors of the judge package.

Each error keeps the message for the person who made the input (``message``)
apart from details for the log (``log_message``). A failing *student* is never
an error here: it is a verdict (see :mod:`codetutor.judge.verdict`).

All derive from :class:`codetutor.errors.CodeTutorError`. :class:`SandboxError`
is shared with the Hub's user-server sandboxes, so it is defined there too and
only named here.
"""

from __future__ import annotations

from codetutor.errors import CodeTutorError, SandboxError

__all__ = [
    "JudgeException",
    "JudgeFailure",
    "ProblemError",
    "SandboxError",
    "SubmissionError",
]


class JudgeException(CodeTutorError):
    """Base of the errors raised by :mod:`codetutor.judge` (sandbox errors aside)."""


class ProblemError(JudgeException):
    """A problem notebook or bundle is malformed or fails validation.

    ``cell`` is the 0-based index of the offending cell (or ``None`` for the
    notebook as a whole) and ``line`` the 1-based line inside that cell. The
    message counts cells from 1, as JupyterLab shows them ("cell 4" is
    ``cell=3``).
    """

    def __init__(
        self,
        message: str,
        *,
        cell: int | None = None,
        line: int | None = None,
        cell_id: str | None = None,
        log_message: str | None = None,
    ) -> None:
        self.detail = message
        self.cell = cell
        self.line = line
        self.cell_id = cell_id
        where = []
        if cell is not None:
            where.append(f"cell {cell + 1}")
        if line is not None:
            where.append(f"line {line}")
        full = f"{', '.join(where)}: {message}" if where else message
        super().__init__(full, log_message=log_message)

    status = 422

    def to_dict(self) -> dict[str, object]:
        return {"message": self.message, "cell": self.cell, "line": self.line}


class SubmissionError(JudgeException):
    """A submission cannot be read (not a notebook, not UTF-8, too large, ...)."""

    status = 400


class JudgeFailure(JudgeException):
    """The judge itself failed while judging (reported as ``internal_error``)."""
