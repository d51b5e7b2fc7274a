"""The problem format (SPEC.md section 3): parsing, validation, student notebook, bundle."""

from __future__ import annotations

import copy
import json
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

from codetutor.judge.cases import CaseKind, Visibility
from codetutor.judge.exceptions import ProblemError
from codetutor.judge.problem import Mode, Problem

from .conftest import EXAMPLES


def make(
    meta: dict[str, Any] | None = None, cells: list[Any] | None = None
) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["codetutor"] = {"id": "p", "title": "P"} if meta is None else meta
    nb.cells = (
        cells
        if cells is not None
        else [
            tagged(new_markdown_cell("Do it."), "statement"),
            tagged(new_code_cell("def f(x):\n    return x + 1"), "solution"),
            tagged(new_code_cell("f(1)"), "public-tests"),
        ]
    )
    return nb


def tagged(cell: Any, *tags: str) -> Any:
    cell.metadata["tags"] = list(tags)
    return cell


def parse(nb: nbformat.NotebookNode) -> Problem:
    return Problem.loads(nbformat.writes(nb))


def test_examples_parse() -> None:
    vowels = Problem.load(EXAMPLES / "count-vowels" / "problem.ipynb")
    assert vowels.meta.title == {"en": "Count vowels", "ko": "모음 세기"}
    assert vowels.meta.mode is Mode.FUNCTION
    assert [c.name for c in vowels.cases] == [
        "hello",
        "public 2",
        "hidden 1",
        "hidden 2",
        "hidden 3",
    ]
    assert [c.visibility for c in vowels.cases][:2] == [Visibility.PUBLIC, Visibility.PUBLIC]
    assert vowels.solution_names == ["count_vowels"]
    stdio = Problem.load(EXAMPLES / "sum-of-two" / "problem.ipynb")
    assert [c.stdin for c in stdio.cases] == ["1 2\n", "-5 5\n", "1000000000000 1\n"]
    assert all(c.kind is CaseKind.STDIO for c in stdio.cases)


def test_case_kinds_and_setup() -> None:
    dedupe = Problem.load(EXAMPLES / "dedupe" / "problem.ipynb")
    kinds = [c.kind for c in dedupe.cases]
    assert kinds == [
        CaseKind.ASSERT_EQUAL,
        CaseKind.VALUE,
        CaseKind.VALUE,
        CaseKind.VALUE,
        CaseKind.ASSERT_EQUAL,
    ]
    last = dedupe.cases[-1]
    assert last.setup == ["xs = list(range(50000)) * 2"]
    assert (last.expr, last.other) == ("dedupe(xs)", "list(range(50000))")


def test_defaults() -> None:
    meta = parse(make()).meta
    assert (meta.difficulty, meta.tags, meta.mode, meta.time_limit_s, meta.memory_limit_mb) == (
        1,
        (),
        Mode.FUNCTION,
        2.0,
        256,
    )
    assert meta.float_tolerance == 1e-6


@pytest.mark.parametrize(
    "meta, message",
    [
        ({"title": "x"}, "metadata.codetutor.id is required"),
        ({"id": "Bad Id", "title": "x"}, "must be a slug"),
        ({"id": "p"}, "title is required"),
        ({"id": "p", "title": {"ko": ""}}, "title must be"),
        ({"id": "p", "title": "x", "difficulty": 9}, "difficulty must be 1..5"),
        ({"id": "p", "title": "x", "mode": "repl"}, "mode must be"),
        ({"id": "p", "title": "x", "time_limit_s": -1}, "time_limit_s"),
        ({"id": "p", "title": "x", "tags": "loops"}, "tags must be a list"),
        ({"id": "p", "title": "x", "colour": "red"}, "unknown key"),
    ],
)
def test_metadata_validation(meta: dict[str, Any], message: str) -> None:
    with pytest.raises(ProblemError, match=message):
        parse(make(meta))


def test_missing_metadata() -> None:
    nb = make()
    del nb.metadata["codetutor"]
    with pytest.raises(ProblemError, match="no 'codetutor' object"):
        parse(nb)


def test_unknown_tag_names_the_cell() -> None:
    nb = make()
    nb.cells.append(tagged(new_code_cell("f(2)"), "hidden-test"))
    with pytest.raises(ProblemError) as info:
        parse(nb)
    assert info.value.cell == 3
    assert "unknown tag 'hidden-test'" in str(info.value)


def test_test_that_does_not_parse_names_cell_and_line() -> None:
    nb = make()
    nb.cells[2] = tagged(new_code_cell("f(1)\nf(2\n"), "public-tests")
    with pytest.raises(ProblemError) as info:
        parse(nb)
    assert (info.value.cell, info.value.line) == (2, 2)
    assert str(info.value).startswith("cell 3")  # counted from 1, as JupyterLab shows it


def test_case_names_and_trailing_setup() -> None:
    nb = make()
    nb.cells[2] = tagged(
        new_code_cell("# case: one\nf(1)\nx = 3\n# case: three\nassert f(x) == 4"), "public-tests"
    )
    problem = parse(nb)
    assert [c.name for c in problem.cases] == ["one", "three"]
    nb.cells[2] = tagged(new_code_cell("f(1)\nx = 3"), "public-tests")
    with pytest.raises(ProblemError, match="never checked"):
        parse(nb)


def test_duplicate_case_names() -> None:
    nb = make()
    nb.cells[2] = tagged(new_code_cell("# case: a\nf(1)\n# case: a\nf(2)"), "public-tests")
    with pytest.raises(ProblemError, match="unique"):
        parse(nb)


def test_no_solution_or_no_cases() -> None:
    nb = make()
    del nb.cells[1]
    with pytest.raises(ProblemError, match="no cell tagged 'solution'"):
        parse(nb)
    nb = make()
    del nb.cells[2]
    with pytest.raises(ProblemError, match="no test cases"):
        parse(nb)


def test_stdio_tests_must_be_raw_cells() -> None:
    nb = make({"id": "p", "title": "x", "mode": "stdio"})
    with pytest.raises(ProblemError, match="must be a raw cell"):
        parse(nb)
    nb.cells[2] = tagged(new_raw_cell("1\n---\n\n---\n3"), "public-tests")
    with pytest.raises(ProblemError, match="empty stdio case"):
        parse(nb)


def test_student_notebook_has_no_solution_or_hidden_tests() -> None:
    problem = Problem.load(EXAMPLES / "count-vowels" / "problem.ipynb")
    student = problem.student_notebook()
    text = json.dumps(student)
    assert "solution" not in [t for c in student.cells for t in c.metadata.get("tags", [])]
    assert "s.lower()" not in text and "AEIOU" not in text
    assert student.metadata["codetutor"]["id"] == "count-vowels"
    nbformat.validate(student)


def test_bundle_round_trip() -> None:
    problem = Problem.load(EXAMPLES / "dedupe" / "problem.ipynb")
    for i, case in enumerate(problem.cases):
        case.expected = {"__ct__": "tuple", "v": [i]}
    again = Problem.loads(json.dumps(problem.to_bundle()))
    assert [c.expected for c in again.cases] == [c.expected for c in problem.cases]
    assert again.meta == problem.meta
    broken = copy.deepcopy(problem.to_bundle())
    broken["expected"] = broken["expected"][:1]
    with pytest.raises(ProblemError, match="do not match"):
        Problem.loads(json.dumps(broken))
