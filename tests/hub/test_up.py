"""``codetutor up`` for real: logging in, sandboxed user servers, restarts, bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from tests.e2e.helpers import REPO, Up, free_port

pytestmark = pytest.mark.slow


@pytest.fixture
def up_factory(tmp_path: Path) -> Iterator[Any]:
    started: list[Up] = []

    def make(**kwargs: Any) -> Up:
        up = Up(tmp_path / "data", **kwargs)
        started.append(up)
        up.start()
        return up

    yield make
    for up in started:
        up.stop()


def form(
    base: str, page: str, session: requests.Session | None = None, **fields: str
) -> requests.Response:
    """Submit the Hub form at ``/hub/<page>`` as a browser does (XSRF cookie and field)."""
    session = session or requests.Session()
    session.get(f"{base}/hub/{page}", timeout=30)
    return session.post(
        f"{base}/hub/{page}",
        data={**fields, "_xsrf": session.cookies.get("_xsrf", path="/hub/") or ""},
        allow_redirects=False,
        timeout=30,
    )


def login(
    base: str, name: str, password: str, session: requests.Session | None = None
) -> requests.Response:
    return form(base, "login", session, username=name, password=password)


def server_process(uid: int) -> psutil.Process:
    """The single-user server running as ``uid``."""
    for process in psutil.process_iter(["uids", "cmdline"]):
        if process.info["uids"] and process.info["uids"].real == uid:
            if "jupyterhub.singleuser" in " ".join(process.info["cmdline"] or []):
                return process
    raise AssertionError(f"no single-user server runs as uid {uid}")


def test_bad_input_exits_2_with_one_line(tmp_path: Path) -> None:
    busy = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", busy))
        s.listen()
        for args, message in (
            (["--port=0"], "--port"),
            (["extra"], "unexpected argument 'extra'"),
            ([f"--port={busy}"], f"cannot listen on 127.0.0.1:{busy}"),
            (["--bogus"], "unknown option --bogus"),
        ):
            result = subprocess.run(
                [sys.executable, "-m", "codetutor", "up", f"--data-dir={tmp_path}", *args],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 2, result
            assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.skipif(
    os.geteuid() != 0 and os.environ.get("CI") != "true",
    reason="per-user uids and cgroups need root (./dev runs as root; under CI this fails)",
)
def test_user_servers_are_sandboxed(up_factory: Any) -> None:
    up = up_factory()
    assert up.api("POST", "users", {"usernames": ["alice", "bob"]}).status_code == 201
    for name in ("alice", "bob"):
        up.start_server(name)
    homes = up.data_dir / "users"
    alice_uid, bob_uid = ((homes / n).stat().st_uid for n in ("alice", "bob"))
    assert len({alice_uid, bob_uid, 0}) == 3
    assert (homes / "alice").stat().st_mode & 0o777 == 0o700
    server = server_process(alice_uid)
    root = Path(f"/proc/{server.pid}/root")
    # its own home, nothing of anyone else's, no Hub database, no data dir
    assert sorted(os.listdir(root / "home")) == ["alice"]
    assert (root / "home/alice").stat().st_ino == (homes / "alice").stat().st_ino
    assert not (root / str(up.data_dir).lstrip("/")).exists()
    assert not (root / str(REPO / "notebooks").lstrip("/")).exists()
    assert not (root / "etc/shadow").exists()
    status = Path(f"/proc/{server.pid}/status").read_text()
    assert re.search(r"^CapEff:\s+0+$", status, re.M)
    assert re.search(r"^NoNewPrivs:\s+1$", status, re.M)
    memory = Path(f"/proc/{server.pid}/cgroup").read_text()
    group = re.search(rf":memory:(/codetutor/hub-user-{alice_uid})$", memory, re.M)
    assert group is not None, memory
    limit = Path("/sys/fs/cgroup/memory", group.group(1).lstrip("/"), "memory.limit_in_bytes")
    assert int(limit.read_text()) == 2 << 30
    # stopping the server empties and removes its cgroup
    r = up.api("DELETE", "users/alice/server")
    assert r.status_code in (202, 204), r.text
    deadline = time.monotonic() + 60
    while limit.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not limit.parent.exists()
    assert not server.is_running()


def test_sign_up_needs_approval_and_login_is_rate_limited(up_factory: Any) -> None:
    up = up_factory()
    signed_up = form(
        up.url,
        "signup",
        username="carol",
        signup_password="a long passphrase 1",
        signup_password_confirmation="a long passphrase 1",
    )
    assert signed_up.status_code == 200, signed_up.text[:500]
    refused = login(up.url, "carol", "a long passphrase 1")
    assert refused.status_code == 403 and "not been authorized" in refused.text
    admin = requests.Session()
    ok = login(up.url, "admin", up.password(), admin)
    assert ok.status_code == 302, ok.text[:500]
    approved = admin.get(f"{up.url}/hub/authorize/carol", timeout=30, allow_redirects=False)
    assert approved.status_code in (200, 302), approved.text[:500]
    assert login(up.url, "carol", "a long passphrase 1").status_code == 302
    # three attempts from one address spent the burst (SPEC: login 5/min, burst 3)
    limited = login(up.url, "admin", "not the password")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert "Too many login attempts" in limited.text


def test_restart_keeps_everything(up_factory: Any, tmp_path: Path) -> None:
    problems = tmp_path / "problems"
    (problems / "leap-year").mkdir(parents=True)
    shutil.copy(REPO / "notebooks/leap-year/problem.ipynb", problems / "leap-year")
    up = up_factory(demo=True, extra_args=(f"--UpApp.problems_dir={problems}",))
    up.stop()
    assert "Published 1 demo problems." in up.log()
    admin_password = up.password()
    student_password = up.password("student")
    up.start()
    assert up.password() == admin_password
    users = {u["name"]: u for u in up.api("GET", "users").json()}
    assert {"admin", "student", "instructor"} <= set(users)
    assert "instructors" in users["instructor"]["groups"]
    assert "instructors" in users["admin"]["groups"]
    assert "instructors" not in users["student"]["groups"]
    assert login(up.url, "student", student_password).status_code == 302
    r = requests.get(
        f"{up.url}/services/judge/api/problems",
        headers={"Authorization": f"token {up.admin_token}"},
        timeout=30,
    )
    assert r.status_code == 200 and [p["id"] for p in r.json()["problems"]] == ["leap-year"]
    # the Hub's metrics are scraped next to ours (unauthenticated on the embedded default)
    metrics = requests.get(f"{up.url}/hub/metrics", timeout=30)
    assert metrics.status_code == 200 and "jupyterhub_" in metrics.text
    judge_metrics = requests.get(f"{up.url}/services/judge/metrics", timeout=30)
    assert judge_metrics.status_code == 200 and "submissions_total" in judge_metrics.text
    accounts = json.loads((up.data_dir / "secrets/accounts.json").read_text())
    assert set(accounts) == {"admin", "student", "instructor"}
    assert (up.data_dir / "secrets/accounts.json").stat().st_mode & 0o777 == 0o600


def test_a_hub_that_cannot_start_exits_1(tmp_path: Path) -> None:
    broken = tmp_path / "jupyterhub_config.py"
    broken.write_text("c.JupyterHub.spawner_class = 'no.such.Spawner'\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "codetutor",
            "up",
            f"--port={free_port()}",
            f"--data-dir={tmp_path / 'data'}",
            f"--UpApp.hub_config={broken}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert result.stderr.strip().splitlines()[-1].startswith("codetutor: JupyterHub exited")


def test_idle_servers_are_culled(up_factory: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETUTOR_IDLE_TIMEOUT_S", "6")
    up = up_factory()
    assert up.api("POST", "users", {"usernames": ["dora"]}).status_code == 201
    up.start_server("dora")
    deadline = time.monotonic() + 90
    while up.api("GET", "users/dora").json()["servers"]:
        assert time.monotonic() < deadline, "the idle culler did not stop dora's server"
        time.sleep(1)
