"""The base of the judge API's handlers: Hub authentication, scopes, rate limit, JSON.

Every handler derives from :class:`JudgeHandler`. It authenticates with the Hub
(:class:`HubOAuthenticated`: a token in the ``Authorization`` header, or the
OAuth cookie of a browser), checks the service's access scope, rate-limits per
user and route, and answers every error as ``{"message": ...}`` with a 4xx/5xx
status, never a traceback.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, ClassVar

import structlog
from jupyterhub.services.auth import HubOAuth, HubOAuthenticated
from sqlalchemy.exc import DBAPIError

from codetutor.errors import CodeTutorError
from codetutor.web import JSONHandler
from codetutor.web.handlers import parse_json

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

log = logging.getLogger("codetutor.judge.service")


class APIError(CodeTutorError):
    """An error of the judge API: ``{"message": message, **extra}`` with ``status``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, status=status, headers=headers, extra=extra)

    @property
    def status_code(self) -> int:
        """The HTTP status (as :class:`tornado.web.HTTPError` names it)."""
        return self.status


class JudgeHandler(HubOAuthenticated, JSONHandler):
    """Base of the API handlers: Hub authentication and scopes, rate limit, strict JSON.

    :meth:`prepare` authenticates with the Hub (401 without credentials, 403
    without the service's access scope), checks XSRF for cookie-authenticated
    browser requests, records the user's activity and takes one token from
    the user's ``limit`` bucket for this route (429 with ``Retry-After``).
    """

    endpoint: ClassVar[str] = Endpoint.OTHER
    limit: ClassVar[str] = "api"
    #: query parameters the handler reads; any other is refused with 400
    query_parameters: ClassVar[frozenset[str] | None] = frozenset()

    user_model: dict[str, Any] | None = None

    @property
    def log(self) -> logging.Logger:
        return log

    @property
    def hub_auth(self) -> HubOAuth:
        auth: HubOAuth = self.settings["hub_auth"]
        return auth

    @property
    def store(self) -> Store:
        store: Store = self.settings["store"]
        return store

    @property
    def queue(self) -> Queue:
        queue: Queue = self.settings["queue"]
        return queue

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

    async def prepare(self) -> None:
        super().prepare()
        model = await self.hub_auth.get_user(self, sync=False)
        if not model and self.wants_html():
            # a browser (an instructor opening api/submissions?user=...): log in with the
            # Hub's OAuth, then come back here with the service's cookie
            self.redirect(self.get_login_url())
            return
        if not model:
            raise APIError(
                401,
                "authentication required: send a JupyterHub token (Authorization: token ...)",
            )
        if self.hub_auth.access_scopes and not self.hub_auth.check_scopes(
            self.hub_auth.access_scopes, model
        ):
            raise APIError(403, "this account may not use the judge service")
        if self.request.method not in ("GET", "HEAD", "OPTIONS"):
            HubOAuthenticated.check_xsrf_cookie(self)
        self.user_model = model
        self.current_user = model
        structlog.contextvars.bind_contextvars(user=self.user_name)
        self.settings["activity"][self.user_name] = time.monotonic()
        decision = await self.settings["limiter"].hit(
            self.limit, str(self.endpoint), self.user_name
        )
        if not decision.allowed:
            metrics.RATE_LIMITED.labels(
                endpoint=str(self.endpoint), reason=metrics.RateLimitReason.RATE.value
            ).inc()
            raise APIError(
                429,
                "too many requests; slow down",
                headers={"Retry-After": decision.retry_after_header},
            )

    def wants_html(self) -> bool:
        """Whether this is a browser navigating here (a GET that accepts HTML)."""
        accept = self.request.headers.get("Accept", "")
        return self.request.method == "GET" and "text/html" in accept

    def dump_json(self, data: Any) -> str:
        """Strict JSON: never ``NaN`` or ``Infinity`` (see :func:`~..verdict.dumps`)."""
        return dumps(data, ensure_ascii=False, default=str)

    def read_json_body(self, max_bytes: int, what: str) -> Any:
        """The body as strict JSON; 413 over ``max_bytes``, 400 if it is not JSON."""
        return parse_json(self.request.body, max_bytes, what)

    def error_body(self, status_code: int, error: BaseException | None) -> dict[str, Any]:
        if error is not None and not isinstance(error, CodeTutorError) and is_unavailable(error):
            self.set_status(503)
            self.set_header("Retry-After", "5")
            return {"message": "the judge database is unavailable; try again shortly"}
        return super().error_body(status_code, error)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, DBAPIError) and is_unavailable(value):
            log.warning("database unavailable: %s", type(value.orig).__name__)
            return
        super().log_exception(typ, value, tb)

    async def find_problem(self, slug: str, version: Any = None) -> ProblemRow:
        """The problem version (the latest without ``version``); 400/404 as :class:`APIError`."""
        problem: ProblemRow = await self.settings["submissions"].find_problem(slug, version)
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


class OpenAPIHandler(JSONHandler):
    """``GET api/openapi.yaml``: the API's contract (no authentication)."""

    endpoint = Endpoint.OPENAPI

    def get(self) -> None:
        self.set_header("Content-Type", "application/yaml; charset=UTF-8")
        self.finish(OPENAPI.read_bytes())


def rate_limited(endpoint: str) -> None:
    """Count a request refused by the rate limiter (the OAuth callback's hook)."""
    metrics.RATE_LIMITED.labels(endpoint=endpoint, reason=metrics.RateLimitReason.RATE.value).inc()
