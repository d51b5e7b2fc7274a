"""Holes the solution guard had (issue 16), each closed, with the real judge in this process.

Each case below was allowed by the guard before: a renamed function of another
arity, decoys crowding the solution out of the candidates, a solution split across
turns or handed over as a fix to the student's code, and review findings that
give the solution away only together.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from codetutor.judge.local import LocalChecker
from codetutor.tutor import review
from codetutor.tutor.checker import SolutionChecker
from codetutor.tutor.guard import SolutionGuard, entry_variants
from codetutor.tutor.problems import TutorProblem
from codetutor.tutor.snippets import extract_fragments, patched_programs

from .conftest import FILES


class CountingChecker(SolutionChecker):
    """The real judge in this process, counting its calls and the programs in each."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__()
        self.inner = LocalChecker(problem_dirs=[str(FILES)])
        self.calls: list[int] = []

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        self.calls.append(len(programs))
        return await self.inner.accepted(problem, programs)

    async def close(self) -> None:
        await self.inner.close()


@pytest.fixture(scope="module")
def problems() -> dict[str, TutorProblem]:
    checker = LocalChecker(problem_dirs=[str(FILES)])
    return {name: checker.load(FILES / f"{name}.ipynb") for name in ("dedupe", "count-vowels")}


@pytest.fixture
async def checker() -> AsyncIterator[CountingChecker]:
    c = CountingChecker()
    yield c
    await c.close()


@pytest.fixture
def guard(checker: CountingChecker) -> SolutionGuard:
    return SolutionGuard(checker=checker)


# -- renamed functions of any arity ---------------------------------------------------

RENAMED_OTHER_ARITY = (
    "Another way:\n```python\ndef unique(items, seen=None):\n"
    "    if seen is None:\n        seen = {}\n    for item in items:\n"
    "        seen.setdefault(item, True)\n    return list(seen)\n```"
)


def test_entry_variants_adapt_any_arity() -> None:
    program = "def unique(items, seen=None, *, k=1):\n    return items"
    variants = entry_variants(program, "def dedupe(xs):\n    return xs")
    assert len(variants) == 1 and "def dedupe(*args, **kwargs):" in variants[0]
    namespace: dict[str, object] = {}
    exec(variants[0], namespace)
    assert namespace["dedupe"]([1, 2]) == [1, 2]  # type: ignore[operator]
    # more required parameters than the reference passes: the rest get None
    namespace = {}
    exec(entry_variants("def g(a, b):\n    return [a, b]", "def f(x):\n    pass")[0], namespace)
    assert namespace["f"](1) == [1, None]  # type: ignore[operator]


async def test_renamed_function_with_other_arity_is_withheld(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    result = await guard.check(problems["dedupe"], RENAMED_OTHER_ARITY)
    assert not result.allowed
    assert "solves the problem" in result.reason


# -- decoys -------------------------------------------------------------------------------

DECOYS = "".join(
    f"Step {i}:\n```python\ndef helper_{i}(value):\n    return value\n```\n" for i in range(7)
)
DECOY_REPLY = (
    DECOYS
    + "And this one fails:\n```python\nraise ValueError('not like this')\n```\n"
    + "Finally:\n```python\ndef unique_in_order(values):\n    return list(dict.fromkeys(values))\n```"
)


async def test_decoys_do_not_push_the_solution_out(
    checker: CountingChecker, problems: dict[str, TutorProblem]
) -> None:
    guard = SolutionGuard(checker=checker, max_judged_programs=64)
    result = await guard.check(problems["dedupe"], DECOY_REPLY)
    assert not result.allowed
    assert "solves the problem" in result.reason
    assert result.code.startswith("def unique_in_order(values):")
    assert len(checker.calls) == 1  # every candidate in one guard job


async def test_more_candidates_than_the_budget_fail_closed(
    checker: CountingChecker, problems: dict[str, TutorProblem]
) -> None:
    guard = SolutionGuard(checker=checker)
    result = await guard.check(problems["dedupe"], DECOY_REPLY)
    assert not result.allowed
    assert "too much code" in result.reason
    assert checker.calls == []


# -- the conversation, not only the reply ---------------------------------------------

TURN_1 = (
    "Start like this:\n```python\ndef dedupe(xs):\n    kept = {}\n    for x in xs:\n"
    "        kept[x] = True\n```"
)
TURN_2 = "And at the end of the function:\n```python\n    return list(kept)\n```"


async def test_each_turn_alone_is_allowed(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    assert (await guard.check(problems["dedupe"], TURN_1)).allowed
    assert (await guard.check(problems["dedupe"], TURN_2)).allowed


async def test_solution_split_across_turns_is_withheld(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    result = await guard.check(problems["dedupe"], TURN_2, earlier=[TURN_1])
    assert not result.allowed
    assert "solves the problem" in result.reason


ALMOST = (
    "def count_vowels(s):\n    n = 0\n    for c in s:\n        if c in 'aeiou':\n"
    "            n += 1\n    return n\n"
)
ONE_LINE_FIX = "Only one line needs to change: `if c in 'aeiouAEIOU':` and you are done."


def test_patches_replace_the_closest_student_line() -> None:
    patched = patched_programs(ALMOST, extract_fragments("```\nif c in 'aeiouAEIOU':\n```"))
    assert patched[0] == ALMOST.replace("'aeiou'", "'aeiouAEIOU'").rstrip("\n")


async def test_one_line_fix_to_the_students_code_is_withheld(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    problem = problems["count-vowels"]
    assert (await guard.check(problem, ONE_LINE_FIX)).allowed  # the reply alone
    result = await guard.check(problem, ONE_LINE_FIX, code=ALMOST)
    assert not result.allowed
    assert "applied to the student's code" in result.reason


async def test_a_fix_to_code_that_passes_already_gives_nothing_away(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    passing = ALMOST.replace("for c in s:", "for c in s.lower():")
    reply = "Style: `if c in 'aeiouAEIOU':` also works, but you lower-case already."
    result = await guard.check(problems["count-vowels"], reply, code=passing)
    assert result.allowed, result.reason


async def test_hints_pass_with_the_conversation_and_code(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    result = await guard.check(
        problems["count-vowels"],
        "Upper-case vowels count too: what could you do to `c` before the test?",
        earlier=["Look at the `if` line of your loop."],
        code=ALMOST,
    )
    assert result.allowed, result.reason


# -- review findings together -----------------------------------------------------------


def finding(line: int, message: str, hint: str) -> review.Finding:
    return review.Finding(line, "error", "correctness", message, hint, "model")


async def test_review_findings_are_checked_together(
    guard: SolutionGuard, problems: dict[str, TutorProblem]
) -> None:
    findings = [
        finding(1, "Start over with a dict:", "```python\ndef dedupe(xs):\n    kept = {}\n```"),
        finding(2, "Fill it:", "```python\n    for x in xs:\n        kept[x] = True\n```"),
        finding(3, "Return its keys:", "```python\n    return list(kept)\n```"),
        finding(1, "Naming", "Name the list `items`, not `xs`."),
    ]
    problem = problems["dedupe"]
    for one in findings:  # each alone gives nothing away
        assert (await guard.check(problem, review.finding_text(one))).allowed
    kept = await review.guarded_findings(guard, problem, findings)
    assert findings[3] in kept
    assert not all(f in kept for f in findings[:3])
