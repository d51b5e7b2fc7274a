"""Code review: schema validation of model output, ruff findings, merging."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from tornado.httpclient import AsyncHTTPClient

from codetutor.tutor.review import (
    REVIEW_SCHEMA,
    Finding,
    merge_findings,
    parse_model_findings,
    ruff_findings,
)
from codetutor.tutor.service import TutorService

from .conftest import ScriptedEngine, scripted_config
from .test_tutor import tutor_config

CODE = (
    "import os\ndef dedupe(xs):\n    out = []\n    for x in xs:\n"
    "        if x == None:\n            pass\n    return out\n"
)
ITEM_SCHEMA = REVIEW_SCHEMA["properties"]["findings"]["items"]


def finding(line: int, **fields: Any) -> dict[str, Any]:
    return {
        "line": line,
        "severity": "warning",
        "category": "correctness",
        "message": "Items are never added to the result.",
        "hint": "What should happen to x when it is new?",
        **fields,
    }


VALID = json.dumps({"findings": [finding(4)]})

MALFORMED = [
    pytest.param("", id="empty"),
    pytest.param("The code looks fine to me!", id="prose"),
    pytest.param('{"findings": [{"line": 4, "severity": "warning", "categ', id="truncated"),
    pytest.param(json.dumps({"findings": [finding(4, severity="fatal")]}), id="bad-enum"),
    pytest.param(json.dumps({"findings": [{**finding(4), "line": "4"}]}), id="line-as-string"),
    pytest.param(json.dumps({"findings": [finding(99)]}), id="line-out-of-range"),
    pytest.param(json.dumps({"findings": [finding(0)]}), id="line-zero"),
    pytest.param(json.dumps({"findings": [{**finding(4), "fix": "x"}]}), id="extra-key"),
    pytest.param(json.dumps({"findings": [{"line": 4, "message": "m"}]}), id="missing-keys"),
    pytest.param(json.dumps([finding(4)]), id="not-an-object"),
    pytest.param(json.dumps({"findings": [finding(4)] * 9}), id="too-many"),
    pytest.param(json.dumps({"findings": [finding(4, message="")]}), id="empty-message"),
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_model_output_is_rejected_whole(text: str) -> None:
    assert parse_model_findings(text, line_count=7) is None


def test_valid_model_output_is_parsed() -> None:
    parsed = parse_model_findings(VALID, line_count=7)
    assert parsed is not None and [f.line for f in parsed] == [4]
    assert parsed[0].source == "model"


async def test_ruff_findings() -> None:
    found = await ruff_findings(CODE)
    codes = {f.code for f in found}
    assert {"F401", "E711"} <= codes
    unused = next(f for f in found if f.code == "F401")
    assert unused.line == 1 and unused.source == "ruff"
    for f in found:
        jsonschema.validate(
            {k: v for k, v in f.to_dict().items() if k not in ("source", "code")}, ITEM_SCHEMA
        )


def test_merge_dedupes_and_sorts() -> None:
    ruff = [
        Finding(5, "warning", "style", "Comparison to `None`", "", "ruff", "E711"),
        Finding(1, "warning", "correctness", "`os` imported but unused", "", "ruff", "F401"),
    ]
    model = [
        Finding(4, "warning", "correctness", "Nothing is appended.", "h", "model"),
        Finding(1, "info", "correctness", "Unused import os.", "h", "model"),  # ruff has line 1
        Finding(4, "info", "readability", "Nothing is appended!", "h", "model"),  # same message
        Finding(2, "info", "naming", "Name is fine.", "h", "model"),
    ]
    merged = merge_findings(model, ruff)
    assert [(f.line, f.source) for f in merged] == [
        (1, "ruff"),
        (2, "model"),
        (4, "model"),
        (5, "ruff"),
    ]


async def review(url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = await AsyncHTTPClient().fetch(
        url + "/api/tutor/review",
        method="POST",
        body=json.dumps(body),
        raise_error=False,
        request_timeout=60,
    )
    return response.code, json.loads(response.body)


@pytest.mark.parametrize("text", [*MALFORMED[:3], MALFORMED[5]])
async def test_malformed_output_never_reaches_the_student(start_service: Any, text: str) -> None:
    running = await start_service(TutorService, tutor_config(scripted_config(replies=[text])))
    code, data = await review(running.url, {"code": CODE, "user": "alice"})
    assert code == 200
    assert data["model_ok"] is False
    assert data["findings"] and all(f["source"] == "ruff" for f in data["findings"])


async def test_review_merges_model_and_ruff(start_service: Any) -> None:
    running = await start_service(TutorService, tutor_config(scripted_config(replies=[VALID])))
    code, data = await review(running.url, {"code": CODE, "problem_id": "dedupe", "lang": "en"})
    assert code == 200 and data["model_ok"] is True
    lines = [f["line"] for f in data["findings"]]
    assert lines == sorted(lines)
    assert [f["line"] for f in data["findings"] if f["source"] == "model"] == [4]
    engine: ScriptedEngine = running.engine
    assert engine.requests[-1].json_schema == REVIEW_SCHEMA
    assert engine.requests[-1].temperature == 0.0


async def test_review_findings_that_give_the_solution_away_are_dropped(start_service: Any) -> None:
    leaky = json.dumps(
        {
            "findings": [
                finding(
                    4,
                    hint="Write `seen = set()` then "
                    "`return [x for x in xs if not (x in seen or seen.add(x))]`.",
                )
            ]
        }
    )
    running = await start_service(TutorService, tutor_config(scripted_config(replies=[leaky])))
    code, data = await review(running.url, {"code": CODE, "problem_id": "dedupe"})
    assert code == 200 and data["model_ok"] is True
    assert all(f["source"] == "ruff" for f in data["findings"])
