"""Tests run in the checker, apart from the student's code (SPEC section 3).

The `stack` problem (tests/files/stack.ipynb) has a class, objects that stay in
the student's sandbox behind handles, a helper predicate that catches the
student's exception, an import of the solution's that the checker runs itself,
and assert cases of every shape.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import nbformat
import pytest

from codetutor.judge import _kernel, _wire
from codetutor.judge._checker import CannotSend, Ref, _to_sandbox, raised
from codetutor.judge.exceptions import ProblemError
from codetutor.judge.judge import Judge
from codetutor.judge.problem import Problem
from codetutor.judge.publish import Publisher

from .conftest import FILES, judge_code, judge_config

STACK = FILES / "stack.ipynb"
pytestmark = pytest.mark.usefixtures("clean_host")


def solution(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if "solution" in c.metadata.get("tags", []))


async def test_objects_stay_in_the_sandbox_behind_handles(judge: Judge) -> None:
    result = await judge_code(
        judge, STACK, solution(STACK).replace("from collections import deque\n", "")
    )
    assert result.verdict.value == "accepted", result.to_dict("instructor")
    assert result.score == 1.0


@pytest.mark.parametrize(
    ("change", "failing"),
    [
        # pop on an empty stack returns None instead of raising: the helper predicate sees it
        (("raise IndexError('pop from empty stack')", "return None"), {"empty pop raises"}),
        # a queue, not a stack
        (("return self._items.pop()", "return self._items.pop(0)"), {"pop", "peek after pops"}),
        # raises the wrong exception class: the checker's `except IndexError` does not catch it
        (
            ("raise IndexError('pop from empty stack')", "raise ValueError('empty')"),
            {"empty pop raises"},
        ),
    ],
)
async def test_wrong_classes_fail_the_right_cases(
    judge: Judge, change: tuple[str, str], failing: set[str]
) -> None:
    code = solution(STACK).replace(*change)
    result = await judge_code(judge, STACK, code)
    assert result.verdict.value in ("wrong_answer", "runtime_error")
    assert {c.name for c in result.cases if c.status.value != "passed"} == failing


async def test_a_missing_name_is_a_runtime_error(judge: Judge) -> None:
    result = await judge_code(judge, STACK, "class Stck:\n    pass")
    assert result.verdict.value == "runtime_error"
    assert "NameError" in (result.cases[0].message or "")


def problem_with_tests(public: str, hidden: str = "assert f(1) == 2") -> Problem:
    nb = nbformat.v4.new_notebook(metadata={"codetutor": {"id": "t", "title": "T"}})

    def cell(src: str, tag: str) -> nbformat.NotebookNode:
        c = (
            nbformat.v4.new_code_cell(src)
            if tag != "statement"
            else nbformat.v4.new_markdown_cell(src)
        )
        c.metadata["tags"] = [tag]
        return c

    nb.cells = [
        cell("# T", "statement"),
        cell("def f(x):\n    return x + 1", "solution"),
        cell(public, "public-tests"),
        cell(hidden, "hidden-tests"),
    ]
    return Problem.from_notebook(nbformat.from_dict(copy.deepcopy(nb)))


@pytest.mark.parametrize(
    ("tests", "line", "words"),
    [
        ("f = lambda x: x + 1\nf(1)", 1, "rebind the solution's name 'f'"),
        ("f(1)\ndef f(x):\n    return 2\nf(2)", 2, "rebind the solution's name 'f'"),
        ("f(1)\ndel f\nf(2)", 2, "rebind the solution's name 'f'"),
        ("from math import floor as f\nf(1)", 1, "rebind the solution's name 'f'"),
    ],
)
def test_tests_that_cannot_be_judged_safely_are_refused_with_cell_and_line(
    tests: str, line: int, words: str
) -> None:
    with pytest.raises(ProblemError) as info:
        problem_with_tests(tests)
    assert info.value.cell == 2
    assert info.value.line == line
    assert words in info.value.message


async def test_passing_a_test_function_to_the_student_is_refused_at_publish() -> None:
    problem = problem_with_tests("f(1)", "assert f(lambda: 1) == 2")
    publisher = Publisher(config=judge_config())
    try:
        with pytest.raises(ProblemError) as info:
            await publisher.publish(problem)
    finally:
        await publisher.close()
    assert info.value.cell == 3
    assert info.value.line == 1
    assert "only pass plain data" in info.value.message


def test_the_harness_returns_handles_for_objects_and_data_for_data() -> None:
    class Point:
        pass

    point = Point()
    encoded = _kernel.encode([1, (2, 3), point])
    assert encoded[:2] == [1, {"__ct__": "tuple", "v": [2, 3]}]
    assert encoded[2]["__ct__"] == "other" and isinstance(encoded[2]["h"], int)
    assert _kernel._handles[encoded[2]["h"]] is point


def test_the_checker_rebuilds_student_exceptions_as_their_builtin_class() -> None:
    exc = raised({"ename": "KeyError", "evalue": "'x'"}, "error")
    assert isinstance(exc, KeyError)
    odd = raised({"ename": "UnicodeDecodeError", "evalue": "bad"}, "memory")
    assert isinstance(odd, Exception) and odd.status == "memory"
    custom = raised({"ename": "StackEmpty", "evalue": "empty"}, "anything")
    assert not isinstance(custom, KeyError) and custom.status == "error"


def test_refs_never_hash_and_only_data_and_refs_cross_to_the_sandbox() -> None:
    ref = Ref({"n": "f"})
    with pytest.raises(TypeError):
        hash(ref)
    assert json.loads(_wire.dumps([1, ref], _to_sandbox)) == [1, {"__ct__": "ref", "n": "f"}]
    with pytest.raises(CannotSend):
        _wire.dumps([lambda: 1], _to_sandbox)
