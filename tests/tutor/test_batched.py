"""Serving several sequences at once with the real model: the batched engine (one
llama.cpp context) and the default engine's several contexts."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from codetutor.tutor.batched import BatchedLlamaCppEngine
from codetutor.tutor.engine import CancelToken, Chunk, GenerationRequest, LlamaCppEngine

pytestmark = pytest.mark.slow


@pytest.fixture
async def engine() -> AsyncIterator[BatchedLlamaCppEngine]:
    e = BatchedLlamaCppEngine(parallel_sequences=3, n_ctx=1024)
    await e.start()
    yield e
    await e.stop()


async def complete(
    engine: BatchedLlamaCppEngine | LlamaCppEngine,
    request: GenerationRequest,
    cancel: CancelToken | None = None,
) -> tuple[str, Chunk]:
    text = ""
    last = Chunk("")
    async for chunk in engine.generate(request, cancel or CancelToken()):
        text += chunk.text
        last = chunk
    return text, last


def story(user: str, tokens: int = 24) -> GenerationRequest:
    return GenerationRequest(
        user=user, prompt="Once upon a time", max_tokens=tokens, temperature=0.0
    )


async def test_concurrent_sequences_match_a_lone_one(engine: BatchedLlamaCppEngine) -> None:
    alone, last = await complete(engine, story("a"))
    assert alone and last.finish_reason == "length" and last.usage is not None
    assert last.usage.completion_tokens == 24
    together = await asyncio.gather(*(complete(engine, story(f"u{i}")) for i in range(3)))
    assert [text for text, _ in together] == [alone] * 3


async def test_chat_and_json_schema(engine: BatchedLlamaCppEngine) -> None:
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "integer"}},
        "required": ["answer"],
        "additionalProperties": False,
    }
    chat = GenerationRequest(
        user="a",
        messages=[
            {"role": "system", "content": "Reply in JSON."},
            {"role": "user", "content": "What is 2 + 2?"},
        ],
        max_tokens=40,
        temperature=0.0,
        json_schema=schema,
    )
    plain = GenerationRequest(
        user="b", messages=[{"role": "user", "content": "Hello!"}], max_tokens=16
    )
    (json_text, _), (hello, _) = await asyncio.gather(
        complete(engine, chat), complete(engine, plain)
    )
    assert isinstance(json.loads(json_text)["answer"], int)
    assert hello.strip()


async def test_cancel_frees_the_slot(engine: BatchedLlamaCppEngine) -> None:
    cancel = CancelToken()
    long = asyncio.ensure_future(complete(engine, story("a", tokens=400), cancel))
    await asyncio.sleep(0.3)
    cancel.cancel()
    _, last = await asyncio.wait_for(long, 10)
    assert last.finish_reason == "length"
    assert last.usage is not None and last.usage.completion_tokens < 400
    # All three slots are usable again.
    results = await asyncio.gather(*(complete(engine, story(f"u{i}", 4)) for i in range(3)))
    assert all(text for text, _ in results)


async def test_several_contexts_serve_at_once() -> None:
    engine = LlamaCppEngine(parallel_sequences=3, n_ctx=512)
    await engine.start()
    try:
        assert engine.parallel == 3
        results = await asyncio.gather(*(complete(engine, story(f"u{i}", 8)) for i in range(3)))
        for text, last in results:
            assert text and last.finish_reason == "length"
            assert last.usage is not None and last.usage.completion_tokens == 8
    finally:
        await engine.stop()
