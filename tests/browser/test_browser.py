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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import REPO, Up

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
FRONTEND = REPO / "extensions" / "labextension"
PLAYWRIGHT_CORE = FRONTEND / "node_modules" / "playwright-core"
SCRIPT = Path(__file__).with_name("student_flow.js")
STEPS = ["01-problems-panel", "02-wrong-answer", "03-accepted", "04-tutor", "05-korean"]


def output_dir() -> Path:
    base = Path(os.environ.get("CODETUTOR_TEST_OUTPUT", REPO / "test-output"))
    out = base / "browser"
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


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    instance = Up(tmp_path / "data", demo=True)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()


@pytest.mark.timeout(1200)
def test_a_student_in_jupyterlab(up: Up) -> None:
    node, chromium = browser_tools()
    out = output_dir()
    submissions = REPO / "notebooks" / PROBLEM / "submissions"
    env = dict(
        os.environ,
        HUB_URL=up.url,
        USERNAME="student",
        PASSWORD=up.password("student"),
        PROBLEM=PROBLEM,
        WRONG_CODE=(submissions / "wrong_forgets_400.py").read_text(),
        RIGHT_CODE=(submissions / "accepted.py").read_text(),
        OUT_DIR=str(out),
        CHROMIUM=chromium,
        PLAYWRIGHT_CORE=str(PLAYWRIGHT_CORE),
    )
    run = subprocess.run(
        [node, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=1000, check=False
    )
    assert run.returncode == 0, (
        f"the browser session failed:\n{run.stderr[-6000:]}\n"
        f"it saw: {run.stdout[-3000:]}\n"
        f"codetutor up's log ends:\n{up.log()[-3000:]}"
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["steps"] == STEPS
    assert seen["korean"]["submit"] == "제출"
    assert seen["tutor"]["states"] >= 2
    for step in STEPS:
        picture = out / f"{step}.png"
        assert picture.stat().st_size > 10_000, picture
