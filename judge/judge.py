"""The judge: a problem and a submission in, a verdict out.

Judging is a pipeline of small steps (``judge()`` reads top to bottom):

1. check the student's code parses (no sandbox needed for a syntax error);
2. take a ready sandbox and run the student's cells in one window of the
   judge's clock (:mod:`codetutor.judge.runner`);
3. evaluate each case in a window of its own: function-mode tests run in the
   checker (:mod:`codetutor.judge.checker`), which asks the student's sandbox
   only for the operations that touch the student's names, and gets plain
   data back; stdio programs run once per case with that case's stdin;
4. if a case stopped its sandbox (time, memory, output, a crash), the
   remaining cases run in a fresh one, up to ``max_restarts`` times;
5. compare values and stdout with the expected ones, outside every sandbox
   (:mod:`codetutor.judge.values`); the verdict is that of the first case
   that did not pass.

The student's process decides nothing: what it sends is bounded and
validated here, and time, output, memory and death are measured from outside.

Whatever the student's code does, the outcome is a :class:`JudgeResult`;
only the judge's own failures raise (:class:`JudgeFailure`,
:class:`SandboxError`) or become ``internal_error``.
"""

from __future__ import annotations

import ast
import contextlib
import time
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from traitlets import Float, Instance, Integer, Type, default
from traitlets.config import LoggingConfigurable

from .cases import Case, CaseKind, Visibility
from .checker import Checker
from .exceptions import JudgeException, ProblemError
from .pool import SandboxProvider
from .problem import Mode, Problem
from .reports import cell_report, checker_report, error_fields, program_report
from .runner import Abort, NoResult, SandboxSession, StepAborted, StepLimits
from .submission import Submission
from .values import DecodeError, decode_json, describe, normalize_stdout, values_equal
from .verdict import CaseResult, CaseStatus, JudgeResult, StudentError, Verdict, overall

_ABORT_STATUS = {
    Abort.TIMEOUT: CaseStatus.TIMEOUT,
    Abort.MEMORY: CaseStatus.MEMORY_LIMIT,
    Abort.OUTPUT: CaseStatus.OUTPUT_LIMIT,
    Abort.DIED: CaseStatus.ERROR,
}
_REPORTED_STATUS = {
    "error": CaseStatus.ERROR,
    "output_limit": CaseStatus.OUTPUT_LIMIT,
    "memory": CaseStatus.MEMORY_LIMIT,
    "syntax": CaseStatus.ERROR,
    "failed": CaseStatus.FAILED,
}
_ABORT_MESSAGE = {
    Abort.TIMEOUT: "time limit exceeded",
    Abort.MEMORY: "memory limit exceeded",
    Abort.OUTPUT: "output limit exceeded",
    Abort.DIED: "the kernel died (a crash or os._exit)",
}
#: operations the checker may ask of a student's sandbox (see _kernel._OPERATIONS)
_OPERATIONS = frozenset(
    "call value getitem setitem delitem setattr len list bool str repr format contains "
    "eq ne lt le gt ge add sub mul truediv floordiv mod pow neg pos abs radd rsub rmul "
    "int float hash".split()
)


@dataclass
class CaseOutcome:
    """What happened to one case, before it is compared with the expected value.

    ``report``: the checker's report (function mode) or the harness's
    (stdio mode), already validated; ``None`` when the case was stopped or
    never ran.
    """

    report: dict[str, Any] | None = None
    aborted: Abort | None = None
    time_ms: float = 0.0
    stdout: str | None = None
    skipped: bool = False


@dataclass
class Evaluation:
    """Everything a run of a submission produced: the cells' fate and each case's outcome."""

    error: StudentError | None = None
    stdout: str | None = None
    #: set when the student's cells failed (the cases were not run)
    cells_verdict: Verdict | None = None
    cases: list[CaseOutcome] = field(default_factory=list)


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

    checker = Instance(Checker)

    @default("checker")
    def _checker_default(self) -> Checker:
        return Checker(parent=self)

    async def close(self) -> None:
        await self.provider.close()
        await self.checker.close()

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
        evaluation = await self.evaluate(problem, submission)
        if evaluation.cells_verdict is not None:
            cases = [self._skipped(c) for c in problem.cases]
            return self._result(
                problem,
                evaluation.cells_verdict,
                0.0,
                cases,
                started,
                error=evaluation.error,
                stdout=evaluation.stdout,
            )
        results = [
            self.compare(problem, case, outcome)
            for case, outcome in zip(problem.cases, evaluation.cases, strict=True)
        ]
        verdict, score = overall(results)
        return self._result(
            problem,
            verdict,
            score,
            results,
            started,
            error=evaluation.error,
            stdout=evaluation.stdout,
        )

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

    def limits_for(self, problem: Problem) -> StepLimits:
        """The limits of one step (the student's cells together, or one case)."""
        meta = problem.meta
        return StepLimits(
            cpu_s=meta.time_limit_s,
            wall_s=meta.time_limit_s * self.wall_time_factor,
            output_bytes=meta.output_limit_bytes,
        )

    @contextlib.asynccontextmanager
    async def session(self, problem: Problem) -> AsyncIterator[SandboxSession]:
        """A fresh sandbox for ``problem``, watched; destroyed afterwards. Coroutine."""
        meta = problem.meta
        sandbox = await self.provider.acquire(meta.memory_limit_mb, meta.output_limit_bytes)
        try:
            async with self.provider.runner.session(sandbox) as session:
                yield session
        finally:
            await self.provider.release(sandbox)

    async def evaluate(self, problem: Problem, submission: Submission) -> Evaluation:
        """Run ``submission``'s cells and every case; nothing compared yet. Coroutine.

        A case that stops its sandbox (time, memory, output, a crash) costs
        that sandbox: the remaining cases run in a fresh one, after the
        student's cells again, at most ``max_restarts`` times.
        """
        evaluation = Evaluation()
        runs = 0
        while len(evaluation.cases) < len(problem.cases):
            runs += 1
            if runs > self.max_restarts + 1:
                evaluation.cases += [
                    CaseOutcome(skipped=True)
                    for _ in range(len(problem.cases) - len(evaluation.cases))
                ]
                break
            async with self.session(problem) as session:
                if problem.meta.mode is Mode.STDIO:
                    await self.run_programs(session, problem, submission, evaluation)
                    continue
                first_run = runs == 1
                failed = await self.run_cells(session, problem, submission, evaluation, first_run)
                if failed and first_run:
                    return evaluation
                if failed:
                    # Cells that finished before fail now: every case left fails with them.
                    evaluation.cases += [
                        CaseOutcome(report={"status": "error", "error": failed})
                        for _ in range(len(problem.cases) - len(evaluation.cases))
                    ]
                    break
                await self.run_cases(session, problem, evaluation)
        return evaluation

    async def run_cells(
        self,
        session: SandboxSession,
        problem: Problem,
        submission: Submission,
        evaluation: Evaluation,
        record: bool,
    ) -> dict[str, str] | None:
        """Run the student's cells in one window. Coroutine.

        Returns ``None`` if they all finished, else error info; with
        ``record`` the failure (or the cells' output) is recorded in ``evaluation``.
        """
        window = session.open(("cells", 0), self.limits_for(problem), show=True)
        failure: tuple[int, CaseStatus, dict[str, str]] | None = None
        for index, source in enumerate(submission.cells):
            if not source.strip():
                continue
            try:
                report = cell_report(
                    await session.call(
                        "cells", {"cells": [source], "lim": problem.meta.output_limit_bytes}
                    )
                )
            except StepAborted as e:
                message = _ABORT_MESSAGE[e.reason]
                failure = (index, _ABORT_STATUS[e.reason], {"ename": "", "evalue": message})
                break
            except NoResult as e:
                failure = (index, CaseStatus.ERROR, {"ename": "RuntimeError", "evalue": e.message})
                break
            if report["status"] != "ok":
                status = _REPORTED_STATUS.get(report["status"], CaseStatus.ERROR)
                failure = (index, status, report.get("error") or {})
                if report["status"] == "syntax" and record:
                    evaluation.cells_verdict = Verdict.SYNTAX_ERROR
                break
        session.close()
        if record:
            evaluation.stdout = window.stdout
        if failure is None:
            return None
        index, status, error = failure
        if record:
            verdict = evaluation.cells_verdict or status.verdict
            evaluation.cells_verdict = verdict
            message = f"{error.get('ename', '')}: {error.get('evalue', '')}".strip(": ")
            evaluation.error = StudentError(
                "syntax_error" if verdict is Verdict.SYNTAX_ERROR else status.value,
                message or status.value,
                cell=index,
                traceback=error.get("traceback"),
            )
        return error

    async def run_cases(
        self, session: SandboxSession, problem: Problem, evaluation: Evaluation
    ) -> None:
        """Run cases from the first without an outcome until one stops the sandbox. Coroutine."""
        first = len(evaluation.cases)
        limits = self.limits_for(problem)

        async def rpc(request: dict[str, Any]) -> dict[str, Any]:
            return await self.student_operation(session, request, problem.meta.output_limit_bytes)

        async with self.checker.open(
            problem.checker_cases(), problem.solution_imports, problem.student_names
        ) as run:
            for index in range(first, len(problem.cases)):
                case = problem.cases[index]
                window = session.open(("case", index), limits, show=_shown(case))
                outcome = CaseOutcome()
                try:
                    for earlier in range(first) if index == first else ():
                        # A fresh sandbox: earlier cases' setup again (their objects are gone).
                        await session.guard(run.setup(earlier, rpc))
                    outcome.report = checker_report(await session.guard(run.case(index, rpc)))
                except StepAborted as e:
                    outcome.aborted = e.reason
                session.close()
                outcome.time_ms = window.wall_s * 1000
                outcome.stdout = window.stdout
                evaluation.cases.append(outcome)
                if outcome.aborted is not None:
                    return

    async def student_operation(
        self, session: SandboxSession, request: dict[str, Any], output_limit: int
    ) -> dict[str, Any]:
        """Perform one operation the checker asks of the student's code; its validated reply.

        Raises :class:`StepAborted` when the sandbox is stopped meanwhile.
        """
        if request.get("o") not in _OPERATIONS or not isinstance(request.get("t"), dict):
            return {"e": {"ename": "TypeError", "evalue": "an operation the judge does not know"}}
        try:
            reply = await session.call("op", {**request, "lim": output_limit})
        except NoResult as e:
            return {"e": {"ename": "RuntimeError", "evalue": e.message}, "status": "error"}
        if isinstance(reply, dict) and isinstance(reply.get("v"), str):
            return {"v": reply["v"]}
        if isinstance(reply, dict) and isinstance(reply.get("e"), dict):
            status = reply.get("status")
            if status not in ("memory", "output_limit"):
                status = "error"
            return {"e": error_fields(reply["e"]), "status": status}
        return {
            "e": {"ename": "RuntimeError", "evalue": "the harness's reply was not understood"},
            "status": "error",
        }

    async def run_programs(
        self,
        session: SandboxSession,
        problem: Problem,
        submission: Submission,
        evaluation: Evaluation,
    ) -> None:
        """Stdio mode: run the program once per case, each with that case's stdin only. Coroutine."""
        program = "\n".join(submission.cells)
        limits = self.limits_for(problem)
        for index in range(len(evaluation.cases), len(problem.cases)):
            case = problem.cases[index]
            window = session.open(("case", index), limits, show=False)
            outcome = CaseOutcome()
            try:
                reply = await session.call(
                    "program",
                    {
                        "program": program,
                        "stdin": case.stdin,
                        "lim": problem.meta.output_limit_bytes,
                    },
                )
                outcome.report = program_report(reply, problem.meta.output_limit_bytes)
            except StepAborted as e:
                outcome.aborted = e.reason
            except NoResult as e:
                outcome.report = {
                    "status": "error",
                    "error": {"ename": "RuntimeError", "evalue": e.message},
                }
            session.close()
            outcome.time_ms = window.wall_s * 1000
            evaluation.cases.append(outcome)
            if outcome.aborted is not None:
                return
            if outcome.report and outcome.report["status"] == "syntax":
                evaluation.cells_verdict = Verdict.SYNTAX_ERROR
                evaluation.error = _student_error(outcome.report, "syntax_error")
                return

    def compare(self, problem: Problem, case: Case, outcome: CaseOutcome) -> CaseResult:
        """Decide one case from its outcome, outside every sandbox."""
        result = CaseResult(case.name, case.visibility, CaseStatus.PASSED, time_ms=outcome.time_ms)
        if outcome.skipped:
            result.status = CaseStatus.SKIPPED
            return result
        if outcome.stdout:
            result.stdout = outcome.stdout
        if outcome.aborted is not None:
            result.status = _ABORT_STATUS[outcome.aborted]
            result.message = _ABORT_MESSAGE[outcome.aborted]
            return result
        end = outcome.report or {"status": "error"}
        status_text = end.get("status")
        if status_text not in ("passed", "ok"):
            result.status = _REPORTED_STATUS.get(str(status_text), CaseStatus.ERROR)
            error = end.get("error")
            if isinstance(error, dict):
                result.message = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(
                    ": "
                )
            elif end.get("message"):
                result.message = f"AssertionError: {end['message']}"
            elif result.status is CaseStatus.FAILED:
                result.message = "AssertionError"
            else:
                result.message = "the case did not finish"
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


def _shown(case: Case) -> bool:
    """Whether what the student's code prints during ``case`` may reach the student."""
    return case.visibility is Visibility.PUBLIC


def _student_error(end: dict[str, Any], kind: str, cell: int | None = None) -> StudentError:
    error = end.get("error") or {}
    return StudentError(
        kind,
        f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": "),
        cell=cell,
        traceback=error.get("traceback"),
    )


__all__ = ["Judge", "JudgeException", "JudgeResult"]
