"""Internal jobs of a judge worker: work queued by the judge's own services.

Between submissions a worker runs the jobs it takes from the queue
(:class:`~.queue.Job`), first come first served and ahead of submissions, since a
caller waits on each: the tutor guard's candidate programs (:meth:`guard_job`) and
publishing's reference run (:meth:`publish_job`). These are the only places, with
the CLI, where sandboxes start.

A **similarity job** (:meth:`similarity_job`) has nobody waiting and runs no student
code: the class's submissions compared (``codetutor.insight.similarity_report``).
The worker queues one, throttled, after storing verdicts (:meth:`queue_similarity`)
and runs it in the background (:meth:`start_job`), one at a time, while it goes on
judging: the comparison itself runs in a separate, lower-priority process, so a
class's comparison never holds up a student's verdict.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import nbformat
import structlog
from traitlets import Float, Int
from traitlets.config import LoggingConfigurable

from .exceptions import ProblemError
from .problem import Problem
from .queue import Job, JobKind, Queue
from .submission import Submission

if TYPE_CHECKING:
    from .store import Store


class InternalJobs(LoggingConfigurable):
    """The internal jobs of :class:`~.worker.Worker` (which provides the store, queue and judge)."""

    if TYPE_CHECKING:
        store: Store | None
        queue: Queue | None
        judge: Any

        async def _problem(self, problem_id: int) -> Problem: ...
        async def _retry(self, attempt: Any, *, give_up_s: float = 600.0) -> Any: ...

    max_guard_programs = Int(
        32,
        help="""Most candidate programs judged for one guard job (the tutor guard sends
        every candidate of a reply in one job, at most SolutionGuard.max_judged_programs).""",
    ).tag(config=True)

    similarity_interval_s = Float(
        60.0,
        help="""After storing a verdict, queue a similarity job (the class's submissions
        compared, codetutor.insight.similarity_report) at most this often per worker; the job
        itself compares only when verdicts came since the newest report and that report is
        SimilarityChecker.min_interval_s old. 0 turns the background comparison off.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._similarity_queued_at: float | None = None
        self._background: asyncio.Task[Any] | None = None

    async def take_turn(self, job: Job) -> None:
        """Coroutine: run ``job`` now, or a similarity job in the background.

        One similarity job runs at a time: another that comes while one runs is
        finished at once as skipped (it would compare the same submissions).
        """
        assert self.queue is not None
        if job.kind is not JobKind.SIMILARITY:
            await self.run_job(job)
        elif self._background is not None and not self._background.done():
            await self.queue.finish_job(
                job, {"compared": False, "skipped": "a comparison is running"}
            )
        else:
            self._background = asyncio.ensure_future(self.run_job(job))

    async def wait_background(self) -> None:
        """Coroutine: wait for the background job, if one runs (a worker stopping)."""
        if self._background is not None:
            await asyncio.gather(self._background, return_exceptions=True)

    async def run_job(self, job: Job) -> dict[str, Any]:
        """Coroutine: run an internal job and store its result for the caller; returns it.

        The judge's own failure becomes ``{"error": ...}`` in the result, never an
        exception: the caller decides (the guard withholds what it could not check).
        """
        assert self.queue is not None
        with structlog.contextvars.bound_contextvars(job_id=job.id, job=job.kind.value):
            try:
                if job.kind is JobKind.GUARD:
                    result = await self.guard_job(job.payload)
                elif job.kind is JobKind.SIMILARITY:
                    result = await self.similarity_job(job.payload)
                else:
                    result = await self.publish_job(job.payload)
            except Exception as e:
                self.log.exception("internal job %s (%s) failed", job.id, job.kind.value)
                result = {"error": f"{type(e).__name__}: {e}"}
            await self.queue.finish_job(job, result)
            self.log.info("ran internal job %s (%s)", job.id, job.kind.value)
            return result

    async def guard_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Coroutine: judge ``payload["programs"]`` against a published problem.

        ``payload``: ``{"problem": slug, "version": int | None, "programs": [source]}``.
        Returns ``{"problem", "version", "results": [{"verdict", "accepted", "score"}]}``
        in program order, or ``{"error"}`` for an unknown problem. Nothing is stored
        as a submission.
        """
        store = self.store
        assert store is not None
        slug, version = str(payload["problem"]), payload.get("version")
        row = await self._retry(lambda: store.get_problem(slug, version))
        if row is None:
            return {"error": f"no problem {slug!r}"}
        problem = await self._problem(row.id)
        results = []
        for source in list(payload["programs"])[: self.max_guard_programs]:
            try:
                judged = await self.judge.judge(problem, Submission.from_source(str(source)))
            except Exception as e:
                self.log.warning("guard job: the judge failed: %s", e)
                results.append({"verdict": None, "accepted": False, "error": str(e)})
                continue
            verdict = judged.verdict.value
            results.append(
                {"verdict": verdict, "accepted": verdict == "accepted", "score": judged.score}
            )
        return {"problem": row.slug, "version": row.version, "results": results}

    async def publish_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Coroutine: run the reference solution of ``payload["notebook"]`` (publishing).

        Returns ``{"bundle": ...}`` (the published problem's bundle) or
        ``{"problem_error": {"message", "cell", "line", "cell_id"}}``.
        """
        from .publish import Publisher

        try:
            problem = Problem.from_notebook(nbformat.from_dict(payload["notebook"]))
            published = await Publisher(parent=self, judge=self.judge).publish(problem)
        except ProblemError as e:
            error = {"message": e.detail, "cell": e.cell, "line": e.line, "cell_id": e.cell_id}
            return {"problem_error": error}
        return {"bundle": published.to_bundle()}

    async def similarity_job(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Coroutine: compare the class's submissions and store the report, if due.

        Returns ``{"compared": bool}`` (see ``SimilarityChecker.tick``: the throttle).
        Runs no student code.
        """
        from codetutor.insight.similarity_report import SimilarityChecker

        assert self.store is not None
        checker = SimilarityChecker(parent=self, store=self.store)
        return {"compared": await checker.tick()}

    async def queue_similarity(self) -> None:
        """Queue a similarity job unless one was queued in the last similarity_interval_s."""
        if self.similarity_interval_s <= 0 or self.queue is None:
            return
        now = asyncio.get_running_loop().time()
        if (
            self._similarity_queued_at is not None
            and now - self._similarity_queued_at < self.similarity_interval_s
        ):
            return
        self._similarity_queued_at = now
        try:
            await self.queue.put_job(Job(JobKind.SIMILARITY, {}))
        except Exception as e:
            self.log.warning("cannot queue a similarity job: %s", e)
