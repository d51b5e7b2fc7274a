"""The problem set in notebooks/ (issue 8).

Each problem is ``notebooks/<slug>/problem.ipynb`` with ``submissions/*.py`` next to it
and ``expected.json`` mapping every submission to the verdict the judge must give it.
These tests check that the set is large and varied enough, that every notebook is a
well-formed bilingual problem, and — with the real judge — that every problem
publishes, its reference solution is accepted, and every submission gets its verdict.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from codetutor.judge.judge import Judge
from codetutor.judge.problem import Mode, Problem
from codetutor.judge.publish import Publisher, write_outputs
from codetutor.judge.submission import Submission
from codetutor.judge.verdict import JudgeResult, Verdict

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PROBLEM_DIRS = sorted(p.parent for p in NOTEBOOKS.glob("*/problem.ipynb"))
IDS = [d.name for d in PROBLEM_DIRS]

#: Topic tags the recommendation feature understands.
TOPICS = frozenset(
    "arithmetic variables strings conditionals loops lists dicts sets functions recursion "
    "sorting searching binary-search two-pointers prefix-sums stacks queues hashing dp greedy "
    "graphs bfs dfs math io".split()
)
VERDICTS = frozenset(v.value for v in Verdict)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ENGLISH_WORD = re.compile(r"\b[A-Za-z]{3,}\b")


def load(problem_dir: Path) -> Problem:
    return Problem.load(problem_dir / "problem.ipynb")


def expected_verdicts(problem_dir: Path) -> dict[str, str]:
    data: dict[str, str] = json.loads((problem_dir / "expected.json").read_text(encoding="utf-8"))
    return data


def test_problem_set_is_large_and_varied() -> None:
    problems = [load(d) for d in PROBLEM_DIRS]
    assert len(problems) >= 40
    assert sum(p.meta.mode is Mode.STDIO for p in problems) >= 10
    assert {p.meta.difficulty for p in problems} == {1, 2, 3, 4, 5}
    counts = Counter(p.meta.difficulty for p in problems)
    assert min(counts.values()) >= 3, counts
    covered = {t for p in problems for t in p.meta.tags}
    assert covered == TOPICS, f"topics without a problem: {sorted(TOPICS - covered)}"
    assert len({p.meta.id for p in problems}) == len(problems)


@pytest.mark.parametrize("problem_dir", PROBLEM_DIRS, ids=IDS)
def test_problem_notebook(problem_dir: Path) -> None:
    raw = nbformat.read(problem_dir / "problem.ipynb", as_version=4)
    nbformat.validate(raw)
    assert raw.metadata.kernelspec.name == "python3"
    for cell in raw.cells:
        assert cell.get("id"), "every cell has an id"
        if cell.cell_type == "code":
            assert cell.execution_count is None and cell.outputs == [], "no outputs are stored"

    problem = load(problem_dir)
    meta = problem.meta
    assert meta.id == problem_dir.name
    assert set(meta.title) == {"ko", "en"}
    assert HANGUL.search(meta.title["ko"]) and meta.title["en"].strip()
    assert isinstance(raw.metadata.codetutor.difficulty, int) and 1 <= meta.difficulty <= 5
    assert meta.tags and set(meta.tags) <= TOPICS, sorted(set(meta.tags) - TOPICS)

    statement = problem.statement("en")
    assert len(HANGUL.findall(statement)) >= 50, "the statement has a Korean part"
    assert len(ENGLISH_WORD.findall(statement)) >= 25, "the statement has an English part"
    assert "예시" in statement and "Example" in statement
    assert problem.starter_source.strip() and problem.solution_source.strip()
    assert problem.starter_source != problem.solution_source
    visibilities = Counter(c.visibility.value for c in problem.cases)
    assert visibilities["public"] >= 1 and visibilities["hidden"] >= 3, visibilities

    if "time_limit_exceeded" in expected_verdicts(problem_dir).values():
        # A problem whose time limit matters sets it and says so in both languages.
        assert "time_limit_s" in raw.metadata.codetutor
        assert "시간 제한" in statement and "Time limit" in statement


@pytest.mark.parametrize("problem_dir", PROBLEM_DIRS, ids=IDS)
def test_submissions_are_listed(problem_dir: Path) -> None:
    expected = expected_verdicts(problem_dir)
    files = {p.name for p in (problem_dir / "submissions").iterdir()}
    assert files == set(expected), "expected.json lists exactly the files in submissions/"
    assert set(expected.values()) <= VERDICTS
    assert expected.get("accepted.py") == "accepted"
    assert sum(v != "accepted" for v in expected.values()) >= 2, (
        "at least two known-wrong submissions"
    )
    alternative = (problem_dir / "submissions" / "accepted.py").read_text(encoding="utf-8")
    assert alternative.strip() != load(problem_dir).solution_source.strip()


def describe(result: JudgeResult) -> str:
    """The verdict and the first case that did not pass, for assertion messages."""
    failing = next((c for c in result.cases if c.status.value != "passed"), None)
    where = f" at case {failing.name!r} ({failing.status.value})" if failing else ""
    error = f": {result.error.message}" if result.error else ""
    return f"{result.verdict.value}{where}{error}"


@pytest.mark.slow
@pytest.mark.parametrize("problem_dir", PROBLEM_DIRS, ids=IDS)
async def test_publish_and_judge(problem_dir: Path, tmp_path: Path) -> None:
    """Publishing succeeds; the reference and every submission get their expected verdicts."""
    judge = Judge()
    try:
        problem = await Publisher(judge=judge).publish(load(problem_dir))
        student, bundle = write_outputs(problem, tmp_path)
        student_tags = {
            t
            for c in nbformat.read(student, as_version=4).cells
            for t in c.metadata.get("tags", [])
        }
        assert "solution" not in student_tags and "hidden-tests" not in student_tags
        assert Problem.load(bundle).is_published

        jobs = {
            "<reference solution>": (Submission.from_source(problem.solution_source), "accepted")
        }
        for name, verdict in expected_verdicts(problem_dir).items():
            jobs[name] = (Submission.from_path(problem_dir / "submissions" / name), verdict)
        # Submissions of one problem are judged side by side; CPU time limits keep verdicts stable.
        slots = asyncio.Semaphore(max(2, os.cpu_count() or 2))

        async def run(submission: Submission) -> JudgeResult:
            async with slots:
                return await judge.judge(problem, submission)

        results = await asyncio.gather(*(run(sub) for sub, _ in jobs.values()))
    finally:
        await judge.close()
    got = {name: describe(r) for name, r in zip(jobs, results, strict=True)}
    mismatched = {
        name: got[name]
        for (name, (_, want)), r in zip(jobs.items(), results, strict=True)
        if r.verdict.value != want
    }
    assert not mismatched, f"expected { ({n: jobs[n][1] for n in mismatched}) }, got {mismatched}"
