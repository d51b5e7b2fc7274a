"""The judge: a problem and a submission in, a verdict out.

Judging is a pipeline of small steps (``judge()`` reads top to bottom):

1. check the student's code parses (no sandbox needed for a syntax error);
2. take a ready sandbox and run the student's cells, then the cases, in one
   harness request (:mod:`codetutor.judge.runner`);
3. turn the harness's events into case results, comparing values and stdout
   with the expected ones *outside* the sandbox (:mod:`codetutor.judge.values`);
4. if the sandbox was killed in the middle (time, memory, output, a crash),
   run the remaining cases in a fresh sandbox, up to ``max_restarts`` times;
5. the verdict is that of the first case that did not pass.

Whatever the student's code does, the outcome is a :class:`JudgeResult`;
only the judge's own failures raise (:class:`JudgeFailure`,
:class:`SandboxError`) or become ``internal_error``.
"""

from __future__ import annotations

import ast
import time
import warnings
from typing import Any

from traitlets import Float, Instance, Integer, Type, default
from traitlets.config import LoggingConfigurable

from .exceptions import JudgeException, ProblemError
from .problem import Case, CaseKind, Mode, Problem, Visibility
from .runner import Abort, RunLimits, RunOutcome, SandboxProvider
from .submission import Submission
from .values import DecodeError, decode_json, describe, normalize_stdout, values_equal
from .verdict import CaseResult, CaseStatus, JudgeResult, StudentError, Verdict, overall

_ABORT_STATUS = {
    Abort.TIMEOUT: CaseStatus.TIMEOUT,
    Abort.MEMORY: CaseStatus.MEMORY_LIMIT,
    Abort.OUTPUT: CaseStatus.OUTPUT_LIMIT,
    Abort.DIED: CaseStatus.ERROR,
}
_HARNESS_STATUS = {
    "error": CaseStatus.ERROR,
    "memory": CaseStatus.MEMORY_LIMIT,
    "output_limit": CaseStatus.OUTPUT_LIMIT,
    "syntax": CaseStatus.ERROR,
    "failed": CaseStatus.FAILED,
}
_ABORT_MESSAGE = {
    Abort.TIMEOUT: "time limit exceeded",
    Abort.MEMORY: "memory limit exceeded",
    Abort.OUTPUT: "output limit exceeded",
    Abort.DIED: "the kernel died (a crash or os._exit)",
}


class Judge(LoggingConfigurable):
    """Judges submissions against problems in sandboxes.

    ``await judge.judge(problem, submission)`` returns a :class:`JudgeResult`.
    """

    wall_time_factor = Float(
        3.0,
        help="A step may use time_limit_s of CPU time and this many times time_limit_s of wall time.",
    ).tag(config=True)
    max_restarts = Integer(
        3,
        help="After a case kills its sandbox, remaining cases run in a fresh one, at most this many times.",
    ).tag(config=True)

    provider_class = Type(
        default_value="codetutor.judge.pool.SandboxPool",
        klass=SandboxProvider,
        help="Where sandboxes come from: a pool of ready ones (default) or SandboxProvider (one fresh per request).",
    ).tag(config=True)

    provider = Instance(SandboxProvider)

    @default("provider")
    def _provider_default(self) -> SandboxProvider:
        provider: SandboxProvider = self.provider_class(parent=self)  # type: ignore[operator]
        return provider

    async def close(self) -> None:
        await self.provider.close()

    # -- the pipeline -----------------------------------------------------

    async def judge(self, problem: Problem, submission: Submission) -> JudgeResult:
        """Judge ``submission``. Coroutine. Raises only for the judge's own failures."""
        if not problem.is_published:
            raise ProblemError(
                f"problem {problem.meta.id!r} has no expected values; publish it first"
            )
        started = time.monotonic()
        syntax = self.check_syntax(problem, submission)
        if syntax is not None:
            cases = [self._skipped(c) for c in problem.cases]
            return self._result(problem, Verdict.SYNTAX_ERROR, 0.0, cases, started, error=syntax)
        results: list[CaseResult] = []
        error: StudentError | None = None
        stdout: str | None = None
        first = 0
        run_cells = True
        cells_ran = False
        attempts = 0
        while first < len(problem.cases):
            attempts += 1
            outcome = await self.run_in_sandbox(problem, submission, first, run_cells)
            if run_cells and problem.meta.mode is Mode.FUNCTION and not cells_ran:
                cells_outcome, blame_unreported = outcome, False
                if self._cells_unclear(submission, outcome):
                    # The kernel died without a word on whether the student's cells had
                    # finished (reports sent just before a process dies can die with it).
                    # Run the cells alone: a crash there is theirs, else it was a case's.
                    cells_outcome = await self.run_in_sandbox(
                        problem, submission, len(problem.cases), True
                    )
                    blame_unreported = True
                error, stdout, failed_verdict = self.student_cells(
                    problem, submission, cells_outcome, blame_unreported
                )
                if failed_verdict is not None:
                    cases = [self._skipped(c) for c in problem.cases]
                    return self._result(
                        problem, failed_verdict, 0.0, cases, started, error=error, stdout=stdout
                    )
                # Resumed runs repeat cells known to finish: a crash there is a case's.
                cells_ran = True
            elif (
                problem.meta.mode is Mode.STDIO
                and outcome.ends.get(("cell", 0), {}).get("status") == "syntax"
            ):
                end = outcome.ends[("cell", 0)]
                error = _student_error(end, "syntax_error")
                cases = [self._skipped(c) for c in problem.cases]
                return self._result(problem, Verdict.SYNTAX_ERROR, 0.0, cases, started, error=error)
            new, stopped_at = self.case_results(problem, first, outcome)
            results.extend(new)
            if stopped_at is None:
                break
            first = stopped_at
            if attempts > self.max_restarts:
                results.extend(self._skipped(c) for c in problem.cases[first:])
                break
        verdict, score = overall(results)
        return self._result(problem, verdict, score, results, started, error=error, stdout=stdout)

    def check_syntax(self, problem: Problem, submission: Submission) -> StudentError | None:
        """A :class:`StudentError` if the student's code does not parse, else ``None``.

        IPython syntax (magics, ``!commands``) is transformed first, as the kernel would.
        """
        from IPython.core.inputtransformer2 import TransformerManager

        transformer = TransformerManager()
        for index, source in enumerate(submission.cells):
            try:
                code = transformer.transform_cell(source)
            except SyntaxError as e:
                return StudentError(
                    "syntax_error", e.msg or "invalid syntax", cell=index, line=e.lineno
                )
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ast.parse(code, filename=f"<cell {index + 1}>")
            except SyntaxError as e:
                lines = (e.text or "").rstrip("\n")
                return StudentError(
                    "syntax_error",
                    f"{type(e).__name__}: {e.msg}",
                    cell=index,
                    line=e.lineno,
                    traceback=f'  File "<cell {index + 1}>", line {e.lineno}\n    {lines}\n{type(e).__name__}: {e.msg}',
                )
            except (ValueError, MemoryError, RecursionError) as e:
                return StudentError("syntax_error", f"the code cannot be compiled: {e}", cell=index)
        return None

    def limits_for(self, problem: Problem, steps: int) -> RunLimits:
        meta = problem.meta
        wall = meta.time_limit_s * self.wall_time_factor
        return RunLimits(
            cpu_s=meta.time_limit_s,
            wall_s=wall,
            output_bytes=meta.output_limit_bytes,
            total_s=steps * wall + 10.0,
        )

    def kernel_spec(
        self, problem: Problem, submission: Submission, first: int, run_cells: bool
    ) -> dict[str, Any]:
        """What the harness needs: code, case code and names; never expected values."""
        cases = []
        for case in problem.cases[first:]:
            item = case.kernel_spec()
            item["show"] = case.visibility is Visibility.PUBLIC
            cases.append(item)
        return {
            "mode": problem.meta.mode.value,
            "cells": list(submission.cells),
            "run_cells": run_cells,
            "names": problem.solution_names,
            "cases": cases,
            "first_case": first,
            "output_limit": problem.meta.output_limit_bytes,
        }

    async def run_in_sandbox(
        self, problem: Problem, submission: Submission, first: int, run_cells: bool
    ) -> RunOutcome:
        """One sandbox, from acquiring to destroying it. Coroutine."""
        meta = problem.meta
        sandbox = await self.provider.acquire(meta.memory_limit_mb, meta.output_limit_bytes)
        try:
            spec = self.kernel_spec(problem, submission, first, run_cells)
            steps = len(submission.cells) + len(problem.cases) - first
            return await self.provider.runner.run(sandbox, spec, self.limits_for(problem, steps))
        finally:
            await self.provider.release(sandbox)

    @staticmethod
    def _cells_unclear(submission: Submission, outcome: RunOutcome) -> bool:
        """Whether a run was stopped at an unknown step before every cell reported."""
        return (
            outcome.aborted is not None
            and outcome.aborted_step is None
            and any(("cell", i) not in outcome.ends for i in range(len(submission.cells)))
        )

    def student_cells(
        self,
        problem: Problem,
        submission: Submission,
        outcome: RunOutcome,
        blame_unreported: bool = False,
    ) -> tuple[StudentError | None, str | None, Verdict | None]:
        """Outcome of the student's own cells: (error, their output, verdict if they failed).

        ``blame_unreported``: ``outcome`` ran the cells alone, so a run stopped at an
        unknown step was stopped in the first cell that did not report.
        """
        outputs: list[str] = []
        for index in range(len(submission.cells)):
            end = outcome.ends.get(("cell", index))
            if end is None:
                if outcome.aborted is not None and (
                    outcome.aborted_step == ("cell", index)
                    or (blame_unreported and outcome.aborted_step is None)
                ):
                    status = _ABORT_STATUS[outcome.aborted]
                    err = StudentError(status.value, _ABORT_MESSAGE[outcome.aborted], cell=index)
                    return err, "".join(outputs) or None, status.verdict
                break
            outputs.append(str(end.get("stdout") or ""))
            status_text = end.get("status")
            if status_text == "ok":
                continue
            error = end.get("error") or {}
            if status_text == "syntax":
                return (
                    _student_error(end, "syntax_error", index),
                    "".join(outputs) or None,
                    Verdict.SYNTAX_ERROR,
                )
            status = _HARNESS_STATUS.get(str(status_text), CaseStatus.ERROR)
            verdict = status.verdict
            return (
                StudentError(
                    verdict.value,
                    f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": "),
                    cell=index,
                    traceback=error.get("traceback"),
                ),
                "".join(outputs) or None,
                verdict,
            )
        return None, "".join(outputs) or None, None

    def case_results(
        self, problem: Problem, first: int, outcome: RunOutcome
    ) -> tuple[list[CaseResult], int | None]:
        """Results for cases from ``first``; and where to resume if the sandbox was stopped."""
        results = []
        for index in range(first, len(problem.cases)):
            case = problem.cases[index]
            end = outcome.ends.get(("case", index))
            if end is not None:
                results.append(self.compare(problem, case, end))
                continue
            if outcome.aborted is not None:
                status = _ABORT_STATUS[outcome.aborted]
                if outcome.aborted_step == ("case", index) or not results:
                    elapsed = (
                        outcome.aborted_elapsed_s
                        if outcome.aborted_step == ("case", index)
                        else 0.0
                    )
                    results.append(
                        CaseResult(
                            case.name,
                            case.visibility,
                            status,
                            time_ms=elapsed * 1000,
                            message=_ABORT_MESSAGE[outcome.aborted],
                        )
                    )
                    return results, index + 1 if index + 1 < len(problem.cases) else None
                return results, index
            # Neither a result nor an abort: the harness stopped reporting.
            results.append(
                CaseResult(
                    case.name,
                    case.visibility,
                    CaseStatus.ERROR,
                    message="the case did not report a result",
                )
            )
        return results, None

    def compare(self, problem: Problem, case: Case, end: dict[str, Any]) -> CaseResult:
        """Decide one case from its harness report, outside the sandbox."""
        time_ms = float(end.get("wall", 0.0)) * 1000
        status_text = end.get("status")
        result = CaseResult(case.name, case.visibility, CaseStatus.PASSED, time_ms=time_ms)
        stdout = end.get("stdout")
        if stdout:
            result.stdout = str(stdout)
        if status_text not in ("ok", None):
            result.status = _HARNESS_STATUS.get(str(status_text), CaseStatus.ERROR)
            error = end.get("error")
            if isinstance(error, dict):
                result.message = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(
                    ": "
                )
            elif end.get("message"):
                result.message = f"AssertionError: {end['message']}"
            elif result.status is CaseStatus.FAILED:
                result.message = "AssertionError"
            return result
        tolerance = problem.meta.float_tolerance
        try:
            if case.kind is CaseKind.VALUE:
                expected, actual = case.decoded_expected(), decode_json(str(end.get("value")))
                result.expected, result.actual = describe(expected), describe(actual)
                if not values_equal(expected, actual, tolerance):
                    result.status = CaseStatus.FAILED
            elif case.kind is CaseKind.ASSERT_EQUAL:
                left, right = decode_json(str(end.get("value"))), decode_json(str(end.get("other")))
                result.expected, result.actual = describe(right), describe(left)
                if not values_equal(right, left, tolerance):
                    result.status = CaseStatus.FAILED
                    result.message = "AssertionError"
            elif case.kind is CaseKind.STDIO:
                output = str(end.get("output", ""))
                result.expected, result.actual = str(case.expected)[:2000], output[:2000]
                if normalize_stdout(output) != normalize_stdout(str(case.expected)):
                    result.status = CaseStatus.FAILED
        except DecodeError:
            result.status = CaseStatus.FAILED
            result.message = "the value could not be read"
        return result

    # -- helpers ----------------------------------------------------------

    @staticmethod
    def _skipped(case: Case) -> CaseResult:
        return CaseResult(case.name, case.visibility, CaseStatus.SKIPPED)

    @staticmethod
    def _result(
        problem: Problem,
        verdict: Verdict,
        score: float,
        cases: list[CaseResult],
        started: float,
        *,
        error: StudentError | None = None,
        stdout: str | None = None,
    ) -> JudgeResult:
        return JudgeResult(
            verdict=verdict,
            score=score,
            time_ms=(time.monotonic() - started) * 1000,
            cases=cases,
            error=error,
            stdout=stdout,
            problem_id=problem.meta.id,
        )


def _student_error(end: dict[str, Any], kind: str, cell: int | None = None) -> StudentError:
    error = end.get("error") or {}
    return StudentError(
        kind,
        f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": "),
        cell=cell,
        traceback=error.get("traceback"),
    )


__all__ = ["Judge", "JudgeException", "JudgeResult"]
