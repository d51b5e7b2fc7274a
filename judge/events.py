"""Live submission events of the judge service (its JSON logs are :mod:`codetutor.logging`'s).

- :class:`SubmissionWatcher` follows submissions as workers (other
  processes) move them along, from the database: it wakes the live streams
  (:meth:`SubmissionWatcher.wait_for_change`) and feeds the verdict and queue
  metrics, so that the service's ``/metrics`` counts what every worker did.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from traitlets import Float, Instance, Unicode
from traitlets.config import LoggingConfigurable

from . import metrics
from .models import Submission, SubmissionStatus, utcnow
from .store import Store


class SubmissionWatcher(LoggingConfigurable):
    """Polls the database for submissions that changed; one per service process.

    Run :meth:`run` as a task. Each tick reads the submissions started or
    finished in a short window (so a row committed late is still seen), and
    for every change not seen before: observes queue wait (on start) or the
    verdict metrics (on finish), and wakes whoever waits on that submission.
    """

    store = Instance(Store)

    interval_s = Float(
        0.1, help="How often to look for changed submissions (without Redis events)."
    ).tag(config=True)

    redis_url = Unicode(
        "",
        help="""Redis whose pub/sub channel announces changes (empty: poll only).

        While subscribed, a change wakes the watcher at once and polling slows
        to ``redis_interval_s``; while Redis is down, polling is back at
        ``interval_s``.""",
    ).tag(config=True)

    channel = Unicode(
        "codetutor:judge:events", help="The channel workers announce changes on."
    ).tag(config=True)

    redis_interval_s = Float(1.0, help="Polling interval while Redis events are received.").tag(
        config=True
    )

    window_s = Float(
        5.0,
        help="How far back each look reaches, to catch rows whose commit came late.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._seen: dict[tuple[int, int, str], float] = {}
        self._waiters: dict[int, set[asyncio.Event]] = {}
        self._wake = asyncio.Event()
        self.subscribed = False

    def watch(self, submission_id: int) -> asyncio.Event:
        """An event set on the next change of ``submission_id``; pair with :meth:`unwatch`."""
        event = asyncio.Event()
        self._waiters.setdefault(submission_id, set()).add(event)
        return event

    def unwatch(self, submission_id: int, event: asyncio.Event) -> None:
        waiters = self._waiters.get(submission_id)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[submission_id]

    async def run(self) -> None:
        """Watch until cancelled; database and Redis errors are logged and retried."""
        listener = asyncio.create_task(self._listen()) if self.redis_url else None
        first = True
        try:
            while True:
                try:
                    await self.tick(count=not first)
                    first = False
                except asyncio.CancelledError:
                    raise
                except Exception as e:
                    self.log.warning("submission watcher: %s", e)
                    await asyncio.sleep(1.0)
                interval = self.redis_interval_s if self.subscribed else self.interval_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), interval)
                self._wake.clear()
        finally:
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _listen(self) -> None:
        while True:
            client = aioredis.Redis.from_url(self.redis_url, socket_connect_timeout=2)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    self.subscribed = True
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as e:
                if self.subscribed:
                    self.log.warning("live events fall back to polling: Redis %s", e)
            finally:
                self.subscribed = False
                await client.aclose()
            await asyncio.sleep(1.0)

    async def tick(self, *, count: bool = True) -> None:
        """One look at the database. With ``count`` False only remember what is there."""
        assert self.store is not None
        now = utcnow()
        since = now - timedelta(seconds=self.window_s)
        changed = await self.store.changed_since(since)
        horizon = time.monotonic() - 2 * self.window_s
        self._seen = {key: t for key, t in self._seen.items() if t >= horizon}
        for sub in changed:
            if self._note(sub, count=count):
                for event in self._waiters.get(sub.id, ()):
                    event.set()

    def _note(self, sub: Submission, *, count: bool) -> bool:
        """Record what is new about ``sub``; ``True`` if anything was."""
        new = False
        if sub.started_at is not None:
            key = (sub.id, sub.attempts, SubmissionStatus.RUNNING.value)
            if key not in self._seen:
                self._seen[key] = time.monotonic()
                new = True
                if count:
                    wait = (sub.started_at - sub.created_at).total_seconds()
                    metrics.QUEUE_WAIT.observe(max(0.0, wait))
        if sub.status == SubmissionStatus.JUDGED and sub.verdict is not None:
            key = (sub.id, sub.attempts, SubmissionStatus.JUDGED.value)
            if key not in self._seen:
                self._seen[key] = time.monotonic()
                new = True
                if count:
                    verdict = metrics.verdict_label(sub.verdict)
                    metrics.SUBMISSIONS.labels(verdict=verdict).inc()
                    if sub.time_ms is not None:
                        metrics.CODE_EXECUTION.labels(verdict=verdict).observe(sub.time_ms / 1000)
        return new
