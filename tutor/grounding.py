"""Hints built from the judge's facts alone: no model, in the student's language.

:func:`facts` reads what a student may already see — their last verdict (public
cases with input, expected and actual value; hidden cases reduced to name and
status), their own code and the problem statement — and :func:`grounded_hint`
words it in Korean or English:

* the first failing *public* case: its input (the case's source), the expected and
  the actual value, or the exception it raised;
* for a runtime error, the exception and the student's line;
* for a time, memory or output limit, what that limit means for this code: the
  loop nesting of the student's code (from its AST) against the largest input
  size the statement's constraints allow;
* hidden cases: only their name and status, never an input or expected value.

Everything here is deterministic and quick (well under a millisecond per hint),
so the tutor can answer "why is it wrong?" before any model has said a word.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any

from codetutor.tutor.problems import TutorProblem

#: how many characters of an input, expected or actual value are quoted at most
MAX_VALUE_CHARS = 160

_FAILING = ("failed", "error", "timeout", "memory_limit", "output_limit")
_LIMIT_OF_VERDICT = {
    "time_limit_exceeded": "time",
    "memory_limit_exceeded": "memory",
    "output_limit_exceeded": "output",
}
_LIMIT_OF_STATUS = {"timeout": "time", "memory_limit": "memory", "output_limit": "output"}

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
#: a number as statements write it: 2000, 10⁵, 2 times 10⁵, 10^5, 10**5, 2e5
_NUMBER = (
    r"(?:\d+(?:\.\d+)?\s*[\u00d7x*]\s*)?(?:10\s*(?:\^|\*\*)\s*\d+|10[⁰¹²³⁴⁵⁶⁷⁸⁹]+|\d+(?:e\d+)?)"
)
_UPPER_BOUND = re.compile(
    rf"(?P<var>`[^`]+`(?:\s*,\s*`[^`]+`)*|[^\s≤<=,;:]+)\s*(?:≤|<=|<)\s*(?P<num>{_NUMBER})"
)


@dataclass(frozen=True)
class CaseFact:
    """One case of a verdict as the student may see it."""

    name: str
    status: str
    public: bool
    #: the case's source (a call such as ``is_leap(1900)``, or a stdin text); public only
    source: str = ""
    expected: str | None = None
    actual: str | None = None
    message: str | None = None


@dataclass(frozen=True)
class Facts:
    """What the judge knows about a student's last submission, that they may see."""

    verdict: str | None = None
    failing_public: CaseFact | None = None
    failing_hidden: tuple[CaseFact, ...] = ()
    passed: int = 0
    total: int = 0
    #: the exception of a runtime error (``kind``, ``message``) and the student's line
    error_kind: str = ""
    error_message: str = ""
    error_line: int | None = None
    error_code: str = ""
    #: ``"time"``, ``"memory"``, ``"output"`` or ``""``
    limit: str = ""
    loop_depth: int = 0
    recursive: bool = False
    input_bound: str = ""
    input_bound_value: float = 0.0
    #: the problem reads stdin and prints (values are shown as blocks)
    stdio: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.verdict) and self.verdict != "accepted"

    @property
    def failing_names(self) -> list[str]:
        """Names of the failing cases, public first."""
        names = [self.failing_public.name] if self.failing_public else []
        return names + [c.name for c in self.failing_hidden]


def _short(value: Any) -> str:
    text = str(value).rstrip().strip("\n")
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 1] + "…"


def loop_depth(code: str) -> tuple[int, bool]:
    """The deepest nesting of loops (``for``, ``while``, comprehensions) in ``code``,
    and whether some function calls itself. ``(0, False)`` for code that does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return 0, False
    loops = (ast.For, ast.AsyncFor, ast.While, ast.comprehension)

    def depth(node: ast.AST) -> int:
        below = max((depth(child) for child in ast.iter_child_nodes(node)), default=0)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            return below + len(node.generators)
        return below + (
            1 if isinstance(node, loops) and not isinstance(node, ast.comprehension) else 0
        )

    recursive = False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Name)
                    and inner.func.id == node.name
                ):
                    recursive = True
    return depth(tree), recursive


def _number_value(text: str) -> float:
    text = text.translate(_SUPERSCRIPT).replace(" ", "")
    factor = 1.0
    match = re.match(r"^(\d+(?:\.\d+)?)[\u00d7x*](.*)$", text)
    if match:
        factor, text = float(match.group(1)), match.group(2)
    power = re.match(r"^10(?:\^|\*\*)?(\d+)$", text)
    if power and (text != "10"):
        return factor * 10 ** int(power.group(1))
    try:
        return factor * float(text)
    except ValueError:
        return 0.0


def input_bound(statement: str) -> tuple[str, float]:
    """The largest input size the statement's constraints allow, as written and as a number.

    Looks at upper bounds such as ``0 ≤ `len(nums)` ≤ 10⁵`` or ``1 ≤ `n` ≤ 2000``,
    preferring sizes (``len(…)``, ``n``, ``m``, rows…) over values. ``("", 0.0)`` if none.
    """
    best: tuple[float, str, bool] = (0.0, "", False)
    for line in statement.splitlines():
        for match in _UPPER_BOUND.finditer(line):
            name = match.group("var").strip()
            written = match.group("num").strip()
            value = _number_value(written)
            if value <= 0:
                continue
            is_size = bool(re.search(r"len\(|`[nmNMk]`|행|rows|columns|tokens|토큰", name + line))
            key = (is_size, value)
            if key > (best[2], best[0]):
                best = (value, f"{name.strip('`')} ≤ {written}", is_size)
    return best[1], best[0]


def facts(problem: TutorProblem, verdict: dict[str, Any] | None, code: str = "") -> Facts:
    """The facts of ``verdict`` (the student's view of a judge result) for ``code``.

    Only public cases contribute inputs and values; a hidden case contributes its
    name and status even if the caller passed an instructor's view.
    """
    if not isinstance(verdict, dict):
        return Facts()
    cases = [c for c in verdict.get("cases") or [] if isinstance(c, dict)]
    public_sources = list(problem.public_cases)
    public_index = 0
    failing_public: CaseFact | None = None
    failing_hidden: list[CaseFact] = []
    passed = 0
    limit = _LIMIT_OF_VERDICT.get(str(verdict.get("verdict")), "")
    for case in cases:
        status = str(case.get("status") or "")
        public = case.get("visibility") == "public"
        source = ""
        if public:
            source = public_sources[public_index] if public_index < len(public_sources) else ""
            public_index += 1
        if status == "passed":
            passed += 1
            continue
        if status not in _FAILING:
            continue
        limit = limit or _LIMIT_OF_STATUS.get(status, "")
        if public and failing_public is None:
            failing_public = CaseFact(
                name=str(case.get("name") or ""),
                status=status,
                public=True,
                source=_short(source),
                expected=_short(case["expected"]) if "expected" in case else None,
                actual=_short(case["actual"]) if "actual" in case else None,
                message=_short(case["message"]) if case.get("message") else None,
            )
        elif not public:
            failing_hidden.append(
                CaseFact(name=str(case.get("name") or ""), status=status, public=False)
            )
    raw_error = verdict.get("error")
    error: dict[str, Any] = raw_error if isinstance(raw_error, dict) else {}
    line = error.get("line") if isinstance(error.get("line"), int) else None
    code_lines = code.splitlines()
    error_code = code_lines[line - 1].strip() if line and 0 < line <= len(code_lines) else ""
    depth, recursive = loop_depth(code) if limit else (0, False)
    bound, bound_value = input_bound(problem.statement) if limit else ("", 0.0)
    return Facts(
        verdict=str(verdict.get("verdict") or "") or None,
        failing_public=failing_public,
        failing_hidden=tuple(failing_hidden),
        passed=passed,
        total=len(cases),
        error_kind=str(error.get("kind") or ""),
        error_message=_short(error.get("message") or ""),
        error_line=line,
        error_code=_short(error_code),
        limit=limit,
        loop_depth=depth,
        recursive=recursive,
        input_bound=bound,
        input_bound_value=bound_value,
        stdio=problem.mode == "stdio",
    )


_TEXT = {
    "en": {
        "none": "You have not submitted this problem yet: submit once and I can point at what the tests saw.",
        "accepted": "Your last submission was accepted: every test passed.",
        "score": "Your last submission passed {passed} of {total} tests ({verdict}).",
        "public_wrong": "The first failing public test is `{source}`: expected `{expected}`, but your code returned `{actual}`.",
        "public_wrong_stdio": "The first failing public test gives the input\n```\n{source}\n```\nThe expected output is\n```\n{expected}\n```\nbut your program printed\n```\n{actual}\n```",
        "public_error": "The public test `{source}` raised an error: {message}",
        "public_status": "The public test `{source}` ended with status {status}.",
        "error": "Your code raised {kind}: {message}",
        "error_line": "It happened on line {line} of your code: `{code}`",
        "hidden": "Hidden tests that did not pass (only their names are shown): {names}.",
        "hidden_more": " and {more} more",
        "time": "Time limit exceeded: your code is too slow for the largest inputs, not necessarily wrong.",
        "memory": "Memory limit exceeded: your code keeps too much in memory at once for the largest inputs.",
        "output": "Output limit exceeded: your code prints far more than expected — look for a print inside a loop or a loop that never stops.",
        "loops": "Your code nests loops {depth} deep, so it takes about n^{depth} steps.",
        "loops_bound": "With {bound}, that is about {steps} steps; Python does roughly 10⁷ simple steps per second.",
        "recursive": "Your function calls itself; if it recomputes the same values, the work grows very fast.",
        "one_loop": "Your code has {depth} loop level(s); look for work repeated inside the loop (like `in` on a list, slicing or `count`) that makes each step slow.",
    },
    "ko": {
        "none": "아직 이 문제를 제출하지 않았어요. 한 번 제출하면 테스트 결과를 바탕으로 짚어 드릴게요.",
        "accepted": "마지막 제출은 정답(accepted)이에요. 모든 테스트를 통과했어요.",
        "score": "마지막 제출은 테스트 {total}개 중 {passed}개를 통과했어요 ({verdict}).",
        "public_wrong": "처음 실패한 공개 테스트는 `{source}`예요. 기대값은 `{expected}`인데 코드는 `{actual}`을(를) 반환했어요.",
        "public_wrong_stdio": "처음 실패한 공개 테스트의 입력은\n```\n{source}\n```\n기대 출력은\n```\n{expected}\n```\n인데 프로그램은 다음을 출력했어요.\n```\n{actual}\n```",
        "public_error": "공개 테스트 `{source}`에서 오류가 났어요: {message}",
        "public_status": "공개 테스트 `{source}`의 결과는 {status}예요.",
        "error": "코드에서 {kind} 오류가 났어요: {message}",
        "error_line": "오류가 난 곳은 코드의 {line}번째 줄이에요: `{code}`",
        "hidden": "통과하지 못한 숨은 테스트(이름만 보여 드려요): {names}.",
        "hidden_more": " 외 {more}개",
        "time": "시간 초과예요. 코드가 틀렸다기보다 가장 큰 입력에서 너무 느린 거예요.",
        "memory": "메모리 초과예요. 가장 큰 입력에서 한꺼번에 너무 많은 것을 메모리에 담고 있어요.",
        "output": "출력 초과예요. 기대보다 훨씬 많이 출력하고 있어요. 반복문 안의 print나 끝나지 않는 반복문을 찾아보세요.",
        "loops": "코드에 반복문이 {depth}겹으로 중첩되어 있어서 대략 n^{depth}번의 단계가 걸려요.",
        "loops_bound": "제약이 {bound}이면 약 {steps}번인데, 파이썬은 1초에 대략 10⁷번의 간단한 연산을 해요.",
        "recursive": "함수가 자기 자신을 호출해요. 같은 값을 여러 번 다시 계산한다면 작업량이 매우 빠르게 늘어나요.",
        "one_loop": "코드의 반복문은 {depth}겹이에요. 반복문 안에서 매번 되풀이되는 일(리스트에 대한 `in`, 슬라이싱, `count` 등)이 각 단계를 느리게 만들지 않는지 살펴보세요.",
    },
}


_VERDICT_NAMES = {
    "en": {
        "wrong_answer": "wrong answer",
        "runtime_error": "runtime error",
        "time_limit_exceeded": "time limit exceeded",
        "memory_limit_exceeded": "memory limit exceeded",
        "output_limit_exceeded": "output limit exceeded",
        "syntax_error": "syntax error",
        "internal_error": "the judge failed",
    },
    "ko": {
        "wrong_answer": "틀렸습니다",
        "runtime_error": "실행 중 오류",
        "time_limit_exceeded": "시간 초과",
        "memory_limit_exceeded": "메모리 초과",
        "output_limit_exceeded": "출력 초과",
        "syntax_error": "문법 오류",
        "internal_error": "채점 오류",
    },
}


_STATUS_NAMES = {
    "en": {"memory_limit": "memory limit", "output_limit": "output limit"},
    "ko": {
        "failed": "실패",
        "error": "오류",
        "timeout": "시간 초과",
        "memory_limit": "메모리 초과",
        "output_limit": "출력 초과",
    },
}


def _steps(bound: float, depth: int) -> str:
    steps = bound**depth
    exponent = len(str(int(steps))) - 1 if steps >= 1 else 0
    return f"10^{exponent}" if exponent >= 3 else str(int(steps))


def grounded_lines(facts: Facts, lang: str = "en") -> list[str]:
    """The facts as sentences in ``lang`` (``"ko"`` or ``"en"``), most useful first."""
    text = _TEXT.get(lang, _TEXT["en"])
    if not facts.verdict:
        return [text["none"]]
    if facts.verdict == "accepted":
        return [text["accepted"]]
    lines: list[str] = []
    case = facts.failing_public
    if case is not None:
        stdio = facts.stdio or any(
            "\n" in (v or "") for v in (case.source, case.expected, case.actual)
        )
        if case.status == "failed" and case.expected is not None:
            key = "public_wrong_stdio" if stdio else "public_wrong"
            lines.append(
                text[key].format(
                    source=case.source or case.name,
                    expected=case.expected,
                    actual=case.actual if case.actual is not None else "?",
                )
            )
        elif case.status == "error" and case.message:
            lines.append(
                text["public_error"].format(source=case.source or case.name, message=case.message)
            )
        else:
            status = _STATUS_NAMES.get(lang, _STATUS_NAMES["en"]).get(case.status, case.status)
            lines.append(
                text["public_status"].format(source=case.source or case.name, status=status)
            )
    if facts.error_kind:
        lines.append(text["error"].format(kind=facts.error_kind, message=facts.error_message))
        if facts.error_line and facts.error_code:
            lines.append(text["error_line"].format(line=facts.error_line, code=facts.error_code))
    if facts.limit:
        lines.append(text[facts.limit])
        if facts.limit == "time":
            if facts.loop_depth >= 2:
                lines.append(text["loops"].format(depth=facts.loop_depth))
                if facts.input_bound_value:
                    lines.append(
                        text["loops_bound"].format(
                            bound=facts.input_bound,
                            steps=_steps(facts.input_bound_value, facts.loop_depth),
                        )
                    )
            elif facts.recursive:
                lines.append(text["recursive"])
            else:
                lines.append(text["one_loop"].format(depth=facts.loop_depth))
    if facts.failing_hidden:
        statuses = _STATUS_NAMES.get(lang, _STATUS_NAMES["en"])
        names = [
            f"“{c.name}” ({statuses.get(c.status, c.status)})" for c in facts.failing_hidden[:4]
        ]
        more = len(facts.failing_hidden) - len(names)
        joined = ", ".join(names) + (text["hidden_more"].format(more=more) if more > 0 else "")
        lines.append(text["hidden"].format(names=joined))
    if not lines or case is None:
        lines.insert(
            0,
            text["score"].format(
                passed=facts.passed,
                total=facts.total,
                verdict=_VERDICT_NAMES.get(lang, _VERDICT_NAMES["en"]).get(
                    facts.verdict, facts.verdict
                ),
            ),
        )
    return lines


def grounded_hint(facts: Facts, lang: str = "en") -> str:
    """:func:`grounded_lines` as one paragraph (code blocks keep their own lines)."""
    return "\n".join(grounded_lines(facts, lang))
