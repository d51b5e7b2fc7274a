"""InsightCache on a real judge database: incremental after each verdict, replays when it must."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from codetutor.insight.gradebook import gradebook
from codetutor.insight.history import load_history
from codetutor.insight.model import Insight, InsightCache
from codetutor.judge.models import Submission, User, utcnow
from codetutor.judge.store import Store


async def publish(store: Store, teacher: User, slug: str, difficulty: int) -> None:
    await store.publish(
        user=teacher,
        slug=slug,
        title={"en": slug},
        difficulty=difficulty,
        tags=[slug],
        mode="function",
        public={},
        student_notebook="{}",
        bundle="{}",
        case_count=1,
        sha256=slug,
    )


async def judge(store: Store, name: str, slug: str, verdict: str) -> int:
    user = await store.ensure_user(name)
    problem = await store.get_problem(slug)
    assert problem is not None
    sub = await store.add_submission(user=user, problem=problem, code="x", notebook=None)
    lease = await store.claim("test", 60, submission_id=sub.id)
    assert lease is not None
    score = 1.0 if verdict == "accepted" else 0.0
    assert await store.finish(lease, {"verdict": verdict, "score": score, "cases": []})
    return sub.id


async def same_as_a_full_replay(store: Store, insight: Insight) -> None:
    fresh = Insight(await load_history(store))
    assert gradebook(insight) == gradebook(fresh)
    assert insight.predictions == fresh.predictions
    assert dict(insight.model.ability) == dict(fresh.model.ability)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(url=f"sqlite:///{tmp_path / 'judge.sqlite'}")
    await store.upgrade()
    yield store
    await store.close()


async def test_new_verdicts_are_learned_incrementally(store: Store) -> None:
    teacher = await store.ensure_user("teacher")
    await publish(store, teacher, "easy", 1)
    await publish(store, teacher, "hard", 4)
    cache = InsightCache(store)
    assert (await cache.get()).history.attempts == () and cache.rebuilds == 1
    await judge(store, "ann", "easy", "wrong_answer")
    first = await cache.get()
    assert cache.rebuilds == 2  # there was no verdict to continue from
    for name, slug, verdict in (
        ("ann", "easy", "accepted"),
        ("bob", "hard", "runtime_error"),
        ("bob", "hard", "internal_error"),
    ):
        await judge(store, name, slug, verdict)
        assert await cache.get() is first
    assert cache.rebuilds == 2 and len(first.history.attempts) == 4
    assert await cache.get() is first and cache.rebuilds == 2
    await same_as_a_full_replay(store, first)

    # a new problem version: replay everything
    await publish(store, teacher, "new", 2)
    again = await cache.get()
    assert cache.rebuilds == 3 and "new" in again.history.problems

    # a verdict stored with a clock far behind: the incremental look misses it, so replay
    late = await judge(store, "cy", "new", "accepted")
    async with store.session() as s:
        await s.execute(
            update(Submission)
            .where(Submission.id == late)
            .values(finished_at=utcnow() - timedelta(days=1))
        )
    latest = await cache.get()
    assert cache.rebuilds == 4 and "new" in latest.solved("cy")
