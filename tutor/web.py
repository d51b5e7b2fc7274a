"""Tornado plumbing shared by the LLM service and the tutor service.

Handlers stay thin: :class:`APIHandler` authenticates in :meth:`~APIHandler.prepare`,
parses the JSON body, turns domain errors into JSON ``{"message": …}`` answers
(429 with ``Retry-After``) and records ``http_requests_total`` /
``http_request_duration_seconds`` under the route's pattern, never the raw URL.
"""

from __future__ import annotations

import json
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web

from codetutor.tutor import metrics
from codetutor.tutor.auth import Identity, ServiceAuth
from codetutor.tutor.exceptions import QueueFullError, TutorError


class APIHandler(web.RequestHandler):
    """Base of every JSON handler of the tutor and LLM services."""

    endpoint = "unknown"
    requires_auth = True
    identity: Identity

    @property
    def auth(self) -> ServiceAuth:
        auth: ServiceAuth = self.settings["auth"]
        return auth

    def check_xsrf_cookie(self) -> None:
        # Token-authenticated API: no cookies are used, so there is nothing to forge.
        return

    async def prepare(self) -> None:
        if self.requires_auth:
            self.identity = await self.auth.authenticate(self)

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or HTTP 400."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, reason=f"body is not JSON: {e}") from e
        if not isinstance(body, dict):
            raise web.HTTPError(400, reason="body must be a JSON object")
        return body

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

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data, ensure_ascii=False))

    def send_domain_error(self, error: TutorError) -> None:
        """Answer with a domain error's status and user message."""
        if isinstance(error, QueueFullError):
            self.set_header("Retry-After", str(error.retry_after_s))
        self.write_json({"message": error.user_message}, status=error.status_code)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        message = self._reason
        exc_info = kwargs.get("exc_info")
        if exc_info is not None:
            error = exc_info[1]
            if isinstance(error, web.HTTPError) and error.reason:
                message = error.reason
            elif isinstance(error, TutorError):
                message = error.user_message
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"message": message}, ensure_ascii=False))

    def on_finish(self) -> None:
        metrics.HTTP_REQUESTS.labels(
            method=self.request.method, endpoint=self.endpoint, status=str(self.get_status())
        ).inc()
        metrics.HTTP_REQUEST_DURATION.labels(
            method=self.request.method, endpoint=self.endpoint
        ).observe(self.request.request_time())


class HealthHandler(APIHandler):
    """``GET /health``: 200 with the service's state while it can serve."""

    endpoint = "/health"
    requires_auth = False

    def get(self) -> None:
        self.write_json(self.settings["health"]())


class MetricsHandler(APIHandler):
    """``GET /metrics``: the Prometheus exposition of :data:`metrics.REGISTRY`."""

    endpoint = "/metrics"
    requires_auth = False

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(metrics.REGISTRY))
