"""`codetutor publish`: validation failures are one line naming cell and line, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_raw_cell

from codetutor.judge.judge import Judge
from codetutor.judge.problem import Problem
from codetutor.judge.submission import Submission

from .conftest import FILES
from .test_examples import run_cli
from .test_problem import make, tagged


def write(tmp_path: Path, nb: Any) -> Path:
    path = tmp_path / "problem.ipynb"
    nbformat.write(nb, path)
    return path


def test_publish_writes_student_notebook_and_bundle(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli("publish", str(FILES / "echo_lines.ipynb"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["echo-lines.bundle", "echo-lines.ipynb"]
    bundle = json.loads((out / "echo-lines.bundle").read_text())
    assert bundle["expected"] == ["HELLO\nWORLD\n", "A\n", "B C\n", "XYZ\n"]


@pytest.mark.parametrize(
    "cells, message",
    [
        (
            [
                tagged(new_code_cell("def f(x):\n    return x"), "solution"),
                tagged(new_code_cell("f(1)\nassert f(2) == 3"), "public-tests"),
            ],
            "cell 3, line 2: the reference solution fails case 'public 2'",
        ),
        (
            [
                tagged(new_code_cell("def f(x):\n    return object()"), "solution"),
                tagged(new_code_cell("f(1)"), "public-tests"),
            ],
            "cell 3, line 1: the expected value of case 'public 1' is not plain data",
        ),
        (
            [
                tagged(new_code_cell("def f(x):\n    return 1 / x"), "solution"),
                tagged(new_code_cell("f(1)\n\nf(0)"), "hidden-tests"),
            ],
            "cell 3, line 3: the reference solution raises ZeroDivisionError",
        ),
        (
            [
                tagged(new_code_cell("def f(x):\n    while True: pass"), "solution"),
                tagged(new_code_cell("f(1)"), "public-tests"),
            ],
            "exceeds the time limit on case 'public 1'",
        ),
        (
            [
                tagged(new_code_cell("def f(x) return x"), "solution"),
                tagged(new_code_cell("f(1)"), "public-tests"),
            ],
            "the reference solution does not parse",
        ),
        (
            [
                tagged(new_code_cell("def f(x):\n    return x"), "solution"),
                tagged(new_code_cell("f(1"), "public-tests"),
            ],
            "cell 3, line 1: test does not parse",
        ),
        (
            [
                tagged(new_code_cell("def f(x):\n    return x"), "solution"),
                tagged(new_code_cell("f(1)"), "tests"),
            ],
            "cell 3: unknown tag 'tests'",
        ),
    ],
)
def test_publish_failures(tmp_path: Path, cells: list[Any], message: str) -> None:
    nb = make({"id": "p", "title": "P", "time_limit_s": 0.5})
    nb.cells = [nb.cells[0], *cells]
    path = write(tmp_path, nb)
    out = tmp_path / "out"
    proc = run_cli("publish", str(path), "--out", str(out))
    assert proc.returncode == 2, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert message in lines[0]
    assert not out.exists() or not any(out.iterdir())


def test_publish_missing_metadata(tmp_path: Path) -> None:
    nb = make()
    del nb.metadata["codetutor"]
    proc = run_cli("publish", str(write(tmp_path, nb)), "--out", str(tmp_path / "out"))
    assert proc.returncode == 2
    assert "no 'codetutor' object" in proc.stderr


async def test_stdio_input_styles(judge: Judge) -> None:
    from .conftest import published

    problem = await published(FILES / "echo_lines.ipynb")
    styles = {
        "input": "try:\n    while True:\n        print(input().upper())\nexcept EOFError:\n    pass",
        "readline": "import sys\nfor line in sys.stdin.readlines():\n    print(line.strip().upper())",
        "open0": "print(open(0).read().upper().strip())",
        "buffer": "import sys\nsys.stdout.write(sys.stdin.buffer.read().decode().upper())",
        "exit0": "import sys\nprint(sys.stdin.read().upper())\nsys.exit(0)",
    }
    for name, code in styles.items():
        result = await judge.judge(problem, Submission.from_source(code))
        assert result.verdict.value == "accepted", (name, result.to_dict("instructor"))
    result = await judge.judge(problem, Submission.from_source("import sys\nsys.exit(3)"))
    assert result.verdict.value == "runtime_error"
    result = await judge.judge(problem, Submission.from_source("print('x'"))
    assert result.verdict.value == "syntax_error"


async def test_notebook_submission_skips_its_own_tests_and_supports_magics(judge: Judge) -> None:
    from .conftest import published

    problem = await published(FILES / "probe.ipynb")
    nb = Problem.load(FILES / "probe.ipynb").student_notebook()
    nb.cells[1].source = "%time x = 1\ndef probe():\n    return 'ok'"
    # A student who edits their copy of the tests changes nothing.
    nb.cells[2].source = "assert False"
    nb.cells.append(new_raw_cell("not code"))
    result = await judge.judge(problem, Submission.from_notebook(nb))
    assert result.verdict.value == "accepted", result.to_dict()


def test_none_is_a_valid_expected_value(tmp_path: Path) -> None:
    nb = make({"id": "nothing", "title": "Nothing", "time_limit_s": 0.5})
    nb.cells[1] = tagged(new_code_cell("def f(x):\n    return None"), "solution")
    out = tmp_path / "out"
    assert run_cli("publish", str(write(tmp_path, nb)), "--out", str(out)).returncode == 0
    for code, verdict in (
        ("def f(x):\n    pass", "accepted"),
        ("def f(x):\n    return 0", "wrong_answer"),
    ):
        submission = tmp_path / "answer.py"
        submission.write_text(code)
        proc = run_cli("judge", str(out / "nothing.bundle"), str(submission), "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["verdict"] == verdict
