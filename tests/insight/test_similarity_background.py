"""The similarity report made in the background by a judge worker's job, throttled."""

from __future__ import annotations

import asyncio
from pathlib import Path

from codetutor.insight.similarity_report import SimilarityChecker
from codetutor.judge.queue import DatabaseQueue, Job, JobKind, JobState
from codetutor.judge.store import Store
from codetutor.judge.worker import Worker

from .test_similarity_dashboard import SET, fill_class


async def hand_in(store: Store, name: str, code: str) -> None:
    user = await store.ensure_user(name)
    problem = await store.get_problem("two-sum")
    assert problem is not None
    sub = await store.add_submission(user=user, problem=problem, code=code, notebook=None)
    lease = await store.claim("test", 60, submission_id=sub.id)
    assert lease is not None
    await store.finish(lease, {"verdict": "accepted", "score": 1.0, "time_ms": 1.0, "cases": []})


async def test_new_verdicts_are_compared_at_most_once_per_interval(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'judge.sqlite'}"
    await fill_class(db_url, f"sqlite:///{tmp_path / 'transcripts.sqlite'}")
    store = Store(url=db_url)
    await store.connect()
    try:
        checker = SimilarityChecker(store=store, min_interval_s=0.0)
        dashboard = SimilarityChecker(store=store)
        # nothing stored yet: the first tick compares and stores
        assert await checker.tick()
        first = await dashboard.current()
        assert len(first.problems["two-sum"].pairs) == 3
        # no new verdicts: nothing to do, the dashboard keeps what it shows
        assert not await checker.tick()
        assert await dashboard.current() is first
        # a fourth copy comes in: compared again, it joins the cluster, the dashboard follows
        await hand_in(store, "sam", (SET / "copy_deadcode.py").read_text(encoding="utf-8"))
        assert await checker.tick()
        second = await dashboard.current()
        assert second.problems["two-sum"].clusters == [["joon", "minji", "sam", "yuna"]]
        # the side-by-side view's code is stored with the report
        assert set(second.problems["two-sum"].codes) == {"joon", "minji", "sam", "yuna"}
        # throttled: a new verdict within min_interval_s of the newest report waits
        checker.min_interval_s = 3600
        await hand_in(store, "theo", (SET / "copy_reorder.py").read_text(encoding="utf-8"))
        assert not await checker.tick()
        assert "theo" not in (await dashboard.current()).problems["two-sum"].students
        # on demand, the throttle does not apply
        await dashboard.run()
        assert "theo" in (await dashboard.current()).problems["two-sum"].students
    finally:
        await store.close()


async def test_a_worker_queues_the_job_throttled_and_runs_it(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'judge.sqlite'}"
    await fill_class(db_url, f"sqlite:///{tmp_path / 'transcripts.sqlite'}")
    store = Store(url=db_url)
    await store.connect()
    queue = DatabaseQueue(store=store, job_dir=str(tmp_path / "jobs"))
    worker = Worker(store=store, queue=queue, name="w1", similarity_interval_s=600)
    try:
        await worker.queue_similarity()
        await worker.queue_similarity()  # within the interval: not queued again
        job = await queue.take_job("w1")
        assert job is not None and job.kind is JobKind.SIMILARITY
        assert await queue.take_job("w1") is None
        assert await worker.run_job(job) == {"compared": True}
        newest = await SimilarityChecker(store=store).newest()
        assert newest is not None
        # the same verdicts again: the job finds nothing to do
        assert await worker.similarity_job({}) == {"compared": False}
        # turned off
        off = Worker(store=store, queue=queue, name="w2", similarity_interval_s=0)
        await off.queue_similarity()
        assert await queue.take_job("w2") is None
    finally:
        await worker.close()
        await store.close()


async def test_a_worker_compares_in_the_background_one_comparison_at_a_time(
    tmp_path: Path,
) -> None:
    db_url = f"sqlite:///{tmp_path / 'judge.sqlite'}"
    await fill_class(db_url, f"sqlite:///{tmp_path / 'transcripts.sqlite'}")
    store = Store(url=db_url)
    await store.connect()
    queue = DatabaseQueue(store=store, job_dir=str(tmp_path / "jobs"))
    worker = Worker(store=store, queue=queue, name="w1", similarity_interval_s=0)
    try:
        first, second = Job(JobKind.SIMILARITY, {}), Job(JobKind.SIMILARITY, {})
        for job in (first, second):
            await queue.put_job(job)
            taken = await queue.take_job("w1")
            assert taken is not None and taken.id == job.id
            # the worker's turn ends at once: it goes on judging while the class is compared
            await asyncio.wait_for(worker.take_turn(taken), 5)
        # the second came while the first ran: skipped, not a second comparison
        assert await queue.job_state(second.id) == (
            JobState.DONE,
            {"compared": False, "skipped": "a comparison is running"},
        )
        await worker.wait_background()
        assert await queue.job_state(first.id) == (JobState.DONE, {"compared": True})
    finally:
        await worker.close()
        await store.close()
