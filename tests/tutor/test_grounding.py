"""Grounded hints, the instructor's hints cell and the ladder (no model involved)."""

from __future__ import annotations

import pytest

from codetutor.judge.exceptions import ProblemError
from codetutor.judge.problem import ProblemHints
from codetutor.tutor import grounding, ladder, prompts
from codetutor.tutor.problems import TutorProblem

STATEMENT = "Return True for leap years.\n\n- 1 ≤ `year` ≤ 10⁹\n- 0 ≤ `len(nums)` ≤ 2 \u00d7 10⁵\n"
HINTS = {
    "ladder": {"en": ["Which years are exceptions?", "Check 100 before 4."], "ko": ["예외는?"]},
    "cases": {"century year": {"en": "Years divisible by 100 are not leap years.", "ko": "100"}},
}
PROBLEM = TutorProblem(
    id="leap-year",
    title={"en": "Leap year"},
    statement=STATEMENT,
    starter="def is_leap(year):\n    pass\n",
    solution="def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
    public_cases=("is_leap(2024)", "is_leap(1900)"),
    hints=HINTS,
)
SECRET_INPUT = "is_leap(2000)"
VERDICT = {
    "verdict": "wrong_answer",
    "score": 0.5,
    "cases": [
        {"name": "public 1", "visibility": "public", "status": "passed", "expected": "True"},
        {
            "name": "century year",
            "visibility": "public",
            "status": "failed",
            "expected": "False",
            "actual": "True",
        },
        # an instructor's view: the hidden case's content must not reach a hint
        {
            "name": "divisible by 400",
            "visibility": "hidden",
            "status": "failed",
            "expected": "SECRET-EXPECTED",
            "actual": SECRET_INPUT,
        },
    ],
}
CODE = "def is_leap(year):\n    return year % 4 == 0\n"


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_first_failing_public_case_is_named(lang: str) -> None:
    text = grounding.grounded_hint(grounding.facts(PROBLEM, VERDICT, CODE), lang)
    assert "is_leap(1900)" in text and "`False`" in text and "`True`" in text
    assert "divisible by 400" in text
    assert "SECRET" not in text and SECRET_INPUT not in text
    assert prompts.detect_language(text) == lang


def test_runtime_error_names_the_exception_and_the_line() -> None:
    verdict = {
        "verdict": "runtime_error",
        "score": 0,
        "error": {"kind": "ZeroDivisionError", "message": "division by zero", "line": 2},
        "cases": [{"name": "public 1", "visibility": "public", "status": "error"}],
    }
    text = grounding.grounded_hint(grounding.facts(PROBLEM, verdict, CODE), "en")
    assert "ZeroDivisionError" in text and "line 2" in text and "return year % 4 == 0" in text


def test_time_limit_explains_loop_nesting_against_the_constraints() -> None:
    code = "def f(nums):\n    for a in nums:\n        for b in nums:\n            pass\n"
    verdict = {
        "verdict": "time_limit_exceeded",
        "score": 0.5,
        "cases": [{"name": "large", "visibility": "hidden", "status": "timeout"}],
    }
    facts = grounding.facts(PROBLEM, verdict, code)
    assert facts.limit == "time" and facts.loop_depth == 2
    assert facts.input_bound_value == 2e5
    text = grounding.grounded_hint(facts, "en")
    assert "2 deep" in text and "10^10" in text and "“large” (timeout)" in text
    assert "시간 초과" in grounding.grounded_hint(facts, "ko")


def test_loop_depth_counts_comprehensions_and_recursion() -> None:
    assert grounding.loop_depth("[x for x in a for y in b]") == (2, False)
    assert grounding.loop_depth("def f(n):\n    return f(n - 1)\n") == (0, True)
    assert grounding.loop_depth("def (") == (0, False)


def test_no_verdict_and_accepted() -> None:
    assert "not submitted" in grounding.grounded_hint(grounding.facts(PROBLEM, None), "en")
    accepted = {"verdict": "accepted", "score": 1, "cases": []}
    assert "accepted" in grounding.grounded_hint(grounding.facts(PROBLEM, accepted), "en")


def test_the_ladder_climbs_instructor_hints_then_generic_rungs() -> None:
    seen = []
    for asked in range(4):
        plan = ladder.plan(PROBLEM, VERDICT, CODE, "en", hint=True, asked=asked)
        assert plan.text.startswith("The first failing public test is `is_leap(1900)`")
        assert "Years divisible by 100 are not leap years." in plan.text  # the case note
        seen.append((plan.level, plan.sources))
    assert (
        "Which years are exceptions?" in ladder.plan(PROBLEM, VERDICT, CODE, "en", hint=True).text
    )
    assert seen[0] == (1, ["grounded", "instructor"])
    assert [level for level, _ in seen] == [1, 2, 3, 4]
    third = ladder.plan(PROBLEM, VERDICT, CODE, "en", hint=True, asked=2)
    assert third.model_level is prompts.HintLevel.NUDGE
    # the Korean ladder has one rung; the notes fall back per language
    assert "예외는?" in ladder.plan(PROBLEM, VERDICT, CODE, "ko", hint=True).text


def test_a_plain_question_is_not_grounded_unless_it_asks_why() -> None:
    assert (
        ladder.plan(PROBLEM, VERDICT, CODE, "en", hint=False, message="What is a tuple?").text == ""
    )
    assert (
        "is_leap(1900)"
        in ladder.plan(PROBLEM, VERDICT, CODE, "en", hint=False, message="why is it wrong?").text
    )
    assert ladder.asks_why("왜 틀렸어요?")


def test_echoes_of_the_prompt_are_detected() -> None:
    rules = prompts.instruction_texts("en")
    assert prompts.echoes_prompt(
        "Sure. You are a patient programming tutor for a student solving the problem", rules
    )
    assert not prompts.echoes_prompt("Check what happens for years like 1900.", rules)
    few_shot = prompts.few_shot_prompt("is_leap(1900) should be False", "en")
    assert prompts.echoes_prompt(
        "Think about what your code does when the list is empty.", rules, few_shot
    )


HINTS_CELL = """Notes for instructors are ignored.

## en
1. Which years are exceptions?
2. Check divisibility by 100
   before divisibility by 4.

## ko
- 예외가 되는 해는?

## case: century year
- en: Years divisible by 100 are not leap years.
- ko: 100으로 나누어떨어지는 해는 윤년이 아니에요.
"""


def test_hints_cell_parses() -> None:
    hints = ProblemHints.parse(HINTS_CELL)
    assert hints.ladder["en"] == [
        "Which years are exceptions?",
        "Check divisibility by 100 before divisibility by 4.",
    ]
    assert hints.ladder["ko"] == ["예외가 되는 해는?"]
    assert hints.cases["century year"]["ko"].startswith("100으로")
    assert ProblemHints.parse(HINTS_CELL).to_dict()["cases"] == hints.to_dict()["cases"]


@pytest.mark.parametrize(
    "cell, message",
    [
        ("## fr\n1. non", "unknown hints heading"),
        ("## case: x\nplain text", "'en: …' or 'ko: …'"),
        ("## en\nno list item", "list item"),
    ],
)
def test_bad_hints_cells_are_refused(cell: str, message: str) -> None:
    with pytest.raises(ProblemError) as info:
        ProblemHints.parse(cell)
    assert message in str(info.value)
