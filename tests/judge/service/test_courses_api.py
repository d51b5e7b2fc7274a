"""Courses through the judge API: a real service process, its worker and the real judge.

Course membership comes from the Hub groups in each user's model (:class:`FakeHub`);
the course clock is a file the test writes (``course_clock.FileClock``), never
slept on. Once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from course_clock import set_clock
from judge_service_helpers import ACCEPTED, WRONG, Client, FakeHub, ServiceProcess, problem_notebook

SUBMIT = "custom:judge:submit"
READ_ALL = "custom:judge:read-all"
PUBLISH = "custom:problems:write"
TUTOR = "custom:judge:tutor"

OPENS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


class World:
    def __init__(self, service: ServiceProcess, hub: FakeHub, clock: Path) -> None:
        self.service = service
        self.clock = clock
        self.admin = Client(service, hub.add_user("admin", SUBMIT, READ_ALL, PUBLISH))
        self.teacher = Client(service, self.member(hub, "teacher", "course:cs101:instructors"))
        self.alice = Client(service, self.member(hub, "alice", "course:cs101:students"))
        self.eve = Client(service, self.member(hub, "eve", "course:other:students"))
        token = hub.add_user("tutor", TUTOR)
        hub.tokens[token]["kind"] = "service"
        self.tutor = Client(service, token)

    @staticmethod
    def member(hub: FakeHub, name: str, group: str) -> str:
        token = hub.add_user(name, SUBMIT)
        hub.tokens[token]["groups"] = [group]
        return token

    def at(self, moment: datetime) -> None:
        set_clock(self.clock, moment)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    hub = FakeHub()
    hub.start()
    workdir = tmp_path_factory.mktemp("courses")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    clock = workdir / "clock"
    set_clock(clock, OPENS - HOUR)
    old = os.environ.get("CODETUTOR_TEST_CLOCK")
    os.environ["CODETUTOR_TEST_CLOCK"] = str(clock)
    service = ServiceProcess(
        hub=hub,
        db_url=db_url,
        workdir=workdir,
        workers=1,
        config='c.CourseManager.clock_class = "course_clock.FileClock"\n',
    )
    try:
        service.start()
        world = World(service, hub, clock)
        assert world.admin.post("api/problems", json=problem_notebook()).status_code == 201
        assert world.admin.post("api/problems", json=problem_notebook("sub")).status_code == 201
        yield world
    finally:
        service.stop()
        hub.stop()
        if old is None:
            os.environ.pop("CODETUTOR_TEST_CLOCK", None)
        else:
            os.environ["CODETUTOR_TEST_CLOCK"] = old


def test_courses_assignments_late_credit_and_the_gradebook(world: World) -> None:
    r = world.admin.post("api/courses", json={"id": "cs101", "title": "Intro", "problems": ["add"]})
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith("api/courses/cs101")
    r = world.teacher.post("api/courses", json={"id": "cs202"})
    assert r.status_code == 403 and "admins" in r.json()["message"]
    homework = {
        "id": "hw1",
        "opens_at": OPENS.isoformat(),
        "due_at": DUE.isoformat(),
        "late_policy": {"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]},
        "problems": [{"problem": "add", "points": 10}],
    }
    r = world.teacher.post("api/courses/cs101/assignments", json=homework)
    assert r.status_code == 201, r.text
    r = world.alice.post("api/courses/cs101/assignments", json=homework)
    assert r.status_code == 403 and r.json()["message"]

    assert [c["id"] for c in world.alice.get("api/courses").json()["courses"]] == ["cs101"]
    assert world.eve.get("api/courses").json()["courses"] == []
    r = world.eve.get("api/courses/cs101")
    assert r.status_code == 404 and r.json()["message"] == "no course 'cs101'"

    target = {"assignment": {"course": "cs101", "id": "hw1"}}
    r = world.alice.post("api/submissions", json={"problem": "add", "code": ACCEPTED, **target})
    assert r.status_code == 403 and "opens at" in r.json()["message"]

    world.at(DUE + SECOND)
    seen = world.alice.get("api/courses/cs101/assignments/hw1").json()
    assert (seen["due"], seen["credit_now"], seen["open"]) == (DUE.isoformat(), 0.8, True)
    r = world.alice.post("api/submissions", json={"problem": "add", "code": ACCEPTED, **target})
    assert r.status_code == 202, r.text
    assert r.json()["assignment"] == {
        "course": "cs101",
        "id": "hw1",
        "submitted_at": (DUE + SECOND).isoformat(),
        "credit": 0.8,
        "practice": False,
        "receipt": None,
    }
    world.alice.wait_judged(r.json()["id"])

    world.at(DUE + 48 * HOUR + SECOND)
    r = world.alice.post("api/submissions", json={"problem": "add", "code": ACCEPTED, **target})
    assert r.status_code == 403
    assert r.json()["message"] == (
        f"'hw1' closed at {(DUE + 48 * HOUR).isoformat()}: submissions are no longer accepted"
    )
    r = world.alice.post(
        "api/submissions", json={"problem": "add", "code": ACCEPTED, "assignment": {"id": "hw1"}}
    )
    assert r.status_code == 400 and "'assignment' must be" in r.json()["message"]
    other = {"assignment": {"course": "cs101", "id": "hw1"}}
    r = world.alice.post("api/submissions", json={"problem": "sub", "code": ACCEPTED, **other})
    assert r.status_code == 409 and "not a problem of 'hw1'" in r.json()["message"]

    best = world.teacher.get("api/courses/cs101/gradebook?mode=best").json()
    assert [(row["student"], row["earned"], row["best_score"]) for row in best["rows"]] == [
        ("alice", 8.0, 1.0)
    ]
    assert best["totals"] == [
        {"assignment": "hw1", "student": "alice", "earned": 8.0, "points": 10.0}
    ]
    deadline = world.teacher.get("api/courses/cs101/gradebook?mode=deadline&format=csv")
    assert deadline.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(deadline.text)))
    assert [(row["student"], row["earned"]) for row in rows] == [("alice", "0")]
    assert world.alice.get("api/courses/cs101/gradebook").status_code == 403
    bad = world.teacher.get("api/courses/cs101/gradebook?mode=sometimes")
    assert bad.status_code == 400 and bad.json()["message"]


def test_exam_window_receipt_and_the_tutor_off(world: World) -> None:
    world.at(OPENS - HOUR)
    assert world.admin.post("api/courses", json={"id": "cs101"}).status_code in (200, 201)
    exam = {
        "id": "midterm",
        "opens_at": OPENS.isoformat(),
        "due_at": DUE.isoformat(),
        "exam_minutes": 60,
        "problems": [{"problem": "sub", "points": 20}],
    }
    assert world.teacher.post("api/courses/cs101/assignments", json=exam).status_code in (200, 201)
    world.at(OPENS + HOUR)
    before = world.alice.get("api/courses/cs101/assignments/midterm").json()
    assert before["problems"] == [] and before["exam"]["started_at"] is None
    target = {"assignment": {"course": "cs101", "id": "midterm"}}
    r = world.alice.post("api/submissions", json={"problem": "sub", "code": WRONG, **target})
    assert r.status_code == 409 and "start it first" in r.json()["message"]

    r = world.alice.post("api/courses/cs101/assignments/midterm/start")
    assert r.status_code == 200, r.text
    window = r.json()["exam"]
    assert window["ends_at"] == (OPENS + 2 * HOUR).isoformat() and window["remaining_s"] == 3600

    r = world.tutor.get("api/tutor/verdicts/add?user=alice")
    assert r.status_code == 403 and "off during the exam" in r.json()["message"]
    assert r.json()["exam"]["ends_at"] == window["ends_at"]
    assert world.tutor.get("api/tutor/problems/add?user=alice").status_code == 403
    assert world.tutor.get("api/tutor/problems/add?user=teacher").status_code == 200
    r = world.alice.post("api/submissions", json={"problem": "add", "code": ACCEPTED})
    assert r.status_code == 403 and "only its problems" in r.json()["message"]
    # other problems are hidden from her during the exam, not from others
    assert [p["id"] for p in world.alice.get("api/problems").json()["problems"]] == ["sub"]
    assert world.alice.get("api/problems/add").status_code == 404
    assert world.alice.get("api/problems/add/notebook").status_code == 404
    assert world.alice.get("api/problems/sub").status_code == 200
    assert len(world.teacher.get("api/problems").json()["problems"]) == 2

    notebook = problem_notebook("sub")
    r = world.alice.post("api/submissions", json={"problem": "sub", "notebook": notebook})
    assert r.status_code == 202, r.text
    receipt = r.json()["assignment"]["receipt"]
    canonical = json.dumps(notebook, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert receipt == hashlib.sha256(canonical.encode()).hexdigest()
    shown = world.alice.get("api/courses/cs101/assignments/midterm").json()["exam"]["receipts"]
    assert [(x["submission"], x["sha256"]) for x in shown] == [(r.json()["id"], receipt)]

    world.at(OPENS + 2 * HOUR + SECOND)
    r = world.alice.post("api/submissions", json={"problem": "sub", "code": WRONG, **target})
    assert r.status_code == 403 and "no longer accepted" in r.json()["message"]
    assert world.tutor.get("api/tutor/verdicts/add?user=alice").status_code == 200
    assert len(world.alice.get("api/problems").json()["problems"]) == 2


def test_bad_course_input_is_400_with_a_message(world: World) -> None:
    for body in (
        "not json",
        {"id": "Bad Id"},
        {"id": "cs101", "teachers": []},
        {"id": "cs101", "title": "nul\x00"},
    ):
        r = world.admin.post(
            "api/courses", data=body if isinstance(body, str) else json.dumps(body)
        )
        assert r.status_code == 400, r.text
        assert r.json()["message"]
    r = world.admin.post("api/courses", json={"id": "cs101", "problems": ["missing"]})
    assert r.status_code == 404 and "no problem 'missing'" in r.json()["message"]
    r = world.teacher.post(
        "api/courses/cs101/assignments/hw1/extensions", json={"user": "alice", "due_at": "soon"}
    )
    assert r.status_code == 400 and "ISO 8601" in r.json()["message"]
    r = world.teacher.post("api/courses/cs101/assignments/nope/extensions", json={"user": "alice"})
    assert r.status_code == 404 and r.json()["message"]
