"""The judge service's API against a real service process, its workers and the real judge.

Authentication goes through JupyterHub's own ``HubOAuth`` client in the
service, talking to :class:`FakeHub` (the Hub's token check) instead of a Hub.
The service runs once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from judge_service_helpers import (
    ACCEPTED,
    WRONG,
    Client,
    FakeHub,
    ServiceProcess,
    database_rows,
    problem_notebook,
    table_counts,
)

SUBMIT = "custom:judge:submit"
READ_ALL = "custom:judge:read-all"
PUBLISH = "custom:problems:write"


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()


class World:
    """A running service with a teacher and two students, and the ``add`` problem published."""

    def __init__(self, service: ServiceProcess, hub: FakeHub) -> None:
        self.service = service
        self.hub = hub
        self.teacher = Client(service, hub.add_user("teacher", SUBMIT, READ_ALL, PUBLISH))
        self.alice = Client(service, hub.add_user("alice", SUBMIT))
        self.bob = Client(service, hub.add_user("bob", SUBMIT))

    def user(self, name: str, *scopes: str, access: bool = True) -> Client:
        return Client(self.service, self.hub.add_user(name, *scopes, access=access))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    workdir = tmp_path_factory.mktemp("service")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    service = ServiceProcess(hub=hub, db_url=db_url, workdir=workdir, workers=2)
    service.start()
    world = World(service, hub)
    r = world.teacher.post("api/problems", json=problem_notebook())
    assert r.status_code == 201, r.text
    try:
        yield world
    finally:
        service.stop()


def counts(world: World) -> dict[str, int]:
    return table_counts(world.service.db_url)


def test_health_and_exact_metric_names(world: World) -> None:
    health = requests.get(world.service.url("health"), timeout=10)
    assert health.status_code == 200
    assert health.json()["database"] == {"ok": True, "error": None}
    assert health.json()["redis"]["configured"] is False
    text = requests.get(world.service.url("metrics"), timeout=10).text
    for sample in (
        'submissions_total{verdict="accepted"}',
        'submissions_total{verdict="internal_error"}',
        'code_execution_duration_seconds_count{verdict="time_limit_exceeded"}',
        "active_sandboxes ",
        "active_users ",
        'judge_queue_depth{status="queued"}',
        "judge_queue_wait_seconds_count ",
        'http_request_duration_seconds_count{endpoint="problems",method="GET"}',
        'http_requests_total{endpoint="problems",method="POST",status="201"}',
    ):
        assert sample in text, sample


def test_student_views_hide_the_solution_and_hidden_tests(world: World) -> None:
    problems = world.alice.get("api/problems")
    assert problems.status_code == 200
    (add,) = [p for p in problems.json()["problems"] if p["id"] == "add"]
    assert add["hidden_case_count"] == 2
    assert add["public_cases"] == ["add(1, 2)", "add(0, 0)"]
    one = world.alice.get("api/problems/add")
    assert one.status_code == 200 and one.json() == add
    notebook = world.alice.get("api/problems/add/notebook")
    assert notebook.status_code == 200
    assert notebook.headers["Content-Type"].startswith("application/x-ipynb+json")
    for body in (problems.text, one.text, notebook.text):
        assert "return a + b" not in body
        assert "10**6" not in body and "add(-5, 2)" not in body
    tags = [cell["metadata"].get("tags") for cell in notebook.json()["cells"]]
    assert ["solution"] not in tags and ["hidden-tests"] not in tags
    assert world.alice.get("api/problems/nope").status_code == 404
    assert world.alice.get("api/problems/nope/notebook").json()["message"] == "no problem 'nope'"


def test_publishing_needs_the_scope_and_versions_republished_problems(world: World) -> None:
    nb = problem_notebook("twice")
    denied = world.alice.post("api/problems", json=nb)
    assert denied.status_code == 403 and PUBLISH in denied.json()["message"]
    first = world.teacher.post("api/problems", json=nb)
    assert first.status_code == 201 and first.json()["version"] == 1
    same = world.teacher.post("api/problems", json=nb)
    assert same.status_code == 200 and same.json() == {**first.json(), "created": False}
    nb["cells"][0]["source"] = "Write `add(a, b)`: the sum of a and b."
    second = world.teacher.post("api/problems", json=nb)
    assert second.status_code == 201 and second.json()["version"] == 2
    old = world.alice.get("api/problems/twice?version=1").json()
    assert old["statement"] == "Write `add(a, b)` returning the sum."


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "malformed JSON"),
        (b'{"cells": 3}', 400, "not a Jupyter notebook"),
        (b"[1, 2]", 400, "not a Jupyter notebook"),
    ],
)
def test_bad_problem_uploads_store_nothing(
    world: World, body: bytes, status: int, needle: str
) -> None:
    before = counts(world)
    r = world.teacher.post("api/problems", data=body)
    assert r.status_code == status and needle in r.json()["message"]
    assert counts(world) == before


def test_an_invalid_problem_names_cell_and_line(world: World) -> None:
    nb = problem_notebook("broken")
    nb["cells"][4]["source"] = "# case: big\nadd(1, 2"  # the hidden tests do not parse
    before = counts(world)
    r = world.teacher.post("api/problems", json=nb)
    assert r.status_code == 422, r.text
    assert "cell 5, line 2" in r.json()["message"]  # counted from 1, as JupyterLab shows it
    assert r.json()["cell"] == 4 and r.json()["line"] == 2
    assert counts(world) == before


def test_a_too_large_upload_is_refused(world: World) -> None:
    before = counts(world)
    big = {"problem": "add", "code": "#" * (3 << 20)}
    r = world.alice.post("api/submissions", json=big)
    assert r.status_code == 413 and "too large" in r.json()["message"]
    assert counts(world) == before


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        ("{nope", 400, "malformed JSON"),
        ("[]", 400, "JSON object"),
        (json.dumps({"code": ACCEPTED}), 400, "'problem'"),
        (json.dumps({"problem": "add"}), 400, "exactly one"),
        (
            json.dumps({"problem": "add", "code": "x", "notebook": {"cells": []}}),
            400,
            "exactly one",
        ),
        (json.dumps({"problem": "add", "notebook": {"cells": 1}}), 400, "not a Jupyter notebook"),
        (json.dumps({"problem": "add", "code": 5}), 400, "must be text"),
        (json.dumps({"problem": "unknown", "code": ACCEPTED}), 404, "no problem 'unknown'"),
        (json.dumps({"problem": "add", "version": 99, "code": ACCEPTED}), 404, "version 99"),
        (json.dumps({"problem": "add", "version": "x", "code": ACCEPTED}), 400, "whole number"),
    ],
)
def test_bad_submissions_store_nothing(world: World, body: str, status: int, needle: str) -> None:
    before = counts(world)
    r = world.alice.post("api/submissions", data=body)
    assert r.status_code == status, r.text
    assert needle in r.json()["message"]
    assert counts(world) == before


def test_authentication_and_scopes(world: World) -> None:
    anonymous = requests.get(world.service.url("api/problems"), timeout=10)
    assert anonymous.status_code == 401 and "token" in anonymous.json()["message"]
    forged = requests.get(
        world.service.url("api/problems"), headers={"Authorization": "token forged"}, timeout=10
    )
    assert forged.status_code == 401
    outsider = world.user("outsider", SUBMIT, access=False)
    assert outsider.get("api/problems").status_code == 403
    reader = world.user("reader")
    r = reader.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
    assert r.status_code == 403 and SUBMIT in r.json()["message"]
    assert reader.get("api/no-such-route").status_code == 404


def test_submit_then_read_as_student_and_as_instructor(world: World) -> None:
    r = world.alice.post("api/submissions", json={"problem": "add", "code": WRONG})
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["status"] == "queued" and queued["user"] == "alice"
    assert r.headers["Location"].endswith(f"/api/submissions/{queued['id']}")
    judged = world.alice.wait_judged(queued["id"])
    assert judged["verdict"] == "wrong_answer" and judged["score"] == 0.25
    assert judged["attempts"] == 1
    cases = {c["name"]: c for c in judged["result"]["cases"]}
    assert cases["small"]["expected"] == "3" and cases["small"]["actual"] == "-1"
    assert set(cases["big"]) == {"name", "visibility", "status", "time_ms"}
    instructor = world.teacher.get(f"api/submissions/{queued['id']}").json()
    assert {c["name"]: c for c in instructor["result"]["cases"]}["big"]["expected"] == "1000001"
    # another student cannot even learn it exists
    other = world.bob.get(f"api/submissions/{queued['id']}")
    assert other.status_code == 404
    mine = world.alice.get("api/submissions").json()["submissions"]
    assert queued["id"] in [s["id"] for s in mine]
    assert {s["user"] for s in mine} == {"alice"}
    assert queued["id"] not in [
        s["id"] for s in world.bob.get("api/submissions").json()["submissions"]
    ]
    assert world.bob.get("api/submissions?user=alice").status_code == 403
    listed = world.teacher.get("api/submissions?user=alice&problem=add").json()["submissions"]
    assert queued["id"] in [s["id"] for s in listed]


def test_a_notebook_submission_runs_its_code_cells_but_not_its_tests(world: World) -> None:
    nb = world.alice.get("api/problems/add/notebook").json()
    for cell in nb["cells"]:
        if "starter" in cell["metadata"].get("tags", []):
            cell["source"] = ACCEPTED
        if "public-tests" in cell["metadata"].get("tags", []):
            cell["source"] = "raise SystemExit('the student's copy of the tests never runs')"
    r = world.alice.post("api/submissions", json={"problem": "add", "notebook": nb})
    assert r.status_code == 202, r.text
    assert world.alice.wait_judged(r.json()["id"])["verdict"] == "accepted"


def test_live_stream_sends_status_then_verdict(world: World) -> None:
    r = world.bob.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
    assert r.status_code == 202
    sid = r.json()["id"]
    events: list[tuple[str, dict]] = []
    started = time.monotonic()
    with world.bob.session.get(
        world.service.url(f"api/submissions/{sid}/events"), stream=True, timeout=60
    ) as stream:
        assert stream.status_code == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        event = ""
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((event, json.loads(line[len("data: ") :])))
    # woken by the verdict, not by the 15 s keep-alive
    assert time.monotonic() - started < 10
    assert events[0][0] == "status"
    assert events[-1][0] == "verdict"
    assert events[-1][1]["verdict"] == "accepted" and events[-1][1]["result"]["score"] == 1.0
    assert [e for e, _ in events].count("verdict") == 1
    assert world.alice.get(f"api/submissions/{sid}/events").status_code == 404


def test_every_submission_was_judged_exactly_once(world: World) -> None:
    deadline = time.monotonic() + 60
    while True:
        subs, cases = database_rows(world.service.db_url)
        if all(s["status"] == "judged" for s in subs) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert subs and all(s["status"] == "judged" for s in subs)
    assert all(cases.get(s["id"]) == 4 for s in subs), cases
    # The service counted each verdict once, whichever worker process stored it. It
    # learns of a stored verdict by watching the database, so its count may trail the
    # rows for a moment: wait for it, then make sure it does not go past them.
    deadline = time.monotonic() + 30
    while True:
        text = requests.get(world.service.url("metrics"), timeout=10).text
        counted = sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("submissions_total{")
        )
        if counted >= len(subs) or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert counted == len(subs)
    waits = next(
        line for line in text.splitlines() if line.startswith("judge_queue_wait_seconds_count")
    )
    assert float(waits.rsplit(" ", 1)[1]) >= len(subs)


def test_logs_are_json_with_submission_and_user(world: World) -> None:
    r = world.alice.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
    sid = r.json()["id"]
    world.alice.wait_judged(sid)
    records = [
        json.loads(line) for line in world.service.log().splitlines() if line.startswith("{")
    ]
    about = [rec for rec in records if rec.get("submission_id") == sid]
    loggers = {rec["logger"] for rec in about}
    assert {"codetutor.judge.service", "codetutor.judge.worker"} <= loggers
    assert all(rec["user"] == "alice" for rec in about)
    assert all({"timestamp", "level", "event"} <= set(rec) for rec in about)


def test_a_full_queue_and_the_rate_limit_answer_429(hub: FakeHub, tmp_path: Path) -> None:
    service = ServiceProcess(
        hub=hub,
        db_url=f"sqlite:///{tmp_path / 'judge.sqlite'}",
        workdir=tmp_path,
        workers=0,
        config=(
            "c.Queue.max_depth = 2\n"
            "c.JudgeServiceApp.queue_full_retry_s = 7\n"
            # slow enough that no machine answers requests slower than it refills
            'c.RateLimiter.limits = {"api": {"rate": 0.2, "burst": 5}}\n'
        ),
    )
    service.start()
    try:
        teacher = Client(service, hub.add_user("teacher", SUBMIT, PUBLISH))
        assert teacher.post("api/problems", json=problem_notebook()).status_code == 201
        statuses = []
        for _ in range(3):
            r = teacher.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
            statuses.append(r.status_code)
        assert statuses == [202, 202, 429]
        assert r.headers["Retry-After"] == "7" and "queue is full" in r.json()["message"]
        subs, _ = database_rows(service.db_url)
        assert len(subs) == 2
        metrics = requests.get(service.url("metrics"), timeout=10).text
        assert 'judge_rate_limited_total{endpoint="submissions",reason="queue_full"} 1.0' in metrics
        # rate limits: per user and endpoint, burst 5 here
        eager = Client(service, hub.add_user("eager", SUBMIT))
        statuses = [eager.get("api/problems/add").status_code for _ in range(7)]
        assert statuses[:5] == [200] * 5 and 429 in statuses[5:], statuses
        refused = eager.get("api/problems/add")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "too many requests" in refused.json()["message"]
        assert eager.get("api/problems").status_code == 200  # another endpoint
        assert teacher.get("api/problems/add").status_code == 200  # another user
    finally:
        service.stop()
