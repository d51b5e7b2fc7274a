"""The hint ladder's content: instructor hints first, then grounded facts, then the model.

:func:`plan` decides, for one turn, the text the tutor states itself — facts from
the judge (:mod:`codetutor.tutor.grounding`) and the instructor's hints from the
problem notebook's ``hints`` cell — and what, if anything, is left for the model
to phrase. The model only elaborates after this text; it is never the only source.

* A hint request climbs one rung per request: the instructor's rungs in order
  (in the student's language, or the other one when only that exists), then the
  generic rungs of :class:`~codetutor.tutor.prompts.HintLevel`. Every rung starts
  with the grounded facts of the student's last verdict.
* A question in the chat starts with the grounded facts whenever the student asks
  why their code fails (:func:`asks_why`, English or Korean).
* The instructor's note for a failing case (``## case: NAME``) is added whenever
  that case fails, public or hidden (the note is the instructor's, the name is
  visible to the student anyway).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from codetutor.tutor import grounding, prompts
from codetutor.tutor.problems import TutorProblem

SOURCE_GROUNDED = "grounded"
SOURCE_INSTRUCTOR = "instructor"
SOURCE_MODEL = "model"

_WHY = re.compile(
    r"\b(why|wrong|fail\w*|error|bug|fix|broken|incorrect|not work\w*|doesn'?t work|help)\b"
    r"|왜|틀|오류|에러|실패|안 ?돼|안 ?되|고쳐|문제가|도와",
    re.I,
)

_LABELS = {
    "en": {"instructor": "Hint {n}: ", "case": "About “{name}”: ", "line": "Look at line {line}."},
    "ko": {
        "instructor": "힌트 {n}: ",
        "case": "“{name}” 테스트에 대해: ",
        "line": "{line}번째 줄을 살펴보세요.",
    },
}


def asks_why(message: str) -> bool:
    """True when ``message`` asks what is wrong (English or Korean), or is empty."""
    return not message.strip() or bool(_WHY.search(message))


@dataclass
class Plan:
    """What the tutor says itself on one turn, and what it asks of the model."""

    #: text stated before any model output (may be empty)
    text: str = ""
    sources: list[str] = field(default_factory=list)
    #: the rung (1-based) of a hint request, else None
    level: int | None = None
    #: the generic ladder's rung when the instructor's rungs are used up (for the model)
    model_level: prompts.HintLevel | None = None
    line: int | None = None
    facts: grounding.Facts = field(default_factory=grounding.Facts)
    #: the grounded sentences, for the model's few-shot prompt
    fact_lines: list[str] = field(default_factory=list)


def instructor_rungs(hints: dict[str, Any], lang: str) -> list[str]:
    """The instructor's ladder in ``lang``, else in the other language, else ``[]``."""
    ladder = hints.get("ladder") if isinstance(hints, dict) else None
    if not isinstance(ladder, dict):
        return []
    for choice in (lang, *[k for k in prompts.LANGUAGES if k != lang]):
        rungs = ladder.get(choice)
        if isinstance(rungs, list) and rungs:
            return [str(r) for r in rungs]
    return []


def case_notes(hints: dict[str, Any], names: list[str], lang: str) -> list[tuple[str, str]]:
    """``(case name, note)`` of the instructor's notes for the failing ``names``, in order."""
    cases = hints.get("cases") if isinstance(hints, dict) else None
    if not isinstance(cases, dict):
        return []
    found = []
    for name in names:
        notes = cases.get(name)
        if isinstance(notes, dict):
            note = notes.get(lang) or next((str(v) for v in notes.values() if v), "")
            if note:
                found.append((name, str(note)))
    return found


def plan(
    problem: TutorProblem,
    verdict: dict[str, Any] | None,
    code: str,
    lang: str,
    *,
    hint: bool,
    asked: int = 0,
    attempts: int = 0,
    message: str = "",
    attempts_per_level: int = 2,
) -> Plan:
    """The tutor's own text for one turn (see the module docstring).

    ``verdict`` is the student's view of their last result; ``asked`` counts the
    hint requests before this one. Never reads hidden-case content: :func:`grounding.facts`
    reduces hidden cases to name and status.
    """
    labels = _LABELS.get(lang, _LABELS["en"])
    facts = grounding.facts(problem, prompts.student_verdict(verdict), code)
    fact_lines = grounding.grounded_lines(facts, lang)
    result = Plan(facts=facts, fact_lines=fact_lines)
    parts: list[str] = []
    if hint or asks_why(message):
        parts.extend(fact_lines)
        result.sources.append(SOURCE_GROUNDED)
        notes = case_notes(problem.hints, facts.failing_names, lang) if facts.failed else []
        for name, note in notes[:2]:
            parts.append(labels["case"].format(name=name) + note)
        if notes:
            result.sources.append(SOURCE_INSTRUCTOR)
    if hint:
        rungs = instructor_rungs(problem.hints, lang)
        result.level = asked + 1
        if asked < len(rungs):
            parts.append(labels["instructor"].format(n=asked + 1) + rungs[asked])
            if SOURCE_INSTRUCTOR not in result.sources:
                result.sources.append(SOURCE_INSTRUCTOR)
        else:
            beyond = asked - len(rungs)
            level = prompts.hint_level(max(0, attempts), beyond, attempts_per_level)
            result.model_level = level
            result.level = len(rungs) + int(level)
            if level is prompts.HintLevel.LINE:
                result.line = facts.error_line or prompts.suspect_line(code, problem.solution)
                if result.line:
                    parts.append(labels["line"].format(line=result.line))
    result.text = "\n\n".join(p for p in parts if p)
    return result
