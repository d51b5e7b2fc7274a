"""Errors of the tutor and its LLM service.

Every error carries the message for the user (``user_message``, safe to show a
student) apart from the one for the log (``str(error)``), and the HTTP status the
service edge answers with; all are :class:`codetutor.errors.CodeTutorError`.
"""

from __future__ import annotations

from codetutor.errors import CodeTutorError


class TutorError(CodeTutorError):
    """Base of the tutor's domain errors (a :class:`~codetutor.errors.CodeTutorError`).

    Note the order of the arguments: the log's message first, then the user's
    (the same unless given). ``str(error)`` is the log's message.
    """

    #: the HTTP status of this kind of error (its :attr:`status`)
    status_code = 500

    def __init__(self, log_message: str, user_message: str | None = None) -> None:
        super().__init__(
            user_message if user_message is not None else log_message,
            log_message,
            status=self.status_code,
        )

    @property
    def user_message(self) -> str:
        """The message for the user (:attr:`message`)."""
        return self.message

    def __str__(self) -> str:
        return self.log_message


class BadRequestError(TutorError):
    """The request is malformed (HTTP 400)."""

    status_code = 400


class QueueFullError(TutorError):
    """The scheduler refuses a request because a queue bound is reached (HTTP 429).

    ``retry_after_s`` is the service's estimate of when trying again is worthwhile.
    """

    status_code = 429

    def __init__(self, log_message: str, retry_after_s: int, user_message: str | None = None):
        super().__init__(log_message, user_message)
        self.retry_after_s = max(1, int(retry_after_s))
        self.headers["Retry-After"] = str(self.retry_after_s)


class RateLimitedError(QueueFullError):
    """A per-user rate limit or daily quota is exhausted (HTTP 429)."""


class DeadlineExceededError(TutorError):
    """A request's deadline passed before it produced its first token (HTTP 504)."""

    status_code = 504


class EngineError(TutorError):
    """The LLM engine failed (model missing, backend unreachable, bad backend answer)."""

    status_code = 502


class ProblemError(TutorError):
    """A problem notebook could not be read for the tutor (HTTP 400, CLI exit 2)."""

    status_code = 400
