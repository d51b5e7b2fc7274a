"""Errors of the server extension."""

from __future__ import annotations

from typing import Any

from codetutor.errors import CodeTutorError


class ExtensionError(CodeTutorError):
    """Something the extension answers with an HTTP error (a :class:`CodeTutorError`).

    ``message`` is for the user (it goes into the JSON body); ``log_message``,
    when given, is for the server log only. ``extra`` fields are added to the
    JSON body (e.g. the ``cell`` and ``line`` of a publishing error).
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        log_message: str = "",
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, log_message or None, status=status, extra=extra, headers=headers)


class ServiceError(ExtensionError):
    """A Hub service (judge or tutor) refused a call or could not be reached.

    The service's own 4xx answers keep their status and message; a service that
    is down or fails becomes 502, one that lacks an endpoint 501.
    """

    def __init__(self, service: str, status: int, message: str, **kwargs: Any) -> None:
        super().__init__(status, message, **kwargs)
        self.service = service
