"""The submission queue between the API and the workers.

The database is the queue's source of truth: a submission exists, ``queued``,
before anyone is told about it, and a worker owns it only through a lease in
its row (:meth:`codetutor.judge.store.Store.claim`). A queue backend decides
only *how workers find* claimable submissions:

- :class:`DatabaseQueue` (embedded default) polls the database.
- :class:`RedisQueue` (production) hands out submission ids through a Redis
  stream with a consumer group (``XREADGROUP``); messages that a dead consumer
  left pending are taken over with ``XAUTOCLAIM`` after the visibility timeout.
  It also sweeps the database for submissions that Redis never carried (the
  API could not reach Redis) or whose lease expired, and falls back to the
  database alone while Redis is down.

Either way delivery is at-least-once, and the lease makes the *result*
exactly-once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError
from traitlets import Float, Instance, Int, Unicode
from traitlets.config import LoggingConfigurable

from .store import Lease, Store


def default_consumer_name() -> str:
    """``host:pid``: unique per worker process, readable in logs and rows."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Queue(LoggingConfigurable):
    """Base of the queue backends (select one with ``JudgeServiceApp.queue_class``).

    Subclasses implement :meth:`take` and may override :meth:`put`,
    :meth:`done`, :meth:`connect`, :meth:`close` and :meth:`transport_status`.
    """

    store = Instance(Store, help="The judge database (the queue's source of truth).")

    visibility_timeout_s = Float(
        30.0,
        help="""Length of a worker's lease on a submission, renewed while it judges.

        A worker that dies (SIGKILL, lost machine) leaves its submission to be
        taken again this long after its last renewal.
        """,
    ).tag(config=True)

    max_depth = Int(
        1000,
        help="Most submissions waiting or running at once; beyond it the API answers 429.",
    ).tag(config=True)

    poll_interval_s = Float(
        0.2, help="How often an idle worker looks for work in the database."
    ).tag(config=True)

    async def connect(self) -> None:
        """Open connections the backend needs (coroutine; idempotent)."""

    async def close(self) -> None:
        """Close the backend's connections (coroutine)."""

    async def put(self, submission_id: int) -> None:
        """Announce a submission that is committed ``queued``. Never raises for transport faults."""

    async def take(self, owner: str, timeout_s: float) -> Lease | None:
        """Wait up to ``timeout_s`` for a submission and return the lease on it, or ``None``."""
        raise NotImplementedError

    async def done(self, lease: Lease) -> None:
        """The submission of ``lease`` was judged (or taken over): forget its delivery."""

    async def notify(self, submission_id: int) -> None:
        """Tell the service's live streams at once that a submission changed (best effort).

        Without a transport for it, the service finds the change by polling.
        """

    async def depth(self) -> int:
        """Submissions not judged yet (queued or running)."""
        assert self.store is not None
        return await self.store.pending_count()

    async def is_full(self) -> bool:
        return await self.depth() >= self.max_depth

    async def transport_status(self) -> str | None:
        """``None`` when the transport is healthy or there is none, else what is wrong."""
        return None

    async def _poll_database(
        self, owner: str, timeout_s: float, min_age_s: float = 0.0
    ) -> Lease | None:
        assert self.store is not None
        deadline = time.monotonic() + timeout_s
        while True:
            lease = await self.store.claim(owner, self.visibility_timeout_s, min_age_s=min_age_s)
            if lease is not None:
                return lease
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            await asyncio.sleep(min(self.poll_interval_s, left))


class DatabaseQueue(Queue):
    """The embedded default: workers poll the database for claimable submissions."""

    async def take(self, owner: str, timeout_s: float) -> Lease | None:
        return await self._poll_database(owner, timeout_s)


class RedisQueue(Queue):
    """Redis Streams with a consumer group, backed by the database (see the module doc)."""

    url = Unicode(
        "redis://127.0.0.1:6379/0", help="Redis URL of the stream (redis://HOST:PORT/DB)."
    ).tag(config=True)

    stream = Unicode("codetutor:judge:submissions", help="Name of the Redis stream.").tag(
        config=True
    )

    group = Unicode("judge-workers", help="Consumer group the workers read in.").tag(config=True)

    sweep_age_s = Float(
        5.0,
        help="""A queued submission this old that Redis has not delivered is taken
        from the database directly (it was submitted while Redis was down).""",
    ).tag(config=True)

    retry_redis_s = Float(2.0, help="While Redis is down, how often to try it again.").tag(
        config=True
    )

    events_channel = Unicode(
        "codetutor:judge:events",
        help="Pub/sub channel on which workers announce submission changes.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._redis: aioredis.Redis | None = None
        self._group_ready = False
        self._down_since: float | None = None
        self._messages: dict[int, bytes] = {}
        self._last_sweep = 0.0

    async def connect(self) -> None:
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self.url, socket_timeout=5, socket_connect_timeout=2, retry_on_timeout=False
            )
        try:
            await self._ensure_group()
        except (RedisError, OSError) as e:
            self._mark_down(e)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        assert self._redis is not None
        try:
            await self._redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        self._group_ready = True

    def _mark_down(self, error: BaseException) -> None:
        if self._down_since is None:
            self.log.warning(
                "Redis unavailable at %s (%s); using the database alone", self.url, error
            )
            self._down_since = time.monotonic()
        self._group_ready = False

    def _redis_usable(self) -> bool:
        if self._down_since is None:
            return True
        return time.monotonic() - self._down_since >= self.retry_redis_s

    def _mark_up(self) -> None:
        if self._down_since is not None:
            self.log.info("Redis at %s is back", self.url)
            self._down_since = None

    async def put(self, submission_id: int) -> None:
        if self._redis is None or not self._redis_usable():
            return
        try:
            await self._ensure_group()
            await self._redis.xadd(self.stream, {"id": str(submission_id)})
            self._mark_up()
        except (RedisError, OSError) as e:
            # the row is committed; the database sweep delivers it
            self._mark_down(e)

    async def take(self, owner: str, timeout_s: float) -> Lease | None:
        assert self.store is not None
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if self._redis is None or not self._redis_usable():
                return await self._poll_database(owner, max(left, 0.0))
            if time.monotonic() - self._last_sweep >= self.sweep_age_s / 2:
                self._last_sweep = time.monotonic()
                lease = await self.store.claim(
                    owner, self.visibility_timeout_s, min_age_s=self.sweep_age_s
                )
                if lease is not None:
                    return lease
            try:
                lease = await self._take_from_stream(owner, max(left, 0.0))
                self._mark_up()
            except (RedisError, OSError) as e:
                self._mark_down(e)
                continue
            if lease is not None or time.monotonic() >= deadline:
                return lease

    async def _take_from_stream(self, owner: str, timeout_s: float) -> Lease | None:
        assert self._redis is not None and self.store is not None
        await self._ensure_group()
        idle_ms = int(self.visibility_timeout_s * 1000)
        reply: Any = await self._redis.xautoclaim(
            self.stream, self.group, owner, min_idle_time=idle_ms, start_id="0-0", count=1
        )
        messages: list[Any] = reply[1] if reply else []
        if not messages:
            block_ms = max(1, int(min(timeout_s, 1.0) * 1000))
            read: Any = await self._redis.xreadgroup(
                self.group, owner, {self.stream: ">"}, count=1, block=block_ms
            )
            messages = read[0][1] if read else []
        for message_id, fields in messages:
            if not fields:
                # the entry was deleted after it was delivered
                await self._redis.xack(self.stream, self.group, message_id)
                continue
            submission_id = int(fields[b"id"])
            lease = await self.store.claim(
                owner, self.visibility_timeout_s, submission_id=submission_id
            )
            if lease is None:
                # judged already, or alive in another worker's lease: that
                # worker (or, if it dies, the database sweep) finishes it
                await self._ack(message_id)
                continue
            self._messages[lease.submission_id] = message_id
            return lease
        return None

    async def _ack(self, message_id: bytes) -> None:
        assert self._redis is not None
        await self._redis.xack(self.stream, self.group, message_id)
        await self._redis.xdel(self.stream, message_id)

    async def done(self, lease: Lease) -> None:
        message_id = self._messages.pop(lease.submission_id, None)
        if message_id is None or self._redis is None:
            return
        try:
            await self._ack(message_id)
        except (RedisError, OSError) as e:
            # harmless: the message is redelivered, and the judged row refuses a claim
            self._mark_down(e)

    async def notify(self, submission_id: int) -> None:
        if self._redis is None or not self._redis_usable():
            return
        try:
            await self._redis.publish(self.events_channel, str(submission_id))
        except (RedisError, OSError) as e:
            self._mark_down(e)

    async def transport_status(self) -> str | None:
        if self._redis is None:
            return "not connected"
        try:
            async with asyncio.timeout(2):
                await self._redis.ping()
        except (RedisError, OSError, TimeoutError) as e:
            self._mark_down(e)
            return f"{type(e).__name__}: {e}"
        self._mark_up()
        return None
