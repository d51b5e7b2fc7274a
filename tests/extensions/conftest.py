"""Fixtures of the server extension tests: real judge and tutor services.

The judge (``codetutor judge-service`` with a worker, on SQLite) and the tutor
(``codetutor tutor serve`` with the bundled model, reaching the judge with its own
service token) run as real processes for the whole session, authenticating callers against :class:`FakeHub` (the judge
tests' stand-in for JupyterHub's ``/hub/api/user``). The Jupyter server under
test (pytest-jupyter's ``jp_serverapp``) is "owned" by one of the users below:
its extension calls the services with that user's token, as a real user server
does with ``JUPYTERHUB_API_TOKEN``.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

# pytest-jupyter's fixtures (jp_fetch, jp_ws_fetch, jp_serverapp, ...) for this folder
from pytest_jupyter.jupyter_server import *  # noqa: F403

from codetutor.hub.roles import INSTRUCTOR_SCOPES, STUDENT_SCOPES, TUTOR_SERVICE_SCOPES
from tests.judge.service.judge_service_helpers import FakeHub, ServiceProcess, free_port

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
PROBLEM = "leap-year"


@dataclass
class Users:
    """Hub tokens of the class: one instructor and two students."""

    instructor: str
    alice: str
    bob: str


class TutorProcess:
    """``codetutor tutor serve`` as a Hub service (Hub auth against the fake Hub)."""

    def __init__(self, hub: FakeHub, workdir: Path, judge_url: str) -> None:
        self.hub = hub
        self.judge_url = judge_url
        self.port = free_port()
        self.log_path = workdir / f"tutor-{self.port}.log"
        self.base = f"http://127.0.0.1:{self.port}/services/tutor/"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 120.0) -> None:
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERHUB_API_URL": self.hub.api_url,
                "JUPYTERHUB_API_TOKEN": "tutor-service-token",
                "JUPYTERHUB_SERVICE_NAME": "tutor",
                "JUPYTERHUB_SERVICE_PREFIX": "/services/tutor/",
                "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps(["access:services!service=tutor"]),
            }
        )
        argv = [
            sys.executable,
            "-m",
            "codetutor",
            "tutor",
            "serve",
            f"--port={self.port}",
            # problems and last verdicts from the judge, guard jobs on its worker
            f"--JudgeClient.url={self.judge_url}",
            "--Tutor.chat_max_tokens=24",
            "--Tutor.review_max_tokens=32",
        ]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"tutor exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.base + "health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"tutor did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
async def jp_asyncio_loop() -> asyncio.AbstractEventLoop:
    """pytest-asyncio's loop, so that the server under test runs where the tests run."""
    return asyncio.get_running_loop()


@pytest.fixture(scope="session")
def fake_hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()


@pytest.fixture(scope="session")
def users(fake_hub: FakeHub) -> Users:
    """Tokens with the scopes the Hub's roles give each kind of user's server."""
    return Users(
        instructor=fake_hub.add_user("teacher", *INSTRUCTOR_SCOPES),
        alice=fake_hub.add_user("alice", *STUDENT_SCOPES),
        bob=fake_hub.add_user("bob", *STUDENT_SCOPES),
    )


@pytest.fixture(scope="session")
def judge_service(
    fake_hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServiceProcess]:
    workdir = tmp_path_factory.mktemp("judge")
    service = ServiceProcess(
        hub=fake_hub, db_url=f"sqlite:///{workdir / 'judge.sqlite'}", workdir=workdir, workers=1
    )
    service.start()
    yield service
    service.stop()


@pytest.fixture(scope="session")
def tutor_service(
    fake_hub: FakeHub, judge_service: ServiceProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TutorProcess]:
    # the tutor service's own token: the Hub's tutor-service role
    fake_hub.tokens["tutor-service-token"] = {
        "kind": "service",
        "name": "tutor",
        "scopes": TUTOR_SERVICE_SCOPES,
    }
    tutor = TutorProcess(fake_hub, tmp_path_factory.mktemp("tutor"), judge_service.base)
    tutor.start()
    yield tutor
    tutor.stop()


@pytest.fixture
def jp_server_config(
    judge_service: ServiceProcess, tutor_service: TutorProcess, users: Users
) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"codetutor.extensions": True}},
        "CodeTutorExtension": {
            "judge_url": judge_service.base,
            "tutor_url": tutor_service.base,
            "hub_token": users.alice,
        },
    }


@pytest.fixture
def as_user(jp_serverapp: Any) -> Any:
    """Make the server under test belong to the user with ``token`` (its Hub token)."""

    def switch(token: str) -> None:
        for name in ("codetutor_judge", "codetutor_tutor"):
            jp_serverapp.web_app.settings[name].token = token

    return switch


def problem_notebook(slug: str = PROBLEM) -> dict[str, Any]:
    """An instructor's problem notebook from the repository's problem set."""
    return dict(json.loads((NOTEBOOKS / slug / "problem.ipynb").read_text()))


def submission_source(name: str, slug: str = PROBLEM) -> str:
    return (NOTEBOOKS / slug / "submissions" / name).read_text()
