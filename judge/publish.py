"""Publishing a problem: validate, compute expected values, write outputs.

A pipeline of small steps (:meth:`Publisher.publish` reads top to bottom):

1. parse and validate the notebook (:meth:`Problem.from_notebook`);
2. run the reference solution in a sandbox and its tests in the checker,
   exactly as the judge runs a submission, and collect each case's value or output;
3. check every case: the solution passes it, and its expected value is plain data;
4. write the student notebook and the judge's bundle — both or neither.

Every failure is a :class:`ProblemError` naming the cell and line.

The judge service does not run step 2 itself: :class:`QueuedPublisher` hands the
notebook to a judge worker as an internal job (:attr:`~.queue.JobKind.PUBLISH`,
run by :meth:`~.worker.Worker.publish_job` with a :class:`Publisher`), so that
sandboxes start only in workers and in the CLI.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from traitlets import Float, Instance, default
from traitlets.config import LoggingConfigurable

from .cases import Case, CaseKind
from .checker import TestsFailed
from .exceptions import JudgeFailure, ProblemError
from .judge import Judge
from .problem import TEST_TAGS, Problem
from .queue import Job, JobKind, JobState, Queue
from .runner import Abort
from .submission import Submission
from .values import DecodeError, decode_json, describe, is_plain, values_equal

_ABORT_TEXT = {
    Abort.TIMEOUT: "exceeds the time limit",
    Abort.MEMORY: "exceeds the memory limit",
    Abort.OUTPUT: "exceeds the output limit",
    Abort.DIED: "crashes the kernel",
}


class Publisher(LoggingConfigurable):
    """Turns a problem notebook into a published problem (student notebook + bundle)."""

    judge = Instance(Judge)

    @default("judge")
    def _judge_default(self) -> Judge:
        self._owns_judge = True
        return Judge(parent=self)

    _owns_judge = False

    async def close(self) -> None:
        """Release the judge's sandboxes if this publisher made the judge. Coroutine."""
        if self._owns_judge:
            await self.judge.close()

    async def publish(self, problem: Problem) -> Problem:
        """Compute and check expected values; return the published problem. Coroutine.

        Raises :class:`ProblemError` if the reference solution does not pass
        every case or an expected value is not plain data.
        """
        reference = self.reference_submission(problem)
        syntax = self.judge.check_syntax(problem, reference)
        if syntax is not None:
            # the cell as the notebook numbers it, not as the reference run does
            where = self.reference_cells(problem)
            cell = where[syntax.cell][0] if syntax.cell is not None else None
            raise ProblemError(
                f"the reference solution does not parse: {syntax.message}",
                cell=cell,
                line=syntax.line,
            )
        try:
            evaluation = await self.judge.evaluate(problem, reference)
        except TestsFailed as e:
            raise ProblemError(e.message) from None
        if evaluation.cells_verdict is not None:
            error = evaluation.error
            detail = error.message if error is not None else evaluation.cells_verdict.value
            raise ProblemError(f"the reference solution fails: {detail}")
        for case, outcome in zip(problem.cases, evaluation.cases, strict=True):
            if outcome.aborted is not None or outcome.skipped:
                what = _ABORT_TEXT[outcome.aborted] if outcome.aborted else "did not finish"
                raise ProblemError(
                    f"the reference solution {what} on case {case.name!r}",
                    cell=case.cell,
                    line=case.line,
                )
            case.expected = self.expected_value(case, outcome.report or {"status": "error"})
        problem.published = True
        return problem

    def reference_submission(self, problem: Problem) -> Submission:
        """The code a reference run executes: untagged code cells and the solution, in order."""
        return Submission(cells=tuple(source for _, source in self.reference_cells(problem)))

    def reference_cells(self, problem: Problem) -> list[tuple[int, str]]:
        """The cells of :meth:`reference_submission`: (index in the notebook, source)."""
        cells = []
        for index, cell in enumerate(problem.notebook.cells):
            tags = set(cell.get("metadata", {}).get("tags", []))
            if cell.cell_type != "code" or tags & {"starter", *TEST_TAGS}:
                continue
            if cell.source.strip():
                cells.append((index, cell.source))
        return cells

    def expected_value(self, case: Case, end: dict[str, Any]) -> Any:
        """Check one case of the reference run and return what to store as expected."""
        status = end.get("status")
        if status not in ("ok", "passed"):
            error = end.get("error") or {}
            if status == "failed":
                detail = f": {end['message']}" if end.get("message") else ""
                raise ProblemError(
                    f"the reference solution fails case {case.name!r}{detail}",
                    cell=case.cell,
                    line=case.line,
                )
            raise ProblemError(
                f"the reference solution raises {error.get('ename', 'an error')} on case {case.name!r}: "
                f"{error.get('evalue', '')}".rstrip(": "),
                cell=case.cell,
                line=case.line,
            )
        try:
            if case.kind is CaseKind.VALUE:
                text = str(end.get("value"))
                value = decode_json(text)
                if not is_plain(value):
                    raise ProblemError(
                        f"the expected value of case {case.name!r} is not plain data (got {describe(value)}); "
                        "tests must produce numbers, strings, bytes, None, bools, lists, tuples, dicts or sets",
                        cell=case.cell,
                        line=case.line,
                    )
                return json.loads(text)
            if case.kind is CaseKind.ASSERT_EQUAL:
                left, right = decode_json(str(end.get("value"))), decode_json(str(end.get("other")))
                if not (is_plain(left) and is_plain(right)):
                    raise ProblemError(
                        f"case {case.name!r} compares values that are not plain data",
                        cell=case.cell,
                        line=case.line,
                    )
                if not values_equal(right, left):
                    raise ProblemError(
                        f"the reference solution fails case {case.name!r}: {describe(left)} != {describe(right)}",
                        cell=case.cell,
                        line=case.line,
                    )
                return None
            if case.kind is CaseKind.STDIO:
                return str(end.get("output", ""))
        except DecodeError as e:
            raise ProblemError(
                f"the value of case {case.name!r} could not be read: {e}",
                cell=case.cell,
                line=case.line,
            ) from None
        return None


class QueuedPublisher(LoggingConfigurable):
    """Publishes through a judge worker: :meth:`publish` as :class:`Publisher`'s, queued."""

    queue = Instance(Queue)

    timeout_s = Float(
        300.0, help="Longest wait for a worker to run a problem's reference solution."
    ).tag(config=True)

    async def publish(self, problem: Problem) -> Problem:
        """Coroutine: ``problem`` published by a worker (its expected values computed).

        Raises :class:`ProblemError` as :meth:`Publisher.publish` does, and
        :class:`JudgeFailure` when no worker answered in :attr:`timeout_s` or the
        worker failed.
        """
        assert self.queue is not None
        job = Job(JobKind.PUBLISH, {"notebook": problem.notebook})
        await self.queue.put_job(job)
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = await self.queue.wait_job(job.id, min(10.0, deadline - time.monotonic()))
            if found is not None and found[0] is JobState.DONE:
                break
            if found is None or time.monotonic() >= deadline:
                raise JudgeFailure(
                    "publishing failed: no judge worker ran the reference solution",
                    log_message=f"publish job {job.id} of {problem.meta.id}: {found}",
                )
            await asyncio.sleep(0)
        result = found[1] or {}
        if "problem_error" in result:
            error = result["problem_error"]
            raise ProblemError(
                error["message"],
                cell=error.get("cell"),
                line=error.get("line"),
                cell_id=error.get("cell_id"),
            )
        if "bundle" not in result:
            raise JudgeFailure(
                "publishing failed in the judge worker",
                log_message=f"publish job {job.id}: {result.get('error')}",
            )
        return Problem.from_bundle(result["bundle"])


def write_outputs(problem: Problem, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``<id>.ipynb`` (student) and ``<id>.bundle`` (judge) atomically: both or neither."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ProblemError(f"cannot create output directory {out}: {e.strerror}") from None
    student_path = out / f"{problem.meta.id}.ipynb"
    bundle_path = out / f"{problem.meta.id}.bundle"
    contents = [
        (student_path, nbformat.writes(problem.student_notebook())),
        (bundle_path, json.dumps(problem.to_bundle(), ensure_ascii=False, indent=1)),
    ]
    temps: list[tuple[str, Path]] = []
    try:
        for path, text in contents:
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{path.name}.", suffix=".tmp")
            temps.append((tmp, path))
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                if not text.endswith("\n"):
                    f.write("\n")
        for tmp, path in temps:
            os.replace(tmp, path)
    except OSError as e:
        for tmp, _ in temps:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise ProblemError(f"cannot write to {out}: {e.strerror}") from None
    return student_path, bundle_path


def validation_view(problem: Problem) -> dict[str, Any]:
    """What *Validate* shows an instructor before publishing: every case of a problem
    that went through :meth:`Publisher.publish`, with what the reference solution gave.

    ``cell`` counts from 0 (as the API's errors); ``expected`` is a short ``repr`` of a
    value case's expected value, the expected stdout of a stdio case, and ``None`` for
    an assert case (it passes when it raises nothing).
    """
    cases = []
    for case in problem.cases:
        expected: str | None = None
        if case.kind is CaseKind.VALUE:
            expected = describe(case.decoded_expected())
        elif case.kind is CaseKind.STDIO:
            expected = str(case.expected or "")
        cases.append(
            {
                "name": case.name,
                "visibility": case.visibility.value,
                "kind": case.kind.value,
                "cell": case.cell,
                "line": case.line,
                "source": case.source,
                "stdin": case.stdin,
                "expected": expected,
            }
        )
    return {
        "id": problem.meta.id,
        "title": dict(problem.meta.title),
        "mode": problem.meta.mode.value,
        "cases": cases,
    }
