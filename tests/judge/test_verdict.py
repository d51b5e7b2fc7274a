"""What the judge prints and serves is strict JSON, whatever the student's code sent."""

from __future__ import annotations

import json
from typing import Any

import pytest

from codetutor.judge.problem import Visibility
from codetutor.judge.verdict import (
    CaseResult,
    CaseStatus,
    JudgeResult,
    StudentError,
    Verdict,
    dumps,
    json_safe,
)


def strict_loads(text: str) -> Any:
    def reject(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=reject)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf"), -5.0])
def test_times_and_scores_are_always_finite(bad: float) -> None:
    result = JudgeResult(
        Verdict.WRONG_ANSWER,
        score=bad,
        time_ms=bad,
        cases=[
            CaseResult("a", Visibility.PUBLIC, CaseStatus.FAILED, time_ms=bad),
            CaseResult("b", Visibility.HIDDEN, CaseStatus.PASSED, time_ms=bad),
        ],
    )
    for audience in ("student", "instructor"):
        d = result.to_dict(audience)
        text = json.dumps(d, allow_nan=False)
        back = strict_loads(text)
        assert 0 <= back["score"] <= 1
        assert back["time_ms"] >= 0
        assert all(c["time_ms"] >= 0 for c in back["cases"])


def test_score_is_clamped_and_rounded() -> None:
    assert JudgeResult(Verdict.ACCEPTED, 1.5, 1.0).to_dict()["score"] == 1.0
    assert JudgeResult(Verdict.WRONG_ANSWER, 2 / 3, 1.0).to_dict()["score"] == 0.666667


def test_student_text_with_lone_surrogates_still_encodes() -> None:
    result = JudgeResult(
        Verdict.RUNTIME_ERROR,
        0.0,
        1.0,
        cases=[
            CaseResult(
                "a\ud800",
                Visibility.PUBLIC,
                CaseStatus.ERROR,
                actual="x\udcff",
                message="m\ud800",
                stdout="\ud83d",
            )
        ],
        error=StudentError("runtime_error", "boom \udc80", traceback="tb \ud800"),
        stdout="out \udfff",
    )
    text = dumps(result.to_dict("instructor"), ensure_ascii=False)
    text.encode("utf-8")  # printable on a UTF-8 stdout, sendable over HTTP
    back = strict_loads(text)
    assert back["stdout"].startswith("out ")
    assert back["error"]["message"].startswith("boom ")


def test_dumps_never_writes_nan_or_infinity() -> None:
    data = {"a": float("nan"), "b": [1.0, float("inf"), {"c": float("-inf")}], "d": (2.5, "x")}
    text = dumps(data)
    assert strict_loads(text) == {"a": None, "b": [1.0, None, {"c": None}], "d": [2.5, "x"]}
    assert json_safe({"k": 1, "s": "t"}) == {"k": 1, "s": "t"}
    with pytest.raises(ValueError):
        json.dumps({"a": float("nan")}, allow_nan=False)  # what dumps avoids


class RecordingHandler:
    """Stands in for a judge API handler: records what it would send."""

    def __init__(self, body: bytes = b"") -> None:
        self.request = type("Request", (), {"body": body})()
        self.sent: list[str] = []

    def set_status(self, status: int) -> None:
        self.status = status

    def set_header(self, name: str, value: str) -> None:
        pass

    def finish(self, text: str) -> None:
        self.sent.append(text)


def test_the_api_serves_strict_json_and_refuses_nan_in_bodies() -> None:
    from codetutor.errors import CodeTutorError
    from codetutor.judge.service import JudgeHandler

    handler = RecordingHandler()
    handler.finish(
        JudgeHandler.dump_json(handler, {"time_ms": float("nan"), "score": float("inf")})
    )  # type: ignore[arg-type]
    assert strict_loads(handler.sent[0]) == {"time_ms": None, "score": None}
    for body in (b'{"code": NaN}', b'{"x": Infinity}', b"[-Infinity]"):
        with pytest.raises(CodeTutorError) as raised:
            JudgeHandler.read_json_body(RecordingHandler(body), 1 << 20, "the body")  # type: ignore[arg-type]
        assert raised.value.status == 400
    assert JudgeHandler.read_json_body(RecordingHandler(b'{"a": 1.5}'), 1 << 20, "x") == {"a": 1.5}  # type: ignore[arg-type]
