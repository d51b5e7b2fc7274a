"""The judge API's SubmissionManager: validates, parses once, stores the parsed form, redacts once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from codetutor.judge.problem import Visibility
from codetutor.judge.queue import DatabaseQueue
from codetutor.judge.service.base import APIError
from codetutor.judge.service.manager import SubmissionManager, parse_request
from codetutor.judge.service.views import result_view
from codetutor.judge.store import Store
from codetutor.judge.submission import Submission
from codetutor.judge.verdict import CaseResult, CaseStatus, JudgeResult, Verdict, student_view

NOTEBOOK: dict[str, Any] = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3"}},
    "cells": [
        {"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Sum"},
        {
            "cell_type": "code",
            "id": "a",
            "metadata": {},
            "execution_count": 3,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "big output\n"}],
            "source": ["def add(a, b):\n", "    return a + b\n"],
        },
        {"cell_type": "code", "id": "e", "metadata": {}, "outputs": [], "source": "  \n"},
        {
            "cell_type": "code",
            "id": "t",
            "metadata": {"tags": ["public-tests"]},
            "outputs": [],
            "source": "assert add(1, 2) == 3",
        },
        {
            "cell_type": "code",
            "id": "b",
            "metadata": {},
            "outputs": [],
            "source": "print(add(2, 3))",
        },
    ],
}


@pytest.fixture
async def manager(tmp_path: Path) -> AsyncIterator[SubmissionManager]:
    store = Store(url=f"sqlite:///{tmp_path / 'judge.sqlite'}")
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    await store.publish(
        user=teacher,
        slug="add",
        title={"en": "Add"},
        difficulty=1,
        tags=["functions"],
        mode="function",
        public={"id": "add"},
        student_notebook="{}",
        bundle="{}",
        case_count=1,
        sha256="a" * 64,
    )
    queue = DatabaseQueue(store=store)
    await queue.connect()
    yield SubmissionManager(store=store, queue=queue)
    await queue.close()
    await store.close()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "the body must be a JSON object"),
        ({"problem": "add", "code": "x", "extra": 1}, "unknown field(s): extra"),
        ({"code": "x"}, "'problem' (the problem id) is required"),
        ({"problem": "add"}, "give exactly one of 'code' (text) or 'notebook' (a notebook)"),
        ({"problem": "add", "code": "x", "notebook": NOTEBOOK}, "give exactly one of"),
        ({"problem": "add", "code": 5}, "'code' must be text"),
        ({"problem": "add", "notebook": {"cells": "no"}}, "'notebook' is not a Jupyter notebook"),
        (
            {"problem": "add", "notebook": {"cells": [{"cell_type": "code", "source": 5}]}},
            "a code cell's source is not text",
        ),
    ],
)
def test_bad_requests_are_400_naming_the_problem(body: Any, message: str) -> None:
    with pytest.raises(APIError) as raised:
        parse_request(body)
    assert raised.value.status == 400 and raised.value.message.startswith(message)


async def test_a_notebook_is_parsed_once_and_its_parsed_form_stored(
    manager: SubmissionManager,
) -> None:
    request = parse_request({"problem": "add", "notebook": NOTEBOOK})
    expected = ("def add(a, b):\n    return a + b\n", "print(add(2, 3))")
    assert request.submission.cells == expected
    submitted = await manager.submit("alice", request)
    row = await manager.store.get_submission(submitted.row.id)
    assert row is not None and row.notebook is not None
    # what is stored is the parsed form: no markdown, outputs, blank or test cells
    stored = json.loads(row.notebook)
    assert [c["source"] for c in stored["cells"]] == list(expected)
    assert "big output" not in row.notebook and "assert add" not in row.notebook
    # the worker reads it back without parsing the student's notebook again ...
    assert Submission.from_stored(row.code, row.notebook) == request.submission
    # ... and a reader of the stored notebook gets the same submission too
    again = Submission.from_notebook(nbformat.reads(row.notebook, as_version=4))
    assert again == request.submission
    assert submitted.view()["status"] == "queued"


async def test_code_is_stored_without_a_notebook(manager: SubmissionManager) -> None:
    submitted = await manager.submit("alice", parse_request({"problem": "add", "code": "x = 1"}))
    row = await manager.store.get_submission(submitted.row.id)
    assert row is not None and (row.code, row.notebook) == ("x = 1", None)
    assert Submission.from_stored(row.code, row.notebook).cells == ("x = 1",)


async def test_readers_see_only_their_own_and_unknown_problems_are_404(
    manager: SubmissionManager,
) -> None:
    submitted = await manager.submit("alice", parse_request({"problem": "add", "code": "x"}))
    assert (await manager.get(submitted.row.id, "alice", instructor=False)).owner == "alice"
    assert (await manager.get(submitted.row.id, "teacher", instructor=True)).instructor
    for reader in ("bob", "mallory"):
        with pytest.raises(APIError) as raised:
            await manager.get(submitted.row.id, reader, instructor=False)
        assert raised.value.status == 404
    with pytest.raises(APIError) as missing:
        await manager.submit("alice", parse_request({"problem": "nope", "code": "x"}))
    assert missing.value.status == 404
    with pytest.raises(APIError) as version:
        await manager.submit("alice", parse_request({"problem": "add", "code": "x", "version": 0}))
    assert version.value.status == 400
    listed = await manager.list("alice", problem="add", limit=10, before_id=None, instructor=False)
    assert [s.row.id for s in listed] == [submitted.row.id]


def test_students_are_redacted_in_one_place() -> None:
    result = JudgeResult(
        Verdict.WRONG_ANSWER,
        0.5,
        12.0,
        cases=[
            CaseResult("small", Visibility.PUBLIC, CaseStatus.PASSED, 1.0, "3", "3"),
            CaseResult("big", Visibility.HIDDEN, CaseStatus.FAILED, 2.0, "7", "8", "differs"),
        ],
        internal_message="worker 3, sandbox uid 60007",
    )
    stored = result.to_dict("instructor")
    assert stored["cases"][1]["expected"] == "7" and "internal_message" in stored
    shown = result.to_dict("student")
    assert shown == student_view(stored) == result_view(stored, instructor=False)
    assert shown["cases"][1] == {
        "name": "big",
        "visibility": "hidden",
        "status": "failed",
        "time_ms": 2.0,
    }
    assert shown["cases"][0]["expected"] == "3"
    assert "internal_message" not in shown
    assert result_view(stored, instructor=True) is stored
