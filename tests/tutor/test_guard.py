"""The solution guard, with the real judge (sandboxed kernels) in this process, and its CLI.

The tutor service judges through the judge service's workers instead
(tests/judge/service/test_judge_service_tutoring.py); here
:class:`~codetutor.judge.local.LocalChecker` runs the same judge in the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from traitlets.config import Config

from codetutor.judge.local import LocalChecker
from codetutor.tutor.checker import SolutionChecker
from codetutor.tutor.guard import (
    SolutionGuard,
    candidate_programs,
    extract_fragments,
    normalise,
    reference_tokens,
)
from codetutor.tutor.problems import TutorProblem

from .conftest import FILES

DEDUPE = FILES / "dedupe.ipynb"
VOWELS = FILES / "count-vowels.ipynb"
SUM = FILES / "sum-of-two.ipynb"


@pytest.fixture(scope="module")
def problems() -> dict[str, TutorProblem]:
    checker = LocalChecker(problem_dirs=[str(FILES)])
    return {p.stem: checker.load(p) for p in (DEDUPE, VOWELS, SUM)}


@pytest.fixture
async def guard() -> AsyncIterator[SolutionGuard]:
    g = SolutionGuard(checker=LocalChecker(problem_dirs=[str(FILES)]))
    yield g
    await g.close()


def test_extracts_fenced_indented_inline_and_prose_code() -> None:
    reply = (
        "Look:\n```python\nx = 1\n```\n\n    y = [x]\n\nUse `len(y)` here; "
        "그리고 total = sum(y) 처럼 쓰세요.\n~~~\nprint(x)\n~~~"
    )
    found = {(f.kind, f.source.strip()) for f in extract_fragments(reply)}
    assert ("fenced", "x = 1") in found
    assert ("fenced", "print(x)") in found
    assert ("indented", "y = [x]") in found
    assert ("inline", "len(y)") in found
    assert ("prose", "total = sum(y)") in found


def test_plain_prose_has_no_code() -> None:
    for text in (
        "Think about what happens when the list is empty.",
        "빈 리스트일 때 어떻게 되는지 생각해 보세요.",
        "Use a set to remember what you have seen.",
    ):
        assert extract_fragments(text) == []


def test_blocks_split_across_fences_are_joined() -> None:
    reply = "```\ndef f(xs):\n    seen = set()\n```\nthen\n```\n    return seen\n```"
    programs = candidate_programs(extract_fragments(reply))
    assert "def f(xs):\n    seen = set()\n    return seen" in programs


def test_normalisation_ignores_names_formatting_comments_and_docstrings() -> None:
    a = (
        'def dedupe(xs):\n    """Doc."""\n    seen = set()  # seen\n'
        "    return [x for x in xs if x not in seen]\n"
    )
    b = "def uniq( items ):\n  s=set()\n  return [ i for i in items if i not in s ]"
    assert normalise(a) == normalise(b)
    assert normalise("len(xs)") != normalise("sum(xs)")


def test_starter_code_is_not_a_secret(problems: dict[str, TutorProblem]) -> None:
    problem = problems["sum-of-two"]
    secret = reference_tokens(problem.solution, problem.starter)
    assert secret == normalise("print(a + b)")


DISGUISED = [
    pytest.param(
        "dedupe",
        "Try this:\n```python\ndef remove_dups(items):\n    seen_items = set()\n"
        "    return [i for i in items if not (i in seen_items or seen_items.add(i))]\n```",
        "closely matches",
        id="renamed-variables",
    ),
    pytest.param(
        "dedupe",
        "First make a set:\n```python\ndef dedupe(xs):\n    seen = set()\n```\nthen filter:\n"
        "```python\n    return [x for x in xs if not (x in seen or seen.add(x))]\n```",
        "closely matches",
        id="split-across-blocks",
    ),
    pytest.param(
        "count-vowels",
        "모음을 세려면 return sum(1 for ch in s.lower() if ch in 'aeiou') 처럼 쓰면 됩니다.",
        "closely matches",
        id="korean-prose",
    ),
    pytest.param(
        "count-vowels",
        "함수를 이렇게 바꿔 보세요:\n```python\ndef count_vowels(문장):\n"
        "    return sum(1 for 글자 in 문장.lower() if 글자 in 'aeiou')\n```\n이제 잘 될 거예요.",
        "closely matches",
        id="korean-with-hangul-names",
    ),
    pytest.param(
        "count-vowels",
        "Here it is:\n\n    def f(text):\n        return sum(1 for letter in text.lower() "
        "if letter in 'aeiou')\n\nDone.",
        "closely matches",
        id="indented-block",
    ),
    pytest.param(
        "sum-of-two", "Just add `print(a + b)` at the end.", "closely matches", id="inline"
    ),
    pytest.param(
        "dedupe",
        "A neat trick:\n```python\ndef unique_in_order(values):\n"
        "    return list(dict.fromkeys(values))\n```",
        "solves the problem",
        id="different-algorithm-renamed",
    ),
    pytest.param(
        "count-vowels",
        "```python\ndef count_vowels(s):\n    n = 0\n    for c in s:\n"
        "        if c in 'aeiouAEIOU':\n            n += 1\n    return n\n```",
        "solves the problem",
        id="different-algorithm",
    ),
    pytest.param(
        "sum-of-two",
        "입력을 읽은 뒤에:\n```\nx, y = map(int, input().split())\n```\n"
        "그리고\n```\nprint(y + x)\n```",
        "closely matches",
        id="stdio-split-korean",
    ),
    pytest.param(
        "sum-of-two",
        "한 줄이면 됩니다: print(sum(map(int, input().split()))) 를 쓰세요.",
        "solves the problem",
        id="stdio-one-liner-in-korean-prose",
    ),
]


@pytest.mark.parametrize(("problem_id", "reply", "reason"), DISGUISED)
async def test_disguised_solutions_are_withheld(
    guard: SolutionGuard,
    problems: dict[str, TutorProblem],
    problem_id: str,
    reply: str,
    reason: str,
) -> None:
    result = await guard.check(problems[problem_id], reply)
    assert not result.allowed
    assert reason in result.reason


HINTS = [
    ("dedupe", "Think about a `set` to remember what you have seen, and loop `for x in xs:`."),
    ("dedupe", "Your line `return list(set(xs))` loses the order of first appearance."),
    ("count-vowels", "Use `s.lower()` so that upper-case vowels count too."),
    ("count-vowels", "대문자 모음도 세야 해요. `ch in 'aeiou'` 검사 전에 무엇을 해야 할까요?"),
    ("sum-of-two", "You already read `a` and `b`; now output their sum with `print()`."),
    ("sum-of-two", "Nothing is printed yet: what does your program write to stdout?"),
]


@pytest.mark.parametrize(("problem_id", "reply"), HINTS)
async def test_hints_pass(
    guard: SolutionGuard, problems: dict[str, TutorProblem], problem_id: str, reply: str
) -> None:
    result = await guard.check(problems[problem_id], reply)
    assert result.allowed, result.reason


async def test_wrong_code_in_a_reply_passes(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    reply = (
        "This version is wrong because it forgets order:\n"
        "```python\ndef dedupe(xs):\n    return list(set(xs))\n```"
    )
    result = await guard.check(problems["dedupe"], reply)
    assert result.allowed
    assert "does not solve" in result.reason


class FailingChecker(SolutionChecker):
    """A checker whose judge is broken: every call raises."""

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        raise RuntimeError("sandbox unavailable")


async def test_judge_failure_withholds_code(problems: dict[str, TutorProblem]) -> None:
    config = Config()
    config.SolutionGuard.checker_class = FailingChecker
    guard = SolutionGuard(config=config)
    reply = "```python\ndef dedupe(xs):\n    return sorted(xs)\n```"
    result = await guard.check(problems["dedupe"], reply)
    assert not result.allowed
    assert "could not be checked" in result.reason
    prose = await guard.check(problems["dedupe"], "Keep the order of first appearance.")
    assert prose.allowed


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codetutor", "tutor", "check-reply", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_reply_cli(tmp_path: Path) -> None:
    withheld = tmp_path / "withheld.md"
    withheld.write_text(
        "```python\ndef f(xs):\n    seen = set()\n"
        "    return [v for v in xs if not (v in seen or seen.add(v))]\n```\n",
        encoding="utf-8",
    )
    allowed = tmp_path / "allowed.md"
    allowed.write_text("Remember the order of first appearance.\n", encoding="utf-8")

    out = run_cli(DEDUPE, withheld, "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["allowed"] is False and "reference" in data["reason"]

    out = run_cli(DEDUPE, allowed, "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"allowed": True, "reason": "no code in the reply"}

    plain = run_cli(DEDUPE, allowed)
    assert plain.returncode == 0 and plain.stdout.startswith("allowed:")


def test_check_reply_cli_bad_input(tmp_path: Path) -> None:
    reply = tmp_path / "reply.md"
    reply.write_text("hi", encoding="utf-8")
    not_a_notebook = tmp_path / "broken.ipynb"
    not_a_notebook.write_text("{not json", encoding="utf-8")
    for args in (
        (tmp_path / "missing.ipynb", reply),
        (not_a_notebook, reply),
        (DEDUPE, tmp_path / "missing.md"),
        (DEDUPE,),
    ):
        out = run_cli(*args, "--json")
        assert out.returncode == 2, args
        assert out.stdout == ""
        assert len(out.stderr.strip().splitlines()) == 1
        assert "Traceback" not in out.stderr
