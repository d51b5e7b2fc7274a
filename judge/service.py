"""The judge service: a JupyterHub service with a JSON API, and its workers.

``codetutor judge-service`` runs the tornado app below plus a
:class:`~codetutor.judge.worker.WorkerPool`. Handlers are thin (STYLE.md 4):
authenticate with the Hub (:class:`HubOAuthenticated`: a token in the
``Authorization`` header, or the OAuth cookie of a browser), authorize with
Hub scopes, rate-limit, validate, call the store/queue, write JSON. Every
error is ``{"message": ...}`` with a 4xx/5xx status, never a traceback.

Scopes (custom scopes defined in the Hub's config):

- ``custom:judge:submit``: submit, and read one's own submissions;
- ``custom:judge:read-all``: read everyone's submissions, with hidden-case details;
- ``custom:problems:write``: publish problems; the class's gradebook and overview
  need ``custom:judge:read-all``, recommendations only access to the service.

Routes, under the service prefix (``/services/judge/``), are described in
``openapi.yaml`` beside this file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import structlog
from jupyterhub.services.auth import HubOAuth, HubOAuthCallbackHandler, HubOAuthenticated
from jupyterhub.utils import url_path_join
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError
from tornado import web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from traitlets import Float, Int, Unicode, default

from codetutor.cli import HubServiceApp, UsageError

from . import metrics
from .events import SubmissionWatcher, configure_logging
from .exceptions import ProblemError, SubmissionError
from .insight import (
    InsightCache,
    Recommender,
    class_overview,
    gradebook,
    gradebook_csv,
    gradebook_json,
    recommendations_view,
)
from .metrics import Endpoint
from .models import Problem as ProblemRow
from .models import Submission as SubmissionRow
from .models import SubmissionStatus
from .problem import Problem
from .publish import Publisher
from .queue import DatabaseQueue, Queue, RedisQueue
from .ratelimit import RateLimiter
from .store import Store, is_unavailable
from .submission import Submission
from .verdict import dumps
from .worker import JudgeBackendMixin, Worker, WorkerPool, load_config

SCOPE_SUBMIT = "custom:judge:submit"
SCOPE_READ_ALL = "custom:judge:read-all"
SCOPE_PUBLISH = "custom:problems:write"

OPENAPI = Path(__file__).with_name("openapi.yaml")
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


def problem_view(problem: ProblemRow) -> dict[str, Any]:
    """The student's view of a problem version (no solution, no hidden tests)."""
    return {**problem.public, "id": problem.slug, "version": problem.version}


def result_view(result: dict[str, Any] | None, *, instructor: bool) -> dict[str, Any] | None:
    """A stored (instructor) result as ``audience`` may see it: hidden cases reduced."""
    if result is None or instructor:
        return result
    view = {k: v for k, v in result.items() if k != "internal_message"}
    view["cases"] = [
        case
        if case.get("visibility") != "hidden"
        else {k: case[k] for k in ("name", "visibility", "status", "time_ms") if k in case}
        for case in result.get("cases", [])
    ]
    return view


class ProblemsHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEMS

    async def get(self) -> None:
        problems = await self.store.latest_problems()
        self.write_json({"problems": [problem_view(p) for p in problems]})

    async def post(self) -> None:
        self.require_scope(SCOPE_PUBLISH)
        raw = self.read_json_body(self.settings["max_notebook_bytes"], "the notebook")
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            raise APIError(400, "the body is not a Jupyter notebook (no 'cells' list)")
        try:
            nb = nbformat.reads(json.dumps(raw), as_version=4)
        except Exception as e:
            raise APIError(400, f"the body is not a readable Jupyter notebook: {e}") from None
        try:
            problem = await self.settings["publisher"].publish(Problem.from_notebook(nb))
        except ProblemError as e:
            raise APIError(422, e.message, extra={"cell": e.cell, "line": e.line}) from None
        user = await self.store.ensure_user(self.user_name)
        published = await self.store.publish_problem(user=user, problem=problem)
        row = published.problem
        self.log.info("%s published %s version %s", self.user_name, row.slug, row.version)
        self.set_header("Location", self.reverse_url("problem", row.slug))
        self.write_json(
            {**problem_view(row), "created": published.created_version},
            201 if published.created_version else 200,
        )


class ProblemHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEM
    query_parameters = frozenset({"version"})

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.write_json(problem_view(problem))


class ProblemNotebookHandler(JudgeHandler):
    endpoint = Endpoint.PROBLEM_NOTEBOOK
    query_parameters = frozenset({"version"})

    async def get(self, slug: str) -> None:
        problem = await self.find_problem(slug, self.get_query_argument("version", None))
        self.set_header("Content-Type", NOTEBOOK_TYPE)
        self.set_header("Content-Disposition", f'attachment; filename="{problem.slug}.ipynb"')
        self.finish(problem.student_notebook)


class SubmissionsHandler(JudgeHandler):
    endpoint = Endpoint.SUBMISSIONS
    query_parameters = frozenset({"user", "problem", "limit", "before"})

    async def post(self) -> None:
        self.require_scope(SCOPE_SUBMIT)
        body = self.read_json_body(self.settings["max_submission_bytes"], "the submission")
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object")
        unknown = sorted(set(body) - {"problem", "version", "code", "notebook"})
        if unknown:
            raise APIError(400, f"unknown field(s): {', '.join(unknown)}")
        slug = body.get("problem")
        if not isinstance(slug, str) or not slug:
            raise APIError(400, "'problem' (the problem id) is required")
        code, notebook = body.get("code"), body.get("notebook")
        if (code is None) == (notebook is None):
            raise APIError(400, "give exactly one of 'code' (text) or 'notebook' (a notebook)")
        try:
            if notebook is not None:
                if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                    raise SubmissionError("'notebook' is not a Jupyter notebook")
                parsed = Submission.from_notebook(notebook)
                notebook_text: str | None = json.dumps(notebook, ensure_ascii=False)
            else:
                if not isinstance(code, str):
                    raise SubmissionError("'code' must be text")
                parsed = Submission.from_source(code)
                notebook_text = None
        except SubmissionError as e:
            raise APIError(400, e.message) from None
        except (TypeError, ValueError, AttributeError) as e:
            # a notebook with JSON shaped unlike nbformat's (e.g. a tag that is an object)
            self.log.info("malformed notebook submission: %r", e)
            raise APIError(400, "'notebook' is not a well-formed Jupyter notebook") from None
        problem = await self.find_problem(slug, body.get("version"))
        if await self.queue.is_full():
            metrics.RATE_LIMITED.labels(
                endpoint=self.endpoint.value, reason=metrics.RateLimitReason.QUEUE_FULL.value
            ).inc()
            raise APIError(
                429,
                "the judge queue is full; try again shortly",
                headers={"Retry-After": str(self.settings["queue_full_retry_s"])},
            )
        user = await self.store.ensure_user(self.user_name)
        sub = await self.store.add_submission(
            user=user, problem=problem, code=parsed.source, notebook=notebook_text
        )
        await self.queue.put(sub.id)
        structlog.contextvars.bind_contextvars(submission_id=sub.id)
        self.log.info("submission %s queued for %s v%s", sub.id, problem.slug, problem.version)
        self.set_header("Location", self.reverse_url("submission", str(sub.id)))
        self.write_json(submission_view(sub, problem, self.user_name, instructor=False), 202)

    async def get(self) -> None:
        name = self.get_query_argument("user", None) or self.user_name
        if name != self.user_name:
            self.require_scope(SCOPE_READ_ALL)
        try:
            limit = int(self.get_query_argument("limit", "50"))
            before = self.get_query_argument("before", None)
            before_id = int(before) if before is not None else None
        except ValueError:
            raise APIError(400, "limit and before must be whole numbers") from None
        if not 1 <= limit <= 500:
            raise APIError(400, "limit must be between 1 and 500")
        if before_id is not None and not 0 <= before_id <= MAX_INT32:
            raise APIError(400, f"before must be a submission id from 0 to {MAX_INT32}")
        user = await self.store.ensure_user(name)
        problem_ids: list[int] | None = None
        slug = self.get_query_argument("problem", None)
        problems: dict[int, ProblemRow] = {}
        if slug is not None:
            versions = [await self.find_problem(slug)]
            latest = versions[0].version
            for v in range(1, latest):
                older = await self.store.get_problem(slug, v)
                if older is not None:
                    versions.append(older)
            problems = {p.id: p for p in versions}
            problem_ids = list(problems)
        subs = await self.store.list_submissions(
            user_id=user.id, problem_ids=problem_ids, limit=limit, before_id=before_id
        )
        for sub in subs:
            if sub.problem_id not in problems:
                row = await self.store.get_problem_by_id(sub.problem_id)
                assert row is not None
                problems[row.id] = row
        instructor = self.has_scope(SCOPE_READ_ALL)
        self.write_json(
            {
                "submissions": [
                    submission_view(
                        s, problems[s.problem_id], name, instructor=instructor, brief=True
                    )
                    for s in subs
                ]
            }
        )


def submission_view(
    sub: SubmissionRow,
    problem: ProblemRow,
    user: str,
    *,
    instructor: bool,
    brief: bool = False,
) -> dict[str, Any]:
    """A submission as JSON; ``brief`` leaves out code and per-case results."""
    view: dict[str, Any] = {
        "id": sub.id,
        "problem": problem.slug,
        "version": problem.version,
        "user": user,
        "status": sub.status,
        "verdict": sub.verdict,
        "score": sub.score,
        "time_ms": sub.time_ms,
        "attempts": sub.attempts,
        "created_at": sub.created_at.isoformat(),
        "started_at": sub.started_at.isoformat() if sub.started_at else None,
        "finished_at": sub.finished_at.isoformat() if sub.finished_at else None,
    }
    if not brief:
        view["code"] = sub.code
        view["result"] = result_view(sub.result, instructor=instructor)
    return view


class SubmissionHandler(JudgeHandler):
    endpoint = Endpoint.SUBMISSION

    async def load(self, submission_id: str) -> tuple[SubmissionRow, ProblemRow, str, bool]:
        """The submission if this user may read it (else 404, not to reveal it exists)."""
        sub = await self.store.get_submission(int(submission_id))
        instructor = self.has_scope(SCOPE_READ_ALL)
        if sub is None:
            raise APIError(404, f"no submission {submission_id}")
        owner = (await self.store.user_names([sub.user_id])).get(sub.user_id, "")
        if owner != self.user_name and not instructor:
            raise APIError(404, f"no submission {submission_id}")
        problem = await self.store.get_problem_by_id(sub.problem_id)
        assert problem is not None
        return sub, problem, owner, instructor

    async def get(self, submission_id: str) -> None:
        sub, problem, owner, instructor = await self.load(submission_id)
        self.write_json(submission_view(sub, problem, owner, instructor=instructor))


class SubmissionEventsHandler(SubmissionHandler):
    """Server-sent events: ``status`` on every change, then ``verdict``, then the end."""

    endpoint = Endpoint.SUBMISSION_EVENTS

    def on_connection_close(self) -> None:
        self._closed.set()

    async def get(self, submission_id: str) -> None:
        self._closed = asyncio.Event()
        sub, problem, owner, instructor = await self.load(submission_id)
        watcher: SubmissionWatcher = self.settings["watcher"]
        self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        deadline = time.monotonic() + self.settings["stream_max_s"]
        last: tuple[str, int] | None = None
        try:
            while True:
                change = watcher.watch(sub.id)
                try:
                    state = (sub.status, sub.attempts)
                    if state != last:
                        last = state
                        final = sub.status == SubmissionStatus.JUDGED
                        view = submission_view(
                            sub, problem, owner, instructor=instructor, brief=not final
                        )
                        await self._send("verdict" if final else "status", view)
                        if final:
                            return
                    if time.monotonic() > deadline or self._closed.is_set():
                        return
                    waits = [
                        asyncio.ensure_future(change.wait()),
                        asyncio.ensure_future(self._closed.wait()),
                    ]
                    done, pending = await asyncio.wait(
                        waits,
                        timeout=self.settings["stream_ping_s"],
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for task in pending:
                        task.cancel()
                    if not done:
                        self.write(": ping\n\n")
                        await self.flush()
                finally:
                    watcher.unwatch(sub.id, change)
                fresh = await self.store.get_submission(sub.id)
                assert fresh is not None
                sub = fresh
        except StreamClosedError:
            return
        finally:
            if not self._finished:
                self.finish()

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        self.write(f"event: {event}\ndata: {dumps(data, ensure_ascii=False, default=str)}\n\n")
        await self.flush()


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


class RecommendationsHandler(JudgeHandler):
    """``GET api/recommendations``: next problems for the caller (or ``user``, for instructors)."""

    endpoint = Endpoint.RECOMMENDATIONS
    query_parameters = frozenset({"user", "limit"})

    async def get(self) -> None:
        name = self.get_query_argument("user", None) or self.user_name
        if name != self.user_name:
            self.require_scope(SCOPE_READ_ALL)
        limit = query_int(self, "limit", 5, 1, 20)
        insight = await self.settings["insight"].get()
        self.write_json(recommendations_view(insight, self.settings["recommender"], name, limit))


class GradebookHandler(JudgeHandler):
    """``GET api/gradebook?format=json|csv``: best score and first acceptance per student and problem.

    Without ``format``, CSV when the ``Accept`` header names ``text/csv``, else JSON.
    """

    endpoint = Endpoint.GRADEBOOK
    query_parameters = frozenset({"format"})

    async def get(self) -> None:
        self.require_scope(SCOPE_READ_ALL)
        wants_csv = "text/csv" in self.request.headers.get("Accept", "")
        form = self.get_query_argument("format", "csv" if wants_csv else "json")
        if form not in ("json", "csv"):
            raise APIError(400, "format must be json or csv")
        insight = await self.settings["insight"].get()
        if form == "json":
            self.write_json(gradebook_json(insight))
            return
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", 'attachment; filename="gradebook.csv"')
        self.finish(gradebook_csv(gradebook(insight)).encode("utf-8"))


class ClassInsightHandler(JudgeHandler):
    """``GET api/insight``: the class overview of the instructors' dashboard."""

    endpoint = Endpoint.CLASS_INSIGHT
    query_parameters = frozenset({"days"})

    async def get(self) -> None:
        self.require_scope(SCOPE_READ_ALL)
        days = query_int(self, "days", 14, 1, 366)
        insight = await self.settings["insight"].get()
        self.write_json(class_overview(insight, days=days))


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


class JudgeServiceApp(JudgeBackendMixin, HubServiceApp):
    """``codetutor judge-service``: the judge's JSON API plus its worker processes."""

    name = "judge-service"
    description = "Run the judge service (a JupyterHub service) and its workers."

    classes = [
        Store,
        DatabaseQueue,
        RedisQueue,
        Worker,
        WorkerPool,
        RateLimiter,
        HubOAuth,
        Recommender,
    ]

    config_file = Unicode("", help="A config file (.py or .json) to load.").tag(config=True)

    default_port = 10101
    default_prefix = "/services/judge/"

    workers = Int(help="Worker processes to run (default: one per CPU core; 0: none).").tag(
        config=True
    )

    @default("workers")
    def _default_workers(self) -> int:
        return os.cpu_count() or 1

    max_submission_bytes = Int(
        2 << 20, help="Largest submission request body (code or notebook JSON)."
    ).tag(config=True)

    max_notebook_bytes = Int(8 << 20, help="Largest problem notebook accepted for publishing.").tag(
        config=True
    )

    queue_full_retry_s = Int(5, help="Retry-After (seconds) sent when the queue is full.").tag(
        config=True
    )

    active_user_window_s = Float(
        300.0, help="A user counts in active_users this long after their last request."
    ).tag(config=True)

    stream_ping_s = Float(15.0, help="Keep-alive comment interval of a live stream.").tag(
        config=True
    )

    stream_max_s = Float(600.0, help="Longest a live stream stays open.").tag(config=True)

    startup_timeout_s = Float(
        60.0, help="How long to wait on start for the database to answer."
    ).tag(config=True)

    aliases: Any = {
        "config": "JudgeServiceApp.config_file",
        "ip": "JudgeServiceApp.ip",
        "port": "JudgeServiceApp.port",
        "workers": "JudgeServiceApp.workers",
        "db-url": "JudgeServiceApp.db_url",
        "redis-url": "JudgeServiceApp.redis_url",
        "base-url": "JudgeServiceApp.base_url",
    }

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            load_config(self, self.config_file)
            # the command line wins over the file
            self.update_config(self.cli_config)
        configure_logging(logging.DEBUG if self.debug else logging.INFO)
        self.log = logging.getLogger("codetutor.judge.service")

    def start(self) -> None:
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        if self.workers < 0:
            raise UsageError("--workers must be 0 or more")
        asyncio.run(self.run())

    def make_app(
        self,
        *,
        store: Store,
        queue: Queue,
        limiter: RateLimiter,
        watcher: SubmissionWatcher,
        hub_auth: HubOAuth,
        pool: WorkerPool | None,
    ) -> web.Application:
        """The tornado application with its routes and settings."""
        base = self.base_url

        def route(path: str) -> str:
            return url_path_join(base, path)

        handlers: list[Any] = [
            web.url(route("api/problems"), ProblemsHandler, name="problems"),
            web.url(route(r"api/problems/([a-z0-9][a-z0-9_-]*)"), ProblemHandler, name="problem"),
            web.url(route(r"api/problems/([a-z0-9][a-z0-9_-]*)/notebook"), ProblemNotebookHandler),
            web.url(route("api/submissions"), SubmissionsHandler),
            web.url(route(r"api/submissions/(\d{1,9})"), SubmissionHandler, name="submission"),
            web.url(route(r"api/submissions/(\d{1,9})/events"), SubmissionEventsHandler),
            web.url(route("api/recommendations"), RecommendationsHandler),
            web.url(route("api/gradebook"), GradebookHandler),
            web.url(route("api/insight"), ClassInsightHandler),
            web.url(route("api/openapi.yaml"), OpenAPIHandler),
            web.url(route("health"), HealthHandler),
            web.url(route("metrics"), MetricsHandler),
            web.url(route("oauth_callback"), CallbackHandler),
        ]
        if base != "/":
            handlers += [
                web.url("/health", HealthHandler),
                web.url("/metrics", MetricsHandler),
            ]
        return web.Application(
            handlers,
            default_handler_class=NotFoundHandler,
            store=store,
            queue=queue,
            limiter=limiter,
            watcher=watcher,
            hub_auth=hub_auth,
            pool=pool,
            publisher=Publisher(parent=self),
            insight=InsightCache(store),
            recommender=Recommender(parent=self),
            activity={},
            redis_url=self.redis_url,
            max_submission_bytes=self.max_submission_bytes,
            max_notebook_bytes=self.max_notebook_bytes,
            queue_full_retry_s=self.queue_full_retry_s,
            stream_ping_s=self.stream_ping_s,
            stream_max_s=self.stream_max_s,
            xsrf_cookies=True,
            cookie_secret=os.urandom(32),
            log_function=_log_request,
        )

    def worker_config(self) -> dict[str, Any]:
        """This service's configuration for its workers (the file the pool hands them)."""
        config = json.loads(json.dumps(self.config, default=_config_value))
        backend = config.setdefault("JudgeBackendMixin", {})
        backend["db_url"] = self.db_url
        backend["redis_url"] = self.redis_url
        if self.queue_class is not None:
            backend["queue_class"] = f"{self.queue_class.__module__}.{self.queue_class.__name__}"
        return dict(config)

    async def run(self) -> None:
        """Serve until SIGTERM/SIGINT; then stop the workers (they give back their work)."""
        store = self.make_store()
        await self._upgrade(store)
        queue = self.make_queue(store)
        await queue.connect()
        limiter = RateLimiter(parent=self, redis_url=self.redis_url)
        watcher = SubmissionWatcher(parent=self, store=store, redis_url=self.redis_url)
        hub_auth = HubOAuth(parent=self, base_url=self.base_url)
        pool: WorkerPool | None = None
        config_dir = tempfile.TemporaryDirectory(prefix="codetutor-judge-")
        if self.workers:
            config_path = Path(config_dir.name) / "worker.json"
            config_path.write_text(json.dumps(self.worker_config()))
            pool = WorkerPool(parent=self, config_path=str(config_path))
        app = self.make_app(
            store=store, queue=queue, limiter=limiter, watcher=watcher, hub_auth=hub_auth, pool=pool
        )
        server = HTTPServer(
            app,
            xheaders=True,
            max_body_size=max(self.max_notebook_bytes, self.max_submission_bytes) + 1024,
        )
        server.listen(self.port, self.ip)
        tasks = [
            asyncio.create_task(watcher.run()),
            asyncio.create_task(self._refresh_gauges(store, app)),
        ]
        if pool is not None:
            pool.start(self.workers)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.log.info(
            "judge service on http://%s:%s%s with %s workers, database %s, queue %s",
            self.ip,
            self.port,
            self.base_url,
            self.workers,
            store.engine.url.get_backend_name() if store.engine else "?",
            type(queue).__name__,
        )
        await stop.wait()
        self.log.info("stopping")
        server.stop()
        if pool is not None:
            await pool.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.close_all_connections()
        await limiter.close()
        await queue.close()
        await store.close()
        config_dir.cleanup()

    async def _upgrade(self, store: Store) -> None:
        """Migrate the database, waiting up to ``startup_timeout_s`` for it to answer."""
        deadline = time.monotonic() + self.startup_timeout_s
        while True:
            try:
                await store.upgrade()
                return
            except Exception as e:
                if not is_unavailable(e) or time.monotonic() > deadline:
                    raise
                self.log.warning("waiting for the database: %s", type(e).__name__)
                await asyncio.sleep(1.0)

    async def _refresh_gauges(self, store: Store, app: web.Application) -> None:
        while True:
            try:
                counts = await store.status_counts()
                for status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
                    metrics.QUEUE_DEPTH.labels(status=status.value).set(counts.get(status.value, 0))
                metrics.ACTIVE_SANDBOXES.set(counts.get(SubmissionStatus.RUNNING.value, 0))
            except DBAPIError as e:
                self.log.warning("cannot refresh queue gauges: %s", type(e.orig).__name__)
            activity: dict[str, float] = app.settings["activity"]
            horizon = time.monotonic() - self.active_user_window_s
            for name in [n for n, t in activity.items() if t < horizon]:
                del activity[name]
            metrics.ACTIVE_USERS.set(len(activity))
            await asyncio.sleep(1.0)


def _config_value(value: Any) -> str:
    """A config value as the JSON config file of a worker can hold it."""
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return str(value)


def _log_request(handler: web.RequestHandler) -> None:
    status = handler.get_status()
    if status < 400 and handler.request.path.endswith(("/health", "/metrics")):
        return
    log = logging.getLogger("codetutor.judge.access")
    level = logging.INFO if status < 500 else logging.ERROR
    log.log(
        level,
        "%s %s %s %.1fms",
        status,
        handler.request.method,
        handler.request.uri,
        1000 * handler.request.request_time(),
    )
