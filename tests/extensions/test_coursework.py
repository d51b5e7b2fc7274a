"""A student's assignments and exam through the server extension, against the real services.

The course is made on the judge by the instructor (a publisher, so an admin of
courses); the student ``carol`` belongs to it through her Hub group. Times are
real but far from any boundary (the late-policy boundaries are tested in
tests/judge/service/test_courses_api.py with an injected clock).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from jupyter_core.utils import ensure_async

import tests.extensions.test_extension as ext
from codetutor.extensions.notebooks import strip_outputs
from codetutor.hub.roles import STUDENT_SCOPES
from tests.judge.service.judge_service_helpers import FakeHub, ServiceProcess

from .conftest import PROBLEM, Users, submission_source

pytestmark = pytest.mark.slow

COURSE = "ext101"


def as_judge(service: ServiceProcess, token: str, path: str, body: Any) -> dict[str, Any]:
    """POST ``body`` to the judge's ``path`` with ``token``; the created object."""
    r = requests.post(
        service.base + path, json=body, headers={"Authorization": f"token {token}"}, timeout=30
    )
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


@pytest.fixture
def carol(fake_hub: FakeHub) -> str:
    """A student of the course (her own, so that her exam touches no other test's user)."""
    token = next(
        (t for t, model in fake_hub.tokens.items() if model.get("name") == "carol"), None
    ) or fake_hub.add_user("carol", *STUDENT_SCOPES)
    fake_hub.tokens[token]["groups"] = [f"course:{COURSE}:students"]
    return token


async def test_assignments_exam_and_receipts(
    jp_fetch: Any,
    jp_root_dir: Path,
    users: Users,
    as_user: Any,
    judge_service: ServiceProcess,
    jp_serverapp: Any,
    carol: str,
) -> None:
    call = ext.call
    await ext.publish(jp_fetch, as_user, users, jp_root_dir)
    now = datetime.now(UTC)
    window = {"opens_at": (now - timedelta(hours=1)).isoformat()}
    window["due_at"] = (now + timedelta(days=2)).isoformat()
    as_judge(judge_service, users.instructor, "api/courses", {"id": COURSE, "title": "Ext 101"})
    for assignment in (
        {"id": "hw1", "title": "Homework 1", **window},
        {"id": "mid", "title": "Midterm", "exam_minutes": 30, **window},
    ):
        as_judge(
            judge_service,
            users.instructor,
            f"api/courses/{COURSE}/assignments",
            {**assignment, "problems": [{"problem": PROBLEM, "points": 10}]},
        )

    as_user(carol)
    status, body = await call(jp_fetch, "courses")
    assert status == 200 and [c["id"] for c in body["courses"]] == [COURSE]
    status, body = await call(jp_fetch, "assignments")
    assert status == 200, body
    shown = {a["id"]: a for a in body["assignments"]}
    assert set(shown) == {"hw1", "mid"}
    homework, exam = shown["hw1"], shown["mid"]
    assert homework["course_title"] == "Ext 101"
    assert homework["problems"] == [{"problem": PROBLEM, "points": 10}]
    assert homework["credit_now"] == 1.0 and homework["open"] is True
    assert exam["problems"] == [] and exam["exam"]["started_at"] is None

    # a submission for the homework counts, with full credit
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    path = f"{PROBLEM}.ipynb"
    ext.solve(jp_root_dir, path, submission_source("accepted.py"))
    target = {"course": COURSE, "id": "hw1"}
    status, queued = await call(
        jp_fetch, "submissions", method="POST", body={"path": path, "assignment": target}
    )
    assert status == 202, queued
    assert queued["assignment"]["credit"] == 1.0 and queued["assignment"]["practice"] is False
    assert queued["assignment"]["receipt"] is None

    # the exam starts; its problems show, with the window and the countdown
    status, started = await call(
        jp_fetch, "courses", COURSE, "assignments", "mid", "start", method="POST"
    )
    assert status == 200, started
    assert started["exam"]["started_at"] and 0 < started["exam"]["remaining_s"] <= 30 * 60
    assert started["problems"] == [{"problem": PROBLEM, "points": 10}]

    # the tutor's review is off, with the tutor's own message (through the extension)
    status, refused = await call(jp_fetch, "review", method="POST", body={"path": path})
    assert status == 403, refused
    assert "off during your exam" in refused["message"] and "시험 중" in refused["message"]

    # each exam submission gets a receipt: SHA-256 of the notebook sent (outputs stripped)
    status, queued = await call(
        jp_fetch,
        "submissions",
        method="POST",
        body={"path": path, "assignment": {"course": COURSE, "id": "mid"}},
    )
    assert status == 202, queued
    # what the extension sent: the notebook as the contents manager reads it, outputs stripped
    model = await ensure_async(jp_serverapp.contents_manager.get(path, content=True))
    sent, _ = strip_outputs(json.loads(json.dumps(model["content"])))
    canonical = json.dumps(sent, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    receipt = queued["assignment"]["receipt"]
    assert receipt == hashlib.sha256(canonical.encode()).hexdigest()
    status, one = await call(jp_fetch, "courses", COURSE, "assignments", "mid")
    assert status == 200
    assert [r["sha256"] for r in one["exam"]["receipts"]] == [receipt]
    as_user(users.alice)


async def test_bad_assignment_requests_get_json_errors(
    jp_fetch: Any, jp_root_dir: Path, carol: str, as_user: Any, users: Users
) -> None:
    call = ext.call
    (jp_root_dir / "x.ipynb").write_text(
        json.dumps(
            {
                "nbformat": 4,
                "nbformat_minor": 5,
                "metadata": {"codetutor": {"id": PROBLEM}},
                "cells": [],
            }
        )
    )
    as_user(carol)
    try:
        for target in ("hw1", {"course": COURSE}, {"course": "../x", "id": "hw1"}):
            status, body = await call(
                jp_fetch,
                "submissions",
                method="POST",
                body={"path": "x.ipynb", "assignment": target},
            )
            assert status == 400 and "'assignment' must be" in body["message"], body
        status, body = await call(jp_fetch, "courses", "nowhere", "assignments", "hw1")
        assert status == 404 and "nowhere" in body["message"]
        status, body = await call(
            jp_fetch, "courses", "nowhere", "assignments", "hw1", "start", method="POST"
        )
        assert status == 404 and body["message"]
    finally:
        as_user(users.alice)
