"""Courses, assignments, extensions and exams through the course manager, on SQLite and PostgreSQL.

The manager runs in the test's process on a real database; its clock is set by
the test (:class:`SetClock`), never slept on.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from codetutor.judge.courses import CourseError, Member
from codetutor.judge.models import Submission, SubmissionStatus
from codetutor.judge.policy import GradeMode
from codetutor.judge.service.coursework import Admission, Clock, CourseManager, receipt_hash
from codetutor.judge.store import Store

OPENS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)

ADMIN = Member("admin", frozenset(), admin=True)
TEACHER = Member("teacher", frozenset({"course:cs101:instructors"}))
ALICE = Member("alice", frozenset({"course:cs101:students"}))
BOB = Member("bob", frozenset({"course:cs101:students"}))
EVE = Member("eve", frozenset({"course:cs999:students"}))


class SetClock(Clock):
    """A clock the test sets."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    store = Store(url=db_url)
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    for slug in ("add", "sub", "mul"):
        await store.publish(
            user=teacher,
            slug=slug,
            title={"en": slug},
            difficulty=1,
            tags=[],
            mode="function",
            public={"id": slug},
            student_notebook="{}",
            bundle=json.dumps({"hidden": True}),
            case_count=1,
            sha256=slug * 16,
        )
    yield store
    await store.close()


@pytest.fixture
async def manager(store: Store) -> CourseManager:
    clock = SetClock(OPENS - HOUR)
    manager = CourseManager(store=store, clock=clock)
    await manager.put_course(ADMIN, {"id": "cs101", "title": "Intro", "problems": ["add"]})
    return manager


def at(manager: CourseManager, moment: datetime) -> None:
    clock = manager.clock
    assert isinstance(clock, SetClock)
    clock.at = moment


def assignment(slug: str = "hw1", **fields: Any) -> dict[str, Any]:
    return {
        "id": slug,
        "title": "Homework 1",
        "opens_at": OPENS.isoformat(),
        "due_at": DUE.isoformat(),
        "problems": [{"problem": "add", "points": 10}, {"problem": "sub", "points": 5}],
        **fields,
    }


async def submit(
    manager: CourseManager,
    member: Member,
    problem: str,
    target: tuple[str, str] | None,
    score: float,
) -> tuple[Admission | None, dict[str, Any] | None]:
    """Admit, store a judged submission with ``score``, record it; ``(admission, record view)``."""
    admission = await manager.admit(member, problem, target)
    store = manager.store
    user = await store.ensure_user(member.name)
    found = await store.get_problem(problem)
    assert found is not None
    row = await store.add_submission(user=user, problem=found, code="x = 1", notebook=None)
    async with store.session() as s:
        await s.execute(
            update(Submission)
            .where(Submission.id == row.id)
            .values(status=SubmissionStatus.JUDGED.value, score=score, verdict="accepted")
        )
    if admission is None:
        return None, None
    return admission, await manager.record(admission, row, {"code": "x = 1"})


async def test_courses_follow_hub_groups(manager: CourseManager) -> None:
    assert [c["id"] for c in await manager.list_courses(ALICE)] == ["cs101"]
    assert (await manager.list_courses(ALICE))[0]["role"] == "student"
    assert (await manager.list_courses(TEACHER))[0]["role"] == "instructor"
    assert await manager.list_courses(EVE) == []
    # a course another admin adds is there on the next request, no restart
    await manager.put_course(ADMIN, {"id": "cs999", "problems": ["add", "mul"]})
    assert [c["problems"] for c in await manager.list_courses(EVE)] == [["add", "mul"]]
    with pytest.raises(CourseError) as hidden:
        await manager.course_view(EVE, "cs101")
    assert hidden.value.status == 404
    with pytest.raises(CourseError) as refused:
        await manager.put_course(ALICE, {"id": "cs101", "title": "Mine"})
    assert refused.value.status == 403
    with pytest.raises(CourseError) as not_admin:
        await manager.put_course(TEACHER, {"id": "cs202"})
    assert not_admin.value.status == 403
    view, created = await manager.put_course(TEACHER, {"id": "cs101", "problems": ["add", "sub"]})
    assert not created and view["problems"] == ["add", "sub"]
    with pytest.raises(CourseError, match="no problem 'nope'"):
        await manager.put_course(ADMIN, {"id": "cs101", "problems": ["nope"]})
    with pytest.raises(CourseError, match="unknown field"):
        await manager.put_course(ADMIN, {"id": "cs101", "teachers": []})


async def test_students_see_their_assignments_with_their_due_and_credit(
    manager: CourseManager,
) -> None:
    view, created = await manager.put_assignment(
        TEACHER,
        "cs101",
        assignment(late_policy={"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]}),
    )
    assert created and view["problems"][0] == {"problem": "add", "points": 10.0}
    # 'sub' joined the course's problems
    assert (await manager.course_view(TEACHER, "cs101"))["problems"] == ["add", "sub"]
    with pytest.raises(CourseError) as student:
        await manager.put_assignment(ALICE, "cs101", assignment("hw2"))
    assert student.value.status == 403
    with pytest.raises(CourseError) as other:
        await manager.assignment(EVE, "cs101", "hw1")
    assert other.value.status == 404

    before = await manager.assignment(ALICE, "cs101", "hw1")
    assert before["problems"] == [] and not before["open"] and before["credit_now"] == 0.0
    at(manager, DUE)
    now = await manager.assignment(ALICE, "cs101", "hw1")
    assert now["open"] and now["credit_now"] == 1.0 and len(now["problems"]) == 2
    assert now["due"] == DUE.isoformat() and now["closes_at"] == (DUE + 48 * HOUR).isoformat()
    at(manager, DUE + SECOND)
    assert (await manager.assignment(ALICE, "cs101", "hw1"))["credit_now"] == 0.8

    extended = (DUE + 24 * HOUR).isoformat()
    given = await manager.put_extension(
        TEACHER, "cs101", "hw1", {"user": "bob", "due_at": extended}
    )
    assert given["due"] == extended
    bob = await manager.assignment(BOB, "cs101", "hw1")
    assert bob["due"] == extended and bob["credit_now"] == 1.0
    assert bob["extension"] == {"due_at": extended, "time_multiplier": 1.0}
    assert (await manager.assignment(ALICE, "cs101", "hw1"))["credit_now"] == 0.8
    assert [e["user"] for e in await manager.extensions(TEACHER, "cs101", "hw1")] == ["bob"]
    with pytest.raises(CourseError) as refused:
        await manager.put_extension(ALICE, "cs101", "hw1", {"user": "alice", "due_at": extended})
    assert refused.value.status == 403
    with pytest.raises(CourseError, match="time_multiplier"):
        await manager.put_extension(
            TEACHER, "cs101", "hw1", {"user": "bob", "time_multiplier": 0.5}
        )


@pytest.mark.parametrize(
    ("fields", "message", "status"),
    [
        ({"due_at": "2027-02-01T00:00:00+00:00"}, "before opens_at", 409),
        ({"due_at": "2027-03-08T15:00:00"}, "UTC offset", 400),
        ({"due_at": "next week"}, "ISO 8601", 400),
        ({"due_at": "0001-01-01T00:00:00Z"}, "years 1970 to 9000", 409),
        ({"problems": []}, "problems", 400),
        ({"problems": [{"problem": "add", "points": -1}]}, "points", 400),
        ({"problems": [{"problem": "nope"}]}, "no problem 'nope'", 404),
        ({"problems": [{"problem": "add"}, {"problem": "add"}]}, "twice", 409),
        ({"after_close": "maybe"}, "after_close", 400),
        ({"exam_minutes": 0}, "exam_minutes", 400),
        ({"late_policy": {"kind": "per_hour"}}, "late_policy.penalty", 400),
        ({"id": "Bad Id"}, "id must be", 400),
        ({"title": "nul\x00"}, "title", 400),
        ({"extra": 1}, "unknown field", 400),
    ],
)
async def test_bad_assignments_are_refused_with_a_message(
    manager: CourseManager, fields: dict[str, Any], message: str, status: int
) -> None:
    with pytest.raises(CourseError, match=message) as raised:
        await manager.put_assignment(TEACHER, "cs101", assignment(**fields))
    assert raised.value.status == status


async def test_submissions_before_during_and_after_the_close(manager: CourseManager) -> None:
    await manager.put_assignment(
        TEACHER, "cs101", assignment(late_policy={"kind": "per_hour", "penalty": 0.25})
    )
    await manager.put_assignment(TEACHER, "cs101", assignment("lab", after_close="practice"))
    target = ("cs101", "hw1")
    with pytest.raises(CourseError, match="opens at") as early:
        await manager.admit(ALICE, "add", target)
    assert early.value.status == 403
    at(manager, DUE)
    admission, recorded = await submit(manager, ALICE, "add", target, 1.0)
    assert admission is not None and recorded is not None
    assert recorded["credit"] == 1.0 and not recorded["practice"] and recorded["receipt"] is None
    at(manager, DUE + HOUR + SECOND)
    late = await manager.admit(ALICE, "add", target)
    assert late is not None and late.credit == 0.5
    at(manager, DUE + 3 * HOUR)
    assert (await manager.admit(ALICE, "add", target)) is not None
    at(manager, DUE + 3 * HOUR + SECOND)
    with pytest.raises(CourseError, match="no longer accepted") as closed:
        await manager.admit(ALICE, "add", target)
    assert closed.value.status == 403
    assert closed.value.extra["closed_at"] == (DUE + 3 * HOUR).isoformat()
    practice = await manager.admit(ALICE, "add", ("cs101", "lab"))
    assert practice is not None and practice.practice and practice.credit == 0.0
    with pytest.raises(CourseError, match="not a problem of") as wrong:
        await manager.admit(ALICE, "mul", target)
    assert wrong.value.status == 409
    with pytest.raises(CourseError) as outsider:
        await manager.admit(EVE, "add", target)
    assert outsider.value.status == 404
    # outside any assignment and any exam, a submission is practice as before
    assert await manager.admit(ALICE, "mul", None) is None


async def test_exam_window_receipts_and_the_tutor_off(manager: CourseManager) -> None:
    await manager.put_assignment(TEACHER, "cs101", assignment("exam", exam_minutes=60))
    target = ("cs101", "exam")
    at(manager, OPENS + HOUR)
    student = await manager.assignment(ALICE, "cs101", "exam")
    assert student["problems"] == [] and student["exam"]["started_at"] is None
    with pytest.raises(CourseError, match="start it first") as unstarted:
        await manager.admit(ALICE, "add", target)
    assert unstarted.value.status == 409
    await manager.put_extension(TEACHER, "cs101", "exam", {"user": "bob", "time_multiplier": 1.5})

    started = await manager.start_exam(ALICE, "cs101", "exam")
    ends = OPENS + 2 * HOUR
    assert started["exam"]["ends_at"] == ends.isoformat()
    assert started["exam"]["remaining_s"] == 3600.0 and len(started["problems"]) == 2
    bob = await manager.start_exam(BOB, "cs101", "exam")
    assert bob["exam"]["ends_at"] == (OPENS + HOUR + 90 * timedelta(minutes=1)).isoformat()

    at(manager, OPENS + 90 * timedelta(minutes=1))
    # starting again does not restart the window
    again = await manager.start_exam(ALICE, "cs101", "exam")
    assert again["exam"]["started_at"] == (OPENS + HOUR).isoformat()
    # the tutor and review are off, other problems closed, the exam's own taken without naming it
    with pytest.raises(CourseError, match="off during the exam") as tutor:
        await manager.refuse_during_exam("alice", "the tutor")
    assert tutor.value.status == 403 and tutor.value.extra["exam"]["ends_at"] == ends.isoformat()
    with pytest.raises(CourseError, match="only its problems") as other:
        await manager.admit(ALICE, "mul", None)
    assert other.value.status == 403
    body = {"notebook": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    admission = await manager.admit(ALICE, "add", None)
    assert admission is not None and admission.assignment.slug == "exam"
    user = await manager.store.ensure_user("alice")
    problem = await manager.store.get_problem("add")
    assert problem is not None
    row = await manager.store.add_submission(user=user, problem=problem, code="", notebook=None)
    recorded = await manager.record(admission, row, body)
    assert recorded["receipt"] == receipt_hash(body) and len(recorded["receipt"]) == 64
    receipts = (await manager.assignment(ALICE, "cs101", "exam"))["exam"]["receipts"]
    assert receipts == [
        {
            "submission": row.id,
            "problem": "add",
            "sha256": recorded["receipt"],
            "submitted_at": (OPENS + 90 * timedelta(minutes=1)).isoformat(),
        }
    ]

    at(manager, ends)
    assert await manager.admit(ALICE, "add", target) is not None
    at(manager, ends + SECOND)
    with pytest.raises(CourseError, match="no longer accepted"):
        await manager.admit(ALICE, "add", target)
    await manager.refuse_during_exam("alice", "the tutor")  # the window is over
    assert await manager.admit(ALICE, "mul", None) is None
    # bob's window (x1.5) is still open
    assert (await manager.admit(BOB, "add", target)) is not None
    with pytest.raises(CourseError, match="not an exam") as not_exam:
        await manager.put_assignment(TEACHER, "cs101", assignment("hw9"))
        await manager.start_exam(ALICE, "cs101", "hw9")
    assert not_exam.value.status == 409


async def test_exam_cannot_start_before_open_or_after_due(manager: CourseManager) -> None:
    await manager.put_assignment(TEACHER, "cs101", assignment("exam", exam_minutes=30))
    with pytest.raises(CourseError, match="opens at"):
        await manager.start_exam(ALICE, "cs101", "exam")
    at(manager, DUE)
    with pytest.raises(CourseError, match="closed at"):
        await manager.start_exam(ALICE, "cs101", "exam")
    # bob's own due time is later: he may still start, and his window ends by it
    later = (DUE + 20 * timedelta(minutes=1)).isoformat()
    await manager.put_extension(TEACHER, "cs101", "exam", {"user": "bob", "due_at": later})
    started = await manager.start_exam(BOB, "cs101", "exam")
    assert started["exam"]["ends_at"] == later and started["due"] == later


async def test_gradebook_as_of_deadline_and_best_within_policy(manager: CourseManager) -> None:
    await manager.put_assignment(
        TEACHER,
        "cs101",
        assignment(late_policy={"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]}),
    )
    target = ("cs101", "hw1")
    at(manager, DUE - HOUR)
    await submit(manager, ALICE, "add", target, 0.5)
    at(manager, DUE + HOUR)
    await submit(manager, ALICE, "add", target, 1.0)
    await submit(manager, BOB, "add", target, 1.0)
    await manager.put_extension(
        TEACHER, "cs101", "hw1", {"user": "bob", "due_at": (DUE + 2 * HOUR).isoformat()}
    )
    await submit(manager, ALICE, "mul", None, 1.0)  # practice: not in the gradebook

    course, rows = await manager.gradebook(TEACHER, "cs101", GradeMode.AS_OF_DEADLINE)
    assert course.slug == "cs101"
    earned = {(r.student, r.problem): (r.earned, r.best_score, r.attempts) for r in rows}
    assert earned == {
        ("alice", "add"): (5.0, 1.0, 2),
        ("alice", "sub"): (0.0, None, 0),
        ("bob", "add"): (10.0, 1.0, 1),
        ("bob", "sub"): (0.0, None, 0),
    }
    _, best = await manager.gradebook(TEACHER, "cs101", GradeMode.BEST_WITHIN_POLICY)
    assert {(r.student, r.problem): r.earned for r in best}[("alice", "add")] == 8.0
    with pytest.raises(CourseError) as refused:
        await manager.gradebook(ALICE, "cs101", GradeMode.BEST_WITHIN_POLICY)
    assert refused.value.status == 403
