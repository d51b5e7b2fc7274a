"""The solution guard: no reply that gives the solution away reaches a student.

Every reply of the tutor passes :meth:`SolutionGuard.check` before it is sent. The
guard does not trust the model: it finds all code in the reply and withholds the
reply when

(a) some of that code *solves* the problem — it is judged against the problem's
    public and hidden tests by the judge's workers, as an internal guard job
    (:attr:`SolutionGuard.checker_class`; the tutor never runs code); or
(b) some of that code *closely matches* the reference solution once names and
    formatting are normalised (AST-based: identifiers renamed canonically,
    docstrings and comments dropped, layout re-rendered), counting only the part of
    the reference that the starter code does not already give away.

Code is found, and compared, by :mod:`codetutor.tutor.snippets`: fenced blocks,
indented blocks, inline spans and code inside prose (Korean or English), also
joined in order, since a solution split across blocks is still a solution.
"""

from __future__ import annotations

import ast
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from traitlets import Bool, Float, Instance, Integer, Type, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor import metrics
from codetutor.tutor.checker import JudgeServiceChecker, SolutionChecker
from codetutor.tutor.problems import TutorProblem
from codetutor.tutor.snippets import (
    candidate_programs,
    coverage,
    extract_fragments,
    normalise,
    reference_tokens,
)

# -- the guard ----------------------------------------------------------------


@dataclass
class GuardResult:
    """The guard's decision about one reply.

    ``reason`` is a short machine-friendly explanation; ``similarity`` the highest
    coverage of the reference found; ``code`` the offending program if withheld.
    """

    allowed: bool
    reason: str
    decision: metrics.GuardDecision
    similarity: float = 0.0
    code: str = ""
    checked: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "allowed": self.allowed,
            "reason": self.reason,
            "similarity": round(self.similarity, 3),
        }


def _function_arity(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    return len(node.args.posonlyargs) + len(node.args.args)


def _with_entry_aliases(program: str, solution: str) -> str:
    """Add ``entry = renamed`` for reference functions the program defines under another name.

    A reply that renames ``dedupe`` to ``remove_dups`` still hands over the answer;
    aliasing by arity lets the judge see that.
    """
    try:
        program_tree = ast.parse(program)
        solution_tree = ast.parse(solution)
    except (SyntaxError, ValueError):
        return program
    defined = {
        node.name: _function_arity(node)
        for node in program_tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    aliases = []
    for node in solution_tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or node.name in defined:
            continue
        same_arity = [name for name, arity in defined.items() if arity == _function_arity(node)]
        if len(same_arity) >= 1:
            aliases.append(f"{node.name} = {same_arity[0]}")
    return program + ("\n\n" + "\n".join(aliases) if aliases else "")


def could_solve(program: str, problem: TutorProblem) -> bool:
    """Whether judging ``program`` could possibly end in *accepted*.

    In function mode the tests call the solution's functions, so the program must
    define a function (``def`` or ``lambda``) or bind one of the solution's names; in
    stdio mode it must print or write. Anything else cannot pass and is not judged
    (the similarity check still covers it).
    """
    try:
        tree = ast.parse(program)
    except (SyntaxError, ValueError):
        return False
    if problem.mode == "stdio":
        return any(
            isinstance(node, ast.Call)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in ("print", "exec", "eval"))
                or (
                    isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("write", "writelines")
                )
            )
            for node in ast.walk(tree)
        )
    names = set(problem.solution_names)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
            return True
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id in names:
            return True
        if isinstance(node, ast.alias) and (node.asname or node.name) in names:
            return True
    return False


class SolutionGuard(LoggingConfigurable):
    """Checks replies against a problem (see the module docstring).

    Code that could solve the problem is judged by :attr:`checker` — on the judge
    service's workers by default; the guard itself never runs code.
    """

    similarity_threshold = Float(
        0.8,
        help="""Withhold a reply whose code reproduces at least this fraction of the
        reference solution's canonical tokens (names and formatting normalised,
        starter code excluded).""",
    ).tag(config=True)
    min_reference_tokens = Integer(
        3,
        help="References (beyond the starter) shorter than this are compared exactly.",
    ).tag(config=True)
    max_judged_programs = Integer(
        6, help="Most candidate programs from one reply run through the judge."
    ).tag(config=True)
    judge_replies = Bool(True, help="Judge the code in replies in the sandbox.").tag(config=True)
    fail_closed = Bool(
        True,
        help="Withhold a reply whose code could not be judged (judge failure).",
    ).tag(config=True)

    checker_class = Type(
        default_value=JudgeServiceChecker,
        klass=SolutionChecker,
        help="""Who judges the code in replies: JudgeServiceChecker (guard jobs on the
        judge service's workers, the default), or
        codetutor.judge.local.LocalChecker (the judge in this process: the CLI, tests).""",
    ).tag(config=True)

    checker = Instance(SolutionChecker)

    @default("checker")
    def _default_checker(self) -> SolutionChecker:
        checker: SolutionChecker = self.checker_class(parent=self)
        return checker

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._verdicts: OrderedDict[tuple[str, int, str], bool] = OrderedDict()

    async def close(self) -> None:
        """Coroutine: release the checker."""
        await self.checker.close()

    def similar(self, problem: TutorProblem, programs: list[str]) -> tuple[float, str]:
        """Highest coverage of the reference by any program, and that program."""
        reference = reference_tokens(problem.solution, problem.starter)
        best, best_program = 0.0, ""
        for program in programs:
            candidate = normalise(program)
            if len(reference) < self.min_reference_tokens:
                score = 1.0 if reference and _contains(candidate, reference) else 0.0
            else:
                score = coverage(reference, candidate)
            if score > best:
                best, best_program = score, program
        return best, best_program

    async def solving(self, problem: TutorProblem, programs: list[str]) -> str | None:
        """Coroutine: the first of ``programs`` the judge accepts for ``problem``, or None.

        Verdicts are remembered (a streamed reply is checked after every line:
        each program is judged once); the rest go to :attr:`checker` in one call.
        Raises what the checker raises.
        """
        key = (problem.id, problem.version)
        unknown = [p for p in programs if (*key, p) not in self._verdicts]
        if unknown:
            accepted = await self.checker.accepted(problem, unknown)
            for program, verdict in zip(unknown, accepted, strict=True):
                self._verdicts[(*key, program)] = verdict
            while len(self._verdicts) > 2048:
                self._verdicts.popitem(last=False)
        for program in programs:
            self._verdicts.move_to_end((*key, program))
            if self._verdicts[(*key, program)]:
                return program
        return None

    async def check(self, problem: TutorProblem, reply: str) -> GuardResult:
        """Coroutine: decide whether ``reply`` may be shown to a student of ``problem``.

        Never raises for anything in the reply; judge failures withhold the reply
        when :attr:`fail_closed` (the default).
        """
        started = time.monotonic()
        try:
            result = await self._check(problem, reply)
        finally:
            metrics.TUTOR_GUARD_DURATION.observe(time.monotonic() - started)
        metrics.TUTOR_GUARD_DECISIONS.labels(decision=result.decision.value).inc()
        if not result.allowed:
            self.log.info(
                "withheld a reply for %s: %s (similarity %.2f)",
                problem.id,
                result.reason,
                result.similarity,
            )
        return result

    async def _check(self, problem: TutorProblem, reply: str) -> GuardResult:
        fragments = extract_fragments(reply)
        programs = candidate_programs(fragments)
        if not fragments:
            return GuardResult(True, "no code in the reply", metrics.GuardDecision.allowed)
        # Fragments that do not parse still count for similarity (a half-quoted body).
        loose = [f.source for f in fragments]
        score, closest = self.similar(problem, programs + loose + ["\n".join(loose)])
        if score >= self.similarity_threshold:
            return GuardResult(
                False,
                f"code closely matches the reference solution ({score:.0%} of it)",
                metrics.GuardDecision.withheld_similar,
                similarity=score,
                code=closest,
                checked=programs,
            )
        if self.judge_replies:
            judged = [
                _with_entry_aliases(program, problem.solution)
                for program in programs
                if could_solve(program, problem)
            ][: self.max_judged_programs]
            try:
                solving = await self.solving(problem, judged) if judged else None
            except Exception as e:
                self.log.warning("guard could not judge reply code: %s", e)
                if self.fail_closed:
                    return GuardResult(
                        False,
                        "code in the reply could not be checked",
                        metrics.GuardDecision.withheld_judged,
                        similarity=score,
                        code=judged[0],
                        checked=programs,
                    )
                solving = None
            if solving is not None:
                return GuardResult(
                    False,
                    "code in the reply solves the problem (accepted by the judge)",
                    metrics.GuardDecision.withheld_judged,
                    similarity=score,
                    code=solving,
                    checked=programs,
                )
        return GuardResult(
            True,
            f"code does not solve the problem (closest match {score:.0%} of the reference)",
            metrics.GuardDecision.allowed,
            similarity=score,
            checked=programs,
        )


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
