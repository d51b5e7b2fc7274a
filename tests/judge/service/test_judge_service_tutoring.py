"""The tutor's door into the judge: scoped endpoints and guard jobs on the workers.

A real ``codetutor judge-service`` with its worker processes (SQLite), a fake Hub
holding a student's token and the tutor service's (kind ``service``, with the
Hub's ``tutor-service`` role scopes), and the tutor's own client and guard
(:class:`~codetutor.tutor.problems.JudgeClient`,
:class:`~codetutor.tutor.checker.JudgeServiceChecker`) calling it.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator

import pytest
import requests
from judge_service_helpers import (
    ACCEPTED,
    WRONG,
    Client,
    FakeHub,
    ServiceProcess,
    problem_notebook,
    table_counts,
)
from traitlets.config import Config

from codetutor.hub.roles import (
    INSTRUCTOR_SCOPES,
    SCOPE_TUTOR,
    STUDENT_SCOPES,
    TUTOR_SERVICE_SCOPES,
    load_roles,
)
from codetutor.judge.service.tutoring import MAX_PROGRAMS
from codetutor.judge.service.tutoring import SCOPE_TUTOR as JUDGE_SCOPE_TUTOR
from codetutor.tutor.checker import JudgeServiceChecker
from codetutor.tutor.guard import SolutionGuard
from codetutor.tutor.tutor import Tutor

HIDDEN_SOURCES = ("add(10**6, 1)", "add(-5, 2)")


class World:
    def __init__(self, service: ServiceProcess, hub: FakeHub) -> None:
        self.service = service
        self.hub = hub
        self.tutor_token = secrets.token_hex(16)
        hub.tokens[self.tutor_token] = {
            "kind": "service",
            "name": "tutor",
            "scopes": list(TUTOR_SERVICE_SCOPES),
        }
        self.tutor = Client(service, self.tutor_token)
        self.teacher = Client(service, hub.add_user("teacher", *INSTRUCTOR_SCOPES, access=False))
        self.alice = Client(service, hub.add_user("alice", *STUDENT_SCOPES, access=False))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    hub = FakeHub()
    hub.start()
    workdir = tmp_path_factory.mktemp("tutoring")
    service = ServiceProcess(
        hub=hub, db_url=f"sqlite:///{workdir / 'judge.sqlite'}", workdir=workdir, workers=1
    )
    service.start()
    try:
        world = World(service, hub)
        r = world.teacher.post("api/problems", json=problem_notebook())
        assert r.status_code == 201, r.text
        yield world
    finally:
        service.stop()
        hub.stop()


def test_the_hub_gives_the_scope_to_the_tutor_service_only() -> None:
    assert SCOPE_TUTOR == JUDGE_SCOPE_TUTOR
    holders = [r for r in load_roles(True, True) if SCOPE_TUTOR in r.get("scopes", [])]
    assert [(r["name"], r["services"], r.get("groups")) for r in holders] == [
        ("tutor-service", ["tutor"], None)
    ]
    assert SCOPE_TUTOR not in STUDENT_SCOPES and SCOPE_TUTOR not in INSTRUCTOR_SCOPES


ENDPOINTS = [
    ("GET", "api/tutor/problems/add", None),
    ("GET", "api/tutor/verdicts/add?user=alice", None),
    ("POST", "api/tutor/guard-jobs", {"problem": "add", "programs": [ACCEPTED]}),
    ("GET", "api/tutor/guard-jobs/00000000000000000001-0123456789ab", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_students_and_instructors_get_403_and_no_token_401(
    world: World, method: str, path: str, body: dict | None
) -> None:
    for client in (world.alice, world.teacher):
        r = client.session.request(method, world.service.url(path), json=body, timeout=30)
        assert r.status_code == 403, r.text
        assert "custom:judge:tutor" in r.json()["message"]
    r = requests.request(method, world.service.url(path), json=body, timeout=30)
    assert r.status_code == 401 and r.json()["message"]


def test_the_tutor_sees_the_problem_without_hidden_tests(world: World) -> None:
    r = world.tutor.get("api/tutor/problems/add")
    assert r.status_code == 200, r.text
    view = r.json()
    assert (view["id"], view["version"], view["mode"]) == ("add", 1, "function")
    assert "return a + b" in view["solution"] and "pass" in view["starter"]
    assert view["public_cases"] and view["hidden_case_count"] == 2
    for hidden in HIDDEN_SOURCES:
        assert hidden not in r.text
    assert world.tutor.get("api/tutor/problems/nope").status_code == 404
    bad = world.tutor.get("api/tutor/problems/add?version=x")
    assert bad.status_code == 400 and bad.json()["message"]


def test_the_last_verdict_is_the_students_view(world: World) -> None:
    assert world.tutor.get("api/tutor/verdicts/add?user=nobody").json()["verdict"] is None
    r = world.alice.post("api/submissions", json={"problem": "add", "code": WRONG})
    assert r.status_code == 202, r.text
    world.alice.wait_judged(r.json()["id"])
    r = world.tutor.get("api/tutor/verdicts/add?user=alice")
    assert r.status_code == 200, r.text
    last = r.json()
    assert last["verdict"]["verdict"] == "wrong_answer" and last["attempts"] == 1
    hidden = [c for c in last["verdict"]["cases"] if c["visibility"] == "hidden"]
    assert hidden and all(set(c) <= {"name", "visibility", "status", "time_ms"} for c in hidden)
    for hidden_source in HIDDEN_SOURCES:
        assert hidden_source not in r.text
    missing = world.tutor.get("api/tutor/verdicts/add")
    assert missing.status_code == 400 and missing.json()["message"]


BAD_JOBS = [
    b"not json",
    json.dumps([1]).encode(),
    json.dumps({"problem": "add"}).encode(),
    json.dumps({"problem": "add", "programs": []}).encode(),
    json.dumps({"problem": "add", "programs": [1]}).encode(),
    json.dumps({"problem": "add", "programs": ["x"] * (MAX_PROGRAMS + 1)}).encode(),
    json.dumps({"problem": "add", "programs": ["x"], "extra": 1}).encode(),
    json.dumps({"problem": "add", "programs": ["x"], "version": "one"}).encode(),
]


def test_bad_guard_jobs_get_4xx_json(world: World) -> None:
    for body in BAD_JOBS:
        r = world.tutor.post("api/tutor/guard-jobs", data=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["message"]
    r = world.tutor.post("api/tutor/guard-jobs", json={"problem": "nope", "programs": ["x"]})
    assert r.status_code == 404 and r.json()["message"]
    for job in ("00000000000000000001-0123456789ab", "nope"):
        r = world.tutor.get(f"api/tutor/guard-jobs/{job}")
        assert r.status_code == 404 and r.json()["message"], r.text
    r = world.tutor.get("api/tutor/guard-jobs/00000000000000000001-0123456789ab?wait=999")
    assert r.status_code == 400 and r.json()["message"]


def test_guard_jobs_run_on_the_workers_and_are_never_submissions(world: World) -> None:
    before = table_counts(world.service.db_url)
    r = world.tutor.post(
        "api/tutor/guard-jobs", json={"problem": "add", "programs": [ACCEPTED, WRONG]}
    )
    assert r.status_code == 202, r.text
    job = r.json()["id"]
    assert r.headers["Location"].endswith(f"api/tutor/guard-jobs/{job}")
    deadline = time.monotonic() + 300
    while True:
        r = world.tutor.get(f"api/tutor/guard-jobs/{job}?wait=20")
        assert r.status_code == 200, r.text
        if r.json()["status"] == "done" or time.monotonic() > deadline:
            break
    done = r.json()
    assert done["status"] == "done", done
    assert [(x["verdict"], x["accepted"]) for x in done["results"]] == [
        ("accepted", True),
        ("wrong_answer", False),
    ]
    assert table_counts(world.service.db_url) == before
    assert "ran internal job" in world.service.log()


def tutor_config(world: World) -> Config:
    c = Config()
    c.JudgeClient.url = world.service.base
    c.JudgeClient.token = world.tutor_token
    c.JudgeClient.guard_timeout_s = 300.0
    return c


async def test_a_leaking_reply_is_withheld_by_the_remote_checker(world: World) -> None:
    config = tutor_config(world)
    # similarity off: only the judge's workers can find that this code solves it
    config.SolutionGuard.similarity_threshold = 2.0
    guard = SolutionGuard(config=config)
    assert isinstance(guard.checker, JudgeServiceChecker)
    tutor = Tutor(config=config, guard=guard)
    try:
        problem = await tutor.get_problem("add")
        leak = "Here:\n```python\ndef plus(x, y):\n    return sum((x, y))\n```\n"
        result = await guard.check(problem, leak)
        assert not result.allowed and "solves the problem" in result.reason
        wrong = "Not this:\n```python\ndef plus(x, y):\n    return x * y\n```\n"
        assert (await guard.check(problem, wrong)).allowed
        last = await tutor.last_verdict("alice", "add")
        assert last.verdict is None or last.verdict["verdict"] in ("wrong_answer", "accepted")
    finally:
        await tutor.close()


async def test_every_candidate_of_any_arity_goes_to_the_workers_in_one_job(
    world: World,
) -> None:
    config = tutor_config(world)
    config.SolutionGuard.similarity_threshold = 2.0
    guard = SolutionGuard(config=config)
    tutor = Tutor(config=config, guard=guard)
    try:
        problem = await tutor.get_problem("add")
        decoys = "".join(f"```python\ndef step_{i}(v):\n    return v\n```\n" for i in range(3))
        leak = decoys + (
            "```python\ndef total(first, second, scale=1):\n    return (first + second) * scale\n```"
        )
        result = await guard.check(problem, leak)
        assert not result.allowed and "solves the problem" in result.reason
        assert "def total(first, second, scale=1):" in result.code
    finally:
        await tutor.close()


async def test_a_student_token_cannot_run_the_tutors_guard(world: World) -> None:
    config = tutor_config(world)
    config.JudgeClient.token = world.alice.session.headers["Authorization"].split()[1]
    config.SolutionGuard.similarity_threshold = 2.0
    guard = SolutionGuard(config=config)
    try:
        tutor = Tutor(config=tutor_config(world))
        problem = await tutor.get_problem("add")
        await tutor.close()
        leak = "```python\ndef plus(x, y):\n    return sum((x, y))\n```"
        result = await guard.check(problem, leak)
        # refused by the judge (403): the reply is withheld, failing closed
        assert not result.allowed and "could not be checked" in result.reason
    finally:
        await guard.close()
