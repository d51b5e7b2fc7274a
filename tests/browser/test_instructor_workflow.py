"""Instructors' and admins' daily workflow (issue 17) in a real headless Chromium, against
``codetutor up --demo``:

- ``authoring_flow.js``: a problem from the Launcher's template, its settings in the
  Problem sidebar, Validate, an error at the cell the notebook shows, Publish (the
  Problems panel refreshes itself), Unpublish;
- ``student_work_flow.js``: the class dashboard → a student → their submissions → one
  submission's code and hidden cases → a diff → the gradebook, and a zip download;
- ``signups_flow.js``: the Hub's admin page links to pending sign-ups, approved there.

Screenshots go to ``test-output/browser-instructor-workflow/`` (README uses two of them:
``docs/screenshots/authoring-template.png`` and ``instructor-reading-code.png``).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
import requests

from tests.browser.test_browser import output_dir, run_script
from tests.e2e.helpers import REPO, Up

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
OUT = "browser-instructor-workflow"


@pytest.fixture(scope="module")
def out() -> Path:
    return output_dir(OUT)


def judge(up: Up, token: str, method: str, path: str, **kwargs: object) -> requests.Response:
    """A call to the judge service through the Hub's proxy, with a user's token."""
    return requests.request(
        method,
        f"{up.url}/services/judge/{path}",
        headers={"Authorization": f"token {token}"},
        timeout=120,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.mark.timeout(900)
def test_an_instructor_authors_a_problem_from_the_template(up: Up, out: Path) -> None:
    env = {
        "USERNAME": "instructor",
        "PASSWORD": up.password("instructor"),
        "PROBLEM_ID": "add-two",
        "OUT_DIR": str(out),
    }
    seen = run_script("authoring_flow.js", env, up)
    assert seen["steps"] == [
        "authoring-01-template",
        "authoring-02-validated",
        "authoring-03-unpublished",
    ]
    assert "cell 6, line" in seen["error"] and "Cell 6, line" in seen["error"]
    # the form wrote the notebook's metadata
    teacher = up.user_token("instructor")
    r = requests.get(
        f"{up.url}/user/instructor/api/contents/new-problem.ipynb",
        headers={"Authorization": f"token {teacher}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    meta = r.json()["content"]["metadata"]["codetutor"]
    assert meta["id"] == "add-two" and meta["difficulty"] == 2
    assert meta["title"] == {"en": "Add two numbers", "ko": "두 수 더하기"}
    assert meta["tags"] == ["basics", "arithmetic"]
    # unpublished: hidden from students, still known to instructors
    student = up.user_token("student")
    listed = judge(up, student, "GET", "api/problems").json()["problems"]
    assert "add-two" not in [p["id"] for p in listed]
    listed = judge(up, teacher, "GET", "api/problems").json()["problems"]
    assert {p["id"]: p["published"] for p in listed}["add-two"] is False


def submit(up: Up, token: str, code: str) -> int:
    r = judge(up, token, "POST", "api/submissions", json={"problem": PROBLEM, "code": code})
    assert r.status_code == 202, r.text
    submission = int(r.json()["id"])
    deadline = time.monotonic() + 180
    while judge(up, token, "GET", f"api/submissions/{submission}").json()["status"] != "judged":
        assert time.monotonic() < deadline, f"submission {submission} was not judged"
        time.sleep(0.3)
    return submission


@pytest.mark.timeout(900)
def test_an_instructor_reads_a_students_code(up: Up, out: Path) -> None:
    submissions = REPO / "notebooks" / PROBLEM / "submissions"
    student = up.user_token("student")
    wrong = submit(up, student, (submissions / "wrong_forgets_400.py").read_text())
    right = submit(up, student, (submissions / "accepted.py").read_text())
    # a student cannot read the class's work, in the API or the dashboard
    r = judge(up, student, "GET", "api/submissions", params={"user": "instructor"})
    assert r.status_code == 403, r.text
    r = requests.get(
        f"{up.url}/services/dashboard/submissions/{wrong}",
        headers={"Authorization": f"token {student}"},
        timeout=60,
    )
    assert r.status_code == 403 and "def is_leap" not in r.text

    env = {
        "USERNAME": "instructor",
        "PASSWORD": up.password("instructor"),
        "STUDENT": "student",
        "PROBLEM": PROBLEM,
        "OUT_DIR": str(out),
    }
    seen = run_script("student_work_flow.js", env, up)
    assert seen["steps"] == ["work-01-submission", "work-02-diff"]
    assert seen["submission"]["hidden"] >= 1
    assert seen["diff"]["added"] + seen["diff"]["removed"] >= 1
    with zipfile.ZipFile(seen["zip"]) as archive:
        names = archive.namelist()
        assert f"{PROBLEM}/student-{wrong}.ipynb" in names
        assert f"{PROBLEM}/student-{right}.ipynb" in names
        nb = nbformat.reads(
            io.TextIOWrapper(archive.open(f"{PROBLEM}/student-{right}.ipynb")).read(), 4
        )
    assert nb.metadata["codetutor"]["submission"]["verdict"] == "accepted"
    assert json.dumps(nb.metadata["codetutor"]["submission"]["user"]) == '"student"'


@pytest.mark.timeout(600)
def test_an_admin_finds_pending_signups_on_the_admin_page(up: Up, out: Path) -> None:
    env = {
        "USERNAME": "admin",
        "PASSWORD": up.password("admin"),
        "NEWCOMER": "newcomer",
        "NEWCOMER_PASSWORD": "a-long-Passphrase-42",
        "OUT_DIR": str(out),
    }
    seen = run_script("signups_flow.js", env, up)
    assert seen["steps"] == ["admin-01-admin-page", "admin-02-signups"]
    for step in seen["steps"]:
        assert (out / f"{step}.png").stat().st_size > 10_000
