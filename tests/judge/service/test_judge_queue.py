"""Queue backends with a real database and a real Redis: delivery, takeover, fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from judge_service_helpers import RedisServer, free_port

from codetutor.judge.models import Problem, User
from codetutor.judge.queue import DatabaseQueue, RedisQueue
from codetutor.judge.store import Store
from codetutor.ratelimit import RateLimiter

RESULT = {"verdict": "accepted", "score": 1.0, "time_ms": 1.0, "cases": []}


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    store = Store(url=db_url)
    await store.upgrade()
    yield store
    await store.close()


async def a_problem(store: Store) -> tuple[User, Problem]:
    user = await store.ensure_user("alice")
    published = await store.publish(
        user=user,
        slug="add",
        title={"en": "Add"},
        difficulty=1,
        tags=[],
        mode="function",
        public={},
        student_notebook="{}",
        bundle="{}",
        case_count=0,
        sha256="0" * 64,
    )
    return user, published.problem


async def submit(store: Store, queue: DatabaseQueue | RedisQueue, n: int = 1) -> list[int]:
    user, problem = await a_problem(store)  # publishing the same content again is a no-op
    ids = []
    for i in range(n):
        sub = await store.add_submission(user=user, problem=problem, code=str(i), notebook=None)
        await queue.put(sub.id)
        ids.append(sub.id)
    return ids


async def test_database_queue_hands_out_each_submission_once(store: Store) -> None:
    queue = DatabaseQueue(store=store, poll_interval_s=0.05, max_depth=3)
    ids = await submit(store, queue, 3)
    assert await queue.depth() == 3 and await queue.is_full()
    leases = await asyncio.gather(*(queue.take(f"w{i}", timeout_s=1) for i in range(4)))
    taken = sorted(lease.submission_id for lease in leases if lease is not None)
    assert taken == ids
    assert await queue.take("late", timeout_s=0.2) is None


async def test_redis_queue_delivers_acks_and_takes_over_from_a_dead_consumer(
    store: Store, redis_server: RedisServer
) -> None:
    queue = RedisQueue(store=store, url=redis_server.url, visibility_timeout_s=0.5, sweep_age_s=60)
    await queue.connect()
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        first, second = await submit(store, queue, 2)
        lease = await queue.take("alive", timeout_s=2)
        assert lease is not None and lease.submission_id == first
        assert await store.finish(lease, RESULT)
        await queue.done(lease)
        # a consumer that takes the next one and dies without a word
        dead = await queue.take("dead", timeout_s=2)
        assert dead is not None and dead.submission_id == second
        pending = await client.xpending(queue.stream, queue.group)
        assert pending["pending"] == 1
        assert await queue.take("alive", timeout_s=0.2) is None
        await asyncio.sleep(0.6)
        taken = await queue.take("alive", timeout_s=2)
        assert taken is not None and taken.submission_id == second and taken.attempts == 2
        assert not await store.finish(dead, RESULT)
        assert await store.finish(taken, RESULT)
        await queue.done(taken)
        assert (await client.xpending(queue.stream, queue.group))["pending"] == 0
        assert await client.xlen(queue.stream) == 0
    finally:
        await client.aclose()
        await queue.close()


async def test_redis_queue_falls_back_to_the_database_while_redis_is_down(
    store: Store, redis_server: RedisServer
) -> None:
    queue = RedisQueue(
        store=store, url=redis_server.url, sweep_age_s=0.3, retry_redis_s=0.2, poll_interval_s=0.05
    )
    await queue.connect()
    try:
        redis_server.stop()
        assert await queue.transport_status() is not None
        (sid,) = await submit(store, queue)  # XADD fails; the row is committed
        lease = await queue.take("w", timeout_s=3)
        assert lease is not None and lease.submission_id == sid
        assert await store.finish(lease, RESULT)
        await queue.done(lease)
        redis_server.start()
        (again,) = await submit(store, queue)
        lease = await queue.take("w", timeout_s=3)
        assert lease is not None and lease.submission_id == again
        assert await queue.transport_status() is None
    finally:
        await queue.close()


async def test_rate_limits_in_redis_shared_by_limiters(redis_server: RedisServer) -> None:
    limits = {"api": {"rate": 10.0, "burst": 20}, "login": {"rate": 5 / 60, "burst": 3}}
    one = RateLimiter(redis_url=redis_server.url, limits=limits)
    two = RateLimiter(redis_url=redis_server.url, limits=limits)
    try:
        decisions = [await (one if i % 2 else two).hit("api", "x", "alice") for i in range(21)]
        assert [d.allowed for d in decisions] == [True] * 20 + [False]
        assert 0 < decisions[-1].retry_after_s <= 0.2
        assert (await one.hit("api", "x", "bob")).allowed  # per user
        assert (await one.hit("api", "y", "alice")).allowed  # per endpoint
        await asyncio.sleep(0.25)
        assert (await two.hit("api", "x", "alice")).allowed  # refilled at 10/s
        logins = [await one.hit("login", "oauth", "10.0.0.1") for _ in range(4)]
        assert [d.allowed for d in logins] == [True, True, True, False]
        assert logins[-1].retry_after_header == "12"
        assert one.using_redis
    finally:
        await one.close()
        await two.close()


async def test_rate_limits_fall_back_to_the_process_when_redis_is_down() -> None:
    limiter = RateLimiter(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        limits={"api": {"rate": 1.0, "burst": 2}},
    )
    try:
        decisions = [await limiter.hit("api", "x", "alice") for _ in range(3)]
        assert [d.allowed for d in decisions] == [True, True, False]
        assert not limiter.using_redis
    finally:
        await limiter.close()
