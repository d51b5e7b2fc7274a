"""The fair scheduler and its HTTP edge, over a ScriptedEngine."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse

from codetutor.tutor.engine import GenerationRequest
from codetutor.tutor.exceptions import DeadlineExceededError, QueueFullError
from codetutor.tutor.scheduler import Scheduler
from codetutor.tutor.service import LLMService

from .conftest import ScriptedEngine, open_stream, read_events, scripted_config


def ask(user: str, max_tokens: int = 16) -> GenerationRequest:
    return GenerationRequest(
        user=user, messages=[{"role": "user", "content": "hi"}], max_tokens=max_tokens
    )


async def drain(job: Any) -> str:
    return "".join([chunk.text async for chunk in job.stream()])


async def test_round_robin_between_users() -> None:
    engine = ScriptedEngine(token_delay=0.005)
    scheduler = Scheduler(engine=engine, max_outstanding_per_user=10)
    jobs = [scheduler.submit(ask("alice")) for _ in range(4)]
    jobs += [scheduler.submit(ask("bob")) for _ in range(2)]
    await asyncio.gather(*(drain(job) for job in jobs))
    # alice's first was already running when bob arrived; after it, turns alternate.
    assert engine.started == ["alice", "bob", "alice", "bob", "alice", "alice"]
    await scheduler.stop()


async def test_no_starvation_under_a_flood() -> None:
    engine = ScriptedEngine(token_delay=0.002)
    scheduler = Scheduler(engine=engine, max_outstanding_per_user=50, max_queued=100)
    flood = [scheduler.submit(ask("flooder")) for _ in range(30)]
    await asyncio.sleep(0.01)
    late = scheduler.submit(ask("late"))
    await drain(late)
    # The late user waits for at most the running generation and one more turn.
    assert engine.started.index("late") <= 2
    for job in flood:
        job.cancel()
    await scheduler.stop()


async def test_bounds_per_user_and_total() -> None:
    engine = ScriptedEngine(token_delay=0.05)
    scheduler = Scheduler(engine=engine, max_outstanding_per_user=2, max_queued=2)
    first = scheduler.submit(ask("alice"))
    scheduler.submit(ask("alice"))
    with pytest.raises(QueueFullError) as per_user:
        scheduler.submit(ask("alice"))
    assert per_user.value.retry_after_s >= 1
    await asyncio.sleep(0.01)  # alice's first is running now; one of hers is queued
    scheduler.submit(ask("bob"))
    with pytest.raises(QueueFullError):
        scheduler.submit(ask("carol"))
    first.cancel()
    await scheduler.stop()


async def test_deadline_while_queued_and_while_running() -> None:
    engine = ScriptedEngine(token_delay=0.05)
    scheduler = Scheduler(engine=engine)
    long = scheduler.submit(ask("alice", max_tokens=10), deadline_s=0.3)
    queued = scheduler.submit(ask("bob"), deadline_s=0.1)
    with pytest.raises(DeadlineExceededError):
        await drain(queued)
    assert "bob" not in engine.started
    text = await drain(long)
    # Stopped at its deadline: fewer than all ten words.
    assert 0 < len(text.split()) < 10
    assert engine.cancelled == ["alice"]
    await scheduler.stop()


async def test_max_tokens_is_capped() -> None:
    engine = ScriptedEngine(token_delay=0)
    scheduler = Scheduler(engine=engine, max_tokens_limit=3)
    text = await drain(scheduler.submit(ask("alice", max_tokens=1000)))
    assert text.split() == ["one", "two", "three"]
    await scheduler.stop()


async def post(url: str, body: dict[str, Any]) -> HTTPResponse:
    return await AsyncHTTPClient().fetch(
        url, method="POST", body=json.dumps(body), raise_error=False, request_timeout=30
    )


async def test_http_429_with_retry_after(start_service: Any) -> None:
    config = scripted_config(token_delay=0.05)
    config.Scheduler.max_outstanding_per_user = 1
    running = await start_service(LLMService, config)
    url = running.url + "/v1/chat/completions"
    body = {"messages": [{"role": "user", "content": "hi"}], "user": "alice"}
    first = asyncio.ensure_future(post(url, body))
    await asyncio.sleep(0.1)
    refused = await post(url, body)
    assert refused.code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert json.loads(refused.body)["message"]
    other = await post(url, {**body, "user": "bob"})
    assert other.code == 200
    assert (await first).code == 200


async def test_http_deadline_gives_504(start_service: Any) -> None:
    running = await start_service(LLMService, scripted_config(token_delay=0.05))
    url = running.url + "/v1/chat/completions"
    body = {"messages": [{"role": "user", "content": "hi"}], "user": "alice"}
    slow = asyncio.ensure_future(post(url, body))
    await asyncio.sleep(0.05)
    late = await post(url, {**body, "user": "bob", "timeout": 0.1})
    assert late.code == 504
    assert "message" in json.loads(late.body)
    assert (await slow).code == 200


async def test_bad_requests_are_400(scripted: Any) -> None:
    url = scripted.url + "/v1/chat/completions"
    for body in (
        {"messages": []},
        {"messages": [{"role": "wizard", "content": "x"}]},
        {"messages": [{"role": "user", "content": "x"}], "temperature": "hot"},
        {"messages": [{"role": "user", "content": "x"}], "timeout": -1},
    ):
        response = await post(url, body)
        assert response.code == 400, body
        assert json.loads(response.body)["message"]
    with pytest.raises(HTTPClientError) as not_json:
        await AsyncHTTPClient().fetch(url, method="POST", body="{")
    assert not_json.value.code == 400


async def test_disconnect_cancels_a_running_stream(scripted: Any) -> None:
    engine: ScriptedEngine = scripted.engine
    engine.replies = [" ".join(f"w{i}" for i in range(400))]
    engine.token_delay = 0.02
    reader, writer = await open_stream(
        scripted.url,
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": "hi"}], "stream": True, "user": "alice"},
    )
    events = await read_events(reader, 3)
    assert json.loads(events[0])["choices"][0]["delta"] == {"role": "assistant"}
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        if engine.cancelled:
            break
        await asyncio.sleep(0.02)
    assert engine.cancelled == ["alice"]
    assert engine.finished == []
    assert scripted.service.scheduler.running == 0


async def test_disconnect_cancels_a_queued_request(scripted: Any) -> None:
    engine: ScriptedEngine = scripted.engine
    engine.token_delay = 0.05
    url = scripted.url + "/v1/chat/completions"
    blocker = asyncio.ensure_future(
        post(url, {"messages": [{"role": "user", "content": "hi"}], "user": "alice"})
    )
    await asyncio.sleep(0.05)
    _reader, writer = await open_stream(
        scripted.url,
        "/v1/chat/completions",
        {"messages": [{"role": "user", "content": "hi"}], "stream": True, "user": "bob"},
    )
    await asyncio.sleep(0.1)
    assert scripted.service.scheduler.queued == 1
    writer.close()
    await writer.wait_closed()
    for _ in range(50):
        if scripted.service.scheduler.queued == 0:
            break
        await asyncio.sleep(0.02)
    assert scripted.service.scheduler.queued == 0
    assert (await blocker).code == 200
    assert "bob" not in engine.started


async def test_fair_order_over_http(start_service: Any) -> None:
    config = scripted_config(token_delay=0.02)
    config.Scheduler.max_outstanding_per_user = 8
    running = await start_service(LLMService, config)
    url = running.url + "/v1/completions"
    tasks = []
    for _ in range(3):
        tasks.append(asyncio.ensure_future(post(url, {"prompt": "x", "user": "alice"})))
        await asyncio.sleep(0.02)
    tasks.append(asyncio.ensure_future(post(url, {"prompt": "x", "user": "bob"})))
    responses = await asyncio.gather(*tasks)
    assert all(r.code == 200 for r in responses)
    assert running.engine.started.index("bob") <= 2
