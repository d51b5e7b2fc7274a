"""The dashboard's per-course gradebook: the course's instructors only, scored by the late policy.

A real ``codetutor dashboard`` process reads a judge database filled through the
course manager (with a set clock), on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from codetutor.judge.courses import Member
from codetutor.judge.models import Submission, SubmissionStatus
from codetutor.judge.service.coursework import Clock, CourseManager
from codetutor.judge.store import Store
from tests.insight.test_dashboard import ACCESS, Dashboard
from tests.judge.service.judge_service_helpers import FakeHub

DUE = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)
TEACHER = Member("teacher", frozenset({"course:cs101:instructors"}))


class SetClock(Clock):
    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def fill(db_url: str) -> None:
    """cs101 with one assignment (80 % for two days late); alice on time, bob late."""
    store = Store(url=db_url)
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    problem = (
        await store.publish(
            user=teacher,
            slug="add",
            title={"en": "Add"},
            difficulty=1,
            tags=[],
            mode="function",
            public={"id": "add"},
            student_notebook="{}",
            bundle=json.dumps({}),
            case_count=1,
            sha256="a" * 64,
        )
    ).problem
    clock = SetClock(DUE - timedelta(days=3))
    manager = CourseManager(store=store, clock=clock)
    await manager.put_course(Member("admin", frozenset(), admin=True), {"id": "cs101"})
    await manager.put_assignment(
        TEACHER,
        "cs101",
        {
            "id": "hw1",
            "opens_at": (DUE - timedelta(days=7)).isoformat(),
            "due_at": DUE.isoformat(),
            "late_policy": {"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]},
            "problems": [{"problem": "add", "points": 10}],
        },
    )
    for name, when in (("alice", DUE), ("bob", DUE + timedelta(hours=1))):
        clock.at = when
        member = Member(name, frozenset({"course:cs101:students"}))
        admission = await manager.admit(member, "add", ("cs101", "hw1"))
        assert admission is not None
        user = await store.ensure_user(name)
        row = await store.add_submission(user=user, problem=problem, code="x", notebook=None)
        async with store.session() as s:
            await s.execute(
                update(Submission)
                .where(Submission.id == row.id)
                .values(status=SubmissionStatus.JUDGED.value, score=1.0, verdict="accepted")
            )
        await manager.record(admission, row, {"code": "x"})
    await store.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def dashboard(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dashboard]:
    workdir: Path = tmp_path_factory.mktemp("course-dashboard")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    asyncio.run(fill(db_url))
    hub: FakeHub = request.getfixturevalue("hub")
    running = Dashboard(hub, db_url, workdir)
    try:
        yield running
    finally:
        running.stop()


def instructor(hub: FakeHub, name: str, group: str) -> str:
    token = hub.add_user(name, ACCESS, access=False)
    hub.tokens[token]["groups"] = [group]
    return token


def test_the_course_gradebook_for_its_instructors(dashboard: Dashboard, hub: FakeHub) -> None:
    teacher = instructor(hub, "teacher", "course:cs101:instructors")
    r = dashboard.get("courses/cs101/gradebook.csv?mode=best", teacher)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="gradebook-cs101-best-' in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(row["student"], row["earned"]) for row in rows] == [("alice", "10"), ("bob", "8")]
    deadline = dashboard.get("courses/cs101/gradebook.json?mode=deadline", teacher).json()
    assert [(row["student"], row["earned"]) for row in deadline["rows"]] == [
        ("alice", 10.0),
        ("bob", 0.0),
    ]
    other = instructor(hub, "stranger", "course:cs999:instructors")
    assert dashboard.get("courses/cs101/gradebook.csv", other).status_code == 404
    student = hub.add_user("alice", "custom:judge:submit")
    assert dashboard.get("courses/cs101/gradebook.csv", student).status_code == 403
    bad = dashboard.get("courses/cs101/gradebook.csv?mode=never", teacher)
    assert bad.status_code == 400
