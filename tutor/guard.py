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
    the reference that the starter code does not already give away; or
(c) it uses a word the instructor asked the tutor to avoid on this problem.

The guard judges the conversation, not only the reply: the tutor's earlier replies
to the student on the problem are joined with this one (a solution handed over a
line per turn), and the reply's code is applied to the student's current code as
a patch (a one-line fix that makes almost-correct code pass). Every function a
reply defines is tried under the reference's name through an adapter of any
arity, and every candidate is judged in one guard job, or the reply is withheld
unchecked when there are more than :attr:`SolutionGuard.max_judged_programs`.

Code is found, and compared, by :mod:`codetutor.tutor.snippets`: fenced blocks,
indented blocks, inline spans and code inside prose (Korean or English), also
joined in order, since a solution split across blocks is still a solution.
"""

from __future__ import annotations

import ast
import re
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
    Fragment,
    candidate_programs,
    conversation_programs,
    coverage,
    extract_fragments,
    normalise,
    patched_programs,
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


def _positional(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[int, int, bool]:
    """(positional parameters, of which required, whether it takes ``*args``)."""
    count = len(node.args.posonlyargs) + len(node.args.args)
    return count, count - len(node.args.defaults), node.args.vararg is not None


def _adapter(entry: str, target: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    """``def entry(*args, **kwargs)`` calling ``target`` whatever its arity.

    ``target`` gets the positional prefix it has parameters for (all of them if it
    takes ``*args``); required parameters beyond the arguments given get ``None``;
    parameters with defaults keep them.
    """
    count, required, varargs = _positional(target)
    if varargs:
        call = f"{target.name}(*args, **kwargs)"
    else:
        call = (
            f"{target.name}(*(args[:{count}] + (None,) * max(0, {required} - len(args))), **kwargs)"
        )
    return f"def {entry}(*args, **kwargs):\n    return {call}"


def entry_variants(program: str, solution: str) -> list[str]:
    """``program`` as the judge should see it: every function it defines tried as the entry.

    A reply that renames ``dedupe(xs)`` to ``unique(items, seen=None)`` still hands
    over the answer. For each function the program defines at top level, one
    variant binds every reference function the program lacks to that function
    through an adapter (:func:`_adapter`, any arity). The program itself comes
    first when it defines (or binds) every reference name, or defines no function.
    """
    try:
        program_tree = ast.parse(program)
        solution_tree = ast.parse(solution)
    except (SyntaxError, ValueError):
        return [program]
    defined = [
        node
        for node in program_tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    bound = {node.name for node in defined} | {
        node.id
        for node in ast.walk(program_tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    entries = [
        node.name
        for node in solution_tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    missing = [name for name in entries if name not in bound]
    if not missing or not defined:
        return [program]
    variants = [program] if len(missing) < len(entries) else []
    for target in defined:
        adapters = "\n\n".join(_adapter(name, target) for name in missing)
        variants.append(f"{program}\n\n\n{adapters}")
    return variants


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
        16,
        help="""Most programs judged for one check (one guard job). Every candidate
        that could solve the problem is judged; a reply with more than this is
        withheld unchecked (failing closed), so decoys cannot crowd the solution out.""",
    ).tag(config=True)
    max_patches = Integer(
        6,
        help="""Most patched versions of the student's code judged for one check (the
        reply's code applied to the lines it most resembles).""",
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

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> dict[str, bool]:
        """Coroutine: whether the judge accepts each of ``programs`` for ``problem``.

        Verdicts are remembered (a streamed reply is checked after every line: each
        program is judged once); the rest go to :attr:`checker` in one call (one
        guard job). Raises what the checker raises.
        """
        key = (problem.id, problem.version)
        unknown = [p for p in programs if (*key, p) not in self._verdicts]
        if unknown:
            verdicts = await self.checker.accepted(problem, unknown)
            for program, verdict in zip(unknown, verdicts, strict=True):
                self._verdicts[(*key, program)] = verdict
            while len(self._verdicts) > 2048:
                self._verdicts.popitem(last=False)
        result = {}
        for program in programs:
            self._verdicts.move_to_end((*key, program))
            result[program] = self._verdicts[(*key, program)]
        return result

    async def check(
        self,
        problem: TutorProblem,
        reply: str,
        *,
        earlier: list[str] | tuple[str, ...] = (),
        code: str = "",
    ) -> GuardResult:
        """Coroutine: decide whether ``reply`` may be shown to a student of ``problem``.

        The guard judges the conversation, not only the reply: ``earlier`` are the
        tutor's earlier replies to this student on this problem (oldest first),
        whose code is joined with this reply's, and ``code`` the student's current
        code, to which the reply's code is applied as a patch (a one-line fix that
        makes almost-correct code pass is a solution).

        Never raises for anything in the reply; judge failures withhold the reply
        when :attr:`fail_closed` (the default).
        """
        started = time.monotonic()
        try:
            result = await self._check(problem, reply, list(earlier), code or "")
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

    def _judged(
        self,
        problem: TutorProblem,
        fragments: list[Fragment],
        earlier: list[list[Fragment]],
        code: str,
    ) -> tuple[list[str], list[str]]:
        """(programs from the reply and the conversation, patched student programs)."""
        programs = candidate_programs(fragments) + conversation_programs(earlier, fragments)
        judged: list[str] = []
        for program in programs:
            if could_solve(program, problem):
                for variant in entry_variants(program, problem.solution):
                    if variant not in judged:
                        judged.append(variant)
        patches = [
            p
            for p in patched_programs(code, fragments, self.max_patches)
            if p not in judged and could_solve(p, problem)
        ]
        return judged, patches

    async def _check(
        self, problem: TutorProblem, reply: str, earlier_replies: list[str], code: str
    ) -> GuardResult:
        avoided = avoided_words(problem.avoid, reply)
        if avoided:
            return GuardResult(
                False,
                f"uses words the instructor asked the tutor to avoid: {', '.join(avoided)}",
                metrics.GuardDecision.withheld_avoided,
            )
        fragments = extract_fragments(reply)
        if not fragments:
            return GuardResult(True, "no code in the reply", metrics.GuardDecision.allowed)
        earlier = [extract_fragments(text) for text in earlier_replies]
        programs = candidate_programs(fragments)
        conversation = conversation_programs(earlier, fragments)
        # Fragments that do not parse still count for similarity (a half-quoted body).
        loose = [f.source for f in fragments]
        everything = [f.source for reply_fragments in earlier for f in reply_fragments] + loose
        score, closest = self.similar(
            problem,
            programs + conversation + loose + ["\n".join(loose), "\n".join(everything)],
        )
        if score >= self.similarity_threshold:
            return GuardResult(
                False,
                f"code closely matches the reference solution ({score:.0%} of it)",
                metrics.GuardDecision.withheld_similar,
                similarity=score,
                code=closest,
                checked=programs,
            )
        if not self.judge_replies:
            return GuardResult(
                True,
                f"code not judged (closest match {score:.0%} of the reference)",
                metrics.GuardDecision.allowed,
                similarity=score,
                checked=programs,
            )
        judged, patches = self._judged(problem, fragments, earlier, code)
        # The student's own code is judged with the patches: if it passes already, a
        # patch that passes gives nothing away.
        control = [code.strip("\n")] if patches else []
        batch = judged + [p for p in control if p not in judged] + patches
        if len(batch) > self.max_judged_programs:
            return GuardResult(
                False,
                f"too much code in the reply to check ({len(batch)} programs, "
                f"at most {self.max_judged_programs})",
                metrics.GuardDecision.withheld_judged,
                similarity=score,
                code=judged[0] if judged else "",
                checked=programs,
            )
        if not batch:
            return GuardResult(
                True,
                f"code cannot solve the problem (closest match {score:.0%} of the reference)",
                metrics.GuardDecision.allowed,
                similarity=score,
                checked=programs,
            )
        try:
            accepted = await self.accepted(problem, batch)
        except Exception as e:
            self.log.warning("guard could not judge reply code: %s", e)
            if self.fail_closed:
                return GuardResult(
                    False,
                    "code in the reply could not be checked",
                    metrics.GuardDecision.withheld_judged,
                    similarity=score,
                    code=batch[0],
                    checked=programs,
                )
            accepted = {}
        solving = next((p for p in judged if accepted.get(p)), None)
        if solving is not None:
            return GuardResult(
                False,
                "code in the reply solves the problem (accepted by the judge)",
                metrics.GuardDecision.withheld_judged,
                similarity=score,
                code=solving,
                checked=programs,
            )
        if control and not accepted.get(control[0]):
            fix = next((p for p in patches if accepted.get(p)), None)
            if fix is not None:
                return GuardResult(
                    False,
                    "code in the reply solves the problem applied to the student's code "
                    "(accepted by the judge)",
                    metrics.GuardDecision.withheld_judged,
                    similarity=score,
                    code=fix,
                    checked=programs,
                )
        return GuardResult(
            True,
            f"code does not solve the problem (closest match {score:.0%} of the reference)",
            metrics.GuardDecision.allowed,
            similarity=score,
            checked=programs,
        )


def avoided_words(avoid: tuple[str, ...] | list[str], text: str) -> list[str]:
    """The instructor's words to avoid (``metadata.codetutor.tutor.avoid``) that ``text`` uses.

    Case-insensitive; a word of letters and digits matches whole words only (``set``
    does not match ``settle``), anything else (phrases, Korean) as a substring.
    """
    found = []
    lowered = text.casefold()
    for word in avoid:
        needle = word.casefold().strip()
        if not needle:
            continue
        if re.fullmatch(r"[\w ]+", needle, re.ASCII):
            hit = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", lowered) is not None
        else:
            hit = needle in lowered
        if hit:
            found.append(word)
    return found


def _contains(haystack: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))
