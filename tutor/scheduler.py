"""The fair scheduler in front of an LLM engine.

Requests queue per user; whenever the engine has a free sequence, the next request
is taken round robin over the users with something queued (FIFO within a user), so
a student with ten questions never delays another student's first by more than one
generation per slot. Bounds:

* ``max_outstanding_per_user`` requests (queued or running) per user and
  ``max_queued`` waiting in total; past either, :meth:`Scheduler.submit` raises
  :class:`~codetutor.tutor.exceptions.QueueFullError` (HTTP 429 + ``Retry-After``);
* every request has a deadline: still queued at its deadline it fails with
  :class:`~codetutor.tutor.exceptions.DeadlineExceededError`, running at its deadline
  it stops (``finish_reason`` ``"length"``);
* ``max_tokens`` is capped at ``max_tokens_limit``, which bounds how long any
  request can hold a slot — with round robin this is what rules out starvation.

Cancelling a :class:`Job` (its client went away) removes it from the queue or stops
its generation at the next token.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator
from typing import Any

from traitlets import Float, Instance, Integer
from traitlets.config import LoggingConfigurable

from codetutor.tutor import metrics
from codetutor.tutor.engine import CancelToken, Chunk, Engine, GenerationRequest
from codetutor.tutor.exceptions import DeadlineExceededError, EngineError, QueueFullError


class Job:
    """One request in the scheduler: queued, then running, then done.

    Iterate :meth:`stream` for its chunks; call :meth:`cancel` when the client
    goes away.
    """

    def __init__(self, request: GenerationRequest, deadline: float) -> None:
        self.request = request
        self.user = request.user
        self.deadline = deadline
        self.arrived = time.monotonic()
        self.cancel_token = CancelToken()
        self.started: float | None = None
        self.first_token: float | None = None
        self.completion_tokens = 0
        self.outcome: metrics.Outcome | None = None
        self._items: asyncio.Queue[Chunk | Exception | None] = asyncio.Queue()
        self._done = asyncio.Event()
        self._scheduler: Scheduler | None = None

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def cancel(self, reason: str = "client disconnected") -> None:
        """Stop this job: dequeue it, or stop its generation at the next token."""
        if self.done:
            return
        self.cancel_token.cancel(reason)
        if self._scheduler is not None:
            self._scheduler._dequeue(self, metrics.Outcome.cancelled)

    async def wait_done(self) -> None:
        """Coroutine: wait until the job has left the scheduler (its slot is free)."""
        await self._done.wait()

    async def stream(self) -> AsyncIterator[Chunk]:
        """Yield the job's chunks; the last has ``finish_reason`` set.

        Raises :class:`DeadlineExceededError` if the deadline passed while queued,
        :class:`EngineError` if the engine failed.
        """
        while True:
            item = await self._items.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def _put(self, item: Chunk | Exception | None) -> None:
        self._items.put_nowait(item)

    def _finish(self, outcome: metrics.Outcome) -> None:
        if self.done:
            return
        self.outcome = outcome
        self._put(None)
        self._done.set()


class Scheduler(LoggingConfigurable):
    """Fair per-user queue with bounds and deadlines in front of one :class:`Engine`."""

    engine = Instance(Engine)

    max_outstanding_per_user = Integer(
        4,
        help="Requests one user may have queued or running at once; more get HTTP 429.",
    ).tag(config=True)
    max_queued = Integer(64, help="Requests waiting in total (all users); more get HTTP 429.").tag(
        config=True
    )
    default_deadline_s = Float(
        120.0, help="Seconds from arrival after which a request is stopped."
    ).tag(config=True)
    max_deadline_s = Float(600.0, help="Largest deadline a request may ask for.").tag(config=True)
    max_tokens_limit = Integer(
        1024, help="Largest max_tokens a request may ask for (bounds a slot's hold time)."
    ).tag(config=True)
    default_max_tokens = Integer(256, help="max_tokens of requests that give none.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._queues: OrderedDict[str, deque[Job]] = OrderedDict()
        self._outstanding: dict[str, int] = {}
        self._queued = 0
        self._running = 0
        self._wakeup = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._avg_duration_s = 5.0

    @property
    def queued(self) -> int:
        """Requests waiting (not yet running)."""
        return self._queued

    @property
    def running(self) -> int:
        """Requests running on the engine."""
        return self._running

    def start(self) -> None:
        """Start one worker per engine sequence. Idempotent; needs a running loop."""
        if self._workers:
            return
        for i in range(self.engine.parallel):
            self._workers.append(asyncio.ensure_future(self._worker(i)))

    async def stop(self) -> None:
        """Coroutine: cancel queued and running jobs and stop the workers."""
        for queue in list(self._queues.values()):
            for job in list(queue):
                job.cancel("shutting down")
        for task in self._workers:
            task.cancel()
        for task in self._workers:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._workers = []

    def retry_after_s(self) -> int:
        """Estimated seconds until a new request would be accepted."""
        waves = (self._queued + self._running) / max(1, self.engine.parallel)
        return max(1, math.ceil(waves * self._avg_duration_s))

    def clamp_max_tokens(self, max_tokens: int | None) -> int:
        """The max_tokens a request gets: its own, capped at the limit."""
        if max_tokens is None or max_tokens <= 0:
            return min(self.default_max_tokens, self.max_tokens_limit)
        return min(max_tokens, self.max_tokens_limit)

    def submit(self, request: GenerationRequest, deadline_s: float | None = None) -> Job:
        """Queue ``request`` and return its :class:`Job`.

        Raises :class:`QueueFullError` (with ``retry_after_s``) when the user's or
        the total bound is reached. ``deadline_s`` counts from now, capped at
        ``max_deadline_s``.
        """
        self.start()
        user = request.user
        if self._outstanding.get(user, 0) >= self.max_outstanding_per_user:
            metrics.LLM_REJECTED.labels(reason=metrics.RejectReason.user_queue_full.value).inc()
            raise QueueFullError(
                f"user {user} has {self.max_outstanding_per_user} requests outstanding",
                self.retry_after_s(),
                "You already have requests waiting; try again when they finish.",
            )
        if self._queued >= self.max_queued:
            metrics.LLM_REJECTED.labels(reason=metrics.RejectReason.queue_full.value).inc()
            raise QueueFullError(
                f"queue full ({self._queued} waiting)",
                self.retry_after_s(),
                "The tutor is busy; try again shortly.",
            )
        request.max_tokens = self.clamp_max_tokens(request.max_tokens)
        timeout = min(deadline_s or self.default_deadline_s, self.max_deadline_s)
        job = Job(request, deadline=time.monotonic() + timeout)
        job._scheduler = self
        self._queues.setdefault(user, deque()).append(job)
        self._outstanding[user] = self._outstanding.get(user, 0) + 1
        self._queued += 1
        metrics.LLM_QUEUE_DEPTH.set(self._queued)
        loop = asyncio.get_running_loop()
        loop.call_later(timeout, self._on_deadline, job)
        self._wakeup.set()
        return job

    def _on_deadline(self, job: Job) -> None:
        if job.done:
            return
        if job.started is None:
            self._dequeue(job, metrics.Outcome.deadline)
        else:
            job.cancel_token.cancel("deadline")

    def _dequeue(self, job: Job, outcome: metrics.Outcome) -> None:
        """Take a job that has not started out of its queue and finish it."""
        if job.started is not None or job.done:
            return
        queue = self._queues.get(job.user)
        if queue is not None and job in queue:
            queue.remove(job)
            if not queue:
                del self._queues[job.user]
            self._queued -= 1
            metrics.LLM_QUEUE_DEPTH.set(self._queued)
        self._release(job.user)
        metrics.LLM_REQUESTS.labels(outcome=outcome.value).inc()
        if outcome is metrics.Outcome.deadline:
            job._put(
                DeadlineExceededError(
                    f"request of {job.user} waited past its deadline",
                    "The tutor is busy and your request timed out; try again.",
                )
            )
        job._finish(outcome)

    def _release(self, user: str) -> None:
        left = self._outstanding.get(user, 0) - 1
        if left > 0:
            self._outstanding[user] = left
        else:
            self._outstanding.pop(user, None)

    def _next_job(self) -> Job | None:
        """Round robin: the oldest job of the user at the head of the rotation."""
        while self._queues:
            user, queue = next(iter(self._queues.items()))
            job = queue.popleft()
            if queue:
                self._queues.move_to_end(user)
            else:
                del self._queues[user]
            self._queued -= 1
            metrics.LLM_QUEUE_DEPTH.set(self._queued)
            return job
        return None

    async def _worker(self, index: int) -> None:
        while True:
            job = self._next_job()
            if job is None:
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._run(job)

    async def _run(self, job: Job) -> None:
        job.started = time.monotonic()
        self._running += 1
        metrics.LLM_RUNNING.set(self._running)
        metrics.LLM_QUEUE_WAIT.observe(job.started - job.arrived)
        outcome = metrics.Outcome.completed
        stream = self.engine.generate(job.request, job.cancel_token)
        try:
            async for chunk in stream:
                if chunk.text:
                    if job.first_token is None:
                        job.first_token = time.monotonic()
                        metrics.LLM_TIME_TO_FIRST_TOKEN.observe(job.first_token - job.arrived)
                    job.completion_tokens += 1
                if chunk.usage is not None:
                    job.completion_tokens = chunk.usage.completion_tokens
                job._put(chunk)
        except EngineError as e:
            outcome = metrics.Outcome.error
            self.log.error("engine failed for %s: %s", job.user, e)
            job._put(e)
        except Exception as e:
            outcome = metrics.Outcome.error
            self.log.exception("unexpected engine failure for %s", job.user)
            job._put(EngineError(f"engine failed: {e}", "The tutor failed; try again."))
        finally:
            await stream.aclose()
            ended = time.monotonic()
            if outcome is metrics.Outcome.completed and job.cancel_token.cancelled:
                outcome = (
                    metrics.Outcome.deadline
                    if job.cancel_token.reason == "deadline"
                    else metrics.Outcome.cancelled
                )
            duration = ended - job.started
            self._avg_duration_s = 0.8 * self._avg_duration_s + 0.2 * duration
            metrics.LLM_INFERENCE_DURATION.observe(duration)
            metrics.LLM_TOKENS_GENERATED.inc(job.completion_tokens)
            metrics.LLM_REQUESTS.labels(outcome=outcome.value).inc()
            if job.first_token is not None and job.completion_tokens > 1:
                decode_s = ended - job.first_token
                if decode_s > 0:
                    metrics.LLM_TOKENS_PER_SECOND.observe((job.completion_tokens - 1) / decode_s)
            self._running -= 1
            metrics.LLM_RUNNING.set(self._running)
            self._release(job.user)
            job._finish(outcome)
