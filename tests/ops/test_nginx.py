"""deploy/nginx run by a real nginx, with a self-signed certificate, in front of a
running ``codetutor up`` (Hub, proxy, judge and tutor services), checked from loopback.

Every request goes to 127.0.0.1; the rate-limit tests send a few dozen requests.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .nginx_helpers import NginxServer, expand_includes, free_port, parse_blocks

SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "Strict-Transport-Security": "max-age=31536000",
}

TUTOR = "/services/tutor/"


def loopback_session() -> requests.Session:
    """A client that takes no proxy or CA bundle from the environment."""
    session = requests.Session()
    session.trust_env = False
    return session


class Upstream:
    """``codetutor up`` on loopback: the Hub, its proxy, the judge and tutor services."""

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.log = root / "up.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        env["CODETUTOR_ADMIN_TOKEN"] = self.token
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "codetutor",
                    "up",
                    f"--port={self.port}",
                    f"--data-dir={root / 'data'}",
                    "--workers=1",
                ],
                stdout=out,
                stderr=out,
                env=env,
            )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def wait(self, timeout_s: float = 240) -> None:
        """Until the Hub, the judge and the tutor all answer through the proxy."""
        session = loopback_session()
        deadline = time.monotonic() + timeout_s
        for path in ("/hub/api/", "/services/judge/health", TUTOR + "health"):
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"codetutor up exited:\n{self.log.read_text()[-3000:]}")
                try:
                    if session.get(f"http://{self.address}{path}", timeout=5).status_code == 200:
                        break
                except requests.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"codetutor up did not start:\n{self.log.read_text()[-3000:]}"
                    )
                time.sleep(0.5)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """One ``codetutor up`` for the module; every test puts a fresh nginx in front."""
    running = Upstream(tmp_path_factory.mktemp("up"))
    try:
        running.wait()
        yield running
    finally:
        running.stop()


@pytest.fixture
def nginx(tmp_path: Path, upstream: Upstream) -> Iterator[NginxServer]:
    """A fresh nginx per test, so that every test starts with empty rate-limit zones."""
    server = NginxServer(tmp_path / "nginx", upstream.address)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def https(nginx: NginxServer) -> Iterator[requests.Session]:
    """A client over TLS that trusts (only) the test's self-signed certificate."""
    session = loopback_session()
    session.verify = str(nginx.certificate)
    session.headers["Host"] = "localhost"
    yield session
    session.close()


def hammer(session: requests.Session, url: str, count: int) -> tuple[list[int], float]:
    """GETs one after another: ``count`` of them, and more (up to 200) until three were
    refused, in case a slow machine let the rate refill the burst meanwhile. Returns
    their status codes and the seconds they took."""
    start = time.monotonic()
    statuses: list[int] = []
    while len(statuses) < count or (statuses.count(429) < 3 and len(statuses) < 200):
        statuses.append(session.get(url, timeout=10, allow_redirects=False).status_code)
    return statuses, time.monotonic() - start


def assert_limited(statuses: list[int], elapsed: float, *, burst: int, per_s: float) -> None:
    """The first ``burst + 1`` pass, then 429s, allowing what the rate refilled meanwhile."""
    allowed = [s for s in statuses if s != 429]
    refilled = math.ceil(elapsed * per_s)
    assert burst + 1 <= len(allowed) <= burst + 1 + refilled, (statuses, elapsed)
    assert statuses[: burst + 1] == allowed[: burst + 1]
    assert 429 in statuses
    assert all(s != 429 for s in statuses[: burst + 1]), statuses


def test_config_passes_nginx_t(nginx: NginxServer) -> None:
    result = nginx.nginx("-t")
    assert result.returncode == 0
    assert "syntax is ok" in result.stderr


def test_http_redirects_to_https(nginx: NginxServer) -> None:
    plain = loopback_session()
    r = plain.get(
        nginx.http + "/hub/login?next=%2Fhub%2F",
        headers={"Host": "localhost"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 301
    assert r.headers["Location"] == "https://localhost/hub/login?next=%2Fhub%2F"
    health = plain.get(nginx.http + "/nginx-health", timeout=10)
    assert health.status_code == 200 and health.text == "ok\n"


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_tls_versions(nginx: NginxServer, version: ssl.TLSVersion) -> None:
    context = ssl.create_default_context(cafile=str(nginx.certificate))
    context.minimum_version = context.maximum_version = version
    import socket

    with (
        socket.create_connection(("127.0.0.1", nginx.https_port), 5) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        assert tls.version() == {"TLSv1_2": "TLSv1.2", "TLSv1_3": "TLSv1.3"}[version.name]


def test_proxies_to_the_service_with_security_headers(
    nginx: NginxServer, https: requests.Session
) -> None:
    r = https.get(nginx.https + TUTOR + "health", timeout=10)
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    for name, value in SECURITY_HEADERS.items():
        assert r.headers.get(name) == value, name
    # also on errors: the service's own 404 and nginx's
    missing = https.get(nginx.https + TUTOR + "no-such-route", timeout=10)
    assert missing.status_code == 404
    assert missing.headers.get("X-Frame-Options") == "DENY"
    # nginx's request id reaches the service and its access log
    log = nginx.access_log.read_text().splitlines()
    record = json.loads(log[-1])
    assert record["uri"] == TUTOR + "no-such-route" and record["status"] == 404
    assert len(record["request_id"]) == 32


def test_metrics_stay_inside(
    nginx: NginxServer, https: requests.Session, upstream: Upstream
) -> None:
    for path in ("/hub/metrics", "/services/judge/metrics"):
        direct = loopback_session().get(f"http://{upstream.address}{path}", timeout=10)
        assert direct.status_code == 200 and "# TYPE" in direct.text, path
        through = https.get(nginx.https + path, timeout=10)
        assert through.status_code == 404, path
        assert "# TYPE" not in through.text


def test_static_files_are_cached(nginx: NginxServer, https: requests.Session) -> None:
    r = https.get(nginx.https + "/hub/static/css/style.min.css", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/css")
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers.get("X-Content-Type-Options") == "nosniff"
    # no server is running for ada: the Hub answers (a redirect), still marked private
    r = https.get(nginx.https + "/user/ada/static/lab/main.js", timeout=10, allow_redirects=False)
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"


async def test_websocket_upgrade_reaches_tutor_chat(nginx: NginxServer, upstream: Upstream) -> None:
    context = ssl.create_default_context(cafile=str(nginx.certificate))
    request = HTTPRequest(
        f"wss://127.0.0.1:{nginx.https_port}{TUTOR}api/tutor/chat?token={upstream.token}",
        headers={"Host": "localhost"},
        ssl_options=context,
        request_timeout=30,
    )
    conn = await websocket_connect(request)
    try:
        await conn.write_message(json.dumps({"type": "hello"}))
        reply = await asyncio.wait_for(conn.read_message(), 30)
        assert reply is not None
        assert json.loads(reply) == {"type": "error", "message": "type must be 'ask' or 'stop'"}
        await conn.write_message("not json")
        reply = await asyncio.wait_for(conn.read_message(), 30)
        assert reply is not None
        assert json.loads(reply)["message"] == "messages must be JSON objects"
    finally:
        conn.close()


def test_api_rate_limit_10_per_s_burst_20(nginx: NginxServer, https: requests.Session) -> None:
    statuses, elapsed = hammer(https, nginx.https + "/hub/api/", 40)
    assert set(statuses) == {200, 429}
    assert_limited(statuses, elapsed, burst=20, per_s=10)


def test_login_rate_limit_5_per_min_burst_3(nginx: NginxServer, https: requests.Session) -> None:
    statuses, elapsed = hammer(https, nginx.https + "/hub/login", 8)
    assert set(statuses) == {200, 429}
    assert_limited(statuses, elapsed, burst=3, per_s=5 / 60)
    # the other zones are untouched by the login limit
    assert https.get(nginx.https + TUTOR + "health", timeout=10).status_code == 200


def test_ai_rate_limit_burst_5(nginx: NginxServer, https: requests.Session) -> None:
    statuses, elapsed = hammer(https, nginx.https + TUTOR + "health", 15)
    assert set(statuses) == {200, 429}
    assert_limited(statuses, elapsed, burst=5, per_s=10)
    refused = https.get(nginx.https + TUTOR + "health", timeout=10)
    if refused.status_code == 429:
        assert refused.headers.get("Strict-Transport-Security") == "max-age=31536000"


def test_ai_rate_limit_covers_the_server_extensions_routes(
    nginx: NginxServer, https: requests.Session
) -> None:
    # ada has no server running: the Hub answers; the AI zone counts each request
    statuses, elapsed = hammer(https, nginx.https + "/user/ada/codetutor/api/review", 15)
    assert_limited(statuses, elapsed, burst=5, per_s=10)


def test_ai_routes_get_longer_timeouts(nginx: NginxServer) -> None:
    """What each location's effective proxy timeouts are, includes expanded."""
    text = expand_includes((nginx.root / "conf.d" / "codetutor.conf").read_text(), nginx.root)
    blocks = parse_blocks(text)

    def own(directives: list[list[str]]) -> dict[str, str]:
        # the last one wins, as in nginx
        return {
            d[0]: d[1] for d in directives if d[0] in ("proxy_read_timeout", "proxy_send_timeout")
        }

    (server,) = [
        d
        for args, d in blocks
        if args == ["server"]
        and ["ssl_certificate"] == [x[0] for x in d if x[0] == "ssl_certificate"]
    ]
    timeouts = {
        " ".join(args[1:]): {**own(server), **own(directives)}
        for args, directives in blocks
        if args[0] == "location"
    }

    def seconds(value: str) -> int:
        return int(value.removesuffix("s"))

    ai = timeouts["~ ^/(services/tutor/|user/[^/]+/codetutor/api/(tutor/|review|recommendations))"]
    chat = timeouts["~ ^/(services/tutor/api/tutor/chat|user/[^/]+/codetutor/api/tutor/chat)$"]
    events = timeouts[
        "~ ^/(services/judge/api|user/[^/]+/codetutor/api)/submissions/[0-9]+/events$"
    ]
    assert seconds(chat["proxy_read_timeout"]) == 3600
    assert seconds(events["proxy_read_timeout"]) > 600
    login = timeouts["~ ^/hub/(login|oauth_login|oauth_callback)$"]
    assert seconds(ai["proxy_read_timeout"]) >= 300
    assert seconds(ai["proxy_read_timeout"]) > seconds(login["proxy_read_timeout"])
    assert seconds(login["proxy_read_timeout"]) == 60
