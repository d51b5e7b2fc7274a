"""What the tutor remembers of each student: recent chat turns and hints asked, per problem.

The hint ladder climbs with the hints a student asked on a problem, and a reply is
grounded in the last few turns. With :attr:`ChatMemory.redis_url` set, both live in
Redis: every tutor replica sees the same ladder, and a restart forgets nothing
(entries expire after :attr:`ChatMemory.ttl_s` without use). Without Redis, or while
Redis does not answer, they live in this process, as the rate limits do.

Keys: ``<prefix>turns:<user>:<problem>`` (a list of JSON messages, newest last) and
``<prefix>hints:<user>:<problem>`` (a counter); user names and problem ids are
percent-encoded, so neither can reach into another's keys.

What the model needs is not what instructors read: every remembered turn is also
appended to :class:`~codetutor.tutor.transcripts.Transcripts` (whole, for the class
dashboard's conversations page), when its database is configured.
"""

from __future__ import annotations

import json
import time
from collections import deque
from typing import Any
from urllib.parse import quote

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from traitlets import Float, Instance, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor.transcripts import Transcripts


class ChatMemory(LoggingConfigurable):
    """Recent turns and hint counts per (student, problem); see the module docstring."""

    redis_url = Unicode(
        help="""Redis holding the memory (shared by tutor replicas, kept across restarts).
        Default: CODETUTOR_REDIS_URL; empty: this process only.""",
    ).tag(config=True)

    @default("redis_url")
    def _default_redis_url(self) -> str:
        import os

        return os.environ.get("CODETUTOR_REDIS_URL", "")

    key_prefix = Unicode("codetutor:tutor:", help="Prefix of the Redis keys.").tag(config=True)
    ttl_s = Integer(
        14 * 86400, help="Seconds a student's memory of a problem is kept after its last use."
    ).tag(config=True)
    retry_s = Float(
        5.0, help="After Redis failed, seconds of using this process's memory before trying again."
    ).tag(config=True)

    transcripts = Instance(Transcripts)

    @default("transcripts")
    def _default_transcripts(self) -> Transcripts:
        return Transcripts(parent=self)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._turns: dict[tuple[str, str], deque[dict[str, str]]] = {}
        self._hints: dict[tuple[str, str], int] = {}
        self._redis: aioredis.Redis | None = None
        self._down_until = 0.0

    # -- Redis -------------------------------------------------------------

    def _client(self) -> aioredis.Redis | None:
        if not self.redis_url or time.monotonic() < self._down_until:
            return None
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self.redis_url, socket_timeout=1, socket_connect_timeout=1, decode_responses=True
            )
        return self._redis

    def _failed(self, e: Exception) -> None:
        self.log.warning(
            "tutor memory: Redis unavailable (%r); using this process's memory for %.0f s",
            e,
            self.retry_s,
        )
        self._down_until = time.monotonic() + self.retry_s

    def _key(self, kind: str, user: str, problem_id: str) -> str:
        return f"{self.key_prefix}{kind}:{quote(user, safe='')}:{quote(problem_id, safe='')}"

    async def close(self) -> None:
        """Coroutine: close the Redis connection and the transcripts' database (if opened)."""
        await self.transcripts.close()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    # -- turns ---------------------------------------------------------------

    async def turns(self, user: str, problem_id: str) -> list[dict[str, str]]:
        """Coroutine: the remembered messages of ``user`` on ``problem_id``, oldest first."""
        client = self._client()
        if client is not None:
            try:
                raw = await client.lrange(self._key("turns", user, problem_id), 0, -1)
            except RedisError as e:
                self._failed(e)
            else:
                return [m for m in (_message(r) for r in raw) if m is not None]
        return list(self._turns.get((user, problem_id), ()))

    async def remember(
        self, user: str, problem_id: str, messages: list[dict[str, str]], keep: int
    ) -> None:
        """Coroutine: append ``messages``, keeping the newest ``keep`` of all.

        Every message is also recorded in :attr:`transcripts` (for instructors, kept
        whole); a transcripts database that fails is logged, never the student's error.
        """
        keep = max(2, keep)
        try:
            await self.transcripts.record(user, problem_id, messages)
        except Exception as e:
            self.log.warning("tutor transcripts: could not record a turn: %r", e)
        client = self._client()
        if client is not None:
            key = self._key("turns", user, problem_id)
            try:
                async with client.pipeline(transaction=True) as pipe:
                    pipe.rpush(key, *(json.dumps(m, ensure_ascii=False) for m in messages))
                    pipe.ltrim(key, -keep, -1)
                    pipe.expire(key, self.ttl_s)
                    await pipe.execute()
                return
            except RedisError as e:
                self._failed(e)
        turns = self._turns.setdefault((user, problem_id), deque(maxlen=keep))
        turns.extend(messages)

    # -- hints ---------------------------------------------------------------

    async def count_hint(self, user: str, problem_id: str) -> int:
        """Coroutine: count one more hint asked; returns how many were asked before it."""
        client = self._client()
        if client is not None:
            key = self._key("hints", user, problem_id)
            try:
                async with client.pipeline(transaction=True) as pipe:
                    pipe.incr(key)
                    pipe.expire(key, self.ttl_s)
                    count, _ = await pipe.execute()
                return int(count) - 1
            except RedisError as e:
                self._failed(e)
        before = self._hints.get((user, problem_id), 0)
        self._hints[(user, problem_id)] = before + 1
        return before

    async def hints_asked(self, user: str, problem_id: str) -> int:
        """Coroutine: how many hints ``user`` asked on ``problem_id``."""
        client = self._client()
        if client is not None:
            try:
                value = await client.get(self._key("hints", user, problem_id))
            except RedisError as e:
                self._failed(e)
            else:
                return int(value or 0)
        return self._hints.get((user, problem_id), 0)

    # -- forgetting ------------------------------------------------------------

    async def forget(self, user: str, problem_id: str | None = None) -> None:
        """Coroutine: drop ``user``'s turns and hint counts (on one problem, or all)."""
        for store in (self._turns, self._hints):
            for key in [k for k in store if k[0] == user and problem_id in (None, k[1])]:
                del store[key]
        client = self._client()
        if client is None:
            return
        try:
            if problem_id is not None:
                await client.delete(
                    self._key("turns", user, problem_id), self._key("hints", user, problem_id)
                )
                return
            for kind in ("turns", "hints"):
                pattern = f"{self.key_prefix}{kind}:{quote(user, safe='')}:*"
                keys = [k async for k in client.scan_iter(match=pattern, count=200)]
                if keys:
                    await client.delete(*keys)
        except RedisError as e:
            self._failed(e)


def _message(raw: str | bytes) -> dict[str, str] | None:
    """A stored message, or None when the stored text is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if (
        isinstance(value, dict)
        and value.get("role") in ("user", "assistant")
        and isinstance(value.get("content"), str)
    ):
        return {"role": value["role"], "content": value["content"]}
    return None
