"""A student's daily workflow in JupyterLab (issue 17), in a real headless Chromium.

``student_workflow.js`` drives ``codetutor up --demo`` as a new student: the
problems panel's filters, sorts and explained recommendations; a problem opened
in English and left unmodified until edited; the verdict card back after a
reload and a running judgement's live stream resumed; old submissions with
their own code in the card and in My submissions (restored after a reload); a
notebook with megabytes of saved output submitted; Reset to starter keeping a
copy; the tutor's message limit and its conversation per problem across
reloads; Korean statements, starter comments, tags and case names. Its
screenshots go to ``test-output/browser-student-workflow/``.
"""

from __future__ import annotations

import json

import pytest
import requests

from tests.e2e.helpers import REPO, Up

from .test_browser import output_dir, run_script

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
SUBMISSIONS = REPO / "notebooks" / PROBLEM / "submissions"
DEBUG_NOTEBOOK = "debugging.ipynb"


def put_debug_notebook(up: Up, right_code: str) -> int:
    """A solved leap-year notebook whose saved output (a debug loop's) is 3 MB; its size."""
    up.start_server("student")
    token = up.user_token("student")
    headers = {"Authorization": f"token {token}"}
    base = f"{up.url}/user/student"
    r = requests.post(
        f"{base}/codetutor/api/problems/{PROBLEM}/open",
        data=json.dumps({"path": DEBUG_NOTEBOOK}),
        headers=headers,
        timeout=60,
    )
    assert r.status_code == 201, r.text
    nb = requests.get(f"{base}/api/contents/{DEBUG_NOTEBOOK}", headers=headers, timeout=60)
    content = nb.json()["content"]
    starter = next(c for c in content["cells"] if "starter" in c["metadata"].get("tags", []))
    starter["source"] = (
        right_code + "\nfor year in range(3000):\n    print(year, is_leap(year), '.' * 990)\n"
    )
    lines = "".join(f"{y} {y % 4 == 0} {'.' * 990}\n" for y in range(3000))
    starter["outputs"] = [{"output_type": "stream", "name": "stdout", "text": lines}]
    starter["execution_count"] = 1
    r = requests.put(
        f"{base}/api/contents/{DEBUG_NOTEBOOK}",
        data=json.dumps({"type": "notebook", "format": "json", "content": content}),
        headers=headers,
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    return len(json.dumps(content))


@pytest.mark.timeout(1500)
def test_a_students_day_in_jupyterlab(up: Up) -> None:
    out = output_dir("browser-student-workflow")
    right = (SUBMISSIONS / "accepted.py").read_text()
    wrong = (SUBMISSIONS / "wrong_forgets_400.py").read_text()
    wrong_mark = "year % 4 == 0 and year % 100 != 0"
    assert wrong_mark in wrong and wrong_mark not in right
    # over the judge's 2 MiB submission limit with its outputs, far under it without
    assert put_debug_notebook(up, right) > 2 << 20
    env = {
        "USERNAME": "student",
        "PASSWORD": up.password("student"),
        "PROBLEM": PROBLEM,
        "OTHER_PROBLEM": "two-sum",
        "KOREAN_PROBLEM": "fibonacci",
        "WRONG_CODE": wrong,
        "RIGHT_CODE": right,
        "WRONG_MARK": wrong_mark,
        "DEBUG_NOTEBOOK": DEBUG_NOTEBOOK,
        "OUT_DIR": str(out),
    }
    seen = run_script("student_workflow.js", env, up)
    assert seen["steps"] == ["my-submissions-after-reload", "korean-case-names"]
    assert seen["mySubmissions"]["verdicts"].count("accepted") == 3
    for step in seen["steps"]:
        assert (out / f"{step}.png").stat().st_size > 10_000
