"""Fault tests with real processes: every submission ends judged exactly once.

- a worker killed with SIGKILL in the middle of a judgement;
- the whole service killed with submissions queued, then restarted;
- Redis stopped during a run (production setup: PostgreSQL + Redis);
- the database lost and back.

"Exactly once" is checked three ways: the row is ``judged`` with one verdict,
it has exactly one set of case results, and the workers' logs show the
verdict stored once.
"""

from __future__ import annotations

import os
import signal
import threading
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
    PostgresServer,
    RedisServer,
    ServiceProcess,
    assert_judged_exactly_once,
    database_rows,
    problem_notebook,
)

pytestmark = pytest.mark.slow

SUBMIT = "custom:judge:submit"
PUBLISH = "custom:problems:write"


def sleepy(seconds: float, code: str = ACCEPTED) -> str:
    return f"import time\ntime.sleep({seconds})\n{code}"


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'judge.sqlite'}"


def setup_class(service: ServiceProcess, hub: FakeHub) -> tuple[Client, Client]:
    teacher = Client(service, hub.add_user("teacher", SUBMIT, PUBLISH))
    student = Client(service, hub.add_user("student", SUBMIT))
    r = teacher.post("api/problems", json=problem_notebook(time_limit_s=10))
    assert r.status_code == 201, r.text
    return teacher, student


def submit(client: Client, code: str) -> int:
    r = client.post("api/submissions", json={"problem": "add", "code": code})
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def wait_running(db_url: str, submission_id: int, timeout_s: float = 300) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        rows, _ = database_rows(db_url)
        row = next(r for r in rows if r["id"] == submission_id)
        if row["status"] == "running" and row["lease_owner"]:
            return row
        assert time.monotonic() < deadline, row
        time.sleep(0.1)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "postgresql+redis"])
def test_a_worker_killed_mid_judgement_is_replaced_and_its_submission_judged_once(
    backend: str, hub: FakeHub, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    redis_url = ""
    if backend == "sqlite":
        db_url = sqlite_url(tmp_path)
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    if backend.endswith("+redis"):
        redis_url = request.getfixturevalue("redis_server").url
    service = ServiceProcess(
        hub=hub,
        db_url=db_url,
        workdir=tmp_path,
        workers=2,
        redis_url=redis_url,
        config="c.Queue.visibility_timeout_s = 4\n",  # the dead worker's lease expires soon
    )
    service.start()
    try:
        _, student = setup_class(service, hub)
        victim = submit(student, sleepy(3))
        others = [submit(student, code) for code in (ACCEPTED, WRONG, ACCEPTED)]
        row = wait_running(db_url, victim)
        pid = int(row["lease_owner"].rsplit(":", 1)[1])
        os.kill(pid, signal.SIGKILL)
        subs = assert_judged_exactly_once(service, 1 + len(others))
        by_id = {s["id"]: s for s in subs}
        # taken again after the lease expired (more than twice only if a loaded
        # machine stalled the next worker past its lease too)
        assert by_id[victim]["attempts"] >= 2 and by_id[victim]["verdict"] == "accepted"
        assert by_id[victim]["lease_owner"] != row["lease_owner"]
        assert [by_id[i]["verdict"] for i in others] == ["accepted", "wrong_answer", "accepted"]
        assert f"(pid {pid}) exited with -9; restarting" in service.log()
        health = requests.get(service.url("health"), timeout=10).json()
        assert health["workers"] == 2
    finally:
        service.stop()


def test_the_service_killed_with_submissions_queued_resumes_on_restart(
    hub: FakeHub, tmp_path: Path
) -> None:
    db_url = sqlite_url(tmp_path)
    service = ServiceProcess(hub=hub, db_url=db_url, workdir=tmp_path, workers=0)
    service.start()
    try:
        _, student = setup_class(service, hub)
        queued = [submit(student, ACCEPTED if i % 2 else WRONG) for i in range(4)]
        service.stop(signal.SIGKILL)
        # the same service, now with workers, and crashed again in mid-run
        service.workers = 2
        service.start()
        running = submit(student, sleepy(2))
        wait_running(db_url, running)
        service.stop(signal.SIGKILL)
        time.sleep(1.5)  # the orphaned workers notice and give their work back
        service.start()
        subs = assert_judged_exactly_once(service, len(queued) + 1)
        verdicts = {s["id"]: s["verdict"] for s in subs}
        assert [verdicts[i] for i in queued] == ["wrong_answer", "accepted"] * 2
        assert verdicts[running] == "accepted"
    finally:
        service.stop()


def test_stopping_redis_mid_run_loses_and_doubles_nothing(
    hub: FakeHub,
    tmp_path: Path,
    postgres_server: PostgresServer,
    redis_server: RedisServer,
) -> None:
    db_url = postgres_server.create_database()
    service = ServiceProcess(
        hub=hub, db_url=db_url, workdir=tmp_path, workers=2, redis_url=redis_server.url
    )
    service.start()
    try:
        _, student = setup_class(service, hub)
        health = requests.get(service.url("health"), timeout=10).json()
        assert health["status"] == "ok" and health["redis"]["ok"] is True
        ids = [submit(student, sleepy(0.5) if i == 0 else ACCEPTED) for i in range(4)]
        wait_running(db_url, ids[0])
        redis_server.stop()
        # submitting, reading and rate limiting go on without Redis
        ids += [submit(student, WRONG) for _ in range(4)]
        assert student.get(f"api/submissions/{ids[-1]}").status_code == 200
        health = requests.get(service.url("health"), timeout=10)
        assert health.status_code == 200
        assert health.json()["status"] == "degraded" and health.json()["redis"]["ok"] is False
        time.sleep(2)
        redis_server.start()
        ids += [submit(student, ACCEPTED) for _ in range(2)]
        subs = assert_judged_exactly_once(service, len(ids))
        assert [s["verdict"] for s in subs] == ["accepted"] * 4 + ["wrong_answer"] * 4 + [
            "accepted"
        ] * 2
        assert requests.get(service.url("health"), timeout=10).json()["status"] == "ok"
    finally:
        service.stop()


def test_losing_the_database_mid_run_loses_and_doubles_nothing(
    hub: FakeHub, tmp_path: Path
) -> None:
    database = PostgresServer()
    database.start()
    service = ServiceProcess(hub=hub, db_url=database.create_database(), workdir=tmp_path)
    # the service starts before its database does, and waits for it
    database.stop()
    failures: list[BaseException] = []

    def start() -> None:
        try:
            service.start()
        except BaseException as e:
            failures.append(e)

    starting = threading.Thread(target=start)
    starting.start()
    try:
        deadline = time.monotonic() + 60
        while "waiting for the database" not in service.log():
            assert time.monotonic() < deadline and starting.is_alive(), service.log()[-2000:]
            time.sleep(0.2)
        database.start()
        starting.join()
        assert not failures, failures
        _, student = setup_class(service, hub)
        ids = [submit(student, sleepy(1.5) if i < 2 else ACCEPTED) for i in range(5)]
        wait_running(service.db_url, ids[0])
        database.stop()
        refused = student.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
        assert refused.status_code == 503
        assert "database is unavailable" in refused.json()["message"]
        assert refused.headers["Retry-After"]
        health = requests.get(service.url("health"), timeout=10)
        assert health.status_code == 503 and health.json()["database"]["ok"] is False
        time.sleep(3)
        database.start()
        ids.append(submit(student, WRONG))
        subs = assert_judged_exactly_once(service, len(ids))
        assert [s["verdict"] for s in subs] == ["accepted"] * 5 + ["wrong_answer"]
        assert requests.get(service.url("health"), timeout=10).status_code == 200
    finally:
        service.stop()
        database.destroy()
