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

**Internal jobs** (:class:`Job`) are work for the workers that is not a
student's submission: the tutor's guard judging candidate code from a reply
(:attr:`JobKind.GUARD`), publishing's reference run (:attr:`JobKind.PUBLISH`) and the
class's similarity comparison (:attr:`JobKind.SIMILARITY`, nobody waits on it).
They are short-lived and never stored as submissions (no row, no gradebook
entry): a job lost with its worker is answered by nobody, and its caller's wait
times out. They travel through a spool directory shared by the service and its
worker processes (:class:`DatabaseQueue`, one machine) or through Redis
(:class:`RedisQueue`).
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.engine import make_url
from traitlets import Float, Instance, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from .leases import Lease
from .store import Store


def default_consumer_name() -> str:
    """``host:pid``: unique per worker process, readable in logs and rows."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobKind(enum.StrEnum):
    """What an internal job asks a worker to do."""

    #: judge candidate programs (from a tutor reply) against a published problem
    GUARD = "guard"
    #: run a problem notebook's reference solution to publish it
    PUBLISH = "publish"
    #: compare the class's submissions for similarity (throttled; runs no student code)
    SIMILARITY = "similarity"


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


@dataclass
class Job:
    """An internal job (see the module docstring): its id, kind and JSON payload."""

    kind: JobKind
    payload: dict[str, Any]
    id: str = field(default_factory=lambda: f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}")

    def dumps(self) -> str:
        return json.dumps({"id": self.id, "kind": self.kind.value, "payload": self.payload})

    @classmethod
    def loads(cls, text: str | bytes) -> Job:
        data = json.loads(text)
        return cls(kind=JobKind(data["kind"]), payload=dict(data["payload"]), id=str(data["id"]))


def valid_job_id(job_id: str) -> bool:
    """Whether ``job_id`` has the shape :class:`Job` gives its ids (safe as a file name)."""
    head, _, tail = job_id.partition("-")
    return len(head) == 20 and head.isdigit() and len(tail) == 12 and tail.isalnum()


class Queue(LoggingConfigurable):
    """Base of the queue backends (select one with ``JudgeServiceApp.queue_class``).

    Subclasses implement :meth:`take` and may override :meth:`put`,
    :meth:`done`, :meth:`connect`, :meth:`close` and :meth:`transport_status`.
    Internal jobs go through a spool directory (:attr:`job_dir`) unless a
    subclass carries them otherwise.
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

    job_dir = Unicode(
        help="""Spool directory of internal jobs, shared by the service and its workers
        (one machine). Default: ``jobs/`` beside a SQLite database, else a folder in
        the system's temporary directory.""",
    ).tag(config=True)

    @default("job_dir")
    def _default_job_dir(self) -> str:
        if self.store is not None and self.store.is_sqlite:
            database = make_url(self.store.url).database
            if database and database != ":memory:":
                return str(Path(database).resolve().parent / "jobs")
        return str(Path(tempfile.gettempdir()) / f"codetutor-judge-jobs-{os.getuid()}")

    job_ttl_s = Float(
        600.0,
        help="Results of internal jobs, and jobs a lost worker left running, are kept this long.",
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

    # -- internal jobs -----------------------------------------------------

    def _spool(self, *parts: str) -> Path:
        path = Path(self.job_dir, *parts)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    def _spool_write(self, folder: str, name: str, text: str) -> None:
        scratch = self._spool("tmp") / f"{name}.{os.getpid()}"
        scratch.write_text(text, encoding="utf-8")
        os.replace(scratch, self._spool(folder) / name)

    def _spool_sweep(self) -> None:
        horizon = time.time() - self.job_ttl_s
        for folder in ("done", "running", "tmp"):
            for path in self._spool(folder).iterdir():
                try:
                    if path.stat().st_mtime < horizon:
                        path.unlink()
                except FileNotFoundError:
                    pass

    async def put_job(self, job: Job) -> None:
        """Coroutine: queue ``job`` for the workers."""
        self._spool_sweep()
        self._spool_write("queued", f"{job.id}.json", job.dumps())

    async def take_job(self, owner: str) -> Job | None:
        """Coroutine: the oldest queued internal job, now this worker's; ``None`` if none.

        Never waits. A job is handed to one worker only (a rename claims it).
        """
        queued = self._spool("queued")
        for path in sorted(queued.iterdir()):
            claimed = self._spool("running") / path.name
            try:
                os.replace(path, claimed)
            except FileNotFoundError:
                continue  # another worker took it
            os.utime(claimed)
            try:
                return Job.loads(claimed.read_text(encoding="utf-8"))
            except (ValueError, KeyError, TypeError) as e:
                self.log.warning("dropped a malformed internal job %s: %s", path.name, e)
                claimed.unlink(missing_ok=True)
        return None

    async def finish_job(self, job: Job, result: dict[str, Any]) -> None:
        """Coroutine: store the result of ``job`` for its caller."""
        self._spool_write("done", f"{job.id}.json", json.dumps(result))
        (self._spool("running") / f"{job.id}.json").unlink(missing_ok=True)

    async def job_state(self, job_id: str) -> tuple[JobState, dict[str, Any] | None] | None:
        """Coroutine: ``(state, result)`` of a job (result once done), or ``None`` if unknown."""
        name = f"{job_id}.json"
        # In the order a job moves (queued, running, done; a worker writes done before it
        # removes running): a job that moved on between two looks is found at the next.
        # Looking at done first once answered "unknown" for a job moving from queued to
        # running in between, and its publisher gave up (HTTP 500).
        if (self._spool("queued") / name).exists():
            return JobState.QUEUED, None
        if (self._spool("running") / name).exists():
            return JobState.RUNNING, None
        try:
            return JobState.DONE, json.loads((self._spool("done") / name).read_text("utf-8"))
        except FileNotFoundError:
            return None

    async def wait_job(
        self, job_id: str, timeout_s: float
    ) -> tuple[JobState, dict[str, Any] | None] | None:
        """Coroutine: :meth:`job_state`, waiting up to ``timeout_s`` for the job to finish."""
        deadline = time.monotonic() + timeout_s
        while True:
            state = await self.job_state(job_id)
            if state is None or state[0] is JobState.DONE or time.monotonic() >= deadline:
                return state
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

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

    jobs_key = Unicode(
        "codetutor:judge:jobs",
        help="Redis list of internal jobs (their states and results are keys below it).",
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

    # -- internal jobs through Redis (the spool while Redis is down) ------------

    def _job_key(self, job_id: str) -> str:
        return f"{self.jobs_key}:{job_id}"

    async def put_job(self, job: Job) -> None:
        if self._redis is None or not self._redis_usable():
            await super().put_job(job)
            return
        try:
            ttl = int(self.job_ttl_s)
            await self._redis.set(self._job_key(job.id), JobState.QUEUED.value, ex=ttl)
            await self._redis.lpush(self.jobs_key, job.dumps())
            self._mark_up()
        except (RedisError, OSError) as e:
            self._mark_down(e)
            await super().put_job(job)

    async def take_job(self, owner: str) -> Job | None:
        if self._redis is not None and self._redis_usable():
            try:
                raw: Any = await self._redis.rpop(self.jobs_key)
                self._mark_up()
            except (RedisError, OSError) as e:
                self._mark_down(e)
                raw = None
            if isinstance(raw, str | bytes):
                job = Job.loads(raw)
                await self._redis.set(
                    self._job_key(job.id), JobState.RUNNING.value, ex=int(self.job_ttl_s)
                )
                return job
        return await super().take_job(owner)

    async def finish_job(self, job: Job, result: dict[str, Any]) -> None:
        if self._spooled(job.id) or self._redis is None or not self._redis_usable():
            await super().finish_job(job, result)
            return
        try:
            await self._redis.set(self._job_key(job.id), json.dumps(result), ex=int(self.job_ttl_s))
        except (RedisError, OSError) as e:
            self._mark_down(e)
            await super().finish_job(job, result)

    def _spooled(self, job_id: str) -> bool:
        """Whether ``job_id`` came through the spool (it was queued while Redis was down)."""
        return (self._spool("running") / f"{job_id}.json").exists()

    async def job_state(self, job_id: str) -> tuple[JobState, dict[str, Any] | None] | None:
        spooled = await super().job_state(job_id)
        if spooled is not None or self._redis is None or not self._redis_usable():
            return spooled
        try:
            raw = await self._redis.get(self._job_key(job_id))
        except (RedisError, OSError) as e:
            self._mark_down(e)
            return None
        if raw is None:
            return None
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        if text in (JobState.QUEUED.value, JobState.RUNNING.value):
            return JobState(text), None
        return JobState.DONE, json.loads(text)

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
