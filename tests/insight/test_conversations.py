"""The dashboard's tutor conversations page: what the tutor recorded, for instructors only.

The tutor records every turn it remembers (:class:`~codetutor.tutor.memory.ChatMemory`
into :class:`~codetutor.tutor.transcripts.Transcripts`); the dashboard reads the same
database (``CODETUTOR_TRANSCRIPTS_URL`` here, as an operator sets it for both).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from codetutor.tutor.memory import ChatMemory
from codetutor.tutor.transcripts import Transcripts
from tests.judge.service.judge_service_helpers import FakeHub

from .test_dashboard import ACCESS, Dashboard, fill


async def record(url: str) -> None:
    memory = ChatMemory(transcripts=Transcripts(url=url))
    try:
        await memory.remember(
            "minji",
            "dedupe",
            [
                {"role": "user", "content": "왜 틀렸나요?"},
                {"role": "assistant", "content": "Look at <the order> of first appearance."},
            ],
            keep=8,
        )
        await memory.remember(
            "joon", "dedupe", [{"role": "user", "content": "hint please"}], keep=8
        )
        await memory.remember("joon", "is-leap", [{"role": "user", "content": "century?"}], keep=8)
        # what the model sees is trimmed; what instructors read is whole
        assert len(await memory.turns("minji", "dedupe")) == 2
    finally:
        await memory.close()


@pytest.fixture(scope="module")
def dashboard(
    hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Dashboard, str, str]]:
    workdir = tmp_path_factory.mktemp("conversations")
    url = f"sqlite:///{workdir / 'transcripts.sqlite'}"
    asyncio.run(record(url))
    db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    asyncio.run(fill(db_url))
    mp = pytest.MonkeyPatch()
    mp.setenv("CODETUTOR_TRANSCRIPTS_URL", url)
    try:
        running = Dashboard(hub, db_url, workdir)
    finally:
        mp.undo()
    try:
        yield (
            running,
            hub.add_user("teacher2", ACCESS, "custom:judge:read-all", access=False),
            hub.add_user("minji2", "custom:judge:submit"),
        )
    finally:
        running.stop()


def test_students_get_403(dashboard: tuple[Dashboard, str, str]) -> None:
    running, _, student = dashboard
    for path in ("conversations", "conversations/dedupe"):
        page = running.get(path, student)
        assert page.status_code == 403 and "instructors" in page.text
    assert running.get("conversations/dedupe", None, allow_redirects=False).status_code == 302


def test_instructors_read_the_conversations_per_problem(
    dashboard: tuple[Dashboard, str, str],
) -> None:
    running, instructor, _ = dashboard
    index = running.get("conversations?lang=en", instructor)
    assert index.status_code == 200
    assert 'data-problem="dedupe"' in index.text and 'data-problem="is-leap"' in index.text
    page = running.get("conversations/dedupe?lang=ko", instructor)
    assert page.status_code == 200
    assert 'data-student="minji"' in page.text and 'data-student="joon"' in page.text
    assert "왜 틀렸나요?" in page.text
    assert "Look at &lt;the order&gt; of first appearance." in page.text  # escaped
    assert "century?" not in page.text  # another problem's conversation
    assert "튜터" in page.text


def test_without_a_database_the_page_says_so(hub: FakeHub, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'judge.sqlite'}"
    asyncio.run(fill(db_url))
    running = Dashboard(hub, db_url, tmp_path)
    try:
        teacher = hub.add_user("teacher3", ACCESS, "custom:judge:read-all", access=False)
        page = running.get("conversations?lang=en", teacher)
        assert page.status_code == 200 and 'id="not-recorded"' in page.text
    finally:
        running.stop()
