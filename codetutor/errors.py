"""The one error base of Code Tutor, and the errors shared by its packages.

Every domain error (the judge's, the tutor's, the extension's, a service API's)
derives from :class:`CodeTutorError`. It keeps the message for the person who
made the request (:attr:`~CodeTutorError.message`, safe to show a student) apart
from the details for the log (:attr:`~CodeTutorError.log_message`), and carries
the HTTP status a service answers it with. Only the HTTP edge
(:meth:`codetutor.web.handlers.JSONHandler.write_error`) turns it into a response:
``{"message": message, **extra}`` with :attr:`~CodeTutorError.status` and
:attr:`~CodeTutorError.headers`.
"""

from __future__ import annotations

from typing import Any


class CodeTutorError(Exception):
    """Base of every Code Tutor error.

    ``status`` defaults to the class's :attr:`status` (500: our own fault); a
    4xx status says the input was bad. ``extra`` fields are added to the JSON
    body of the answer (e.g. the ``cell`` and ``line`` of a publishing error),
    ``headers`` to its headers (e.g. ``Retry-After``).
    """

    #: The HTTP status of this kind of error, unless one is given.
    status: int = 500

    def __init__(
        self,
        message: str,
        log_message: str | None = None,
        *,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.log_message = log_message or message
        if status is not None:
            self.status = status
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return self.message


class SandboxError(CodeTutorError):
    """A sandbox could not be created, confined or controlled: our fault, never a student's.

    Raised by the confinement helpers (:mod:`codetutor.confine`,
    :mod:`codetutor.cgroups`) for the judge's kernels and the Hub's user servers.
    """

    status = 503
