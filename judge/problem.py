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

from .cases import (
    Case,
    Visibility,
    check_test_names,
    defined_names,
    function_cases,
    imports_of,
    stdio_cases,
)
from .exceptions import ProblemError
from .guidance import ProblemHints, TutorSettings

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


class Mode(str, Enum):
    FUNCTION = "function"
    STDIO = "stdio"


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
                    new = stdio_cases(index, cell, visibility, counter)
                else:
                    new = function_cases(index, cell, visibility, counter)
                counter += len(new)
                cases.extend(new)
        if not cases:
            raise ProblemError(
                "the notebook has no test cases (cells tagged 'public-tests' or 'hidden-tests')"
            )
        solution_names = defined_names(solution_source) if meta.mode is Mode.FUNCTION else []
        if meta.mode is Mode.FUNCTION:
            imported = {name for _, found in imports_of(solution_source) for name in found}
            for index, cell in public + hidden:
                check_test_names(index, cell, set(solution_names) - imported)
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
        return [source for source, _ in imports_of(self.solution_source)]

    @property
    def student_names(self) -> list[str]:
        """Names the tests reach in the student's namespace (the solution's, less its imports)."""
        imported = {name for _, names in imports_of(self.solution_source) for name in names}
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
