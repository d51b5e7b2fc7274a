"""The JupyterLab front end in a real headless Chromium, against ``codetutor up --demo``.

``student_flow.js`` (playwright-core driving Debian's ``chromium``) logs in as the
demo student, opens a problem from the Problems panel, submits a wrong and then a
right solution (Wrong Answer, then Accepted, on the live verdict card), asks the
tutor and watches the reply stream in, and switches JupyterLab to Korean. It
asserts on what the page shows; its screenshots go to ``test-output/browser/``
(or ``$CODETUTOR_TEST_OUTPUT/browser``) for people to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.helpers import REPO, Up

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
FRONTEND = REPO / "extensions" / "labextension"
PLAYWRIGHT_CORE = FRONTEND / "node_modules" / "playwright-core"
HERE = Path(__file__).parent
STEPS = [
    "01-problems-panel",
    "02-wrong-answer",
    "03-accepted",
    "04-tutor",
    "05-dark-theme",
    "06-korean",
]


def output_dir(name: str = "browser") -> Path:
    base = Path(os.environ.get("CODETUTOR_TEST_OUTPUT", REPO / "test-output"))
    out = base / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    return out


def browser_tools() -> tuple[str, str]:
    """Node and Chromium; missing ones fail under CI (./dev installs them) and skip elsewhere."""
    node = shutil.which("node")
    chromium = shutil.which("chromium")
    missing = [
        name
        for name, found in (
            ("node", node),
            ("chromium", chromium),
            ("playwright-core (./dev setup)", PLAYWRIGHT_CORE.is_dir()),
            (
                "the built extension (./dev setup)",
                (FRONTEND / "prebuilt" / "package.json").is_file(),
            ),
        )
        if not found
    ]
    if missing:
        message = f"the browser test needs {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    assert node is not None and chromium is not None
    return node, chromium


def run_script(name: str, env: dict[str, str], up: Up) -> dict[str, Any]:
    """Run ``tests/browser/NAME`` with ``env``; what it saw, or fail with its reason."""
    node, chromium = browser_tools()
    full_env = dict(
        os.environ, **env, HUB_URL=up.url, CHROMIUM=chromium, PLAYWRIGHT_CORE=str(PLAYWRIGHT_CORE)
    )
    run = subprocess.run(
        [node, str(HERE / name)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=1000,
        check=False,
    )
    assert run.returncode == 0, (
        f"the browser session failed:\n{run.stderr[-6000:]}\n"
        f"it saw: {run.stdout[-3000:]}\n"
        f"codetutor up's log ends:\n{up.log()[-3000:]}"
    )
    seen: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["pageErrors"] == []
    return seen


@pytest.mark.timeout(1200)
def test_a_student_in_jupyterlab(up: Up) -> None:
    out = output_dir()
    submissions = REPO / "notebooks" / PROBLEM / "submissions"
    env = {
        "USERNAME": "student",
        "PASSWORD": up.password("student"),
        "PROBLEM": PROBLEM,
        "WRONG_CODE": (submissions / "wrong_forgets_400.py").read_text(),
        "RIGHT_CODE": (submissions / "accepted.py").read_text(),
        "OUT_DIR": str(out),
    }
    seen = run_script("student_flow.js", env, up)
    assert seen["steps"] == STEPS
    assert seen["korean"]["submit"] == "제출"
    assert seen["tutor"]["tokens"] >= 1 and seen["tutor"]["states"] >= 1
    assert seen["dark"]["light"] != seen["dark"]["dark"]
    for step in STEPS:
        picture = out / f"{step}.png"
        assert picture.stat().st_size > 10_000, picture


@pytest.mark.timeout(900)
def test_an_instructor_publishes_from_jupyterlab(up: Up) -> None:
    out = output_dir("browser-instructor")
    # an authoring notebook (a new problem id) whose public tests do not parse
    nb = json.loads((REPO / "notebooks" / PROBLEM / "problem.ipynb").read_text())
    nb["metadata"]["codetutor"]["id"] = "leap-year-draft"
    broken = next(i for i, c in enumerate(nb["cells"]) if "public-tests" in c["metadata"]["tags"])
    source = nb["cells"][broken]["source"]
    fixed = "".join(source) if isinstance(source, list) else source
    nb["cells"][broken]["source"] = fixed + "\nis_leap(\n"
    up.start_server("instructor")
    token = up.user_token("instructor")
    r = requests.put(
        f"{up.url}/user/instructor/api/contents/draft.ipynb",
        data=json.dumps({"type": "notebook", "format": "json", "content": nb}),
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert r.status_code in (200, 201), r.text
    env = {
        "USERNAME": "instructor",
        "PASSWORD": up.password("instructor"),
        "NOTEBOOK": "draft.ipynb",
        "BROKEN_CELL": str(broken),
        "FIXED_SOURCE": fixed,
        "OUT_DIR": str(out),
    }
    seen = run_script("instructor_flow.js", env, up)
    assert seen["steps"] == ["instructor-01-refused", "instructor-02-published"]
    r = requests.get(
        f"{up.url}/user/instructor/codetutor/api/problems",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert "leap-year-draft" in [p["id"] for p in r.json()["problems"]], r.text
