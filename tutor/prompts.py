"""What the tutor tells the model, and the hint ladder.

The prompt is grounded in what the student may see — the problem statement, their
own code and their last verdict with *public* test feedback — and nothing else:
:func:`student_verdict` strips every hidden-case detail, and the reference solution
never enters a prompt (the guard reads it, the model does not).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

_HANGUL = re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")
_LETTER = re.compile(r"[A-Za-z\uac00-\ud7af]")
LANGUAGES = ("en", "ko")


def detect_language(text: str, default: str = "en") -> str:
    """``"ko"`` when at least a fifth of the letters in ``text`` are Hangul, else ``"en"``.

    Returns ``default`` when ``text`` has no letters at all.
    """
    letters = _LETTER.findall(text)
    if not letters:
        return default
    hangul = sum(1 for ch in letters if _HANGUL.match(ch))
    return "ko" if hangul / len(letters) >= 0.2 else "en"


def choose_language(setting: str | None, message: str) -> str:
    """The reply language: the student's setting when it is one we speak, else their message's."""
    if setting:
        short = setting.lower().replace("_", "-").split("-")[0]
        if short in LANGUAGES:
            return short
    return detect_language(message)


class HintLevel(IntEnum):
    """The rungs of the hint ladder. A full solution is not a rung."""

    NUDGE = 1
    CONCEPT = 2
    LINE = 3


def hint_level(failed_attempts: int, hint_requests: int, attempts_per_level: int = 2) -> HintLevel:
    """The rung for a student: one up per hint asked and per ``attempts_per_level`` failures.

    ``hint_requests`` counts earlier requests (0 for the first), so the first hint
    of a fresh student is a nudge; the ladder tops out at :attr:`HintLevel.LINE`.
    """
    steps = hint_requests + failed_attempts // max(1, attempts_per_level)
    return HintLevel(min(int(HintLevel.LINE), 1 + steps))


_LEVEL_INSTRUCTIONS = {
    HintLevel.NUDGE: (
        "Give a gentle nudge: one question or observation that makes the student think "
        "about what their code does on the failing case. Do not name the technique."
    ),
    HintLevel.CONCEPT: (
        "Name the concept or technique the student needs and explain it in general terms "
        "with a tiny example that is unrelated to this problem."
    ),
    HintLevel.LINE: (
        "Point at the line of the student's code that is wrong (line {line}) and say what "
        "is wrong with it, without writing the corrected line."
    ),
}

_RULES = {
    "en": (
        "You are a patient programming tutor for a student solving the problem below. "
        "Never write the solution or a corrected version of the student's function, in "
        "any form, in any language; at most show one-line examples unrelated to the task. "
        "Be brief (at most five sentences). Reply in English."
    ),
    "ko": (
        "당신은 아래 문제를 푸는 학생을 돕는 친절한 프로그래밍 튜터입니다. "
        "어떤 형태로든 정답 코드나 학생 함수의 수정본을 쓰지 마세요. "
        "문제와 무관한 한 줄 예시만 보여줄 수 있습니다. "
        "짧게(다섯 문장 이내) 답하세요. 반드시 한국어로 답하세요."
    ),
}


def student_verdict(verdict: dict[str, Any] | None) -> dict[str, Any] | None:
    """The part of a judge result a student may see: hidden cases reduced to name and status.

    Accepts the judge's ``to_dict(audience=…)`` shape (``verdict``, ``score``,
    ``cases`` with ``visibility``); anything else about hidden cases is dropped even
    if the caller passed an instructor view.
    """
    if not isinstance(verdict, dict):
        return None
    cases = []
    for case in verdict.get("cases") or []:
        if not isinstance(case, dict):
            continue
        if case.get("visibility") == "public":
            cases.append(
                {
                    k: case[k]
                    for k in (
                        "name",
                        "visibility",
                        "status",
                        "source",
                        "expected",
                        "actual",
                        "error",
                        "message",
                        "stdout",
                    )
                    if k in case
                }
            )
        else:
            cases.append(
                {"name": case.get("name"), "visibility": "hidden", "status": case.get("status")}
            )
    result: dict[str, Any] = {"verdict": verdict.get("verdict"), "score": verdict.get("score")}
    if isinstance(verdict.get("error"), dict):
        error = verdict["error"]
        result["error"] = {k: error[k] for k in ("kind", "message", "line", "cell") if k in error}
    result["cases"] = cases
    return result


def _verdict_text(verdict: dict[str, Any] | None) -> str:
    if not verdict:
        return "The student has not submitted yet."
    lines = [f"Last verdict: {verdict.get('verdict')} (score {verdict.get('score')})."]
    error = verdict.get("error")
    if error:
        lines.append(f"Error: {error.get('kind', '')} {error.get('message', '')}".strip())
    for case in verdict.get("cases", []):
        if "source" in case or "expected" in case or "actual" in case:
            detail = ", ".join(
                f"{k}={str(case[k])[:200]}"
                for k in ("source", "expected", "actual", "error")
                if k in case
            )
            lines.append(f"- public case {case.get('name')}: {case.get('status')} ({detail})")
        else:
            lines.append(f"- hidden case {case.get('name')}: {case.get('status')}")
    return "\n".join(lines)


def numbered(code: str) -> str:
    """``code`` with 1-based line numbers, as the student's editor shows them."""
    return "\n".join(f"{i:>3} | {line}" for i, line in enumerate(code.splitlines(), 1))


def suspect_line(student_code: str, solution: str) -> int | None:
    """A line of the student's code that the reference solution does not share, or None.

    Used for the top rung of the ladder: the line number (never the reference's
    content) is given to the model and to the student.
    """
    student = [line.strip() for line in student_code.splitlines()]
    reference = [line.strip() for line in solution.splitlines()]
    if not any(student):
        return None
    matcher = difflib.SequenceMatcher(None, student, reference, autojunk=False)
    for tag, i1, i2, _j1, _j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            for index in range(i1, i2):
                text = student[index]
                if text and not text.startswith("#"):
                    return index + 1
    return None


@dataclass
class TutorContext:
    """Everything a reply may be grounded in, for one student and one problem."""

    statement: str
    title: str
    code: str
    verdict: dict[str, Any] | None
    lang: str
    level: HintLevel | None = None
    line: int | None = None


def system_prompt(context: TutorContext) -> str:
    """The system message: rules, the problem, the student's code and last verdict."""
    parts = [
        _RULES.get(context.lang, _RULES["en"]),
        f"## Problem: {context.title}\n{context.statement.strip()}",
        f"## The student's code\n{numbered(context.code) if context.code.strip() else '(empty)'}",
        f"## {_verdict_text(context.verdict)}",
    ]
    if context.level is not None:
        instruction = _LEVEL_INSTRUCTIONS[context.level].format(line=context.line or "?")
        parts.append(f"## Hint level {int(context.level)}\n{instruction}")
    return "\n\n".join(parts)


def build_messages(
    context: TutorContext, history: list[dict[str, str]], message: str
) -> list[dict[str, str]]:
    """The chat messages for one turn: system prompt, bounded history, the new message."""
    return [
        {"role": "system", "content": system_prompt(context)},
        *history,
        {"role": "user", "content": message},
    ]


_FALLBACK = {
    "en": {
        "prefix": "I can't show code that solves the problem, but here is a hint: ",
        HintLevel.NUDGE: (
            "run the public case by hand and compare each step with what your code does."
        ),
        HintLevel.CONCEPT: "this problem is about {topics}; review how that works in general.",
        HintLevel.LINE: "look closely at line {line} of your code.",
        "no_line": "look closely at the line where your result is computed.",
    },
    "ko": {
        "prefix": "정답 코드는 보여드릴 수 없지만 힌트를 드릴게요: ",
        HintLevel.NUDGE: (
            "공개 테스트 케이스를 손으로 따라가 보면서 "
            "코드가 각 단계에서 무엇을 하는지 비교해 보세요."
        ),
        HintLevel.CONCEPT: (
            "이 문제의 핵심 개념은 {topics}입니다. "
            "그 개념이 일반적으로 어떻게 동작하는지 복습해 보세요."
        ),
        HintLevel.LINE: "코드의 {line}번째 줄을 자세히 살펴보세요.",
        "no_line": "결과를 계산하는 줄을 자세히 살펴보세요.",
    },
}


def fallback_hint(lang: str, level: HintLevel, tags: list[str], line: int | None) -> str:
    """The hint that replaces a withheld reply: fixed text, no model, no code."""
    texts = _FALLBACK.get(lang, _FALLBACK["en"])
    if level is HintLevel.LINE and line is None:
        body = str(texts["no_line"])
    else:
        topics = (
            ", ".join(tags) if tags else ("the problem statement" if lang == "en" else "문제 설명")
        )
        body = str(texts[level]).format(topics=topics, line=line)
    return str(texts["prefix"]) + body


# -- models that cannot chat -------------------------------------------------

#: How the model is used: ``chat`` (it follows a chat template), ``completion``
#: (a base model: it continues a few-shot text), ``off`` (no model text at all).
MODEL_MODES = ("chat", "completion", "off")

_FEW_SHOT = {
    "en": (
        "Tutor notes. Each note explains a failed test to a student in one short "
        "sentence, without code.\n\n"
        "Failed test: is_even(3) should be False, the code gave True.\n"
        "Note: Check which numbers your condition treats as even; 3 leaves a remainder "
        "when divided by 2.\n\n"
        "Failed test: total([]) should be 0, the code raised IndexError.\n"
        "Note: Think about what your code does when the list is empty.\n\n"
        "Failed test: {fact}\n"
        "Note:"
    ),
    "ko": (
        "튜터 메모. 각 메모는 실패한 테스트를 학생에게 코드 없이 한 문장으로 설명합니다.\n\n"
        "실패한 테스트: is_even(3)은 False여야 하는데 코드는 True를 돌려주었습니다.\n"
        "메모: 조건이 어떤 수를 짝수로 보는지 확인해 보세요. 3은 2로 나누면 나머지가 남아요.\n\n"
        "실패한 테스트: total([])은 0이어야 하는데 코드에서 IndexError가 났습니다.\n"
        "메모: 리스트가 비어 있을 때 코드가 무엇을 하는지 생각해 보세요.\n\n"
        "실패한 테스트: {fact}\n"
        "메모:"
    ),
}
#: where a few-shot continuation stops: the model starts the next example
FEW_SHOT_STOP = ["\n\n", "\nFailed test:", "\n실패한 테스트:", "\nNote:", "\n메모:"]


def few_shot_prompt(fact: str, lang: str) -> str:
    """A completion prompt a base model continues with one note about ``fact``."""
    one_line = " ".join(fact.split())[:300]
    return _FEW_SHOT.get(lang, _FEW_SHOT["en"]).format(fact=one_line)


def instruction_texts(lang: str | None = None) -> list[str]:
    """Every instruction the tutor gives a model (rules, rung instructions, few-shot
    framing): a reply that repeats these is an echo, never shown to a student."""
    langs = [lang] if lang in _RULES else list(_RULES)
    texts = [_RULES[k] for k in langs] + list(_LEVEL_INSTRUCTIONS.values())
    texts += [_FEW_SHOT[k].split("{fact}")[0] for k in _FEW_SHOT]
    return texts


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _ngrams(words: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def echoes_prompt(reply: str, instructions: list[str], context: str = "", n: int = 5) -> bool:
    """True when ``reply`` repeats the tutor's instructions or mostly its prompt.

    Any run of ``n`` words shared with ``instructions`` counts (the rules must never
    reach a student); a reply of which more than half of the ``n``-word runs come
    from ``context`` (the statement, the student's code, the few-shot frame) is an
    echo too.
    """
    words = _words(reply)
    if len(words) < n:
        return False
    grams = _ngrams(words, n)
    taught: set[tuple[str, ...]] = set()
    for text in instructions:
        taught |= _ngrams(_words(text), n)
    if grams & taught:
        return True
    if context:
        seen = _ngrams(_words(context), n)
        return len(grams & seen) > len(grams) / 2
    return False


_FEW_SHOT_WORDS = {w for text in _FEW_SHOT.values() for w in re.findall(r"\w{3,}", text.lower())}


def about_fact(note: str, facts: list[str]) -> bool:
    """Whether a base model's ``note`` is about the failing test: it shares a word of
    three or more letters (or a number) with ``facts`` that the few-shot frame does
    not also hold. A note that only continues the frame's examples is noise."""
    fact_words = {w for fact in facts for w in re.findall(r"\w{3,}|\d+", fact.lower())}
    note_words = set(re.findall(r"\w{3,}|\d+", note.lower()))
    return bool((note_words & fact_words) - _FEW_SHOT_WORDS)


def elaboration_messages(
    context: TutorContext, history: list[dict[str, str]], message: str, facts: str
) -> list[dict[str, str]]:
    """Chat messages for a model that can chat: the facts already told, then the question."""
    messages = build_messages(context, history, message)
    told = (
        "\n\n## Already told to the student (do not repeat; add one short explanation)\n" + facts
        if facts
        else ""
    )
    messages[0] = {"role": "system", "content": messages[0]["content"] + told}
    return messages
