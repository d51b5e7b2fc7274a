"""The base of the judge API's handlers: Hub authentication, scopes, rate limit, JSON.

Every handler derives from :class:`JudgeHandler`. It authenticates with the Hub
(:class:`HubOAuthenticated`: a token in the ``Authorization`` header, or the
OAuth cookie of a browser), checks the service's access scope, rate-limits per
user and route, and answers every error as ``{"message": ...}`` with a 4xx/5xx
status, never a traceback.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import structlog
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from tornado import web

from .. import metrics
from ..metrics import Endpoint
from ..models import Problem as ProblemRow
from ..queue import Queue
from ..store import Store, is_unavailable
from ..verdict import dumps

SCOPE_SUBMIT = "custom:judge:submit"
SCOPE_READ_ALL = "custom:judge:read-all"
SCOPE_PUBLISH = "custom:problems:write"

OPENAPI = Path(__file__).parent.parent / "openapi.yaml"
NOTEBOOK_TYPE = "application/x-ipynb+json"
#: ids and versions are 32-bit integers in the database
MAX_INT32 = 2**31 - 1


def _reject_constant(name: str) -> Any:
    """Refuse ``NaN``/``Infinity`` in a request body: it is not JSON."""
    raise ValueError(f"{name} is not JSON")


class APIError(web.HTTPError):
    """An error answered as ``{"message": message, **extra}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(status, "%s", message)
        self.message = message
        self.headers = headers or {}
        self.extra = extra or {}


class JudgeHandler(HubOAuthenticated, web.RequestHandler):
    """Base of the API handlers: Hub authentication, rate limit, JSON errors, metrics."""

    endpoint: ClassVar[Endpoint] = Endpoint.OTHER
    #: False for /health, /metrics and the OpenAPI document
    authenticated: ClassVar[bool] = True
    limit: ClassVar[str] = "api"
    #: query parameters the handler reads; any other is refused with 400
    query_parameters: ClassVar[frozenset[str]] = frozenset()

    user_model: dict[str, Any] | None = None

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger("codetutor.judge.service")

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]

    @property
    def store(self) -> Store:
        return self.settings["store"]

    @property
    def queue(self) -> Queue:
        return self.settings["queue"]

    @property
    def user_name(self) -> str:
        assert self.user_model is not None
        return str(self.user_model["name"])

    def has_scope(self, scope: str) -> bool:
        assert self.user_model is not None
        return bool(self.hub_auth.check_scopes({scope}, self.user_model))

    def require_scope(self, scope: str) -> None:
        if not self.has_scope(scope):
            raise APIError(403, f"this needs the Hub scope {scope}")

    def check_xsrf_cookie(self) -> None:
        # Tornado checks XSRF before prepare(); we check it in prepare(), after
        # authentication, so that a request without credentials gets 401, and
        # only cookie-authenticated browser requests need the XSRF token.
        return

    def check_xsrf_after_auth(self) -> None:
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            HubOAuthenticated.check_xsrf_cookie(self)

    async def prepare(self) -> None:
        self._started = time.monotonic()
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(
            request_id=self.request.headers.get("X-Request-Id") or uuid.uuid4().hex[:16],
            endpoint=self.endpoint.value,
        )
        unknown = sorted(set(self.request.query_arguments) - self.query_parameters - {"_xsrf"})
        if unknown:
            raise APIError(400, f"unknown query parameter(s): {', '.join(unknown)}")
        if not self.authenticated:
            return
        model = await self.hub_auth.get_user(self, sync=False)
        if not model:
            raise APIError(
                401,
                "authentication required: send a JupyterHub token (Authorization: token ...)",
            )
        if self.hub_auth.access_scopes and not self.hub_auth.check_scopes(
            self.hub_auth.access_scopes, model
        ):
            raise APIError(403, "this account may not use the judge service")
        self.check_xsrf_after_auth()
        self.user_model = model
        self.current_user = model
        structlog.contextvars.bind_contextvars(user=self.user_name)
        self.settings["activity"][self.user_name] = time.monotonic()
        decision = await self.settings["limiter"].hit(
            self.limit, self.endpoint.value, self.user_name
        )
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(
                endpoint=self.endpoint.value, reason=metrics.RateLimitReason.RATE.value
            ).inc()
            raise APIError(
                429,
                "too many requests; slow down",
                headers={"Retry-After": decision.retry_after_header},
            )

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(dumps(data, ensure_ascii=False, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        body: dict[str, Any]
        if isinstance(error, APIError):
            for name, value in error.headers.items():
                self.set_header(name, value)
            body = {"message": error.message, **error.extra}
        elif error is not None and is_unavailable(error):
            self.set_status(503)
            self.set_header("Retry-After", "5")
            body = {"message": "the judge database is unavailable; try again shortly"}
        elif isinstance(error, web.HTTPError):
            body = {
                "message": error.log_message % error.args if error.log_message else self._reason
            }
        else:
            body = {"message": "internal error in the judge service"}
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(dumps(body, ensure_ascii=False))

    @classmethod
    def allowed_methods(cls) -> list[str]:
        """The HTTP methods this handler implements (for ``Allow`` on 405)."""
        return [
            method
            for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
            if getattr(cls, method.lower()) is not getattr(web.RequestHandler, method.lower())
        ]

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, DBAPIError) and is_unavailable(value):
            logging.getLogger("codetutor.judge.service").warning(
                "database unavailable: %s", type(value.orig).__name__
            )
            return
        super().log_exception(typ, value, tb)

    def on_finish(self) -> None:
        method = self.request.method or "GET"
        metrics.HTTP_REQUESTS.labels(
            method=method, endpoint=self.endpoint.value, status=str(self.get_status())
        ).inc()
        started = getattr(self, "_started", None)
        if started is not None:
            metrics.HTTP_DURATION.labels(method=method, endpoint=self.endpoint.value).observe(
                time.monotonic() - started
            )

    def read_json_body(self, max_bytes: int, what: str) -> Any:
        if len(self.request.body) > max_bytes:
            raise APIError(413, f"{what} is too large (more than {max_bytes // 1024} KiB)")
        try:
            data = json.loads(self.request.body, parse_constant=_reject_constant)
        except ValueError as e:
            raise APIError(400, f"malformed JSON: {e}") from None
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise APIError(400, "malformed JSON: a string holds an unpaired surrogate") from None
        return data

    async def find_problem(self, slug: str, version: Any = None) -> ProblemRow:
        wanted: int | None = None
        if version is not None:
            try:
                if isinstance(version, bool) or not isinstance(version, (int, str)):
                    raise ValueError(version)
                wanted = int(version)
            except ValueError:
                raise APIError(400, "version must be a whole number") from None
            if not 1 <= wanted <= MAX_INT32:
                raise APIError(400, f"version must be a whole number from 1 to {MAX_INT32}")
        problem = await self.store.get_problem(slug, wanted)
        if problem is None:
            which = f" version {wanted}" if wanted is not None else ""
            raise APIError(404, f"no problem {slug!r}{which}")
        return problem


def query_int(handler: JudgeHandler, name: str, default: int, low: int, high: int) -> int:
    """The whole-number query parameter ``name`` within ``low..high``, else 400."""
    raw = handler.get_query_argument(name, None)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise APIError(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise APIError(400, f"{name} must be between {low} and {high}")
    return value


class HealthHandler(JudgeHandler):
    endpoint = Endpoint.HEALTH
    authenticated = False

    async def get(self) -> None:
        database_error = await self.store.ping()
        redis_error: str | None = None
        redis_configured = bool(self.settings["redis_url"])
        if redis_configured:
            redis_error = await self.queue.transport_status()
        body: dict[str, Any] = {
            "status": "ok",
            "database": {"ok": database_error is None, "error": database_error},
            "redis": {
                "configured": redis_configured,
                "ok": redis_configured and redis_error is None,
                "error": redis_error,
            },
            "workers": len(self.settings["pool"].pids()) if self.settings["pool"] else 0,
        }
        status = 200
        if database_error is not None:
            body["status"] = "unavailable"
            status = 503
        elif redis_error is not None:
            body["status"] = "degraded"
        self.write_json(body, status)


class MetricsHandler(JudgeHandler):
    endpoint = Endpoint.METRICS
    authenticated = False

    async def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(metrics.REGISTRY))


class OpenAPIHandler(JudgeHandler):
    endpoint = Endpoint.OPENAPI
    authenticated = False

    async def get(self) -> None:
        self.set_header("Content-Type", "application/yaml; charset=UTF-8")
        self.finish(OPENAPI.read_bytes())


class CallbackHandler(HubOAuthCallbackHandler):
    """Completes the Hub's OAuth login of a browser (sets the service's cookie).

    Logins are rate-limited per client address with the ``login`` limit.
    """

    @property
    def hub_auth(self) -> HubOAuth:
        return self.settings["hub_auth"]

    async def prepare(self) -> None:
        decision = await self.settings["limiter"].hit(
            "login", Endpoint.OAUTH_CALLBACK.value, self.request.remote_ip or "unknown"
        )
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(
                endpoint=Endpoint.OAUTH_CALLBACK.value, reason=metrics.RateLimitReason.RATE.value
            ).inc()
            self.set_header("Retry-After", decision.retry_after_header)
            raise web.HTTPError(429, "too many logins; slow down")


class NotFoundHandler(JudgeHandler):
    authenticated = False

    def prepare(self) -> None:  # type: ignore[override]
        self._started = time.monotonic()
        raise APIError(404, f"no such endpoint: {self.request.path}")
