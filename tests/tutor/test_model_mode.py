"""The tutor's model modes: a model that cannot chat is detected; its echoes never reach a student."""

from __future__ import annotations

from typing import Any

from codetutor.tutor import prompts
from codetutor.tutor.guard import SolutionGuard
from codetutor.tutor.problems import JudgeClient, TutorProblem
from codetutor.tutor.scheduler import Scheduler
from codetutor.tutor.tutor import Tutor
from tests.tutor.conftest import ScriptedEngine

PROBLEM = TutorProblem(
    id="leap-year",
    title={"en": "Leap year"},
    statement="Return True for leap years.",
    starter="",
    solution="def is_leap(year):\n    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)\n",
    public_cases=("is_leap(1900)",),
)
VERDICT = {
    "verdict": "wrong_answer",
    "score": 0.0,
    "cases": [
        {
            "name": "century",
            "visibility": "public",
            "status": "failed",
            "expected": "False",
            "actual": "True",
        }
    ],
}


class UnknownEngine(ScriptedEngine):
    """A scripted engine that does not say whether it can chat (like an HTTP endpoint)."""

    @property
    def chat_capable(self) -> bool | None:
        return None


class BaseModelEngine(ScriptedEngine):
    """A scripted engine over a GGUF without a chat template."""

    @property
    def chat_capable(self) -> bool | None:
        return False


class StaticJudge(JudgeClient):
    """Knows the one problem; never reached over HTTP."""

    async def problem(self, problem_id: str, user: str | None = None) -> TutorProblem:
        return PROBLEM


def make_tutor(engine: ScriptedEngine) -> Tutor:
    scheduler = Scheduler(engine=engine)
    scheduler.start()
    return Tutor(scheduler=scheduler, guard=SolutionGuard(), judge=StaticJudge())


async def answer(tutor: Tutor, **kwargs: Any) -> tuple[str, dict[str, Any]]:
    text, done = "", {}
    async for event in tutor.chat(
        user="alice", problem_id="leap-year", code="", verdict=VERDICT, **kwargs
    ):
        if event["type"] == "token":
            text += event["text"]
        elif event["type"] == "replace":
            text = event["text"]
        elif event["type"] == "done":
            done = event
    return text, done


async def test_a_probe_that_echoes_means_completion_mode() -> None:
    rules = prompts.instruction_texts("en")[0]
    engine = UnknownEngine(replies=[rules, "Note: 1900 is divisible by 100.\n"], token_delay=0)
    tutor = make_tutor(engine)
    tutor.base_model_mode = "completion"
    try:
        assert await tutor.model_mode_now() == "completion"
        text, done = await answer(tutor, message="why is it wrong?")
    finally:
        await tutor.scheduler.stop()
    assert done["mode"] == "completion" and done["sources"] == ["grounded", "model"]
    assert text.startswith("The first failing public test is `is_leap(1900)`")
    assert "1900 is divisible by 100" in text
    # the model got a few-shot completion prompt, not chat messages
    assert engine.requests[-1].prompt and engine.requests[-1].messages is None


async def test_an_echoing_base_model_is_withheld_and_the_facts_remain() -> None:
    echo = "Tutor notes. Each note explains a failed test to a student in one short sentence."
    engine = BaseModelEngine(replies=[echo], token_delay=0)
    tutor = make_tutor(engine)
    tutor.base_model_mode = "completion"
    try:
        text, done = await answer(tutor, message="", hint=True, lang="en")
    finally:
        await tutor.scheduler.stop()
    assert "Tutor notes" not in text and "is_leap(1900)" in text
    assert done["sources"] == ["grounded"] and "repeats" in done["reason"]
    assert done["mode"] == "completion" and done["withheld"] is False


async def test_off_mode_sends_no_model_text() -> None:
    engine = BaseModelEngine(replies=["never asked"], token_delay=0)
    tutor = make_tutor(engine)
    tutor.model_mode = "off"
    try:
        text, done = await answer(tutor, message="왜 틀렸나요?")
    finally:
        await tutor.scheduler.stop()
    assert engine.requests == []
    assert "is_leap(1900)" in text and prompts.detect_language(text) == "ko"
    assert done["sources"] == ["grounded"] and done["mode"] == "off"


async def test_by_default_a_base_model_adds_nothing() -> None:
    engine = BaseModelEngine(replies=["Check if the number in the list is even."], token_delay=0)
    tutor = make_tutor(engine)
    try:
        assert await tutor.model_mode_now() == "off"
        text, done = await answer(tutor, message="why is it wrong?")
    finally:
        await tutor.scheduler.stop()
    assert engine.requests == [] and "is_leap(1900)" in text and done["mode"] == "off"


async def test_a_base_model_note_that_is_not_about_the_test_is_dropped() -> None:
    engine = BaseModelEngine(replies=["Check if the number in the list is even."], token_delay=0)
    tutor = make_tutor(engine)
    tutor.base_model_mode = "completion"
    try:
        text, done = await answer(tutor, message="why is it wrong?")
    finally:
        await tutor.scheduler.stop()
    assert "even" not in text and "is_leap(1900)" in text
    assert done["sources"] == ["grounded"] and "not about" in done["reason"]
