"""deploy/scripts/rollback.sh in its safe modes: --dry-run, and a real run whose
docker CLI is a stand-in that records the commands (RecordingDocker), checked for
health against a real HTTP server on loopback."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from .conftest import DEPLOY

SCRIPT = DEPLOY / "scripts" / "rollback.sh"

RECORDING_DOCKER = """#!/bin/sh
# RecordingDocker: records each command it is given, one line each, and succeeds.
printf '%s\\n' "$*" >> "$RECORD"
"""


class HealthServer:
    """An HTTP server on loopback answering /hub/health with ``status``."""

    def __init__(self, status: int) -> None:
        answer = status

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(answer if self.path == "/hub/health" else 404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hub/health"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def healthy() -> Iterator[HealthServer]:
    server = HealthServer(200)
    yield server
    server.stop()


@pytest.fixture
def unhealthy() -> Iterator[HealthServer]:
    server = HealthServer(503)
    yield server
    server.stop()


class Deployment:
    """A deploy folder's .env and release log, and the recording docker stand-in."""

    def __init__(self, root: Path, current: str, history: list[str], gpu: bool = True) -> None:
        self.env = root / ".env"
        self.env.write_text(
            f"CODETUTOR_DOMAIN=codetutor.example.org\nCODETUTOR_TAG={current}\n"
            f"COMPOSE_PROFILES={'gpu' if gpu else ''}\nPOSTGRES_PASSWORD=secret\n"
        )
        self.releases = root / "releases.log"
        self.releases.write_text(
            "".join(f"2026-11-{20 + i:02d}T10:00:00Z {tag}\n" for i, tag in enumerate(history))
        )
        self.record = root / "docker-commands"
        self.docker = root / "recording-docker"
        self.docker.write_text(RECORDING_DOCKER)
        self.docker.chmod(0o755)

    def rollback(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/root"),
            "DOCKER": str(self.docker),
            "RECORD": str(self.record),
        }
        return subprocess.run(
            [
                "bash",
                str(SCRIPT),
                "--env-file",
                str(self.env),
                "--releases",
                str(self.releases),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            stdin=subprocess.DEVNULL,
        )

    def commands(self) -> list[str]:
        return self.record.read_text().splitlines() if self.record.exists() else []


def test_dry_run_prints_the_plan_and_changes_nothing(tmp_path: Path) -> None:
    d = Deployment(tmp_path, "c3", ["a1", "b2", "c3"])
    env_before, log_before = d.env.read_text(), d.releases.read_text()
    result = d.rollback("--dry-run")
    assert result.returncode == 0, result.stderr
    assert "rollback: c3 -> b2 (services: hub judge-worker llm)" in result.stderr
    planned = result.stdout.splitlines()
    assert any(
        line.startswith("+ sed -i s/^CODETUTOR_TAG=.*/CODETUTOR_TAG=b2/") for line in planned
    )
    assert any(
        "compose -f" in line and "up -d --no-deps hub judge-worker llm" in line for line in planned
    )
    assert planned[-1].startswith(
        "+ wait up to 120s for https://codetutor.example.org:443/hub/health"
    )
    assert d.env.read_text() == env_before
    assert d.releases.read_text() == log_before
    assert d.commands() == []
    assert list(tmp_path.glob(".env.before-rollback-*")) == []


def test_rollback_switches_the_tag_restarts_and_checks_health(
    tmp_path: Path, healthy: HealthServer
) -> None:
    d = Deployment(tmp_path, "c3", ["a1", "b2", "c3"], gpu=False)
    result = d.rollback("--health-url", healthy.url, "--health-timeout", "20")
    assert result.returncode == 0, result.stderr
    assert "CODETUTOR_TAG=b2\n" in d.env.read_text()
    (saved,) = tmp_path.glob(".env.before-rollback-*")
    assert "CODETUTOR_TAG=c3\n" in saved.read_text()
    compose = f"compose -f {DEPLOY / 'docker-compose.yml'} --env-file {d.env}"
    assert d.commands() == [
        f"{compose} pull hub judge-worker",
        f"{compose} up -d --no-deps hub judge-worker",
    ]
    assert d.releases.read_text().splitlines()[-1].endswith(" b2 rollback-from-c3")


def test_rollback_to_a_named_release(tmp_path: Path, healthy: HealthServer) -> None:
    d = Deployment(tmp_path, "c3", ["a1", "b2", "c3"])
    result = d.rollback("--to", "a1", "--health-url", healthy.url)
    assert result.returncode == 0, result.stderr
    assert "CODETUTOR_TAG=a1\n" in d.env.read_text()
    # a second rollback goes back from a1 to the newest other release
    again = d.rollback("--dry-run")
    assert "rollback: a1 -> c3" in again.stderr


def test_unhealthy_release_fails_and_says_where_the_old_settings_are(
    tmp_path: Path, unhealthy: HealthServer
) -> None:
    d = Deployment(tmp_path, "c3", ["a1", "b2", "c3"])
    log_before = d.releases.read_text()
    result = d.rollback("--health-url", unhealthy.url, "--health-timeout", "3")
    assert result.returncode == 1
    assert "release b2 is not healthy after 3s" in result.stderr
    assert ".env.before-rollback-" in result.stderr
    assert d.releases.read_text() == log_before


@pytest.mark.parametrize(
    ("history", "args", "code", "message"),
    [
        (["c3"], [], 1, "no earlier release than c3"),
        (["a1", "c3"], ["--to", "zz9"], 1, "release zz9 is not in"),
        (["a1", "c3"], ["--to", "c3"], 1, "c3 is already the current release"),
        (["a1", "c3"], ["--health-timeout", "soon"], 2, "--health-timeout must be whole seconds"),
        (["a1", "c3"], ["--bogus"], 2, "unknown argument: --bogus"),
    ],
)
def test_refusals(
    tmp_path: Path, history: list[str], args: list[str], code: int, message: str
) -> None:
    d = Deployment(tmp_path, "c3", history)
    env_before = d.env.read_text()
    result = d.rollback(*args)
    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert d.env.read_text() == env_before
    assert d.commands() == []
