"""Problem notebooks (the instructor's format) and judge bundles.

A problem is an ordinary notebook whose metadata ``codetutor`` describes it and
whose cells carry role tags (SPEC.md section 3). :meth:`Problem.from_notebook`
parses and validates it; publishing (:mod:`codetutor.judge.publish`) adds the
expected values computed from the reference solution and saves a *bundle*, the
judge's server-side copy (:meth:`Problem.to_bundle`).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from .exceptions import ProblemError

BUNDLE_FORMAT = "codetutor-bundle"
BUNDLE_VERSION = 1

#: Role tags of SPEC.md section 3.
ROLE_TAGS = ("statement", "starter", "solution", "public-tests", "hidden-tests", "hints")
TEST_TAGS = ("public-tests", "hidden-tests")
#: Tags that other Jupyter tools use and that we leave alone.
FOREIGN_TAGS = frozenset(
    {
        "raises-exception",
        "skip-execution",
        "parameters",
        "injected-parameters",
        "hide-input",
        "hide-output",
        "hide-cell",
        "remove-input",
        "remove-output",
        "remove-cell",
        "remove_cell",
        "full-width",
        "margin",
    }
)

_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_CASE_NAME_RE = re.compile(r"^\s*#\s*case:\s*(?P<name>.+?)\s*$")
_STDIO_SEPARATOR_RE = re.compile(r"^---\s*$")

MAX_CASE_NAME = 80

_HINTS_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+(?P<title>.+?)\s*#*\s*$")
_HINTS_CASE_RE = re.compile(r"^case:\s*(?P<name>.+)$", re.I)
_HINTS_ITEM_RE = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+(?P<text>.*)$")
_HINTS_LANG_ITEM_RE = re.compile(r"^\s*(?:[-*+]\s+)?(?P<lang>en|ko)\s*:\s*(?P<text>.*)$", re.I)
HINT_LANGUAGES = ("en", "ko")


@dataclass
class ProblemHints:
    """The instructor's hints (a markdown cell tagged ``hints``; SPEC section 3).

    ``ladder`` maps a language to rungs, gentlest first; ``cases`` maps a case
    name to a note per language. Hints are never in the student notebook: the
    tutor gives them one rung at a time.
    """

    ladder: dict[str, list[str]] = field(default_factory=dict)
    cases: dict[str, dict[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.ladder or self.cases)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ladder": {k: list(v) for k, v in self.ladder.items()},
            "cases": {k: dict(v) for k, v in self.cases.items()},
        }

    @classmethod
    def parse(cls, source: str, index: int | None = None) -> ProblemHints:
        """Parse a hints cell. Raises :class:`ProblemError` naming the line.

        Format: ``## en`` / ``## ko`` sections holding a numbered or bulleted list
        (one rung per item; indented lines continue an item), and ``## case: NAME``
        sections holding ``en: …`` / ``ko: …`` lines. Text before the first
        heading is ignored (a note for instructors).
        """
        hints = cls()
        section: str | None = None
        case: str | None = None
        last: tuple[str, str] | None = None  # (lang, "ladder" | case) of the open item
        for lineno, raw in enumerate(source.splitlines(), 1):
            line = raw.rstrip()
            heading = _HINTS_HEADING_RE.match(line)
            if heading:
                title = heading.group("title").strip()
                found = _HINTS_CASE_RE.match(title)
                if found:
                    case = found.group("name").strip()
                    if not case or len(case) > MAX_CASE_NAME:
                        raise ProblemError(
                            "a hint's case name is empty or too long", cell=index, line=lineno
                        )
                    section = None
                    hints.cases.setdefault(case, {})
                elif title.lower() in HINT_LANGUAGES:
                    section, case = title.lower(), None
                    hints.ladder.setdefault(section, [])
                else:
                    raise ProblemError(
                        f"unknown hints heading {title!r}; use '## en', '## ko' or '## case: NAME'",
                        cell=index,
                        line=lineno,
                    )
                last = None
                continue
            if not line.strip():
                continue
            if case is not None:
                found = _HINTS_LANG_ITEM_RE.match(line)
                if found:
                    lang = found.group("lang").lower()
                    hints.cases[case][lang] = found.group("text").strip()
                    last = (lang, case)
                elif last is not None and raw[:1].isspace():
                    hints.cases[case][last[0]] += " " + line.strip()
                else:
                    raise ProblemError(
                        f"a note for case {case!r} is a line 'en: …' or 'ko: …'",
                        cell=index,
                        line=lineno,
                    )
            elif section is not None:
                item = _HINTS_ITEM_RE.match(line)
                if item:
                    hints.ladder[section].append(item.group("text").strip())
                    last = (section, "ladder")
                elif last is not None:
                    hints.ladder[section][-1] += " " + line.strip()
                else:
                    raise ProblemError(
                        "a hint is a list item ('1. …' or '- …')", cell=index, line=lineno
                    )
        for case_name, notes in hints.cases.items():
            if not notes:
                raise ProblemError(f"case {case_name!r} has no note in the hints cell", cell=index)
        hints.ladder = {k: v for k, v in hints.ladder.items() if v}
        return hints


class Mode(str, Enum):
    FUNCTION = "function"
    STDIO = "stdio"


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


@dataclass(frozen=True)
class TutorSettings:
    """The instructor's controls of the tutor on one problem: ``metadata.codetutor.tutor``.

    ``{"enabled": false}`` turns the tutor off (exam practice); ``context`` is told
    to the tutor (a string, or ``{"ko": ..., "en": ...}``); ``avoid`` lists words
    and phrases the tutor's replies must not use. Only the tutor sees these
    (its problem view); they are never in the student's notebook or problem list.
    """

    enabled: bool = True
    context: dict[str, str] = field(default_factory=dict)
    avoid: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "context": dict(self.context), "avoid": list(self.avoid)}

    @classmethod
    def parse(cls, raw: Any) -> TutorSettings:
        """Validate ``metadata.codetutor.tutor``; raise :class:`ProblemError` naming the key."""
        if raw is None:
            return cls()
        where = "metadata.codetutor.tutor"
        if not isinstance(raw, dict):
            raise ProblemError(
                f'{where} must be an object like {{"enabled": false, "context": "...", '
                f'"avoid": ["..."]}}'
            )
        unknown = set(raw) - {"enabled", "context", "avoid"}
        if unknown:
            raise ProblemError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
        enabled = raw.get("enabled", True)
        if not isinstance(enabled, bool):
            raise ProblemError(f"{where}.enabled must be true or false, got {enabled!r}")
        context = raw.get("context", "")
        if isinstance(context, str):
            contexts = {"en": context.strip()} if context.strip() else {}
        elif isinstance(context, dict) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in context.items()
        ):
            contexts = {k: v.strip() for k, v in context.items() if v.strip()}
        else:
            raise ProblemError(
                f'{where}.context must be a string or an object like {{"ko": "...", "en": "..."}}'
            )
        if any(len(v) > 4000 for v in contexts.values()):
            raise ProblemError(f"{where}.context must be at most 4000 characters")
        avoid = raw.get("avoid", [])
        if (
            not isinstance(avoid, list)
            or len(avoid) > 100
            or not all(isinstance(w, str) and 0 < len(w.strip()) <= 100 for w in avoid)
        ):
            raise ProblemError(
                f"{where}.avoid must be a list of at most 100 non-empty words or phrases "
                "(at most 100 characters each)"
            )
        return cls(enabled=enabled, context=contexts, avoid=tuple(w.strip() for w in avoid))


@dataclass(frozen=True)
class ProblemMeta:
    """The validated ``metadata.codetutor`` of a problem notebook."""

    id: str
    title: dict[str, str]
    difficulty: int = 1
    tags: tuple[str, ...] = ()
    mode: Mode = Mode.FUNCTION
    time_limit_s: float = 2.0
    memory_limit_mb: int = 256
    float_tolerance: float = 1e-6
    output_limit_bytes: int = 1 << 20
    #: the instructor's controls of the tutor: not in :meth:`to_dict` (students never see them)
    tutor: TutorSettings = field(default_factory=TutorSettings)

    def title_for(self, lang: str = "en") -> str:
        return self.title.get(lang) or self.title.get("en") or next(iter(self.title.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": dict(self.title),
            "difficulty": self.difficulty,
            "tags": list(self.tags),
            "mode": self.mode.value,
            "time_limit_s": self.time_limit_s,
            "memory_limit_mb": self.memory_limit_mb,
            "float_tolerance": self.float_tolerance,
            "output_limit_bytes": self.output_limit_bytes,
        }

    @classmethod
    def parse(cls, raw: Any) -> ProblemMeta:
        """Validate ``metadata.codetutor``; raise :class:`ProblemError` naming the key."""
        if not isinstance(raw, dict):
            raise ProblemError("notebook metadata has no 'codetutor' object")
        if "id" not in raw:
            raise ProblemError("metadata.codetutor.id is required")
        pid = raw["id"]
        if not isinstance(pid, str) or not _SLUG_RE.match(pid):
            raise ProblemError(
                f"metadata.codetutor.id must be a slug (lowercase letters, digits, '-', '_'), got {pid!r}"
            )
        if "title" not in raw:
            raise ProblemError("metadata.codetutor.title is required")
        title = raw["title"]
        if isinstance(title, str) and title.strip():
            titles = {"en": title}
        elif (
            isinstance(title, dict)
            and title
            and all(
                isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in title.items()
            )
        ):
            titles = dict(title)
        else:
            raise ProblemError(
                "metadata.codetutor.title must be a non-empty string or an object like "
                '{"ko": "...", "en": "..."}'
            )
        difficulty = raw.get("difficulty", 1)
        if (
            not isinstance(difficulty, int)
            or isinstance(difficulty, bool)
            or not 1 <= difficulty <= 5
        ):
            raise ProblemError(f"metadata.codetutor.difficulty must be 1..5, got {difficulty!r}")
        tags = raw.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            raise ProblemError("metadata.codetutor.tags must be a list of strings")
        mode = raw.get("mode", "function")
        if mode not in ("function", "stdio"):
            raise ProblemError(
                f"metadata.codetutor.mode must be 'function' or 'stdio', got {mode!r}"
            )
        time_limit = _number(raw, "time_limit_s", 2.0, low=0.05, high=60)
        memory = _number(raw, "memory_limit_mb", 256, low=32, high=16384)
        tolerance = _number(raw, "float_tolerance", 1e-6, low=0, high=0.5)
        output_limit = _number(raw, "output_limit_bytes", 1 << 20, low=1024, high=64 << 20)
        unknown = set(raw) - {
            "id",
            "title",
            "difficulty",
            "tags",
            "mode",
            "time_limit_s",
            "memory_limit_mb",
            "float_tolerance",
            "output_limit_bytes",
            "tutor",
        }
        if unknown:
            raise ProblemError(
                f"unknown key(s) in metadata.codetutor: {', '.join(sorted(unknown))}"
            )
        return cls(
            id=pid,
            title=titles,
            difficulty=difficulty,
            tags=tuple(tags),
            mode=Mode(mode),
            time_limit_s=float(time_limit),
            memory_limit_mb=int(memory),
            float_tolerance=float(tolerance),
            output_limit_bytes=int(output_limit),
            tutor=TutorSettings.parse(raw.get("tutor")),
        )


def _number(raw: dict[str, Any], key: str, default: float, *, low: float, high: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ProblemError(
            f"metadata.codetutor.{key} must be a number from {low} to {high}, got {value!r}"
        )
    return value


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


@dataclass
class Problem:
    """A parsed problem: metadata, cells by role, and its cases in judging order."""

    meta: ProblemMeta
    notebook: NotebookNode
    statement_source: str
    starter_source: str
    solution_source: str
    cases: list[Case]
    #: top-level names the reference solution defines: the only names of the
    #: student's namespace that the tests can see (so shadowing ``list`` or
    #: ``sorted`` cannot change what a test computes)
    solution_names: list[str]
    sha256: str
    #: True once expected values were computed (by publishing) or loaded from a bundle
    published: bool = False
    #: the instructor's hints (a cell tagged ``hints``): for the tutor's ladder only
    hints: ProblemHints = field(default_factory=ProblemHints)

    # -- loading ----------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Problem:
        """Read a problem notebook (``.ipynb``) or a published bundle.

        Raises :class:`ProblemError` for anything unreadable or invalid.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ProblemError(f"no such file: {path}") from None
        except IsADirectoryError:
            raise ProblemError(f"{path} is a directory, not a problem notebook") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ProblemError(f"cannot read {path}: {e}") from None
        return cls.loads(text, name=str(path))

    @classmethod
    def loads(cls, text: str, name: str = "problem") -> Problem:
        try:
            data = json.loads(text)
        except ValueError as e:
            raise ProblemError(f"{name} is not JSON: {e}") from None
        if isinstance(data, dict) and data.get("format") == BUNDLE_FORMAT:
            return cls.from_bundle(data)
        return cls.from_notebook(_read_notebook(data, name, text))

    @classmethod
    def from_notebook(cls, nb: NotebookNode) -> Problem:
        """Parse and validate a problem notebook (without expected values)."""
        meta = ProblemMeta.parse(nb.get("metadata", {}).get("codetutor"))
        statement: list[str] = []
        starter: list[str] = []
        solution: list[str] = []
        solution_cells: list[int] = []
        public: list[tuple[int, NotebookNode]] = []
        hidden: list[tuple[int, NotebookNode]] = []
        hints = ProblemHints()
        for index, cell in enumerate(nb.cells):
            role = _cell_role(index, cell)
            source = cell.source
            if role == "hints":
                _expect_type(index, cell, "markdown", role)
                if hints:
                    raise ProblemError("a problem has at most one 'hints' cell", cell=index)
                hints = ProblemHints.parse(source, index)
            elif role == "statement":
                statement.append(source)
            elif role == "starter":
                _expect_type(index, cell, "code", role)
                starter.append(source)
            elif role == "solution":
                _expect_type(index, cell, "code", role)
                solution.append(source)
                solution_cells.append(index)
            elif role == "public-tests":
                public.append((index, cell))
            elif role == "hidden-tests":
                hidden.append((index, cell))
        if not solution:
            raise ProblemError("the notebook has no cell tagged 'solution'")
        if not statement:
            raise ProblemError("the notebook has no cell tagged 'statement'")
        for index, source in zip(solution_cells, solution, strict=True):
            try:
                ast.parse(source)
            except SyntaxError as e:
                raise ProblemError(
                    f"the reference solution does not parse: {e.msg}", cell=index, line=e.lineno
                ) from None
        solution_source = "\n\n".join(solution)
        cases: list[Case] = []
        for visibility, cells in ((Visibility.PUBLIC, public), (Visibility.HIDDEN, hidden)):
            counter = 0
            for index, cell in cells:
                if meta.mode is Mode.STDIO:
                    new = _stdio_cases(index, cell, visibility, counter)
                else:
                    new = _function_cases(index, cell, visibility, counter)
                counter += len(new)
                cases.extend(new)
        if not cases:
            raise ProblemError(
                "the notebook has no test cases (cells tagged 'public-tests' or 'hidden-tests')"
            )
        solution_names = _solution_names(solution_source) if meta.mode is Mode.FUNCTION else []
        if meta.mode is Mode.FUNCTION:
            imported = {name for _, found in _imports(solution_source) for name in found}
            for index, cell in public + hidden:
                _check_test_names(index, cell, set(solution_names) - imported)
        names = [c.name for c in cases]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ProblemError(f"case names must be unique; repeated: {', '.join(duplicates)}")
        unknown_cases = sorted(set(hints.cases) - set(names))
        if unknown_cases:
            raise ProblemError(
                f"the hints cell names case(s) the tests do not have: {', '.join(unknown_cases)}"
            )
        problem = cls(
            meta=meta,
            notebook=nb,
            statement_source="\n\n".join(statement),
            starter_source="\n\n".join(starter),
            solution_source=solution_source,
            cases=cases,
            solution_names=solution_names,
            sha256=hashlib.sha256(nbformat.writes(nb).encode("utf-8")).hexdigest(),
            hints=hints,
        )
        return problem

    @classmethod
    def from_bundle(cls, data: dict[str, Any]) -> Problem:
        """Rebuild a published problem from its bundle (see :meth:`to_bundle`)."""
        if data.get("version") != BUNDLE_VERSION:
            raise ProblemError(f"unsupported bundle version {data.get('version')!r}")
        try:
            nb = nbformat.from_dict(data["notebook"])
            problem = cls.from_notebook(nb)
            expected = data["expected"]
            if len(expected) != len(problem.cases):
                raise ProblemError("bundle expected values do not match its cases")
            for case, value in zip(problem.cases, expected, strict=True):
                case.expected = value
            problem.published = True
        except (KeyError, TypeError) as e:
            raise ProblemError(f"malformed bundle: missing {e}") from None
        return problem

    # -- views ------------------------------------------------------------

    @property
    def solution_imports(self) -> list[str]:
        """The solution's top-level imports: the checker runs these itself."""
        if self.meta.mode is not Mode.FUNCTION:
            return []
        return [source for source, _ in _imports(self.solution_source)]

    @property
    def student_names(self) -> list[str]:
        """Names the tests reach in the student's namespace (the solution's, less its imports)."""
        imported = {name for _, names in _imports(self.solution_source) for name in names}
        return [n for n in self.solution_names if n not in imported]

    def checker_cases(self) -> list[dict[str, Any]]:
        """Every case as the checker needs it (no expected values)."""
        return [case.checker_spec() for case in self.cases]

    @property
    def is_published(self) -> bool:
        """True when the expected values are known (``None`` is a valid expected value)."""
        return self.published

    def statement(self, lang: str = "en") -> str:
        """The statement markdown (bilingual statements are one text)."""
        return self.statement_source

    def student_notebook(self) -> NotebookNode:
        """The notebook a student starts from: no solution, no hidden tests, no outputs."""
        nb = copy.deepcopy(self.notebook)
        cells = []
        for cell in nb.cells:
            tags = set(cell.get("metadata", {}).get("tags", []))
            if tags & {"solution", "hidden-tests", "hints"}:
                continue
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            cells.append(cell)
        nb.cells = cells
        meta = self.meta.to_dict()
        nb.metadata["codetutor"] = {
            k: meta[k]
            for k in (
                "id",
                "title",
                "difficulty",
                "tags",
                "mode",
                "time_limit_s",
                "memory_limit_mb",
            )
        }
        return nb

    def to_bundle(self) -> dict[str, Any]:
        """The judge's copy: the whole notebook plus expected values, in case order."""
        return {
            "format": BUNDLE_FORMAT,
            "version": BUNDLE_VERSION,
            "id": self.meta.id,
            "sha256": self.sha256,
            "meta": self.meta.to_dict(),
            "notebook": self.notebook,
            "expected": [c.expected for c in self.cases],
        }

    def public_dict(self, lang: str = "en") -> dict[str, Any]:
        """What any student may see about the problem."""
        return {
            **{k: v for k, v in self.meta.to_dict().items() if k != "output_limit_bytes"},
            "statement": self.statement(lang),
            "starter": self.starter_source,
            "public_cases": [c.source for c in self.cases if c.visibility is Visibility.PUBLIC],
            "hidden_case_count": sum(1 for c in self.cases if c.visibility is Visibility.HIDDEN),
        }


# -- parsing helpers --------------------------------------------------------


def _read_notebook(data: Any, name: str, text: str) -> NotebookNode:
    if not isinstance(data, dict) or "cells" not in data:
        raise ProblemError(f"{name} is not a Jupyter notebook")
    if data.get("nbformat") != 4:
        raise ProblemError(f"{name}: only nbformat 4 notebooks are supported")
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        raise ProblemError(f"{name} is not a valid notebook: {str(e).splitlines()[0]}") from None
    return nb


def _cell_role(index: int, cell: NotebookNode) -> str | None:
    tags = cell.get("metadata", {}).get("tags", [])
    if not isinstance(tags, list):
        raise ProblemError("metadata.tags must be a list", cell=index, cell_id=cell.get("id"))
    roles = [t for t in tags if t in ROLE_TAGS]
    unknown = [t for t in tags if t not in ROLE_TAGS and t not in FOREIGN_TAGS]
    if unknown:
        raise ProblemError(
            f"unknown tag {unknown[0]!r}; use one of: {', '.join(ROLE_TAGS)}",
            cell=index,
            cell_id=cell.get("id"),
        )
    if len(roles) > 1:
        raise ProblemError(
            f"a cell has one role, but this one is tagged {', '.join(roles)}",
            cell=index,
            cell_id=cell.get("id"),
        )
    return roles[0] if roles else None


def _expect_type(index: int, cell: NotebookNode, cell_type: str, role: str) -> None:
    if cell.cell_type != cell_type:
        raise ProblemError(
            f"a '{role}' cell must be a {cell_type} cell, not {cell.cell_type}",
            cell=index,
            cell_id=cell.get("id"),
        )


def _segment(lines: list[str], node: ast.stmt) -> str:
    end = node.end_lineno or node.lineno
    seg = lines[node.lineno - 1 : end]
    if not seg:
        return ""
    seg = list(seg)
    seg[-1] = seg[-1][: node.end_col_offset] if node.end_col_offset is not None else seg[-1]
    seg[0] = seg[0][node.col_offset :]
    return "\n".join(seg)


def _function_cases(
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


def _stdio_cases(
    index: int, cell: NotebookNode, visibility: Visibility, counter: int
) -> list[Case]:
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


def _solution_names(source: str) -> list[str]:
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


def _imports(source: str) -> list[tuple[str, list[str]]]:
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


def _check_test_names(index: int, cell: NotebookNode, student_names: set[str]) -> None:
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
