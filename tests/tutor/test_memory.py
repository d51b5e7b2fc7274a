"""The tutor's memory of chat turns and hints: in a real Redis (shared by replicas, kept
across restarts), and in-process without Redis or while it is down."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from codetutor.tutor.memory import ChatMemory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "judge" / "service"))

from judge_service_helpers import RedisServer

from tests.judge.service.conftest import redis_server

__all__ = ["redis_server"]


def turn(i: int) -> list[dict[str, str]]:
    return [
        {"role": "user", "content": f"question {i}"},
        {"role": "assistant", "content": f"answer {i}"},
    ]


async def exercise(memory: ChatMemory, other: ChatMemory) -> None:
    """What any memory must do; ``other`` is a second tutor (a replica, or a restart)."""
    for i in range(4):
        await memory.remember("alice", "dedupe", turn(i), keep=4)
    turns = await other.turns("alice", "dedupe")
    assert [m["content"] for m in turns] == ["question 2", "answer 2", "question 3", "answer 3"]
    assert await other.turns("bob", "dedupe") == []
    assert await other.turns("alice", "other") == []
    assert await memory.count_hint("alice", "dedupe") == 0
    assert await other.count_hint("alice", "dedupe") == 1
    assert await memory.hints_asked("alice", "dedupe") == 2
    assert await memory.hints_asked("bob", "dedupe") == 0
    await memory.remember("alice", "other", turn(9), keep=4)
    await other.forget("alice", "dedupe")
    assert await memory.turns("alice", "dedupe") == []
    assert await memory.hints_asked("alice", "dedupe") == 0
    assert len(await memory.turns("alice", "other")) == 2
    await other.forget("alice")
    assert await memory.turns("alice", "other") == []


async def test_replicas_share_one_memory_in_redis(redis_server: RedisServer) -> None:
    first, second = ChatMemory(redis_url=redis_server.url), ChatMemory(redis_url=redis_server.url)
    try:
        await exercise(first, second)
    finally:
        await first.close()
        await second.close()


async def test_without_redis_the_memory_is_this_process_s() -> None:
    memory = ChatMemory(redis_url="")
    await exercise(memory, memory)
    assert await ChatMemory(redis_url="").turns("alice", "dedupe") == []


async def test_names_cannot_reach_into_another_student_s_keys(redis_server: RedisServer) -> None:
    memory = ChatMemory(redis_url=redis_server.url)
    try:
        await memory.remember("a:b", "c", turn(1), keep=4)
        await memory.remember("a", "b:c", turn(2), keep=4)
        await memory.remember("a*", "x", turn(3), keep=4)
        assert (await memory.turns("a:b", "c"))[0]["content"] == "question 1"
        assert (await memory.turns("a", "b:c"))[0]["content"] == "question 2"
        await memory.forget("a")  # a pattern of "a", not "a*" or "a:b"
        assert await memory.turns("a", "b:c") == []
        assert len(await memory.turns("a:b", "c")) == 2
        assert len(await memory.turns("a*", "x")) == 2
    finally:
        await memory.close()


async def test_entries_expire_and_foreign_values_are_ignored(redis_server: RedisServer) -> None:
    import redis.asyncio as aioredis

    memory = ChatMemory(redis_url=redis_server.url, ttl_s=60)
    client: Any = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        await memory.remember("alice", "dedupe", turn(1), keep=4)
        await memory.count_hint("alice", "dedupe")
        keys = sorted(await client.keys("codetutor:tutor:*"))
        assert keys == ["codetutor:tutor:hints:alice:dedupe", "codetutor:tutor:turns:alice:dedupe"]
        for key in keys:
            assert 0 < await client.ttl(key) <= 60
        await client.rpush("codetutor:tutor:turns:alice:dedupe", "not json", '{"role": "system"}')
        assert len(await memory.turns("alice", "dedupe")) == 2
    finally:
        await client.aclose()
        await memory.close()


async def test_redis_going_down_falls_back_then_comes_back(redis_server: RedisServer) -> None:
    memory = ChatMemory(redis_url=redis_server.url, retry_s=0.0)
    try:
        await memory.remember("alice", "dedupe", turn(1), keep=4)
        redis_server.stop()
        # Redis is gone: the tutor keeps answering from this process's memory
        await memory.remember("alice", "dedupe", turn(2), keep=4)
        assert [m["content"] for m in await memory.turns("alice", "dedupe")] == [
            "question 2",
            "answer 2",
        ]
        assert await memory.count_hint("alice", "dedupe") == 0
        redis_server.start()  # a fresh, empty Redis on the same port
        assert await memory.turns("alice", "dedupe") == []
        await memory.remember("alice", "dedupe", turn(3), keep=4)
        assert len(await memory.turns("alice", "dedupe")) == 2
    finally:
        await memory.close()
