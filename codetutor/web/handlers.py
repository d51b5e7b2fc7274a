"""The handler base of every Code Tutor service, and the handlers they all serve.

:class:`JSONHandler` is what a service's handlers share (STYLE.md 4): request
context for the logs, strict JSON bodies in and out, the request metrics, and
errors as ``{"message": ...}``. A :class:`~codetutor.errors.CodeTutorError`
becomes its status (4xx for bad input) with its user message; the log gets
its ``log_message``. Nothing but this edge knows about HTTP statuses.

Settings a handler reads from the application (see
:func:`codetutor.web.app.service_application`): ``http_metrics``
(:class:`~codetutor.web.metrics.HTTPMetrics`), ``metrics_registry``,
``health`` (a function or coroutine function returning the /health document)
and ``service_label`` (how messages name the service).
"""

from __future__ import annotations

import inspect
import json
import logging
import uuid
from typing import Any, ClassVar

import structlog
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web, websocket

from codetutor.errors import CodeTutorError

from .metrics import HTTPMetrics

log = logging.getLogger("codetutor.web")

#: Paths whose successful requests the request log leaves out (probes, scrapes).
QUIET_PATHS = ("/health", "/metrics")


def _reject_constant(name: str) -> Any:
    """Refuse ``NaN``/``Infinity`` in a request body: it is not JSON."""
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes, max_bytes: int | None = None, what: str = "the body") -> Any:
    """``body`` as strict JSON: no ``NaN``/``Infinity``, no unpaired surrogates.

    Raises :class:`CodeTutorError` 413 when ``body`` is over ``max_bytes``, 400
    when it is not JSON.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise CodeTutorError(f"{what} is too large (more than {max_bytes // 1024} KiB)", status=413)
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except ValueError as e:
        raise CodeTutorError(f"malformed JSON: {e}", status=400) from None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise CodeTutorError(
            "malformed JSON: a string holds an unpaired surrogate", status=400
        ) from None
    return data


class JSONHandler(web.RequestHandler):
    """Base of the JSON API handlers of a service.

    Subclasses set :attr:`endpoint` (the metrics' label: one value per route,
    never a raw path) and, to refuse unknown query parameters with 400,
    :attr:`query_parameters`.
    """

    endpoint: ClassVar[str] = "other"
    #: query parameters the handler reads; any other is refused with 400 (None: not checked)
    query_parameters: ClassVar[frozenset[str] | None] = None

    def check_xsrf_cookie(self) -> None:
        # Token-authenticated JSON APIs use no cookies, so there is nothing to forge;
        # a handler authenticated by cookie checks XSRF itself, after authentication.
        return

    def prepare(self) -> Any:
        """Bind the request's log context; refuse unknown query parameters (400)."""
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=self.request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16],
            endpoint=str(self.endpoint),
        )
        if self.query_parameters is not None:
            unknown = sorted(set(self.request.query_arguments) - self.query_parameters - {"_xsrf"})
            if unknown:
                raise CodeTutorError(
                    f"unknown query parameter(s): {', '.join(unknown)}", status=400
                )
        return None

    # -- bodies ---------------------------------------------------------------

    def read_json(self, max_bytes: int | None = None, what: str = "the body") -> Any:
        """The request body as strict JSON (see :func:`parse_json`)."""
        return parse_json(self.request.body or b"", max_bytes, what)

    def read_json_object(
        self, max_bytes: int | None = None, what: str = "the body"
    ) -> dict[str, Any]:
        """The request body as a JSON object (an empty body is ``{}``), else 400."""
        if not self.request.body:
            return {}
        data = self.read_json(max_bytes, what)
        if not isinstance(data, dict):
            raise CodeTutorError("the body must be a JSON object", status=400)
        return data

    def dump_json(self, data: Any) -> str:
        """``data`` as JSON text; subclasses may make it stricter."""
        return json.dumps(data, ensure_ascii=False, default=str)

    def write_json(self, data: Any, status: int = 200) -> None:
        """Finish the request with ``data`` as JSON and ``status``."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(self.dump_json(data))

    # -- errors ---------------------------------------------------------------

    def error_body(self, status_code: int, error: BaseException | None) -> dict[str, Any]:
        """The JSON body of an error answer (and its headers); subclasses add their cases."""
        if isinstance(error, CodeTutorError):
            self.set_status(error.status)
            for name, value in error.headers.items():
                self.set_header(name, value)
            return {"message": error.message, **error.extra}
        if isinstance(error, web.HTTPError):
            if error.reason:
                return {"message": error.reason}
            if error.log_message:
                text = error.log_message % error.args if error.args else error.log_message
                return {"message": text}
            return {"message": self._reason}
        if error is not None or status_code >= 500:
            label = self.settings.get("service_label", "service")
            return {"message": f"internal error in the {label}"}
        return {"message": self._reason}

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        body = self.error_body(status_code, error)
        if self.get_status() == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(self.dump_json(body))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, CodeTutorError):
            # a domain error: its log message; a traceback only for an unexpected fault (500)
            level = logging.WARNING if value.status < 500 else logging.ERROR
            log.log(
                level,
                "%s %s: %s",
                self.request.method,
                self.request.path,
                value.log_message,
                exc_info=(typ, value, tb) if value.status == 500 else None,
            )
            return
        super().log_exception(typ, value, tb)

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler implements (for ``Allow`` on 405)."""
        return [
            method
            for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            if method in cls.SUPPORTED_METHODS
            and getattr(cls, method.lower()) is not getattr(web.RequestHandler, method.lower())
        ]

    # -- metrics --------------------------------------------------------------

    def on_finish(self) -> None:
        metrics: HTTPMetrics | None = self.settings.get("http_metrics")
        if metrics is not None:
            metrics.observe(
                self.request.method or "GET",
                str(self.endpoint),
                self.get_status(),
                self.request.request_time(),
            )


class HealthHandler(JSONHandler):
    """``GET health``: the service's ``health`` document; 503 while it is ``unavailable``."""

    endpoint = "health"

    async def get(self) -> None:
        document = self.settings["health"]()
        if inspect.isawaitable(document):
            document = await document
        status = 503 if document.get("status") == "unavailable" else 200
        self.write_json(document, status)


class MetricsHandler(JSONHandler):
    """``GET metrics``: the Prometheus exposition of the service's registry."""

    endpoint = "metrics"

    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(self.settings["metrics_registry"]))


class NotFoundHandler(JSONHandler):
    """Every path no route matches: 404 as JSON."""

    def prepare(self) -> None:
        super().prepare()
        raise CodeTutorError(f"no such endpoint: {self.request.path}", status=404)


class HubCallbackHandler(HubOAuthCallbackHandler):
    """Completes the Hub's OAuth login of a browser (sets the service's cookie).

    With a ``limiter`` in the settings (:class:`codetutor.ratelimit.RateLimiter`),
    logins are rate-limited per client address with its ``login`` limit.
    """

    @property
    def hub_auth(self) -> HubOAuth:
        auth: HubOAuth = self.settings["hub_auth"]
        return auth

    async def prepare(self) -> None:
        limiter = self.settings.get("limiter")
        if limiter is None:
            return
        decision = await limiter.hit("login", "oauth_callback", self.request.remote_ip or "unknown")
        if not decision.allowed:
            on_limited = self.settings.get("on_rate_limited")
            if on_limited is not None:
                on_limited("oauth_callback")
            self.set_header("Retry-After", decision.retry_after_header)
            raise web.HTTPError(429, "too many logins; slow down")


def log_request(handler: web.RequestHandler) -> None:
    """The request log (tornado's ``log_function``): one line per request.

    Probes and scrapes that succeed are logged at DEBUG only; client errors at
    WARNING, server errors at ERROR. The logger is the application's
    ``access_logger`` setting (default ``codetutor.access``).
    """
    status = handler.get_status()
    if status >= 500:
        level = logging.ERROR
    elif status >= 400:
        level = logging.WARNING
    elif handler.request.path.endswith(QUIET_PATHS):
        level = logging.DEBUG
    else:
        level = logging.INFO
    logging.getLogger(handler.settings.get("access_logger", "codetutor.access")).log(
        level,
        "%s %s %s %.1fms",
        status,
        handler.request.method,
        handler.request.uri,
        1000 * handler.request.request_time(),
    )


def send_event(socket: websocket.WebSocketHandler, event: dict[str, Any]) -> None:
    """Send ``event`` as a JSON text frame while ``socket`` is open; drop it after.

    A chat's events (its own and those it relays) outlive the connection when the
    student closes the panel: they are dropped, never raised.
    """
    if socket.ws_connection is None or socket.ws_connection.is_closing():
        return
    try:
        socket.write_message(json.dumps(event, ensure_ascii=False))
    except websocket.WebSocketClosedError:
        pass
