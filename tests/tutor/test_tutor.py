"""The tutor service: chat over WebSocket, hint ladder, grounding, guard, limits."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.websocket import WebSocketClientConnection, websocket_connect
from traitlets.config import Config

from codetutor.tutor.prompts import (
    HintLevel,
    choose_language,
    detect_language,
    hint_level,
    student_verdict,
    suspect_line,
)
from codetutor.tutor.remote import OpenAIEngine
from codetutor.tutor.service import TutorService

from .conftest import FILES, Running, ScriptedEngine, free_port, local_judge, scripted_config

SOLUTION_REPLY = (
    "Sure! Here you go:\n```python\ndef dedupe(items):\n    seen = set()\n"
    "    return [i for i in items if not (i in seen or seen.add(i))]\n```\n"
)
WRONG_CODE = "def dedupe(xs):\n    return list(set(xs))\n"
INSTRUCTOR_VERDICT = {
    "verdict": "wrong_answer",
    "score": 0.5,
    "cases": [
        {
            "name": "public-1",
            "visibility": "public",
            "status": "failed",
            "source": "dedupe(['b', 'a', 'b'])",
            "expected": "['b', 'a']",
            "actual": "['a', 'b']",
        },
        {
            "name": "hidden-1",
            "visibility": "hidden",
            "status": "failed",
            "source": "dedupe([3, 2, 3, 1, 2])",
            "expected": "[3, 2, 1]",
            "actual": "[1, 2, 3]",
        },
    ],
}


def tutor_config(config: Config | None = None) -> Config:
    c = local_judge(config or Config())
    c.Tutor.temperature = 0.0
    c.SolutionGuard.judge_replies = True
    return c


async def post(url: str, body: dict[str, Any]) -> HTTPResponse:
    return await AsyncHTTPClient().fetch(
        url, method="POST", body=json.dumps(body), raise_error=False, request_timeout=120
    )


async def ask(ws: WebSocketClientConnection, **body: Any) -> list[dict[str, Any]]:
    """Send one ask and collect its events up to ``done`` or ``error``."""
    await ws.write_message(json.dumps({"type": "ask", "problem_id": "dedupe", **body}))
    events = []
    while True:
        raw = await asyncio.wait_for(ws.read_message(), 120)
        assert raw is not None, "socket closed"
        event = json.loads(raw)
        events.append(event)
        if event["type"] in ("done", "error"):
            return events


@pytest.fixture
async def scripted_tutor(start_service: Any) -> Running:
    running: Running = await start_service(TutorService, tutor_config(scripted_config()))
    return running


@pytest.fixture
async def real_tutor(start_service: Any, llm_url: str) -> Running:
    """The tutor service generating through the real LLM service (OpenAIEngine)."""
    c = tutor_config()
    c.TutorService.engine_class = OpenAIEngine
    c.OpenAIEngine.api_url = llm_url + "/v1"
    # Short replies keep the suite fast on a 2-core CPU; content is not asserted.
    c.Tutor.chat_max_tokens = 48
    c.Tutor.review_max_tokens = 64
    running: Running = await start_service(TutorService, c)
    return running


def ws_url(running: Running) -> str:
    return running.url.replace("http://", "ws://") + "/api/tutor/chat"


@pytest.mark.slow
async def test_chat_streams_from_the_real_model(real_tutor: Running) -> None:
    ws = await websocket_connect(ws_url(real_tutor))
    events = await ask(
        ws,
        message="Why does my code fail the public test?",
        code=WRONG_CODE,
        verdict=INSTRUCTOR_VERDICT,
        user="alice",
    )
    ws.close()
    tokens = [e["text"] for e in events if e["type"] == "token"]
    done = events[-1]
    assert done["type"] == "done", events
    assert done["lang"] == "en"
    assert "".join(tokens).strip() or any(e["type"] == "replace" for e in events)


@pytest.mark.slow
async def test_korean_message_gets_a_korean_turn_from_the_real_model(real_tutor: Running) -> None:
    ws = await websocket_connect(ws_url(real_tutor))
    events = await ask(ws, message="제 코드가 왜 틀렸나요?", code=WRONG_CODE, user="bob")
    ws.close()
    assert events[-1]["type"] == "done"
    assert events[-1]["lang"] == "ko"


@pytest.mark.slow
async def test_review_with_the_real_model_is_schema_valid(real_tutor: Running) -> None:
    import jsonschema

    from codetutor.tutor.review import REVIEW_SCHEMA

    item_schema = REVIEW_SCHEMA["properties"]["findings"]["items"]
    code = "import os\ndef dedupe(xs):\n    l = []\n    for x in xs:\n        if x == None: pass\n    return l\n"
    response = await post(
        real_tutor.url + "/api/tutor/review",
        {"code": code, "problem_id": "dedupe", "user": "alice"},
    )
    assert response.code == 200, response.body
    data = json.loads(response.body)
    assert isinstance(data["model_ok"], bool)
    lines = [f["line"] for f in data["findings"]]
    assert lines == sorted(lines)
    assert any(f["source"] == "ruff" and f["code"] == "F401" for f in data["findings"])
    for finding in data["findings"]:
        jsonschema.validate(
            {k: v for k, v in finding.items() if k not in ("source", "code")}, item_schema
        )
        assert 1 <= finding["line"] <= len(code.splitlines())


async def test_prompt_is_grounded_and_never_leaks(scripted_tutor: Running) -> None:
    engine: ScriptedEngine = scripted_tutor.engine
    ws = await websocket_connect(ws_url(scripted_tutor))
    await ask(ws, message="help", code=WRONG_CODE, verdict=INSTRUCTOR_VERDICT, user="alice")
    ws.close()
    messages = engine.requests[-1].messages
    assert messages is not None
    prompt = "\n".join(m["content"] for m in messages)
    assert "Return the items of `xs` without duplicates" in prompt  # statement
    assert "return list(set(xs))" in prompt  # the student's code
    assert "dedupe(['b', 'a', 'b'])" in prompt  # public feedback
    assert "wrong_answer" in prompt
    assert "hidden-1" in prompt  # a hidden case's name and status only
    assert "[3, 2, 3, 1, 2]" not in prompt and "[3, 2, 1]" not in prompt
    assert "seen.add" not in prompt  # the reference solution
    assert engine.requests[-1].user == "alice"


async def test_history_is_bounded_and_private(start_service: Any) -> None:
    config = tutor_config(scripted_config())
    config.Tutor.max_history_messages = 4
    running = await start_service(TutorService, config)
    engine: ScriptedEngine = running.engine
    ws = await websocket_connect(ws_url(running))
    for i in range(5):
        await ask(ws, message=f"question {i} from alice", user="alice")
    await ask(ws, message="question from bob", user="bob")
    ws.close()
    alice = engine.requests[-2].messages
    bob = engine.requests[-1].messages
    assert alice is not None and bob is not None
    assert len(alice) == 1 + 4 + 1  # system, bounded history, the new question
    assert "question 0 from alice" not in json.dumps(alice)
    assert "question 3 from alice" in json.dumps(alice)
    assert len(bob) == 2
    assert "alice" not in json.dumps(bob)


async def test_withheld_reply_is_replaced_before_any_code_is_sent(start_service: Any) -> None:
    running = await start_service(
        TutorService, tutor_config(scripted_config(replies=[SOLUTION_REPLY]))
    )
    ws = await websocket_connect(ws_url(running))
    events = await ask(ws, message="just give me the answer", code=WRONG_CODE, user="alice")
    ws.close()
    streamed = "".join(e["text"] for e in events if e["type"] == "token")
    assert "seen" not in streamed and "def " not in streamed
    replace = [e for e in events if e["type"] == "replace"]
    assert len(replace) == 1
    assert "reference solution" in replace[0]["reason"]
    assert "seen.add" not in replace[0]["text"]
    done = events[-1]
    assert {k: done[k] for k in ("type", "lang", "level", "line", "withheld")} == {
        "type": "done",
        "lang": "en",
        "level": 1,
        "line": None,
        "withheld": True,
    }


async def test_prose_streams_before_the_reply_ends(start_service: Any) -> None:
    reply = "First line of prose.\nSecond line of prose.\nThird line."
    running = await start_service(TutorService, tutor_config(scripted_config(replies=[reply])))
    ws = await websocket_connect(ws_url(running))
    events = await ask(ws, message="hello", user="alice")
    ws.close()
    tokens = [e["text"] for e in events if e["type"] == "token"]
    assert tokens == ["First line of prose.\n", "Second line of prose.\n", "Third line."]


async def test_hint_ladder_climbs_and_never_gives_the_solution(start_service: Any) -> None:
    running = await start_service(
        TutorService, tutor_config(scripted_config(replies=["Think about order.", SOLUTION_REPLY]))
    )
    url = running.url + "/api/tutor/hint"
    body = {"problem_id": "dedupe", "code": WRONG_CODE, "user": "alice"}
    levels = []
    for _ in range(4):
        response = await post(url, body)
        assert response.code == 200, response.body
        data = json.loads(response.body)
        levels.append(data["level"])
        assert "seen.add" not in data["text"]
    assert levels == [1, 2, 3, 3]
    assert data["line"] == 2  # the student's `return list(set(xs))`
    engine: ScriptedEngine = running.engine
    assert engine.requests[-1].messages is not None
    assert "line 2" in engine.requests[-1].messages[0]["content"]
    # A fresh student with many failed submissions starts higher.
    response = await post(url, {**body, "user": "bob", "attempts": 4, "lang": "ko"})
    data = json.loads(response.body)
    assert data["level"] == 3 and data["lang"] == "ko"


async def test_stop_and_close_cancel_generation(start_service: Any) -> None:
    long_reply = " ".join(f"word{i}" for i in range(500))
    running = await start_service(
        TutorService, tutor_config(scripted_config(replies=[long_reply], token_delay=0.01))
    )
    engine: ScriptedEngine = running.engine
    ws = await websocket_connect(ws_url(running))
    await ws.write_message(json.dumps({"type": "ask", "problem_id": "dedupe", "message": "x"}))
    await asyncio.sleep(0.2)
    await ws.write_message(json.dumps({"type": "stop"}))
    event = json.loads(await asyncio.wait_for(ws.read_message(), 10))  # type: ignore[arg-type]
    assert event == {"type": "done", "stopped": True}
    await ws.write_message(json.dumps({"type": "ask", "problem_id": "dedupe", "message": "y"}))
    await asyncio.sleep(0.2)
    ws.close()
    for _ in range(100):
        if len(engine.cancelled) == 2:
            break
        await asyncio.sleep(0.02)
    assert len(engine.cancelled) == 2
    assert engine.finished == []


async def test_rate_limit_and_daily_quota(start_service: Any) -> None:
    config = tutor_config(scripted_config(token_delay=0))
    config.RateLimiter.limits = {"ai": {"rate": 0.01, "burst": 2}}
    config.DailyQuota.daily_limit = 3
    running = await start_service(TutorService, config)
    url = running.url + "/api/tutor/hint"
    body = {"problem_id": "dedupe", "user": "alice"}
    assert (await post(url, body)).code == 200
    assert (await post(url, body)).code == 200
    limited = await post(url, body)
    assert limited.code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert json.loads(limited.body)["message"]
    # Another student has their own bucket, and the daily quota counts per user.
    assert (await post(url, {**body, "user": "bob"})).code == 200
    running.service.tutor.rate_limiter.limits = {"ai": {"rate": 1000.0, "burst": 1000}}
    assert (await post(url, {**body, "user": "bob"})).code == 200
    assert (await post(url, {**body, "user": "bob"})).code == 200
    over = await post(url, {**body, "user": "bob"})
    assert over.code == 429
    assert "today" in json.loads(over.body)["message"]


async def test_bad_input(scripted_tutor: Running) -> None:
    hint = scripted_tutor.url + "/api/tutor/hint"
    assert (await post(hint, {"problem_id": "no-such-problem"})).code == 400
    assert (await post(hint, {"problem_id": "../etc/passwd"})).code == 400
    review = scripted_tutor.url + "/api/tutor/review"
    assert (await post(review, {"code": ""})).code == 400
    ws = await websocket_connect(ws_url(scripted_tutor))
    await ws.write_message("not json")
    assert json.loads(await ws.read_message())["type"] == "error"  # type: ignore[arg-type]
    events = await ask(ws, problem_id="nope", message="hi")
    assert events[-1]["type"] == "error"
    ws.close()


def test_language_choice() -> None:
    assert detect_language("What is wrong with my loop?") == "en"
    assert detect_language("제 반복문이 왜 틀렸나요? for x in xs") == "ko"
    assert detect_language("123 + 456") == "en"
    assert choose_language("ko-KR", "Hello") == "ko"
    assert choose_language("en", "안녕하세요") == "en"
    assert choose_language("fr", "안녕하세요") == "ko"
    assert choose_language(None, "Hello") == "en"


def test_hint_levels() -> None:
    assert hint_level(0, 0) is HintLevel.NUDGE
    assert hint_level(0, 1) is HintLevel.CONCEPT
    assert hint_level(2, 0) is HintLevel.CONCEPT
    assert hint_level(0, 9) is HintLevel.LINE
    assert max(HintLevel) is HintLevel.LINE  # no rung beyond pointing at a line


def test_student_verdict_drops_hidden_details() -> None:
    seen = student_verdict(INSTRUCTOR_VERDICT)
    assert seen is not None
    assert seen["cases"][1] == {"name": "hidden-1", "visibility": "hidden", "status": "failed"}
    assert seen["cases"][0]["expected"] == "['b', 'a']"


def test_suspect_line() -> None:
    solution = "def dedupe(xs):\n    seen = set()\n    return [x for x in xs]\n"
    assert suspect_line(WRONG_CODE, solution) == 2
    assert suspect_line("", solution) is None


@pytest.mark.slow
async def test_tutor_serve_command_against_the_llm_service(llm_url: str) -> None:
    """``codetutor tutor serve --llm-url`` in its own process: the production layout."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "codetutor",
        "tutor",
        "serve",
        "--port",
        str(port),
        "--llm-url",
        llm_url + "/v1",
        "--Tutor.judge_class=codetutor.judge.local.FolderJudge",
        f"--FolderJudge.problem_dirs={FILES}",
        "--Tutor.chat_max_tokens=16",
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        health: dict[str, Any] = {}
        for _ in range(600):
            try:
                response = await AsyncHTTPClient().fetch(url + "/health")
            except OSError:
                await asyncio.sleep(0.1)
                continue
            health = json.loads(response.body)
            break
        assert health["model"] == "gemma-3-270m-q4_k_m"
        hint = await post(url + "/api/tutor/hint", {"problem_id": "dedupe", "user": "alice"})
        assert hint.code == 200, hint.body
        assert json.loads(hint.body)["level"] == 1
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def test_daily_quota_per_class(start_service: Any) -> None:
    config = tutor_config(scripted_config(token_delay=0))
    config.DailyQuota.daily_limit = 1
    config.DailyQuota.class_limits = {"cs101": 3}
    running = await start_service(TutorService, config)
    url = running.url + "/api/tutor/hint"
    plain = {"problem_id": "dedupe", "user": "erin"}
    assert (await post(url, plain)).code == 200
    assert (await post(url, plain)).code == 429
    in_class = {"problem_id": "dedupe", "user": "frank", "groups": ["cs101"]}
    assert [(await post(url, in_class)).code for _ in range(4)] == [200, 200, 200, 429]
