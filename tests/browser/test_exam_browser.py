"""Assignments and exam mode in a real headless Chromium, against ``codetutor up --demo``.

The demo instructor makes a course with a homework and a 30-minute exam on the
judge; the demo student is put in the course's Hub group. ``exam_flow.js`` then
checks, as the student, the Assignments panel (points, due time, credit now), a
homework submission's credit, and the exam: the tutor gone, a countdown running,
a receipt after the submission; and, as the instructor, the course gradebook
page. Screenshots go to ``test-output/browser-exam/``; two of them are the
README's (docs/images/).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.browser.test_browser import PROBLEM, output_dir, run_script
from tests.e2e.helpers import REPO, Up

pytestmark = pytest.mark.slow

COURSE = "demo101"
HOMEWORK = "hw1"
EXAM = "midterm"


def make_course(up: Up) -> None:
    """The course on the judge (as the instructor), its Hub groups, a solved notebook."""
    for role, user in (("students", "student"), ("instructors", "instructor")):
        r = up.api("POST", f"groups/course:{COURSE}:{role}", {"users": [user]})
        assert r.status_code == 201, r.text
    judge = f"{up.url}/services/judge/api/"
    teacher = {"Authorization": f"token {up.user_token('instructor')}"}
    r = requests.post(
        judge + "courses",
        json={"id": COURSE, "title": "Programming 101"},
        headers=teacher,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    now = datetime.now(UTC).replace(microsecond=0)
    window = {
        "opens_at": (now - timedelta(days=1)).isoformat(),
        "due_at": (now + timedelta(days=3)).isoformat(),
        "problems": [{"problem": PROBLEM, "points": 10}],
    }
    for assignment in (
        {
            "id": HOMEWORK,
            "title": "Homework 1",
            "late_policy": {"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]},
            **window,
        },
        {"id": EXAM, "title": "Midterm", "exam_minutes": 30, **window},
    ):
        r = requests.post(
            judge + f"courses/{COURSE}/assignments", json=assignment, headers=teacher, timeout=60
        )
        assert r.status_code == 201, r.text
    # the student's notebook, solved (the browser submits it from the panel)
    up.start_server("student")
    student = {"Authorization": f"token {up.user_token('student')}"}
    server = f"{up.url}/user/student/"
    r = requests.post(
        server + f"codetutor/api/problems/{PROBLEM}/open", json={}, headers=student, timeout=60
    )
    assert r.status_code == 201, r.text
    path = r.json()["path"]
    r = requests.get(server + f"api/contents/{path}", headers=student, timeout=60)
    nb = r.json()["content"]
    starter = [c for c in nb["cells"] if "starter" in c["metadata"].get("tags", [])]
    starter[0]["source"] = (
        REPO / "notebooks" / PROBLEM / "submissions" / "accepted.py"
    ).read_text()
    r = requests.put(
        server + f"api/contents/{path}",
        data=json.dumps({"type": "notebook", "format": "json", "content": nb}),
        headers=student,
        timeout=60,
    )
    assert r.status_code == 200, r.text


@pytest.mark.timeout(1200)
def test_exam_mode_in_jupyterlab(up: Up) -> None:
    out = output_dir("browser-exam")
    make_course(up)
    env = {
        "USERNAME": "student",
        "PASSWORD": up.password("student"),
        "INSTRUCTOR": "instructor",
        "INSTRUCTOR_PASSWORD": up.password("instructor"),
        "COURSE": COURSE,
        "HOMEWORK": HOMEWORK,
        "EXAM": EXAM,
        "PROBLEM": PROBLEM,
        "OUT_DIR": str(out),
    }
    seen = run_script("exam_flow.js", env, up)
    assert seen["steps"] == ["exam-01-assignments", "exam-02-receipt", "exam-03-gradebook"]
    assert "credit 100%" in seen["homeworkResult"]
    assert seen["examFlag"] == f"{COURSE}/{EXAM}"
    assert seen["countdown"][1] < seen["countdown"][0] <= 30 * 60
    assert len(seen["receipt"]) == 64
    assert "Midterm" in seen["gradebook"] or EXAM in seen["gradebook"]
    for step in seen["steps"]:
        assert (out / f"{step}.png").stat().st_size > 10_000
