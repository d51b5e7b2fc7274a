"""Instructor controls of the tutor per problem: ``metadata.codetutor.tutor``.

Off for exam practice (the tutor answers with a clear message, in the student's
language), context for the tutor and words its replies must not use; validated
when the problem is read (publishing), in the tutor's problem view only.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from codetutor.judge.exceptions import ProblemError
from codetutor.judge.local import FolderJudge, tutor_problem_view
from codetutor.judge.problem import Problem
from codetutor.tutor.guard import SolutionGuard, avoided_words
from codetutor.tutor.problems import TutorProblem
from codetutor.tutor.tutor import TUTOR_OFF, Tutor

from .conftest import FILES

SETTINGS = {
    "enabled": False,
    "context": {"en": "We have not covered sets yet.", "ko": "아직 집합은 배우지 않았습니다."},
    "avoid": ["set", "dict.fromkeys", "집합"],
}


def notebook(tutor: Any, problem_id: str = "dedupe-exam") -> dict[str, Any]:
    nb = json.loads((FILES / "dedupe.ipynb").read_text(encoding="utf-8"))
    nb["metadata"]["codetutor"]["id"] = problem_id
    nb["metadata"]["codetutor"]["tutor"] = tutor
    return nb


def load(nb: dict[str, Any]) -> Problem:
    return Problem.from_notebook(nbformat.from_dict(nb))


def test_settings_are_parsed_and_only_in_the_tutors_view() -> None:
    problem = load(notebook(SETTINGS))
    assert problem.meta.tutor.enabled is False
    assert problem.meta.tutor.avoid == ("set", "dict.fromkeys", "집합")
    view = TutorProblem.from_dict(tutor_problem_view(problem))
    assert not view.enabled
    assert view.context_for("ko") == "아직 집합은 배우지 않았습니다."
    assert view.avoid == ("set", "dict.fromkeys", "집합")
    # students never see them
    assert "tutor" not in problem.public_dict()
    assert "tutor" not in problem.student_notebook().metadata["codetutor"]


def test_default_is_on_with_nothing_to_avoid() -> None:
    view = TutorProblem.from_dict(tutor_problem_view(Problem.load(FILES / "dedupe.ipynb")))
    assert view.enabled and view.avoid == () and view.context_for("en") == ""


@pytest.mark.parametrize(
    ("tutor", "message"),
    [
        ("off", "metadata.codetutor.tutor must be an object"),
        ({"enabled": "no"}, "metadata.codetutor.tutor.enabled must be true or false"),
        ({"context": 3}, "metadata.codetutor.tutor.context must be a string"),
        ({"avoid": "set"}, "metadata.codetutor.tutor.avoid must be a list"),
        ({"avoid": [""]}, "metadata.codetutor.tutor.avoid must be a list"),
        ({"mute": True}, "unknown key(s) in metadata.codetutor.tutor: mute"),
    ],
)
def test_bad_settings_are_refused_when_published(tutor: Any, message: str) -> None:
    with pytest.raises(ProblemError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(notebook(tutor))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Use a set to remember what you saw.", ["set"]),
        ("Settle the order first.", []),
        ("Try DICT.FROMKEYS on it.", ["dict.fromkeys"]),
        ("집합을 써 보세요.", ["집합"]),
        ("Keep a list of what you saw.", []),
    ],
)
def test_avoided_words(text: str, found: list[str]) -> None:
    assert avoided_words(SETTINGS["avoid"], text) == found  # type: ignore[arg-type]


async def test_guard_withholds_a_reply_with_an_avoided_word() -> None:
    problem = dataclasses.replace(
        TutorProblem.from_dict(tutor_problem_view(Problem.load(FILES / "dedupe.ipynb"))),
        avoid=("set",),
    )
    guard = SolutionGuard(judge_replies=False)
    result = await guard.check(problem, "A set remembers what you have seen.")
    assert not result.allowed and "avoid" in result.reason
    assert (await guard.check(problem, "A list remembers what you have seen.")).allowed


@pytest.mark.parametrize(("lang", "message"), [("en", "help me"), ("ko", "도와주세요")])
async def test_a_disabled_tutor_says_so(tmp_path: Path, lang: str, message: str) -> None:
    (tmp_path / "dedupe-exam.ipynb").write_text(json.dumps(notebook(SETTINGS)), encoding="utf-8")
    config = Config()
    config.Tutor.judge_class = FolderJudge
    config.FolderJudge.problem_dirs = [str(tmp_path)]
    tutor = Tutor(config=config)
    try:
        events = [
            e async for e in tutor.chat(user="ann", problem_id="dedupe-exam", message=message)
        ]
        assert events[0] == {"type": "token", "text": TUTOR_OFF[lang]}
        assert events[-1]["type"] == "done" and events[-1]["disabled"] is True
        reviewed = await tutor.review(
            user="ann", code="def dedupe(xs):\n    return xs\n", problem_id="dedupe-exam", lang=lang
        )
        assert reviewed["disabled"] is True and reviewed["findings"] == []
        assert reviewed["message"] == TUTOR_OFF[lang]
    finally:
        await tutor.close()
