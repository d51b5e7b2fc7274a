"""Finding code in a tutor reply, and comparing code with names and layout ignored.

:func:`extract_fragments` finds code in fenced blocks (```/~~~), indented blocks,
inline spans, and code-looking spans inside prose (Korean or English);
:func:`candidate_programs` also joins fragments in order, since a solution split
across blocks is still a solution. :func:`normalise` turns code into canonical
tokens (identifiers renamed, docstrings and comments dropped, layout re-rendered)
and :func:`coverage` says how much of a reference some code reproduces. The
solution guard (:mod:`codetutor.tutor.guard`) is built on these.
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import textwrap
import tokenize
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

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
        # a compound statement's header ("if c in 'aeiou':") is code too: a one-line fix
        tree = ast.parse(stripped + "\n    pass" if stripped.endswith(":") else stripped)
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


def candidate_programs(fragments: list[Fragment], limit: int | None = None) -> list[str]:
    """Programs to check: all fragments joined in order, the blocks joined, each one.

    Joined variants come first (a solution split across blocks); duplicates and
    sources that do not parse are dropped. All of them unless ``limit`` is given:
    a guard that keeps only some can be pushed past the real solution by decoys.
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
    return programs if limit is None else programs[:limit]


def conversation_programs(earlier: list[list[Fragment]], current: list[Fragment]) -> list[str]:
    """Programs from a whole conversation: every earlier reply's code, then this reply's.

    A solution handed over a line per turn ("line 1", then "line 2") is only whole
    when the turns are read together; the code blocks, and all fragments, of every
    reply are joined in order (as :func:`candidate_programs` joins one reply's).
    """
    if not any(earlier) or not current:
        return []
    fragments = [f for reply in earlier for f in reply] + current
    blocks = [f.source for f in fragments if f.kind in ("fenced", "indented")]
    variants: list[str] = []
    for group in (blocks, [f.source for f in fragments]):
        if len(group) > 1:
            variants.append("\n".join(group))
            variants.append("\n\n".join(textwrap.dedent(g) for g in group))
    programs: list[str] = []
    for source in variants:
        source = source.strip("\n")
        if source not in programs and _parses(source):
            programs.append(source)
    return programs


def _indent_of(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def patched_programs(code: str, fragments: list[Fragment], limit: int = 6) -> list[str]:
    """The student's ``code`` with the reply's code applied to it, as a patch would be.

    A one-line fix to almost-correct code is a solution too. Each fragment of at
    most three lines replaces the student's lines it most resembles (at their
    indentation); a fragment that defines functions is appended (a later ``def``
    replaces the student's). Only patched programs that parse and differ from
    ``code`` are kept, the closest matches first, at most ``limit``.
    """
    if not code.strip() or not fragments:
        return []
    lines = code.splitlines()
    scored: list[tuple[float, str]] = []
    for fragment in fragments:
        source = textwrap.dedent(fragment.source).strip("\n")
        if not source.strip():
            continue
        try:
            tree = ast.parse(source)
        except (SyntaxError, ValueError):
            tree = None
        if tree is not None and any(
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) for node in tree.body
        ):
            scored.append((1.0, f"{code.rstrip()}\n\n\n{source}\n"))
            continue
        patch = source.splitlines()
        if len(patch) > 3:
            continue
        head = patch[0].strip()
        for index, line in enumerate(lines):
            if not line.strip() or index + len(patch) > len(lines):
                continue
            ratio = SequenceMatcher(None, head, line.strip(), autojunk=False).ratio()
            if ratio < 0.5:
                continue
            indent = _indent_of(line)
            replaced = [indent + p if p.strip() else p for p in patch]
            patched = "\n".join([*lines[:index], *replaced, *lines[index + len(patch) :]])
            if patched.strip() != code.strip() and _parses(patched):
                scored.append((ratio, patched))
    scored.sort(key=lambda item: -item[0])
    programs: list[str] = []
    for _, program in scored:
        if program not in programs:
            programs.append(program)
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
