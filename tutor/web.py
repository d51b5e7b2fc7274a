"""The handler base of the LLM service and the tutor service.

:class:`APIHandler` is the shared :class:`~codetutor.web.JSONHandler` (request
context, strict JSON, errors as ``{"message": …}``, ``http_requests_total`` /
``http_request_duration_seconds`` under the route's pattern) plus the tutor's
own authentication (:class:`~codetutor.tutor.auth.ServiceAuth`) in
:meth:`~APIHandler.prepare`.
"""

from __future__ import annotations

from typing import Any

from codetutor.tutor.auth import Identity, ServiceAuth
from codetutor.tutor.exceptions import TutorError
from codetutor.web import JSONHandler


class APIHandler(JSONHandler):
    """Base of every JSON handler of the tutor and LLM services."""

    endpoint = "unknown"
    requires_auth = True
    identity: Identity

    @property
    def auth(self) -> ServiceAuth:
        auth: ServiceAuth = self.settings["auth"]
        return auth

    async def prepare(self) -> None:
        super().prepare()
        if self.requires_auth:
            self.identity = await self.auth.authenticate(self)

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (empty: ``{}``), or HTTP 400."""
        return self.read_json_object()

    def on_behalf_of(self, named: object) -> str:
        """The user a request is charged to (see :mod:`codetutor.tutor.auth`)."""
        if not self.identity.acts_for_others:
            return self.identity.name
        if isinstance(named, str) and named.strip():
            return named.strip()[:128]
        return self.identity.name

    def groups_of(self, named: object) -> list[str]:
        """The classes (Hub groups) of the user a request is charged to.

        A Hub user's own groups; a service may state the groups of the user it acts for.
        """
        if not self.identity.acts_for_others:
            return list(self.identity.groups)
        if isinstance(named, list) and all(isinstance(g, str) for g in named):
            return [g[:128] for g in named[:32]]
        return []

    def send_domain_error(self, error: TutorError) -> None:
        """Answer with a domain error caught in a handler: its status, headers and user message."""
        for name, value in error.headers.items():
            self.set_header(name, value)
        self.write_json({"message": error.message, **error.extra}, status=error.status)
