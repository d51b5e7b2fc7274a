"""Judge workers: separate processes that take submissions from the queue.

- :class:`Worker` judges one submission at a time through the core judge
  (``await Judge().judge(problem, submission)``) and stores the verdict under
  its lease, renewing the lease while it judges.
- :class:`JudgeWorkerApp` is ``codetutor judge-worker``: one worker process.
- :class:`WorkerPool` runs N worker processes for the service and restarts
  any that die.

A submission whose judging raised (the judge's own fault) is given back to
the queue and tried again, up to :attr:`Worker.max_attempts` claims; after
that, and for a submission whose claims keep killing workers, it is stored
with the verdict ``internal_error``.

Between submissions a worker runs **internal jobs** (:mod:`.jobs`): the tutor
guard's candidate programs and publishing's reference run, ahead of submissions
since a caller waits on each, and in the background the class's similarity
comparison.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
from collections import OrderedDict
from typing import Any

import structlog
from traitlets import Any as AnyTrait
from traitlets import Float, Instance, Int, List, Type, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.logging import configure_logging
from codetutor.web import load_config

from .jobs import InternalJobs
from .leases import Lease
from .models import Submission as SubmissionRow
from .problem import Problem
from .queue import DatabaseQueue, Queue, RedisQueue, default_consumer_name
from .store import Store, is_unavailable
from .submission import Submission
from .verdict import Verdict

logger = logging.getLogger(__name__)


class Worker(InternalJobs):
    """Takes submissions one at a time, judges them, and stores their verdicts."""

    store = Instance(Store)
    queue = Instance(Queue)

    name = Unicode(help="Consumer name in leases and logs (default: host:pid).").tag(config=True)

    @default("name")
    def _default_name(self) -> str:
        return default_consumer_name()

    judge_class = Type(
        default_value="codetutor.judge.judge.Judge",
        klass="codetutor.judge.judge.Judge",
        help="The judge (a configurable with ``async judge(problem, submission)``).",
    ).tag(config=True)

    max_attempts = Int(
        3,
        help="Claims of one submission before it is stored as internal_error.",
    ).tag(config=True)

    problem_cache_size = Int(64, help="Problem versions kept parsed in memory.").tag(config=True)

    job_poll_s = Float(
        0.2, help="How long an idle worker waits for a submission before it looks for jobs."
    ).tag(config=True)

    passback_class = Type(
        default_value="codetutor.judge.lti_passback.GradePassback",
        klass="codetutor.judge.lti_passback.GradePassback",
        help="After each stored verdict: LTI grade passback (off without a tool config).",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._problems: OrderedDict[int, Problem] = OrderedDict()
        self._judge: Any = None
        self._passback: Any = None
        self.judged = 0

    @property
    def judge(self) -> Any:
        if self._judge is None:
            self._judge = self.judge_class(parent=self)
        return self._judge

    @property
    def passback(self) -> Any:
        if self._passback is None:
            self._passback = self.passback_class(parent=self, store=self.store)
        return self._passback

    async def close(self) -> None:
        """Release the judge's resources (its sandbox processes). Coroutine."""
        await self.wait_background()
        if self._passback is not None:
            await self._passback.drain()
        if self._judge is not None and hasattr(self._judge, "close"):
            await self._judge.close()
        self._judge = None

    async def run(self, stop: asyncio.Event) -> None:
        """Judge until ``stop`` is set. Database and Redis faults are waited out."""
        assert self.queue is not None
        self.log.info("worker %s started", self.name)
        backoff = 0.5
        while not stop.is_set():
            try:
                job = await self.queue.take_job(self.name)
                if job is not None:
                    await self.take_turn(job)
                    continue
                lease = await self.queue.take(self.name, timeout_s=self.job_poll_s)
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.log.warning("worker %s cannot take work: %s", self.name, e)
                await _sleep_or_stop(stop, backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if lease is not None:
                await self.process(lease, stop)
        self.log.info("worker %s stopped after %s verdicts", self.name, self.judged)

    async def process(self, lease: Lease, stop: asyncio.Event | None = None) -> None:
        """Judge the submission of ``lease`` and store its verdict (or give it back)."""
        store, queue = self.store, self.queue
        assert store is not None and queue is not None
        with structlog.contextvars.bound_contextvars(
            submission_id=lease.submission_id, worker=self.name, attempt=lease.attempts
        ):
            await queue.notify(lease.submission_id)
            sub = await self._retry(lambda: store.get_submission(lease.submission_id))
            assert sub is not None
            names = await self._retry(lambda: store.user_names([sub.user_id]))
            with structlog.contextvars.bound_contextvars(user=names.get(sub.user_id)):
                if lease.attempts > self.max_attempts:
                    self.log.error("submission %s failed %s claims", sub.id, lease.attempts - 1)
                    result = internal_error(f"judging failed {lease.attempts - 1} times")
                else:
                    judged = await self._judge_with_lease(sub, lease, stop)
                    if judged is None:
                        # given back: the next claim comes from the database
                        await queue.done(lease)
                        return
                    result = judged
                stored = await self._retry(lambda: store.finish(lease, result))
                if stored:
                    await queue.notify(lease.submission_id)
                    self.judged += 1
                    await self.queue_similarity()
                    self.passback.schedule(sub.id)
                    self.log.info(
                        "judged submission %s: %s (%.0f ms)",
                        sub.id,
                        result["verdict"],
                        result.get("time_ms") or 0,
                    )
                else:
                    self.log.warning(
                        "lease on submission %s was lost; its verdict was not stored", sub.id
                    )
                await queue.done(lease)

    async def _judge_with_lease(
        self, sub: SubmissionRow, lease: Lease, stop: asyncio.Event | None
    ) -> dict[str, Any] | None:
        """The instructor view of the judge's result, or ``None`` if the lease was given back."""
        store = self.store
        assert store is not None
        keeper = asyncio.create_task(self._keep_lease(lease))
        judging = asyncio.create_task(self._judge_submission(sub))
        stopping = asyncio.create_task(stop.wait()) if stop is not None else None
        try:
            waiting = {judging} | ({stopping} if stopping else set())
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if not judging.done():
                # shutting down: give the submission back for the next worker
                judging.cancel()
                await asyncio.gather(judging, return_exceptions=True)
                await self._retry(lambda: store.release(lease))
                self.log.info("gave submission %s back on shutdown", sub.id)
                return None
            try:
                return judging.result()
            except Exception as e:
                self.log.exception("the judge failed on submission %s", sub.id)
                if lease.attempts < self.max_attempts:
                    await self._retry(lambda: store.release(lease))
                    return None
                return internal_error(f"{type(e).__name__}: {e}")
        finally:
            keeper.cancel()
            if stopping is not None:
                stopping.cancel()
            await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_lease(self, lease: Lease) -> None:
        assert self.store is not None and self.queue is not None
        period = self.queue.visibility_timeout_s / 3
        while True:
            await asyncio.sleep(period)
            try:
                if not await self.store.renew(lease, self.queue.visibility_timeout_s):
                    self.log.warning("lease on submission %s was taken over", lease.submission_id)
                    return
            except Exception as e:
                self.log.warning("cannot renew lease on %s: %s", lease.submission_id, e)

    async def _judge_submission(self, sub: SubmissionRow) -> dict[str, Any]:
        problem = await self._problem(sub.problem_id)
        # parsed once, by the service that took it (SubmissionManager)
        submission = Submission.from_stored(sub.code, sub.notebook)
        result = await self.judge.judge(problem, submission)
        return dict(result.to_dict(audience="instructor"))

    async def _problem(self, problem_id: int) -> Problem:
        store = self.store
        assert store is not None
        problem = self._problems.get(problem_id)
        if problem is None:
            bundle = await self._retry(lambda: store.get_bundle(problem_id))
            problem = Problem.from_bundle(json.loads(bundle))
            self._problems[problem_id] = problem
            while len(self._problems) > self.problem_cache_size:
                self._problems.popitem(last=False)
        else:
            self._problems.move_to_end(problem_id)
        return problem

    async def _retry(self, attempt: Any, *, give_up_s: float = 600.0) -> Any:
        """Run ``attempt()`` until it succeeds, waiting out database outages."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + give_up_s
        delay = 0.2
        while True:
            try:
                return await attempt()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if not is_unavailable(e) or loop.time() > deadline:
                    raise
                self.log.warning("database unavailable (%s); retrying", type(e).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 3.0)


def internal_error(message: str) -> dict[str, Any]:
    """The stored result of a submission the judge could not judge."""
    return {
        "verdict": Verdict.INTERNAL_ERROR.value,
        "score": 0.0,
        "time_ms": 0.0,
        "cases": [],
        "internal_message": message,
    }


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


class JudgeBackendMixin(LoggingConfigurable):
    """Settings shared by ``codetutor judge-service`` and ``codetutor judge-worker``."""

    db_url = Unicode(
        "",
        help="Database URL (see Store.url; empty: the embedded SQLite file).",
    ).tag(config=True)

    redis_url = Unicode(
        "",
        help="""Redis URL for the queue and rate limits (redis://HOST:PORT/DB).

        Empty (the embedded default): the queue uses the database alone and
        rate limits are kept in process.""",
    ).tag(config=True)

    queue_class = Type(
        klass=Queue,
        allow_none=True,
        default_value=None,
        help="Queue backend (default: RedisQueue when redis_url is set, else DatabaseQueue).",
    ).tag(config=True)

    def make_store(self) -> Store:
        kwargs = {"url": self.db_url} if self.db_url else {}
        return Store(parent=self, **kwargs)

    def make_queue(self, store: Store) -> Queue:
        cls = self.queue_class or (RedisQueue if self.redis_url else DatabaseQueue)
        kwargs: dict[str, Any] = {"store": store}
        if self.redis_url and issubclass(cls, RedisQueue):
            kwargs["url"] = self.redis_url
        return cls(parent=self, **kwargs)


class JudgeWorkerApp(JudgeBackendMixin, CodeTutorBaseApp):
    """``codetutor judge-worker``: one worker process judging from the queue."""

    name = "judge-worker"
    description = "Judge submissions from the judge service's queue (one process)."

    classes = [Store, DatabaseQueue, RedisQueue, Worker]

    config_file = Unicode("", help="A config file (.py or .json) to load.").tag(config=True)

    parent_pid = Int(
        0, help="Exit when the process with this pid (the service) is gone (0: never)."
    ).tag(config=True)

    aliases: Any = {
        "config": "JudgeWorkerApp.config_file",
        "db-url": "JudgeWorkerApp.db_url",
        "redis-url": "JudgeWorkerApp.redis_url",
        "parent-pid": "JudgeWorkerApp.parent_pid",
    }

    def initialize(self, argv: list[str] | None = None) -> None:
        super().initialize(argv)
        if self.config_file:
            load_config(self, self.config_file)
        configure_logging(logging.DEBUG if self.debug else logging.INFO)
        self.log = logging.getLogger("codetutor.judge.worker")

    def start(self) -> None:
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        asyncio.run(self.run())

    async def run(self) -> None:
        store = self.make_store()
        queue = self.make_queue(store)
        worker = Worker(parent=self, store=store, queue=queue)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        orphan_watch = asyncio.create_task(self._exit_with_parent(stop))
        try:
            await store.connect()
            await queue.connect()
            await worker.run(stop)
        finally:
            orphan_watch.cancel()
            await worker.close()
            await queue.close()
            await store.close()

    async def _exit_with_parent(self, stop: asyncio.Event) -> None:
        if not self.parent_pid:
            return
        while not stop.is_set():
            if os.getppid() != self.parent_pid:
                self.log.warning("service %s is gone; stopping", self.parent_pid)
                stop.set()
                return
            await asyncio.sleep(1.0)


class WorkerPool(LoggingConfigurable):
    """N ``codetutor judge-worker`` processes, restarted when they die.

    The workers get the service's configuration through a JSON config file
    written by the service, so a setting given to the service applies to its
    workers too.
    """

    command = List(
        Unicode(),
        help="Command that runs one worker (default: this Python's ``codetutor judge-worker``).",
    ).tag(config=True)

    @default("command")
    def _default_command(self) -> list[str]:
        return [sys.executable, "-m", "codetutor", "judge-worker"]

    restart_delay_s = Float(1.0, help="Wait before restarting a dead worker.").tag(config=True)

    config_path = Unicode(help="JSON config file handed to every worker.")

    env = AnyTrait(default_value=None, allow_none=True, help="Extra environment of the workers.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self, count: int) -> None:
        """Start ``count`` supervised workers (call inside the event loop)."""
        for slot in range(count):
            self._tasks.append(asyncio.create_task(self._supervise(slot)))

    def pids(self) -> list[int]:
        return [p.pid for p in self.processes.values() if p.returncode is None]

    async def _supervise(self, slot: int) -> None:
        env = dict(os.environ)
        if self.env:
            env.update(self.env)
        argv = [*self.command, f"--config={self.config_path}", f"--parent-pid={os.getpid()}"]
        while not self._stopping:
            proc = await asyncio.create_subprocess_exec(*argv, env=env)
            self.processes[slot] = proc
            self.log.info("started judge worker %s (pid %s)", slot, proc.pid)
            code = await proc.wait()
            if self._stopping:
                break
            self.log.warning(
                "judge worker %s (pid %s) exited with %s; restarting", slot, proc.pid, code
            )
            await asyncio.sleep(self.restart_delay_s)

    async def stop(self, timeout_s: float = 10.0) -> None:
        """Ask every worker to stop (SIGTERM: they give back what they judge), then wait."""
        self._stopping = True
        live = [p for p in self.processes.values() if p.returncode is None]
        for proc in live:
            proc.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.gather(*(p.wait() for p in live))
        except TimeoutError:
            for proc in live:
                if proc.returncode is None:
                    proc.kill()
            await asyncio.gather(*(p.wait() for p in live))
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
