"""The similarity report in a real headless Chromium (``similarity_flow.js``).

``codetutor dashboard`` runs against the class of ``tests/insight/test_similarity_dashboard.py``
(three students handed in disguised copies of one solution, one their own; one asked
the tutor three times); playwright-core drives Debian's Chromium through the report as
an instructor and checks what the page shows. Screenshots go to
``test-output/browser-similarity/`` (or ``$CODETUTOR_TEST_OUTPUT``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator

import pytest

from tests.browser.test_browser import HERE, PLAYWRIGHT_CORE, browser_tools, output_dir
from tests.insight.test_dashboard import ACCESS, Dashboard
from tests.insight.test_similarity_dashboard import fill_class
from tests.judge.service.judge_service_helpers import FakeHub

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Dashboard, str]]:
    hub = FakeHub()
    hub.start()
    workdir = tmp_path_factory.mktemp("similarity-browser")
    transcripts = f"sqlite:///{workdir / 'transcripts.sqlite'}"
    db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    asyncio.run(fill_class(db_url, transcripts))
    mp = pytest.MonkeyPatch()
    mp.setenv("CODETUTOR_TRANSCRIPTS_URL", transcripts)
    try:
        running = Dashboard(hub, db_url, workdir)
    finally:
        mp.undo()
    try:
        yield running, hub.add_user("teacher", ACCESS, "custom:judge:read-all", access=False)
    finally:
        running.stop()
        hub.stop()


@pytest.mark.timeout(300)
def test_an_instructor_reads_the_similarity_report(service: tuple[Dashboard, str]) -> None:
    node, chromium = browser_tools()
    running, token = service
    out = output_dir("browser-similarity")
    env = dict(
        os.environ,
        DASHBOARD_URL=running.base,
        TOKEN=token,
        PROBLEM="two-sum",
        OUT_DIR=str(out),
        CHROMIUM=chromium,
        PLAYWRIGHT_CORE=str(PLAYWRIGHT_CORE),
    )
    run = subprocess.run(
        [node, str(HERE / "similarity_flow.js")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, (
        f"the browser session failed:\n{run.stderr[-4000:]}\nit saw: {run.stdout[-3000:]}\n"
        f"the dashboard's log ends:\n{running.log_path.read_text()[-3000:]}"
    )
    seen = json.loads(run.stdout.strip().splitlines()[-1])
    assert seen["pageErrors"] == []
    assert seen["steps"] == [
        "similarity-01-problems",
        "similarity-02-pairs",
        "similarity-03-side-by-side",
        "similarity-04-korean",
    ]
    assert {frozenset(p) for p in seen["pairs"]} == {
        frozenset(("minji", "joon")),
        frozenset(("minji", "yuna")),
        frozenset(("joon", "yuna")),
    }
    assert seen["clusters"] == ["joon, minji, yuna"]
    assert seen["tutor"]["joon"] == "3" and seen["tutor"]["alex"] == "0"
    assert all(n >= 1 for n in seen["marks"])
    assert seen["generated"][0] <= seen["generated"][1]
    assert "유사 제출" in seen["koreanHeading"]
    assert "튜터 질문" in seen["koreanHeaders"]
    for step in seen["steps"]:
        assert (out / f"{step}.png").stat().st_size > 5_000
