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

Code is found in fenced blocks (```/~~~), indented blocks, inline spans, and
code-looking spans inside prose (Korean or English); fragments are also tried
concatenated in order, since a solution split across blocks is still a solution.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import textwrap
import time
import tokenize
from collections import OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from codetutor.tutor import metrics
from codetutor.tutor.checker import JudgeServiceChecker, SolutionChecker
from codetutor.tutor.problems import TutorProblem
from traitlets import Bool, Float, Instance, Integer, Type, default
from traitlets.config import LoggingConfigurable

_BUILTINS = frozenset(dir(builtins))
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})[ \t]*([\w+-]*)[^\n]*$")
_INLINE = re.compile(r"(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]+")
_CODE_START = re.compile(
    r"(?:def|class|return|for|while|if|import|from|print|lambda|with|try|yield)\b"
    r"|[A-Za-z_][\w.]*\s*(?:\(|=(?!=)|\[|\+=|-=)"
)
_CODE_SIGNAL = re.compile(r"[()\[\]=:]|\b(?:def|return|for|in|import|print|lambda)\b")


# -- finding code in a reply ---------------------------------------------------


@dataclass
class Fragment:
    """A piece of code found in a reply, in reply order."""

    source: str
    kind: str  # "fenced" | "indented" | "inline" | "prose"


def _parses(source: str) -> bool:
    try:
        ast.parse(source)
    except (SyntaxError, ValueError):
        return False
    return True


def _code_like(source: str) -> bool:
    """Whether a parseable span looks like code rather than a word or two of prose."""
    stripped = source.strip()
    if not stripped or not _CODE_SIGNAL.search(stripped):
        return False
    try:
        tree = ast.parse(stripped)
    except (SyntaxError, ValueError):
        return False
    # A bare name or constant ("hello", "list") is prose, not code.
    return not all(
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Name | ast.Constant)
        for node in tree.body
    )


def _spans_in_prose(line: str) -> list[str]:
    """Code-looking spans inside a line of prose.

    The line is cut at Hangul (Korean prose around code) and each ASCII-ish run is
    searched for the longest parseable span starting at a code-like word.
    """
    spans: list[str] = []
    for run in _HANGUL.split(line):
        run = run.strip().rstrip(".,;!?")
        if len(run) < 3:
            continue
        if _code_like(run):
            spans.append(run)
            continue
        words = list(re.finditer(r"\S+", run))[:80]
        index = 0
        while index < len(words):
            start = words[index].start()
            if not _CODE_START.match(run, start):
                index += 1
                continue
            best_end = -1
            for end_index in range(len(words) - 1, index - 1, -1):
                candidate = run[start : words[end_index].end()].rstrip(".,;!?")
                if _code_like(candidate):
                    best_end = end_index
                    spans.append(candidate)
                    break
            index = best_end + 1 if best_end >= 0 else index + 1
    return spans


def extract_fragments(reply: str) -> list[Fragment]:
    """All code in ``reply``: fenced and indented blocks, inline spans, code in prose.

    Fragments keep their original text (indentation included) so that blocks that
    continue each other can be concatenated back into one program.
    """
    fragments: list[Fragment] = []
    lines = reply.splitlines()
    prose: list[str] = []
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match:
            fence = match.group(1)
            body: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            i += 1
            if any(line.strip() for line in body):
                fragments.append(Fragment("\n".join(body), "fenced"))
            prose.append("")
            continue
        if (
            lines[i].startswith(("    ", "\t"))
            and lines[i].strip()
            and (i == 0 or not lines[i - 1].strip())
        ):
            body = []
            while i < len(lines) and (lines[i].startswith(("    ", "\t")) or not lines[i].strip()):
                body.append(lines[i])
                i += 1
            block = textwrap.dedent("\n".join(body)).strip("\n")
            if _parses(block) or _code_like(block):
                fragments.append(Fragment(block, "indented"))
                prose.append("")
            else:
                prose.extend(body)
            continue
        prose.append(lines[i])
        i += 1

    text = "\n".join(prose)
    inline_spans: list[tuple[int, str]] = []
    for match in _INLINE.finditer(text):
        code = match.group(2).strip()
        if _code_like(code):
            inline_spans.append((match.start(), code))
    without_inline = _INLINE.sub(" ", text)
    prose_lines = [line for line in without_inline.splitlines() if line.strip()]
    fragments.extend(Fragment(code, "inline") for _, code in inline_spans)
    # Unfenced multi-line code (a def with its body typed straight into the prose).
    run: list[str] = []
    for line in [*prose_lines, ""]:
        if line.strip() and (line[:1] in " \t" or _CODE_START.match(line.strip())):
            run.append(line)
            continue
        if len(run) > 1:
            block = textwrap.dedent("\n".join(run))
            if _parses(block) and _code_like(block):
                fragments.append(Fragment(block, "prose"))
                run = []
                continue
        for single in run:
            fragments.extend(Fragment(span, "prose") for span in _spans_in_prose(single))
        run = []
        if line.strip():
            fragments.extend(Fragment(span, "prose") for span in _spans_in_prose(line))
    return fragments


def candidate_programs(fragments: list[Fragment], limit: int = 12) -> list[str]:
    """Programs to check: all fragments joined in order, the blocks joined, each one.

    Joined variants come first (a solution split across blocks); duplicates and
    sources that do not parse are dropped.
    """
    blocks = [f.source for f in fragments if f.kind in ("fenced", "indented")]
    others = [f.source for f in fragments if f.kind not in ("fenced", "indented")]
    variants: list[str] = []
    for group in (blocks, blocks + others, others):
        if len(group) > 1:
            variants.append("\n".join(group))
            variants.append("\n\n".join(textwrap.dedent(g) for g in group))
    variants.extend(textwrap.dedent(f.source) for f in fragments)
    seen: set[str] = set()
    programs: list[str] = []
    for source in variants:
        source = source.strip("\n")
        if source in seen or not _parses(source):
            continue
        seen.add(source)
        programs.append(source)
    return programs[:limit]


# -- normalising code -------------------------------------------------------------


class _Canonicaliser(ast.NodeTransformer):
    """Renames every identifier the code binds itself to ``_``; drops docstrings.

    Builtins, imported modules and attribute names keep their names: they say
    *what* the code does, the student-chosen names do not.
    """

    def __init__(self, keep: set[str]) -> None:
        self.keep = keep

    def _name(self, name: str) -> str:
        return name if name in self.keep else "_"

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = "_"
        node.annotation = None
        return node

    def _strip_docstring(self, node: Any) -> None:
        body = node.body
        if (
            body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            node.body = body[1:] or [ast.Pass()]

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = "_"
        node.returns = None
        self._strip_docstring(node)
        self.generic_visit(node)
        return node

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        node.name = "_"
        node.returns = None
        self._strip_docstring(node)
        self.generic_visit(node)
        return node

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = "_"
        self._strip_docstring(node)
        self.generic_visit(node)
        return node

    def visit_Module(self, node: ast.Module) -> ast.AST:
        self._strip_docstring(node)
        self.generic_visit(node)
        return node


def _imported_names(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound


def _tokens_of(source: str) -> list[str]:
    tokens: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.NEWLINE:
                tokens.append(";")
            elif tok.type == tokenize.INDENT:
                tokens.append("{")
            elif tok.type == tokenize.DEDENT:
                tokens.append("}")
            else:
                tokens.append(tok.string)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return tokens


def normalise_statements(source: str) -> list[list[str]]:
    """``source`` as canonical token lists, one per top-level statement.

    Parseable code goes through the AST (:class:`_Canonicaliser`, then
    ``ast.unparse``) so names, formatting, comments and docstrings do not matter.
    A fragment that does not parse is tokenised directly, with every name that is
    not a keyword, builtin or attribute replaced by ``_``.
    """
    source = textwrap.dedent(source)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        tokens = _tokens_of(source)
        out: list[str] = []
        for index, tok in enumerate(tokens):
            is_name = tok.isidentifier() and not keyword.iskeyword(tok)
            after_dot = index > 0 and tokens[index - 1] == "."
            out.append("_" if is_name and tok not in _BUILTINS and not after_dot else tok)
        return [out] if out else []
    keep = set(_BUILTINS - _bound_names(tree)) | _imported_names(tree)
    tree = _Canonicaliser(keep).visit(tree)
    return [_tokens_of(ast.unparse(statement)) for statement in tree.body]


def normalise(source: str) -> list[str]:
    """``source`` as one canonical token list (see :func:`normalise_statements`)."""
    return [tok for statement in normalise_statements(source) for tok in statement]


def reference_tokens(solution: str, starter: str) -> list[str]:
    """The canonical tokens of the part of the solution the starter does not give.

    What the starter code already contains (the function header, reading the
    input) is something every student has; it is not a secret. Runs of at least
    three tokens that the starter shares with the solution, in order, are removed.
    """
    reference = normalise(solution)
    given = normalise(starter) if starter else []
    if not given:
        return reference
    matcher = SequenceMatcher(None, reference, given, autojunk=False)
    drop: set[int] = set()
    for block in matcher.get_matching_blocks():
        if block.size >= 3:
            drop.update(range(block.a, block.a + block.size))
    return [tok for index, tok in enumerate(reference) if index not in drop]


def coverage(reference: list[str], candidate: list[str]) -> float:
    """Fraction of ``reference`` tokens that ``candidate`` reproduces, in order."""
    if not reference or not candidate:
        return 0.0
    matcher = SequenceMatcher(None, reference, candidate, autojunk=False)
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return matched / len(reference)


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
