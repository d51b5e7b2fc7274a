"""The service skeleton every Code Tutor service runs on (codetutor.web, codetutor.errors).

A small service built on it, listening on loopback: errors mapped to statuses at
the edge, strict JSON bodies, /health, /metrics with the request metrics, a JSON
404, the request log as JSON lines, and SIGTERM stopping it cleanly.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from codetutor.errors import CodeTutorError, SandboxError
from codetutor.logging import configure_logging
from codetutor.web import HTTPMetrics, JSONHandler, WebServiceApp, service_application


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class QuotaError(CodeTutorError):
    """A domain error of the test service: the user's quota is used up."""

    status = 429


class EchoHandler(JSONHandler):
    """``POST echo``: the body back; ``GET echo?fail=KIND``: one kind of failure."""

    endpoint = "echo"
    query_parameters = frozenset({"fail"})

    def post(self) -> None:
        self.write_json({"echo": self.read_json_object(max_bytes=64)})

    def get(self) -> None:
        fail = self.get_query_argument("fail", "")
        if fail == "domain":
            raise QuotaError(
                "you asked too often",
                "user x: 31 requests in 60 s",
                headers={"Retry-After": "7"},
                extra={"limit": 30},
            )
        if fail == "bad":
            raise CodeTutorError("'x' must be a number", status=400)
        if fail == "http":
            raise web.HTTPError(409, reason="already there")
        if fail == "bug":
            raise KeyError("a bug of ours")
        self.write_json({"nan": float("nan")} if fail == "nan" else {"ok": True})


class EchoApp(WebServiceApp):
    name = "echo"
    logger_name = "codetutor.echo"
    default_prefix = "/services/echo/"

    unavailable = False

    def make_app(self) -> web.Application:
        registry = CollectorRegistry()
        return service_application(
            [("echo", EchoHandler, "echo")],
            base_url=self.base_url,
            http_metrics=HTTPMetrics(registry, service="echo service", endpoints=["echo"]),
            registry=registry,
            health=self.health,
            service_label="echo service",
        )

    async def health(self) -> dict[str, Any]:
        return {"status": "unavailable" if self.unavailable else "ok"}


@pytest.fixture
async def echo() -> AsyncIterator[EchoApp]:
    app = EchoApp(port=free_port(), ip="127.0.0.1")
    await app.start_service()
    yield app
    await app.stop_service()


async def fetch(app: EchoApp, path: str, **kwargs: Any) -> HTTPResponse:
    url = f"http://127.0.0.1:{app.port}{path}"
    return await AsyncHTTPClient().fetch(url, raise_error=False, **kwargs)


def body(response: HTTPResponse) -> Any:
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def test_a_domain_error_becomes_its_status_message_fields_and_headers(
    echo: EchoApp, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="codetutor.web"):
        r = await fetch(echo, "/services/echo/echo?fail=domain")
    assert r.code == 429
    assert body(r) == {"message": "you asked too often", "limit": 30}
    assert r.headers["Retry-After"] == "7"
    # the log gets the log message, the user only the user's
    assert "user x: 31 requests in 60 s" in caplog.text
    assert "user x" not in r.body.decode()


async def test_bad_input_is_4xx_and_our_bugs_are_500_without_a_traceback(echo: EchoApp) -> None:
    r = await fetch(echo, "/services/echo/echo?fail=bad")
    assert (r.code, body(r)) == (400, {"message": "'x' must be a number"})
    r = await fetch(echo, "/services/echo/echo?fail=http")
    assert (r.code, body(r)) == (409, {"message": "already there"})
    r = await fetch(echo, "/services/echo/echo?fail=bug")
    assert (r.code, body(r)) == (500, {"message": "internal error in the echo service"})
    assert b"Traceback" not in r.body and b"KeyError" not in r.body
    r = await fetch(echo, "/services/echo/echo?nope=1")
    assert (r.code, body(r)) == (400, {"message": "unknown query parameter(s): nope"})
    r = await fetch(echo, "/services/echo/echo", method="DELETE")
    assert r.code == 405 and r.headers["Allow"] == "GET, POST"


async def test_bodies_are_strict_json(echo: EchoApp) -> None:
    r = await fetch(echo, "/services/echo/echo", method="POST", body='{"a": [1, "ü"]}')
    assert (r.code, body(r)) == (200, {"echo": {"a": [1, "ü"]}})
    for sent, status, message in (
        ('{"a": NaN}', 400, "malformed JSON: NaN is not JSON"),
        ("[1]", 400, "the body must be a JSON object"),
        ("{nope", 400, "malformed JSON"),
        ('{"a": "' + "x" * 100 + '"}', 413, "the body is too large"),
    ):
        r = await fetch(echo, "/services/echo/echo", method="POST", body=sent)
        assert r.code == status and body(r)["message"].startswith(message), sent


async def test_unknown_paths_are_a_json_404(echo: EchoApp) -> None:
    r = await fetch(echo, "/services/echo/nowhere")
    assert (r.code, body(r)) == (404, {"message": "no such endpoint: /services/echo/nowhere"})


async def test_health_under_the_prefix_and_at_the_root(echo: EchoApp) -> None:
    for path in ("/services/echo/health", "/health"):
        r = await fetch(echo, path)
        assert (r.code, body(r)) == (200, {"status": "ok"})
    echo.unavailable = True
    r = await fetch(echo, "/health")
    assert (r.code, body(r)) == (503, {"status": "unavailable"})


async def test_metrics_count_requests_by_route_pattern_not_path(echo: EchoApp) -> None:
    before = (await fetch(echo, "/metrics")).body.decode()
    # every declared series exists before the first request
    assert 'http_request_duration_seconds_count{endpoint="echo",method="GET"} 0.0' in before
    await fetch(echo, "/services/echo/echo")
    await fetch(echo, "/services/echo/echo?fail=bad")
    r = await fetch(echo, "/services/echo/metrics")
    assert r.code == 200 and r.headers["Content-Type"].startswith("text/plain")
    text = r.body.decode()
    assert 'http_requests_total{endpoint="echo",method="GET",status="200"} 1.0' in text
    assert 'http_requests_total{endpoint="echo",method="GET",status="400"} 1.0' in text
    assert 'http_request_duration_seconds_count{endpoint="echo",method="GET"} 2.0' in text
    assert "?fail" not in text


async def test_the_request_log_is_json_with_request_context(echo: EchoApp) -> None:
    stream = io.StringIO()
    configure_logging(stream=stream)
    try:
        await fetch(echo, "/services/echo/echo?fail=bad", headers={"X-Request-Id": "req-42"})
        await fetch(echo, "/health")
    finally:
        logging.getLogger().handlers.clear()
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [r for r in records if r["logger"] == "codetutor.access"]
    assert len(access) == 1, records  # a healthy probe is not logged at INFO
    (line,) = access
    assert line["event"].startswith("400 GET /services/echo/echo?fail=bad ")
    assert line["level"] == "warning"
    assert line["request_id"] == "req-42" and line["endpoint"] == "echo"


async def test_sigterm_stops_the_service_cleanly() -> None:
    app = EchoApp(port=free_port(), ip="127.0.0.1")
    serving = asyncio.create_task(app.serve())
    for _ in range(100):
        if app.http_server is not None:
            break
        await asyncio.sleep(0.05)
    assert (await fetch(app, "/health")).code == 200
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, 10)
    with pytest.raises(ConnectionRefusedError):  # nothing listens any more
        await fetch(app, "/health")


def test_errors_keep_the_users_message_apart_from_the_logs() -> None:
    error = CodeTutorError("the judge is busy", "pool exhausted after 30 s")
    assert (str(error), error.message, error.log_message, error.status) == (
        "the judge is busy",
        "the judge is busy",
        "pool exhausted after 30 s",
        500,
    )
    assert CodeTutorError("x").log_message == "x"
    assert SandboxError("cannot confine").status == 503


def test_every_domain_error_shares_the_one_base() -> None:
    from codetutor.extensions.exceptions import ExtensionError, ServiceError
    from codetutor.judge.exceptions import JudgeException, ProblemError, SandboxError
    from codetutor.judge.service import APIError
    from codetutor.tutor.exceptions import QueueFullError, TutorError

    for kind in (ExtensionError, ServiceError, JudgeException, SandboxError, APIError, TutorError):
        assert issubclass(kind, CodeTutorError), kind
    assert ProblemError("bad cell", cell=2).status == 422
    full = QueueFullError("queue of 64 full", 9, "the tutor is busy")
    assert (full.status, full.message, str(full), full.headers) == (
        429,
        "the tutor is busy",
        "queue of 64 full",
        {"Retry-After": "9"},
    )
    assert ExtensionError(404, "no notebook", log_message="stat failed").log_message == (
        "stat failed"
    )
    assert APIError(400, "bad").status_code == 400
