"""Helpers shared by the judge service tests (imported by worker processes too)."""

from __future__ import annotations

import asyncio
import glob
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from tornado import web

HERE = Path(__file__).parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def problem_notebook(slug: str = "add", *, time_limit_s: float = 5.0, title: str = "Add") -> dict:
    """A small function-mode problem: ``add(a, b)`` with public and hidden cases."""
    import nbformat.v4 as v4

    nb = v4.new_notebook()
    nb.metadata["codetutor"] = {
        "id": slug,
        "title": {"en": title, "ko": "더하기"},
        "difficulty": 1,
        "tags": ["basics"],
        "mode": "function",
        "time_limit_s": time_limit_s,
    }

    def tagged(cell, tag):
        cell.metadata["tags"] = [tag]
        return cell

    nb.cells = [
        tagged(v4.new_markdown_cell("Write `add(a, b)` returning the sum."), "statement"),
        tagged(v4.new_code_cell("def add(a, b):\n    pass"), "starter"),
        tagged(v4.new_code_cell("def add(a, b):\n    return a + b"), "solution"),
        tagged(
            v4.new_code_cell("# case: small\nadd(1, 2)\n# case: zero\nadd(0, 0)"), "public-tests"
        ),
        tagged(
            v4.new_code_cell("# case: big\nadd(10**6, 1)\n# case: negative\nadd(-5, 2)"),
            "hidden-tests",
        ),
    ]
    return dict(nb)


ACCEPTED = "def add(a, b):\n    return a + b\n"
WRONG = "def add(a, b):\n    return a - b\n"


class FakeHub:
    """Stands in for JupyterHub's token check in tests: ``GET /hub/api/user``.

    Answers like the Hub does: the model (name, kind, scopes) of the user who
    owns the token in the ``Authorization`` header, or 403 for an unknown
    token. Runs its own event loop in a thread, so the service processes can
    reach it whatever the test does meanwhile.
    """

    SERVICE_ACCESS = "access:services!service=judge"

    def __init__(self) -> None:
        self.port = free_port()
        self.tokens: dict[str, dict] = {}
        self.requests = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def add_user(self, name: str, *scopes: str, access: bool = True) -> str:
        """A new token for ``name`` with ``scopes`` (plus access to the service)."""
        token = secrets.token_hex(16)
        granted = [*scopes, *([self.SERVICE_ACCESS] if access else [])]
        self.tokens[token] = {
            "kind": "user",
            "name": name,
            "admin": False,
            "groups": [],
            "scopes": granted,
        }
        return token

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            hub = self

            class UserHandler(web.RequestHandler):
                def get(self) -> None:
                    hub.requests += 1
                    header = self.request.headers.get("Authorization", "")
                    token = header.split(None, 1)[1] if " " in header else ""
                    model = hub.tokens.get(token)
                    if model is None:
                        self.set_status(403)
                        self.finish({"status": 403, "message": "Forbidden"})
                        return
                    self.finish(model)

            app = web.Application([(r"/hub/api/user", UserHandler)])
            server = app.listen(self.port, "127.0.0.1")
            ready.set()
            loop.run_forever()
            server.stop()
            loop.close()

        self._thread = threading.Thread(target=serve, name="FakeHub", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


class ServiceProcess:
    """``codetutor judge-service`` as a real process, with its real worker processes."""

    def __init__(
        self,
        *,
        hub: FakeHub,
        db_url: str,
        workdir: Path,
        workers: int = 2,
        redis_url: str = "",
        config: str = "",
        extra_args: tuple[str, ...] = (),
        fast: bool = True,
    ) -> None:
        self.hub = hub
        self.db_url = db_url
        self.redis_url = redis_url
        self.workers = workers
        self.port = free_port()
        self.workdir = workdir
        self.config_path = workdir / "judge_config.py"
        self.config_path.write_text((FAST_CONFIG if fast else "") + config)
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"service-{self.port}.log"
        self.base = f"http://127.0.0.1:{self.port}/services/judge/"

    def url(self, path: str) -> str:
        return self.base + path.lstrip("/")

    def start(self, timeout_s: float = 180.0) -> None:
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERHUB_API_URL": self.hub.api_url,
                "JUPYTERHUB_API_TOKEN": "service-token",
                "JUPYTERHUB_CLIENT_ID": "service-judge",
                "JUPYTERHUB_SERVICE_NAME": "judge",
                "JUPYTERHUB_SERVICE_PREFIX": "/services/judge/",
                "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            }
        )
        argv = [
            sys.executable,
            "-m",
            "codetutor",
            "judge-service",
            f"--port={self.port}",
            f"--workers={self.workers}",
            f"--db-url={self.db_url}",
            f"--config={self.config_path}",
            *([f"--redis-url={self.redis_url}"] if self.redis_url else []),
            *self.extra_args,
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                raise RuntimeError(f"judge service exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.url("health"), timeout=2).status_code in (200, 503):
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                self.stop(signal.SIGKILL)
                raise RuntimeError(
                    f"judge service did not start:\n{self.log_path.read_text()[-3000:]}"
                )
            time.sleep(0.2)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log(self) -> str:
        """Everything the service and its workers logged so far ("" before the start)."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")


#: Short intervals so that tests finish in seconds (leases keep their default
#: length: a short one expires whenever a loaded machine stalls a worker).
#: Timeouts of the helpers are generous for the same reason: they are upper
#: bounds for a machine shared with other work, not expectations.
FAST_CONFIG = """
c.Queue.poll_interval_s = 0.1
c.RedisQueue.sweep_age_s = 2
c.RedisQueue.retry_redis_s = 1
c.RateLimiter.retry_redis_s = 1
c.WorkerPool.restart_delay_s = 0.2
c.SubmissionWatcher.interval_s = 0.1
"""


class Client:
    """A user of the judge API (requests with their Hub token)."""

    def __init__(self, service: ServiceProcess, token: str) -> None:
        self.service = service
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.service.url(path), timeout=30, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.post(self.service.url(path), timeout=120, **kwargs)

    def wait_judged(self, submission_id: int, timeout_s: float = 300.0) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            r = self.get(f"api/submissions/{submission_id}")
            if r.status_code == 200 and r.json()["status"] == "judged":
                return dict(r.json())
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"submission {submission_id} not judged: {r.status_code} {r.text}"
                )
            time.sleep(0.2)


def database_rows(db_url: str) -> tuple[list[dict], dict[int, int]]:
    """Every submission row, and the number of case results of each submission."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            subs = [
                dict(row._mapping)
                for row in conn.execute(
                    sqlalchemy.text(
                        "SELECT id, status, verdict, attempts, lease_owner"
                        " FROM submissions ORDER BY id"
                    )
                )
            ]
            counts = {
                int(sid): int(n)
                for sid, n in conn.execute(
                    sqlalchemy.text(
                        "SELECT submission_id, count(*) FROM case_results GROUP BY submission_id"
                    )
                )
            }
    finally:
        engine.dispose()
    return subs, counts


def table_counts(db_url: str) -> dict[str, int]:
    """Rows in each table that bad input must leave alone."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                table: int(
                    conn.execute(sqlalchemy.text(f"SELECT count(*) FROM {table}")).scalar_one()
                )
                for table in (
                    "problems",
                    "hidden_bundles",
                    "publish_audit",
                    "submissions",
                    "case_results",
                )
            }
    finally:
        engine.dispose()


def verdicts_logged(log: str) -> dict[int, int]:
    """How many times the workers logged storing a verdict, per submission id."""
    counts: dict[int, int] = {}
    for line in log.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and str(record.get("event", "")).startswith(
            "judged submission"
        ):
            sid = int(record["submission_id"])
            counts[sid] = counts.get(sid, 0) + 1
    return counts


def wait_all_judged(db_url: str, expected: int, timeout_s: float = 300.0) -> list[dict]:
    """Wait until ``expected`` submissions exist and all are judged; return their rows."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            subs, _ = database_rows(db_url)
        except Exception:
            subs = []
        if len(subs) == expected and all(s["status"] == "judged" for s in subs):
            return subs
        if time.monotonic() > deadline:
            raise AssertionError(f"not all judged: {subs}")
        time.sleep(0.3)


def assert_judged_exactly_once(service: ServiceProcess, expected: int) -> list[dict]:
    """Every submission judged, with one verdict stored once and one set of case results."""
    subs = wait_all_judged(service.db_url, expected)
    _, cases = database_rows(service.db_url)
    assert all(cases.get(s["id"]) == 4 for s in subs), cases
    logged = verdicts_logged(service.log())
    assert logged == {s["id"]: 1 for s in subs}, logged
    return subs


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not installed; ./dev setup installs it")
    pytest.skip(f"{what} is not installed (./dev setup installs it)")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth, user ``postgres``)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            _missing("PostgreSQL (initdb, pg_ctl)")
        assert initdb and pg_ctl
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="codetutor-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.getuid() == 0
        if self._as_postgres:
            # PostgreSQL refuses to run as root
            shutil.chown(self.root, "postgres", "postgres")
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")

    def _run(self, *argv: str) -> None:
        command = list(argv)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self._run(
            self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = "judge_" + uuid.uuid4().hex[:12]
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


class RedisServer:
    """A throwaway ``redis-server`` on a fixed loopback port; can be stopped and restarted."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if not self.binary:
            _missing("Redis (redis-server)")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        import redis

        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None
