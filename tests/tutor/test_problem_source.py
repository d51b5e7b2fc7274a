"""Where the tutor finds a problem: what was published to the judge first, then folders."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from codetutor.judge.problem import Problem
from codetutor.judge.store import Store
from codetutor.tutor.exceptions import BadRequestError, ProblemError
from codetutor.tutor.tutor import Tutor

from .conftest import FILES


def problem_with(problem_id: str, solution_comment: str) -> Problem:
    """tests/tutor/files/dedupe.ipynb under another id, its solution marked."""
    nb = json.loads((FILES / "dedupe.ipynb").read_text())
    nb["metadata"]["codetutor"]["id"] = problem_id
    for cell in nb["cells"]:
        if "solution" in cell["metadata"].get("tags", []):
            source = "".join(cell["source"])
            cell["source"] = f"# {solution_comment}\n{source}"
    return Problem.from_notebook(nbformat.from_dict(nb))


async def publish(store: Store, problem: Problem) -> int:
    user = await store.ensure_user("teacher")
    version: int = (await store.publish_problem(user=user, problem=problem)).problem.version
    return version


@pytest.fixture
async def judge_db(tmp_path: Path) -> AsyncIterator[tuple[str, Store]]:
    url = f"sqlite:///{tmp_path}/judge.sqlite"
    store = Store(url=url)
    await store.upgrade()
    yield url, store
    await store.close()


def make_tutor(**traits: Any) -> Tutor:
    c = Config()
    c.Tutor.problem_dirs = [str(FILES)]
    for name, value in traits.items():
        setattr(c.Tutor, name, value)
    return Tutor(config=c)


async def test_a_problem_published_to_the_judge_reaches_the_tutor(
    judge_db: tuple[str, Store],
) -> None:
    url, store = judge_db
    await publish(store, problem_with("only-in-judge", "version one"))
    tutor = make_tutor(judge_db_url=url, problem_refresh_s=0.0)
    try:
        problem = await tutor.get_problem("only-in-judge")
        assert problem.meta.id == "only-in-judge"
        assert "# version one" in problem.solution_source
        # republished: the guard must know the new reference solution
        assert await publish(store, problem_with("only-in-judge", "version two")) == 2
        problem = await tutor.get_problem("only-in-judge")
        assert "# version two" in problem.solution_source
        # not published: the folders still serve
        assert (await tutor.get_problem("dedupe")).meta.id == "dedupe"
        with pytest.raises(ProblemError):
            await tutor.get_problem("nowhere")
        with pytest.raises(BadRequestError):
            await tutor.get_problem("../etc/passwd")
    finally:
        await tutor.close()


async def test_the_newest_version_is_looked_up_again_only_after_the_refresh_time(
    judge_db: tuple[str, Store],
) -> None:
    url, store = judge_db
    await publish(store, problem_with("only-in-judge", "version one"))
    tutor = make_tutor(judge_db_url=url, problem_refresh_s=3600.0)
    try:
        first = await tutor.get_problem("only-in-judge")
        await publish(store, problem_with("only-in-judge", "version two"))
        assert await tutor.get_problem("only-in-judge") is first
    finally:
        await tutor.close()


async def test_without_the_judge_database_the_tutor_keeps_answering(tmp_path: Path) -> None:
    # A database that cannot be opened (its folder cannot be created): folders serve.
    blocker = tmp_path / "file"
    blocker.write_text("")
    tutor = make_tutor(judge_db_url=f"sqlite:///{blocker}/sub/judge.sqlite")
    try:
        assert (await tutor.get_problem("dedupe")).meta.id == "dedupe"
        with pytest.raises(ProblemError):
            await tutor.get_problem("only-in-judge")
    finally:
        await tutor.close()
