"""The LLM service with the real bundled model (``codetutor llm serve`` in a process)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from codetutor.tutor.auth import ServiceAuth, is_loopback

from .conftest import metric_value, open_stream, read_events

pytestmark = pytest.mark.slow


async def get(url: str) -> HTTPResponse:
    return await AsyncHTTPClient().fetch(url, raise_error=False, request_timeout=30)


async def post(url: str, body: dict[str, Any]) -> HTTPResponse:
    return await AsyncHTTPClient().fetch(
        url, method="POST", body=json.dumps(body), raise_error=False, request_timeout=120
    )


async def test_health_and_models(llm_url: str) -> None:
    health = json.loads((await get(llm_url + "/health")).body)
    assert health["status"] == "ok"
    assert health["model"] == "gemma-3-270m-q4_k_m"
    models = json.loads((await get(llm_url + "/v1/models")).body)
    assert [m["id"] for m in models["data"]] == ["gemma-3-270m-q4_k_m"]


async def test_completion_is_deterministic_at_temperature_zero(llm_url: str) -> None:
    body = {"prompt": "def add(a, b):\n", "max_tokens": 12, "temperature": 0, "seed": 7}
    # Deterministic for the same KV cache state: a prompt evaluated in other pieces
    # (part of it reused from whatever an earlier test left in a slot) may differ in the
    # last bits of its logits, and a near tie then goes the other way. After one request
    # the slot holds this prompt, and every later one evaluates it the same way.
    await post(llm_url + "/v1/completions", body)
    first = json.loads((await post(llm_url + "/v1/completions", body)).body)
    second = json.loads((await post(llm_url + "/v1/completions", body)).body)
    text = first["choices"][0]["text"]
    assert text and text == second["choices"][0]["text"]
    assert "return" in text
    assert first["object"] == "text_completion"
    assert first["usage"]["completion_tokens"] == 12
    assert first["choices"][0]["finish_reason"] == "length"


async def test_chat_non_streaming(llm_url: str) -> None:
    response = await post(
        llm_url + "/v1/chat/completions",
        {
            "messages": [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "What is a Python list?"},
            ],
            "max_tokens": 24,
            "temperature": 0,
            "user": "alice",
        },
    )
    assert response.code == 200
    data = json.loads(response.body)
    assert data["object"] == "chat.completion"
    message = data["choices"][0]["message"]
    assert message["role"] == "assistant" and message["content"].strip()
    assert 0 < data["usage"]["completion_tokens"] <= 24


async def test_chat_streams_tokens(llm_url: str) -> None:
    reader, writer = await open_stream(
        llm_url,
        "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "Count from one to twenty."}],
            "max_tokens": 20,
            "temperature": 0,
            "stream": True,
        },
    )
    events = await read_events(reader, 100)
    writer.close()
    await writer.wait_closed()
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    pieces = [c["choices"][0]["delta"].get("content", "") for c in chunks]
    assert sum(1 for p in pieces if p) >= 5  # streamed token by token, not in one piece
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    assert chunks[-1]["usage"]["completion_tokens"] <= 20


async def test_json_schema_output(llm_url: str) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    response = await post(
        llm_url + "/v1/chat/completions",
        {
            "messages": [{"role": "user", "content": "What is 2 + 2? Reply in JSON."}],
            "max_tokens": 40,
            "temperature": 0,
            "response_format": {"type": "json_object", "schema": schema},
        },
    )
    content = json.loads(response.body)["choices"][0]["message"]["content"]
    assert isinstance(json.loads(content)["answer"], int)


async def test_disconnect_cancels_real_generation(llm_url: str) -> None:
    before = (await get(llm_url + "/metrics")).body.decode()
    reader, writer = await open_stream(
        llm_url,
        "/v1/completions",
        {"prompt": "Once upon a time", "max_tokens": 1000, "stream": True, "user": "carol"},
    )
    await read_events(reader, 3)
    writer.close()
    await writer.wait_closed()
    name, label = "llm_requests_total", 'outcome="cancelled"'
    for _ in range(100):
        after = (await get(llm_url + "/metrics")).body.decode()
        if metric_value(after, name, label) > metric_value(before, name, label):
            break
        await asyncio.sleep(0.05)
    assert metric_value(after, name, label) == metric_value(before, name, label) + 1
    generated = metric_value(after, "llm_tokens_generated_total") - metric_value(
        before, "llm_tokens_generated_total"
    )
    assert generated < 200  # stopped long before max_tokens
    health = json.loads((await get(llm_url + "/health")).body)
    assert health["running"] == 0


async def test_metrics_names(llm_url: str) -> None:
    before = (await get(llm_url + "/metrics")).body.decode()
    await post(llm_url + "/v1/completions", {"prompt": "Hello", "max_tokens": 4})
    text = (await get(llm_url + "/metrics")).body.decode()
    completed = 'outcome="completed"'
    assert metric_value(text, "llm_requests_total", completed) == (
        metric_value(before, "llm_requests_total", completed) + 1
    )
    for name in (
        "llm_inference_duration_seconds_bucket",
        "llm_tokens_generated_total",
        "llm_queue_depth",
        "llm_time_to_first_token_seconds_bucket",
        "llm_tokens_per_second_bucket",
        "http_requests_total",
        "http_request_duration_seconds_bucket",
    ):
        assert f"\n{name}" in text, name
    assert metric_value(text, "llm_tokens_generated_total") >= 4
    assert 'http_requests_total{endpoint="/v1/completions",method="POST",status="200"}' in text


def test_standalone_auth_is_loopback_only() -> None:
    auth = ServiceAuth(hub=False)
    auth.check_bind("127.0.0.1")
    with pytest.raises(ValueError):
        auth.check_bind("0.0.0.0")
    ServiceAuth(hub=False, api_keys=["secret"]).check_bind("0.0.0.0")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("::ffff:127.0.0.1")
    assert not is_loopback("10.0.0.1")


@pytest.mark.parametrize(
    "args",
    [
        ["--model", "/nonexistent/model.gguf"],
        ["--ip", "0.0.0.0", "--engine", "codetutor.tutor.remote.OpenAIEngine"],
        ["--no-such-option"],
        ["unexpected"],
    ],
)
def test_serve_bad_input_exits_2(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "codetutor", "llm", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
