"""How the judge decides when a dying kernel's last reports never arrived.

A process that kills itself (``os._exit``, a memory kill) can take the reports it
had just sent with it: the judge then knows that the kernel died, not where. These
tests script the sandbox runs (a fake runner, no kernel) to pin each decision; the
real kernels' side is tests/judge/test_hostile.py's crash tests.
"""

from __future__ import annotations

from typing import Any

import pytest

from codetutor.judge.judge import Judge
from codetutor.judge.problem import Problem
from codetutor.judge.runner import Abort, RunOutcome
from codetutor.judge.submission import Submission

from .conftest import judge_config, published
from .test_hostile import PROBE


class FakeRunsJudge(Judge):
    """A judge whose sandbox runs are scripted: ``script(first, cells)`` -> RunOutcome."""

    def __init__(self, script: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script
        self.runs: list[int] = []

    async def run_in_sandbox(
        self, problem: Problem, submission: Submission, first: int, run_cells: bool
    ) -> RunOutcome:
        self.runs.append(first)
        outcome: RunOutcome = self.script(first, len(problem.cases), len(submission.cells))
        return outcome


def cells_reported(cells: int) -> dict[tuple[str, int], dict[str, Any]]:
    return {("cell", i): {"status": "ok", "stdout": ""} for i in range(cells)}


def died(ends: dict[tuple[str, int], dict[str, Any]] | None = None) -> RunOutcome:
    """A kernel that died at an unknown step: its last reports were lost."""
    return RunOutcome(ends=dict(ends or {}), aborted=Abort.DIED)


async def judge_with(script: Any, code: str | tuple[str, ...]) -> tuple[Any, list[int]]:
    problem = await published(PROBE)
    config = judge_config()
    config.SandboxPool.size = 0
    judge = FakeRunsJudge(script, config=config)
    submission = Submission(cells=code) if isinstance(code, tuple) else Submission.from_source(code)
    try:
        result = await judge.judge(problem, submission)
    finally:
        await judge.close()
    return result, judge.runs


async def test_unreported_crash_in_a_case_is_the_case_s() -> None:
    """Every run with cases dies silently; the cells alone finish: each case is the
    crash, one at a time, and the student's cells are not blamed."""

    def script(first: int, cases: int, cells: int) -> RunOutcome:
        if first == cases:  # the cells alone
            return RunOutcome(ends=cells_reported(cells), done=True)
        return died()

    result, runs = await judge_with(script, "def probe():\n    return 'ok'")
    assert result.verdict.value == "runtime_error"
    assert [c.status.value for c in result.cases] == ["error", "error", "error"]
    assert result.error is None
    # the first run, the cells alone (first == number of cases), then one run per case
    assert runs == [0, 3, 1, 2]


async def test_unreported_crash_in_the_cells_is_the_cells() -> None:
    def script(first: int, cases: int, cells: int) -> RunOutcome:
        return died()

    result, runs = await judge_with(script, "def probe():\n    return 'ok'")
    assert result.verdict.value == "runtime_error"
    assert {c.status.value for c in result.cases} == {"skipped"}
    assert result.error is not None and result.error.cell == 0
    assert runs == [0, 3]


async def test_unreported_crash_is_blamed_on_the_first_cell_without_a_report() -> None:
    code = "def probe():\n    return 'ok'\n"

    def script(first: int, cases: int, cells: int) -> RunOutcome:
        # Cell 1 reported; cell 2 killed the kernel before its report left.
        return died(cells_reported(1))

    result, runs = await judge_with(script, (code, "import os\nos._exit(3)"))
    assert result.verdict.value == "runtime_error"
    assert result.error is not None and result.error.cell == 1
    assert runs == [0, 3]


async def test_a_resumed_run_does_not_judge_the_cells_again() -> None:
    """Cells that finished once are not blamed for a later run's silent crash."""

    def script(first: int, cases: int, cells: int) -> RunOutcome:
        if first == 0:  # the cells reported, then case 1 crashed and said so
            return RunOutcome(
                ends=cells_reported(cells), aborted=Abort.DIED, aborted_step=("case", 0)
            )
        return died()

    result, runs = await judge_with(script, "def probe():\n    return 'ok'")
    assert [c.status.value for c in result.cases] == ["error", "error", "error"]
    assert result.error is None
    assert runs == [0, 1, 2]


@pytest.mark.parametrize("reason", [Abort.MEMORY, Abort.TIMEOUT])
async def test_a_clear_abort_in_a_cell_needs_no_second_run(reason: Abort) -> None:
    def script(first: int, cases: int, cells: int) -> RunOutcome:
        return RunOutcome(aborted=reason, aborted_step=("cell", 0))

    result, runs = await judge_with(script, "def probe():\n    return 'ok'")
    expected = {Abort.MEMORY: "memory_limit_exceeded", Abort.TIMEOUT: "time_limit_exceeded"}
    assert result.verdict.value == expected[reason]
    assert runs == [0]
