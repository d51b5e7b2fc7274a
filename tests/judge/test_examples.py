"""Every example of ../shared/examples (copied into tests/files/examples) gets its expected verdict from `codetutor judge`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES, FILES

EXPECTED: dict[str, str] = json.loads((EXAMPLES / "expected.json").read_text())
CASE_KEYS = {"name", "visibility", "status", "time_ms"}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codetutor", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def submission_path(key: str) -> Path:
    problem, name = key.split("/")
    return EXAMPLES / problem / "submissions" / f"{name}.ipynb"


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_example_verdict(key: str, tmp_path: Path) -> None:
    problem = EXAMPLES / key.split("/")[0] / "problem.ipynb"
    proc = run_cli("judge", str(problem), str(submission_path(key)), "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["verdict"] == EXPECTED[key]
    assert 0.0 <= result["score"] <= 1.0
    assert isinstance(result["time_ms"], int | float)
    assert result["cases"], "every verdict lists the cases"
    for case in result["cases"]:
        assert CASE_KEYS <= set(case)
        assert case["visibility"] in ("public", "hidden")
        if case["visibility"] == "hidden":
            # A student sees only name, status and time of a hidden case.
            assert set(case) == CASE_KEYS
    if EXPECTED[key] == "accepted":
        assert result["score"] == 1.0
        assert all(c["status"] == "passed" for c in result["cases"])
    else:
        assert result["score"] < 1.0


def test_hidden_details_never_reach_students() -> None:
    problem = EXAMPLES / "count-vowels" / "problem.ipynb"
    proc = run_cli(
        "judge", str(problem), str(submission_path("count-vowels/wrong_answer_case")), "--json"
    )
    text = proc.stdout
    # Inputs and expected values of hidden cases appear nowhere in the output.
    assert "AEIOU" not in text and "한글" not in text
    hidden = [c for c in json.loads(text)["cases"] if c["visibility"] == "hidden"]
    assert [c["status"] for c in hidden] == ["failed", "failed", "passed"]


def test_judge_from_published_bundle(tmp_path: Path) -> None:
    problem = EXAMPLES / "dedupe" / "problem.ipynb"
    out = tmp_path / "out"
    proc = run_cli("publish", str(problem), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    student = json.loads((out / "dedupe.ipynb").read_text())
    tags = [t for c in student["cells"] for t in c["metadata"].get("tags", [])]
    assert "solution" not in tags and "hidden-tests" not in tags
    assert "seen.add" not in json.dumps(student)
    proc = run_cli(
        "judge", str(out / "dedupe.bundle"), str(submission_path("dedupe/wrong_order")), "--json"
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["verdict"] == "wrong_answer"


def test_human_readable_output() -> None:
    proc = run_cli("judge", str(FILES / "probe.ipynb"), str(FILES / "probe.ipynb"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("accepted")


@pytest.mark.parametrize(
    "args, message",
    [
        (["judge"], "usage: codetutor judge"),
        (["judge", "missing.ipynb", "x.py"], "no such file: missing.ipynb"),
        (["judge", "README.md", "x.py"], "is not JSON"),
        (["judge", "--nope", "a", "b"], "unknown option --nope"),
        (["frobnicate"], "unknown subcommand"),
        (["publish", "x.ipynb"], "--out is required"),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert message in lines[0]


def test_bad_submission_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.ipynb"
    bad.write_text("{not json")
    proc = run_cli("judge", str(FILES / "probe.ipynb"), str(bad))
    assert proc.returncode == 2
    assert "is not a notebook" in proc.stderr
    txt = tmp_path / "answer.txt"
    txt.write_text("print(1)")
    proc = run_cli("judge", str(FILES / "probe.ipynb"), str(txt))
    assert proc.returncode == 2
    assert ".ipynb notebook or a .py file" in proc.stderr
