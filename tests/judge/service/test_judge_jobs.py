"""Internal jobs: the queue hands each to one worker; workers run guard and publish jobs.

Guard jobs through the service's endpoints are tested in
test_judge_service_tutoring.py; here the queue backends (spool directory, Redis)
and a worker running in this process with the real judge.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from pathlib import Path

import nbformat
import pytest
from judge_service_helpers import ACCEPTED, WRONG, RedisServer, problem_notebook

from codetutor.judge.exceptions import ProblemError
from codetutor.judge.problem import Problem
from codetutor.judge.publish import Publisher, QueuedPublisher
from codetutor.judge.queue import DatabaseQueue, Job, JobKind, JobState, Queue, RedisQueue
from codetutor.judge.store import Store
from codetutor.judge.worker import Worker


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(url=f"sqlite:///{tmp_path / 'judge.sqlite'}")
    await store.upgrade()
    yield store
    await store.close()


async def hand_out_once(service: Queue, workers: list[Queue]) -> None:
    jobs = [Job(JobKind.GUARD, {"n": n}) for n in range(3)]
    for job in jobs:
        await service.put_job(job)
        assert await service.job_state(job.id) == (JobState.QUEUED, None)
    taken = [await w.take_job(f"w{i}") for i in range(3) for w in workers]
    got = [j for j in taken if j is not None]
    assert sorted(j.id for j in got) == sorted(j.id for j in jobs)
    assert [j.payload["n"] for j in sorted(got, key=lambda j: j.id)] == [0, 1, 2]
    assert await service.job_state(jobs[0].id) == (JobState.RUNNING, None)
    await workers[0].finish_job(got[0], {"results": [1]})
    assert await service.wait_job(got[0].id, 5) == (JobState.DONE, {"results": [1]})
    assert await service.job_state("00000000000000000001-0123456789ab") is None
    assert await workers[0].take_job("w0") is None


async def test_the_spool_hands_each_job_to_one_worker(store: Store, tmp_path: Path) -> None:
    service = DatabaseQueue(store=store)
    assert service.job_dir == str(tmp_path / "jobs")
    # the service and two worker processes: separate queues over one folder
    await hand_out_once(service, [DatabaseQueue(store=store), DatabaseQueue(store=store)])


async def test_redis_hands_each_job_to_one_worker(store: Store, redis_server: RedisServer) -> None:
    queues = [RedisQueue(store=store, url=redis_server.url) for _ in range(3)]
    for queue in queues:
        await queue.connect()
    try:
        await hand_out_once(queues[0], queues[1:])
    finally:
        for queue in queues:
            await queue.close()


@pytest.fixture
async def worker(store: Store) -> AsyncIterator[tuple[Worker, DatabaseQueue]]:
    queue = DatabaseQueue(store=store, poll_interval_s=0.05)
    worker = Worker(store=store, queue=queue, job_poll_s=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(stop))
    yield worker, queue
    stop.set()
    await running
    await worker.close()


async def test_publishing_runs_on_a_worker(worker: tuple[Worker, DatabaseQueue]) -> None:
    _, queue = worker
    publisher = QueuedPublisher(queue=queue, timeout_s=240)
    problem = Problem.from_notebook(nbformat.from_dict(problem_notebook()))
    published = await publisher.publish(problem)
    assert published.is_published and len(published.cases) == 4
    # the same expected values as publishing in this process
    here = Publisher()
    try:
        again = await here.publish(Problem.from_notebook(nbformat.from_dict(problem_notebook())))
    finally:
        await here.close()
    assert published.to_bundle()["expected"] == again.to_bundle()["expected"]

    broken = copy.deepcopy(problem_notebook())
    broken["cells"][2]["source"] = "def add(a, b):\n    raise ValueError('no')"
    with pytest.raises(ProblemError) as failed:
        await publisher.publish(Problem.from_notebook(nbformat.from_dict(broken)))
    assert failed.value.cell is not None and "small" in failed.value.detail


async def test_a_guard_job_of_an_unknown_problem_is_an_error_not_a_crash(
    worker: tuple[Worker, DatabaseQueue],
) -> None:
    _, queue = worker
    job = Job(JobKind.GUARD, {"problem": "nope", "version": None, "programs": [ACCEPTED, WRONG]})
    await queue.put_job(job)
    found = await queue.wait_job(job.id, 60)
    assert found is not None and found[0] is JobState.DONE
    assert found[1] == {"error": "no problem 'nope'"}
