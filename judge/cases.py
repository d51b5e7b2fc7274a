"""A problem's test cases: what a case is (:class:`Case`) and how the test cells of a
problem notebook become cases (function mode: one statement each, ``# case:`` names;
stdio mode: input and expected output separated by ``---``)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from nbformat import NotebookNode

from .exceptions import ProblemError

_CASE_NAME_RE = re.compile(r"^\s*#\s*case:\s*(?P<name>.+?)\s*$")
_STDIO_SEPARATOR_RE = re.compile(r"^---\s*$")

MAX_CASE_NAME = 80


class CaseKind(str, Enum):
    """How a case passes. See :mod:`codetutor.judge.values` for comparison."""

    #: an expression statement: its value must equal the expected value
    VALUE = "value"
    #: ``assert LEFT == RIGHT``: both sides cross the sandbox boundary and are compared outside
    ASSERT_EQUAL = "assert_equal"
    #: any other ``assert``: passes if the test is true and nothing is raised
    ASSERT = "assert"
    #: stdio mode: the program's stdout must equal the expected stdout
    STDIO = "stdio"


class Visibility(str, Enum):
    PUBLIC = "public"
    HIDDEN = "hidden"


@dataclass
class Case:
    """One test case of a problem.

    ``setup`` are the statements that run (in order, in the test namespace)
    right before the case. ``expected`` is filled in by publishing: tagged
    plain data for value cases (:mod:`codetutor.judge.values`), the expected
    stdout for stdio cases, ``None`` for assert cases.
    """

    name: str
    visibility: Visibility
    kind: CaseKind
    source: str
    cell: int
    line: int
    setup: list[str] = field(default_factory=list)
    expr: str | None = None
    other: str | None = None
    stdin: str | None = None
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "visibility": self.visibility.value,
            "kind": self.kind.value,
            "source": self.source,
            "cell": self.cell,
            "line": self.line,
            "setup": list(self.setup),
            "expr": self.expr,
            "other": self.other,
            "stdin": self.stdin,
            "expected": self.expected,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Case:
        return cls(
            name=d["name"],
            visibility=Visibility(d["visibility"]),
            kind=CaseKind(d["kind"]),
            source=d["source"],
            cell=d["cell"],
            line=d["line"],
            setup=list(d.get("setup") or []),
            expr=d.get("expr"),
            other=d.get("other"),
            stdin=d.get("stdin"),
            expected=d.get("expected"),
        )

    def decoded_expected(self) -> Any:
        """The expected value as Python data (decoded once, then cached)."""
        cache = self.__dict__.get("_decoded")
        if cache is None or cache[0] is not self.expected:
            from .values import decode

            cache = (self.expected, decode(self.expected))
            self.__dict__["_decoded"] = cache
        return cache[1]

    def checker_spec(self) -> dict[str, Any]:
        """What the checker needs to evaluate this case: never the expected value."""
        return {
            "kind": self.kind.value,
            "setup": self.setup,
            "expr": self.expr,
            "other": self.other,
        }


def _segment(lines: list[str], node: ast.stmt) -> str:
    end = node.end_lineno or node.lineno
    seg = lines[node.lineno - 1 : end]
    if not seg:
        return ""
    seg = list(seg)
    seg[-1] = seg[-1][: node.end_col_offset] if node.end_col_offset is not None else seg[-1]
    seg[0] = seg[0][node.col_offset :]
    return "\n".join(seg)


def function_cases(
    index: int, cell: NotebookNode, visibility: Visibility, counter: int
) -> list[Case]:
    if cell.cell_type != "code":
        raise ProblemError(
            f"in function mode a '{visibility.value}-tests' cell must be a code cell",
            cell=index,
            cell_id=cell.get("id"),
        )
    source = cell.source
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ProblemError(
            f"test does not parse: {e.msg}", cell=index, line=e.lineno, cell_id=cell.get("id")
        ) from None
    lines = source.splitlines()
    cases: list[Case] = []
    setup: list[str] = []
    for node in tree.body:
        text = _segment(lines, node)
        # A decorator or comment line right above names the case.
        first = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]])
        name = None
        if first >= 2:
            match = _CASE_NAME_RE.match(lines[first - 2])
            if match:
                name = match.group("name")[:MAX_CASE_NAME]
        if isinstance(node, ast.Expr):
            kind, expr, other = CaseKind.VALUE, ast.unparse(node.value), None
        elif isinstance(node, ast.Assert):
            test = node.test
            if (
                isinstance(test, ast.Compare)
                and len(test.ops) == 1
                and isinstance(test.ops[0], ast.Eq)
                and node.msg is None
            ):
                kind, expr, other = (
                    CaseKind.ASSERT_EQUAL,
                    ast.unparse(test.left),
                    ast.unparse(test.comparators[0]),
                )
            else:
                kind = CaseKind.ASSERT
                expr = ast.unparse(test)
                other = ast.unparse(node.msg) if node.msg is not None else None
        else:
            if name is not None:
                raise ProblemError(
                    "'# case:' names a case, but the next statement is not an expression or assert",
                    cell=index,
                    line=node.lineno,
                    cell_id=cell.get("id"),
                )
            setup.append(text)
            continue
        counter += 1
        if name is None:
            name = _default_name(visibility, counter, text)
        cases.append(
            Case(
                name=name,
                visibility=visibility,
                kind=kind,
                source=text,
                cell=index,
                line=node.lineno,
                setup=setup,
                expr=expr,
                other=other,
            )
        )
        setup = []
    if setup:
        raise ProblemError(
            "statements after the last case of a tests cell are never checked; "
            "end the cell with a case",
            cell=index,
            line=len(lines),
            cell_id=cell.get("id"),
        )
    return cases


def stdio_cases(index: int, cell: NotebookNode, visibility: Visibility, counter: int) -> list[Case]:
    if cell.cell_type != "raw":
        raise ProblemError(
            f"in stdio mode a '{visibility.value}-tests' cell must be a raw cell of inputs separated by '---' lines",
            cell=index,
            cell_id=cell.get("id"),
        )
    cases: list[Case] = []
    chunk: list[str] = []
    start = 1

    def flush(end_line: int) -> None:
        nonlocal counter
        text = "\n".join(chunk)
        if not text.strip():
            raise ProblemError(
                "empty stdio case (two '---' lines in a row?)",
                cell=index,
                line=start,
                cell_id=cell.get("id"),
            )
        counter += 1
        stdin = text if text.endswith("\n") else text + "\n"
        cases.append(
            Case(
                name=_default_name(visibility, counter, text),
                visibility=visibility,
                kind=CaseKind.STDIO,
                source=stdin,
                cell=index,
                line=start,
                stdin=stdin,
            )
        )

    lines = cell.source.split("\n")
    for number, line in enumerate(lines, start=1):
        if _STDIO_SEPARATOR_RE.match(line):
            flush(number)
            chunk = []
            start = number + 1
        else:
            chunk.append(line)
    flush(len(lines))
    return cases


def _default_name(visibility: Visibility, counter: int, text: str) -> str:
    return f"{visibility.value} {counter}"


def defined_names(source: str) -> list[str]:
    """Top-level names a solution binds (defs, classes, assignments, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        raise ProblemError(f"the solution does not parse: {e.msg}", line=e.lineno) from None
    names: set[str] = set()

    def targets(node: ast.expr) -> None:
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Tuple | ast.List):
            for elt in node.elts:
                targets(elt)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node in tree.body:
                names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            if node in tree.body:
                for alias in node.names:
                    names.add((alias.asname or alias.name).split(".")[0])
    for node in tree.body:
        if isinstance(node, ast.Assign):
            for t in node.targets:
                targets(t)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets(node.target)
        elif isinstance(node, ast.For | ast.With | ast.If | ast.Try | ast.While):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
                elif isinstance(sub, ast.FunctionDef | ast.ClassDef):
                    names.add(sub.name)
    names.discard("*")
    return sorted(names)


def imports_of(source: str) -> list[tuple[str, list[str]]]:
    """The top-level import statements of ``source``: (statement, names it binds)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
            found.append((ast.unparse(node), [n for n in names if n != "*"]))
    return found


def check_test_names(index: int, cell: NotebookNode, student_names: set[str]) -> None:
    """Refuse tests the checker cannot judge safely, naming the cell and line.

    Tests run apart from the student's code (SPEC section 3): a test may call
    the student's names, but not rebind or delete them, nor declare them global.
    """
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return
    for node in ast.walk(tree):
        name = None
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            name = node.id
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            name = node.name
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound = (alias.asname or alias.name).split(".")[0]
                if bound in student_names:
                    name = bound
        elif isinstance(node, ast.Global | ast.Nonlocal):
            raise ProblemError(
                "tests cannot use 'global' or 'nonlocal'",
                cell=index,
                line=node.lineno,
                cell_id=cell.get("id"),
            )
        if name is not None and name in student_names:
            raise ProblemError(
                f"a test cannot rebind the solution's name {name!r}: the tests run apart "
                "from the student's code and reach it only through its names",
                cell=index,
                line=getattr(node, "lineno", None),
                cell_id=cell.get("id"),
            )
