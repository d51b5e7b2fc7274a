"""Similarity of submissions to one problem: normalized Python tokens, winnowed by copydetect.

The pipeline, one small step each:

1. :func:`normalize`: the code's tokens (:mod:`tokenize`), each kept with its place in
   the original text, so that matches are shown on the code the student wrote.
   Comments, blank lines and whitespace are dropped; names are abstracted to ``V``
   (attribute names after ``.``, builtins and keywords stay: a renamer does not touch
   them), numbers to ``N``, strings to ``S``, indentation kept only as statement
   ends; a ``for``/``while`` header becomes one ``L`` (so that changing a loop's form
   leaves its body matching); docstrings, code
   after ``return``/``raise``/``break``/``continue``, ``if False:`` blocks, variables
   set to a constant and never read, functions that do nothing and the calls of them,
   and functions that nothing calls (other than the starter's, when known) are dead
   code and dropped.
2. :class:`Fingerprint`: each token becomes one character, and copydetect's winnowing
   (Schleimer, Wilkerson and Aiken's robust winnowing; ``copydetect.utils``) picks
   fingerprints of ``k``-token windows. Fingerprints of the starter code and of the
   statement's examples are boilerplate and removed.
3. :func:`compare_class`: every pair of a problem's fingerprints that share any
   (through an inverted index, so a class of 300 costs what its near pairs cost),
   scored as the larger of the two shares of fingerprinted tokens found in the other
   (so dead code added to a copy does not hide it; bench/similarity.py chose it over
   their mean and their smaller, and the threshold 0.85, on its labelled set), with
   the matching regions of
   both as character ranges of the original code; fingerprints that most of a large
   class shares are common idiom, not evidence, and are dropped too.
4. :func:`clusters`: groups of three or more joined by suspicious pairs.

Why this and not an engine as it ships (``bench/similarity.py``: 48 problems, 116
independent solutions, 8 disguises each): at the recall it keeps to 1 false pair per
1,000 independent pairs, copydetect 0.5 alone (Pygments filter, k = 25 characters)
finds 64% of disguised copies (78 false pairs per 1,000 at its default threshold),
compare50's ``structure`` pass 50% (and it is GPL-3.0, file-based, with a process
pool); ours 93%. At the default threshold ours finds 92% with 0.3 false pairs per
1,000 (the threshold was chosen on that same set). copydetect (MIT) is kept for its
winnowing, boilerplate removal and copied slices; Python's own tokenizer gives the
positions and the normalization.

Everything here is synchronous and CPU-bound (callers run it in an executor).
"""

from __future__ import annotations

import ast
import builtins
import io
import keyword
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from copydetect.utils import get_copied_slices, get_document_fingerprints

#: default k-gram length in tokens, winnowing window, and the score that flags a pair
DEFAULT_K = 8
DEFAULT_WINDOW = 1
DEFAULT_THRESHOLD = 0.85
#: a submission with fewer normalized tokens than this is too short to be evidence
MIN_TOKENS = 15

BUILTIN_NAMES = frozenset(dir(builtins))
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
SKIPPED |= {tokenize.INDENT, tokenize.DEDENT}  # blocks show in the statements around them
STRUCTURE = {tokenize.NEWLINE: ";"}
FENCED = re.compile(r"```(?:python|py)?\s*\n(.*?)```", re.S)


@dataclass(frozen=True)
class Token:
    """One normalized token and where it came from in the original code (``start:end``)."""

    symbol: str
    start: int
    end: int


def _offsets(code: str) -> list[int]:
    starts = [0]
    for line in code.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    return starts


def _dead_lines(tree: ast.Module, keep: frozenset[str]) -> tuple[set[int], set[tuple[int, int]]]:
    """Lines of dead code in ``tree``, and the (line, column) of loop headers' first tokens."""
    dead: set[int] = set()
    loops: set[tuple[int, int]] = set()

    def span(node: ast.AST) -> range:
        return range(node.lineno, (node.end_lineno or node.lineno) + 1)  # type: ignore[attr-defined]

    def block(body: list[ast.stmt]) -> None:
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                if isinstance(stmt.value.value, str):
                    dead.update(span(stmt))  # a docstring
                    continue
            if isinstance(stmt, ast.If | ast.While) and isinstance(stmt.test, ast.Constant):
                if not stmt.test.value:
                    dead.update(span(stmt))
                    continue
            if isinstance(stmt, ast.Return | ast.Raise | ast.Break | ast.Continue):
                for after in body[i + 1 :]:
                    dead.update(span(after))
                return

    for node in ast.walk(tree):
        if isinstance(node, ast.For | ast.While | ast.AsyncFor):
            loops.add((node.lineno, node.col_offset))
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                block(body)
    definitions = (
        ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom
    )
    if not keep and all(isinstance(s, definitions) for s in tree.body):
        return dead, loops  # no entry point known: every function may be one
    loaded = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }
    noops = {
        f.name
        for f in tree.body
        if isinstance(f, ast.FunctionDef) and f.name not in keep and _does_nothing(f.body)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            # a variable set to a constant and never read
            if all(isinstance(t, ast.Name) and t.id not in loaded for t in node.targets):
                dead.update(span(node))
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            # a call of a function that does nothing
            func = node.value.func
            if isinstance(func, ast.Name) and func.id in noops:
                dead.update(span(node))
    for f in tree.body:
        if isinstance(f, ast.FunctionDef) and f.name in noops:
            dead.update(range(f.lineno, (f.end_lineno or f.lineno) + 1))
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for stmt in tree.body:
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if stmt.name not in used and stmt.name not in keep:
                start = min([stmt.lineno, *(d.lineno for d in stmt.decorator_list)])
                dead.update(range(start, (stmt.end_lineno or stmt.lineno) + 1))
    return dead, loops


def _does_nothing(body: list[ast.stmt]) -> bool:
    """Whether a function body is only a docstring, ``pass``, ``...`` or ``return [None]``."""
    for stmt in body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Return) and (
            stmt.value is None
            or (isinstance(stmt.value, ast.Constant) and stmt.value.value is None)
        ):
            continue
        return False
    return True


def normalize(code: str, keep: Iterable[str] = ()) -> list[Token]:
    """The normalized tokens of ``code`` (module docstring, step 1).

    ``keep``: function names that are entry points although nothing in ``code``
    calls them (the functions of the starter code). Code that does not parse is
    still tokenized (no dead code is found in it); tokenizing stops at the first
    token error.
    """
    try:
        dead, loops = _dead_lines(ast.parse(code), frozenset(keep))
    except (SyntaxError, ValueError, RecursionError):
        dead, loops = set(), set()
    starts = _offsets(code)
    out: list[Token] = []
    in_header = False
    depth = 0
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            kind, text = tok.type, tok.string
            row, col = tok.start
            if kind in SKIPPED or row in dead:
                continue
            start = starts[row - 1] + col if row - 1 < len(starts) else len(code)
            end_row, end_col = tok.end
            end = starts[end_row - 1] + end_col if end_row - 1 < len(starts) else len(code)
            start, end = min(start, len(code)), min(end, len(code))
            if (row, col) in loops and text in ("for", "while", "async"):
                in_header, depth = True, 0
                out.append(Token("L", start, end))
                continue
            if in_header:
                if kind == tokenize.OP and text in "([{":
                    depth += 1
                elif kind == tokenize.OP and text in ")]}":
                    depth -= 1
                elif kind == tokenize.OP and text == ":" and depth == 0:
                    in_header = False
                continue
            if kind in STRUCTURE:
                symbol = STRUCTURE[kind]
            elif kind == tokenize.NAME:
                if keyword.iskeyword(text) or previous == "." or text in BUILTIN_NAMES:
                    symbol = text
                else:
                    symbol = "V"
            elif kind == tokenize.NUMBER:
                symbol = "N"
            elif kind == tokenize.STRING:
                symbol = "S"
            else:
                symbol = text
            previous = text
            out.append(Token(symbol, start, end))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return out


def example_code(markdown: str) -> str:
    """Python in a statement's fenced code blocks, ``>>>`` prompts and outputs reduced to code."""
    lines: list[str] = []
    for block in FENCED.findall(markdown):
        prompted = [ln for ln in block.splitlines() if ln.lstrip().startswith((">>>", "..."))]
        if prompted:
            lines.extend(ln.lstrip()[4:] for ln in prompted)
        else:
            lines.extend(block.splitlines())
        lines.append("")
    return "\n".join(lines)


class Alphabet:
    """One character per distinct normalized symbol, shared by everything compared together."""

    def __init__(self) -> None:
        self._chars: dict[str, str] = {}

    def encode(self, tokens: Sequence[Token]) -> str:
        chars = self._chars
        return "".join(chars.setdefault(t.symbol, chr(0x4E00 + len(chars))) for t in tokens)


@dataclass
class Fingerprint:
    """One submission's winnowed fingerprints (module docstring, step 2)."""

    key: str
    code: str
    tokens: list[Token]
    hashes: set[int]
    index: dict[int, list[int]]
    coverage: int
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        key: str,
        code: str,
        alphabet: Alphabet,
        *,
        k: int = DEFAULT_K,
        window: int = DEFAULT_WINDOW,
        boilerplate: Sequence[int] = (),
        keep: Iterable[str] = (),
        meta: dict[str, Any] | None = None,
    ) -> Fingerprint:
        tokens = normalize(code, keep)
        text = alphabet.encode(tokens)
        if len(text) < k:
            hashes: set[int] = set()
            index: dict[int, list[int]] = {}
        else:
            found, index = get_document_fingerprints(
                text, k, window, np.array(sorted(boilerplate), dtype=np.int64)
            )
            hashes = {int(h) for h in found}
            index = {int(h): [int(i) for i in idx] for h, idx in index.items()}
        covered: set[int] = set()
        for starts in index.values():
            for i in starts:
                covered.update(range(i, i + k))
        return cls(key, code, tokens, hashes, index, len(covered), dict(meta or {}))

    def drop(self, common: set[int], k: int) -> None:
        """Forget the fingerprints in ``common`` (class-wide idiom) and recount the coverage."""
        if not common & self.hashes:
            return
        self.hashes -= common
        self.index = {h: i for h, i in self.index.items() if h not in common}
        covered: set[int] = set()
        for starts in self.index.values():
            for i in starts:
                covered.update(range(i, i + k))
        self.coverage = len(covered)


def boilerplate_hashes(
    sources: Iterable[str], alphabet: Alphabet, k: int = DEFAULT_K, keep: Iterable[str] = ()
) -> set[int]:
    """Every ``k``-gram of ``sources`` (starter code, examples), each and all together.

    ``keep``: the entry points (:func:`normalize`), as for the submissions.
    """
    found: set[int] = set()
    sources = list(sources)
    for source in [*sources, "\n".join(sources)]:
        text = alphabet.encode(normalize(source, keep))
        if len(text) >= k:
            hashes, _ = get_document_fingerprints(text, k, 1)
            found.update(int(h) for h in hashes)
    return found


@dataclass
class Match:
    """A pair of submissions and how much of them matches (``score``: 0..1)."""

    a: Fingerprint
    b: Fingerprint
    score: float
    shared_tokens: int
    regions_a: list[tuple[int, int]]
    regions_b: list[tuple[int, int]]


def _regions(fp: Fingerprint, starts: Iterable[int], k: int) -> tuple[list[tuple[int, int]], int]:
    idx = np.array(sorted(starts), dtype=np.int64)
    slices = get_copied_slices(idx, k)
    regions = []
    tokens = 0
    for s, e in zip(slices[0], slices[1], strict=True):
        s, e = int(s), min(int(e), len(fp.tokens))
        tokens += e - s
        regions.append((fp.tokens[s].start, fp.tokens[e - 1].end))
    return regions, tokens


def compare_pair(a: Fingerprint, b: Fingerprint, k: int = DEFAULT_K) -> Match:
    """How much ``a`` and ``b`` share: score, shared tokens, matching character ranges."""
    shared = a.hashes & b.hashes
    if not shared:
        return Match(a, b, 0.0, 0, [], [])
    regions_a, tokens_a = _regions(a, (i for h in shared for i in a.index[h]), k)
    regions_b, tokens_b = _regions(b, (i for h in shared for i in b.index[h]), k)
    score = min(1.0, max(tokens_a / max(1, a.coverage), tokens_b / max(1, b.coverage)))
    return Match(a, b, score, min(tokens_a, tokens_b), regions_a, regions_b)


def compare_class(
    prints: Sequence[Fingerprint],
    *,
    k: int = DEFAULT_K,
    threshold: float = DEFAULT_THRESHOLD,
    min_tokens: int = MIN_TOKENS,
    common_share: float = 0.5,
    common_min_class: int = 10,
    archive_only: Iterable[str] = (),
) -> list[Match]:
    """The pairs of ``prints`` scoring at least ``threshold``, most similar first.

    Fingerprints found in more than ``common_share`` of a class of at least
    ``common_min_class`` submissions are dropped first. Pairs of two keys in
    ``archive_only`` (earlier terms compared with each other) are skipped.
    """
    archived = set(archive_only)
    if len(prints) >= common_min_class:
        counts: dict[int, int] = defaultdict(int)
        for fp in prints:
            for h in fp.hashes:
                counts[h] += 1
        common = {h for h, n in counts.items() if n > common_share * len(prints)}
        for fp in prints:
            fp.drop(common, k)
    owners: dict[int, list[int]] = defaultdict(list)
    for i, fp in enumerate(prints):
        for h in fp.hashes:
            owners[h].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for holders in owners.values():
        for pair in combinations(holders, 2):
            shared[pair] += 1
    found = []
    for (i, j), count in shared.items():
        a, b = prints[i], prints[j]
        if a.key in archived and b.key in archived:
            continue
        if min(len(a.tokens), len(b.tokens)) < min_tokens:
            continue
        # a cheap bound first: each shared fingerprint covers at most k tokens
        bound = count * k
        if bound / max(1, min(a.coverage, b.coverage)) < threshold:
            continue
        match = compare_pair(a, b, k)
        if match.score >= threshold:
            found.append(match)
    found.sort(key=lambda m: (-m.score, -m.shared_tokens, m.a.key, m.b.key))
    return found


def clusters(matches: Iterable[Match], smallest: int = 3) -> list[list[str]]:
    """Groups of at least ``smallest`` keys joined by ``matches``, largest first."""
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for m in matches:
        parent[root(m.a.key)] = root(m.b.key)
    groups: dict[str, list[str]] = defaultdict(list)
    for key in list(parent):
        groups[root(key)].append(key)
    found = [sorted(g) for g in groups.values() if len(g) >= smallest]
    return sorted(found, key=lambda g: (-len(g), g))


def notebook_boilerplate(notebook: dict[str, Any]) -> tuple[list[str], set[str]]:
    """What a problem's student notebook gives everyone: code to exclude, entry-point names.

    Returns the starter code, the public tests and the statement's examples (as code),
    and the names of the functions the starter defines.
    """
    sources: list[str] = []
    keep: set[str] = set()
    for cell in notebook.get("cells", []):
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        tags = (cell.get("metadata") or {}).get("tags") or []
        if "statement" in tags or cell.get("cell_type") == "markdown":
            sources.append(example_code(source))
        elif cell.get("cell_type") == "code" and ("starter" in tags or "public-tests" in tags):
            sources.append(source)
            if "starter" in tags:
                try:
                    tree = ast.parse(source)
                except SyntaxError:
                    continue
                keep.update(
                    n.name
                    for n in tree.body
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                )
    return sources, keep
