"""The judge store on SQLite and PostgreSQL: migrations, versions, leases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select

from codetutor.judge.models import Base, Submission, SubmissionStatus, User, utcnow
from codetutor.judge.store import Store

RESULT = {
    "verdict": "wrong_answer",
    "score": 0.5,
    "time_ms": 12.5,
    "cases": [
        {"name": "small", "visibility": "public", "status": "passed", "time_ms": 1.0},
        {"name": "big", "visibility": "hidden", "status": "failed", "time_ms": 2.0},
    ],
}


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    store = Store(url=db_url)
    await store.upgrade()
    yield store
    await store.close()


async def publish(store: Store, slug: str = "sum", sha: str = "a" * 64) -> int:
    user = await store.ensure_user("teacher")
    published = await store.publish(
        user=user,
        slug=slug,
        title={"en": "Sum"},
        difficulty=1,
        tags=["loops"],
        mode="function",
        public={"id": slug},
        student_notebook="{}",
        bundle=json.dumps({"hidden": True}),
        case_count=2,
        sha256=sha,
    )
    return published.problem.id


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), Base.metadata))


async def test_migrations_match_models(store: Store) -> None:
    assert store.engine is not None
    async with store.engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await store.upgrade()  # twice is harmless


async def test_republish_adds_a_version_and_old_submissions_keep_theirs(store: Store) -> None:
    first = await publish(store, sha="a" * 64)
    student = await store.ensure_user("alice")
    problem_v1 = await store.get_problem("sum")
    assert problem_v1 is not None and problem_v1.version == 1
    sub = await store.add_submission(user=student, problem=problem_v1, code="x", notebook=None)
    same = await publish(store, sha="a" * 64)
    assert same == first
    second = await publish(store, sha="b" * 64)
    assert second != first
    latest = await store.get_problem("sum")
    assert latest is not None and latest.version == 2
    assert [p.version for p in await store.latest_problems()] == [2]
    stored = await store.get_submission(sub.id)
    assert stored is not None and stored.problem_id == first
    assert json.loads(await store.get_bundle(second)) == {"hidden": True}
    assert [(a.slug, a.version) for a in await store.audit()] == [
        ("sum", 1),
        ("sum", 1),
        ("sum", 2),
    ]


async def test_rows_attached_to_a_submission_are_stored_with_it_or_not_at_all(
    store: Store,
) -> None:
    problem = await store.get_problem_by_id(await publish(store))
    assert problem is not None
    user = await store.ensure_user("alice")

    def broken(sub: Submission) -> list[object]:
        assert sub.id is not None  # the attached rows may name the submission
        raise ValueError("an attached row cannot be made")

    with pytest.raises(ValueError):
        await store.add_submission(
            user=user, problem=problem, code="lost", notebook=None, attach=broken
        )
    # neither the submission nor a lease on it: nothing is judged without its rows
    assert await store.list_submissions(user_id=user.id) == []
    assert await store.claim("w1", lease_s=10) is None

    def note(sub: Submission) -> list[object]:
        now = utcnow()
        return [User(name=f"kept-with-{sub.id}", created_at=now, last_seen_at=now)]

    kept = await store.add_submission(
        user=user, problem=problem, code="kept", notebook=None, attach=note
    )
    async with store.session() as s:
        names = set(await s.scalars(select(User.name)))
    assert f"kept-with-{kept.id}" in names
    assert [sub.code for sub in await store.list_submissions(user_id=user.id)] == ["kept"]


async def test_a_claim_is_exclusive_and_only_the_lease_holder_stores(store: Store) -> None:
    problem = await store.get_problem_by_id(await publish(store))
    assert problem is not None
    user = await store.ensure_user("alice")
    sub = await store.add_submission(user=user, problem=problem, code="x", notebook=None)
    first = await store.claim("w1", lease_s=0.2)
    assert first is not None and first.submission_id == sub.id and first.attempts == 1
    assert await store.claim("w2", lease_s=10) is None
    await asyncio.sleep(0.3)
    # the lease expired: another worker takes over, the first may no longer store
    second = await store.claim("w2", lease_s=10)
    assert second is not None and second.submission_id == sub.id and second.attempts == 2
    assert not await store.renew(first, 10)
    assert not await store.finish(first, RESULT)
    assert await store.finish(second, RESULT)
    assert not await store.finish(second, RESULT)
    judged = await store.get_submission(sub.id, cases=True)
    assert judged is not None
    assert judged.status == SubmissionStatus.JUDGED
    assert (judged.verdict, judged.score, judged.attempts) == ("wrong_answer", 0.5, 2)
    assert [(c.name, c.visibility, c.status) for c in judged.cases] == [
        ("small", "public", "passed"),
        ("big", "hidden", "failed"),
    ]
    assert await store.pending_count() == 0


async def test_concurrent_claims_never_share_a_submission(store: Store) -> None:
    problem = await store.get_problem_by_id(await publish(store))
    assert problem is not None
    user = await store.ensure_user("alice")
    ids = {
        (await store.add_submission(user=user, problem=problem, code=str(i), notebook=None)).id
        for i in range(20)
    }
    leases = await asyncio.gather(*(store.claim(f"w{i}", 30) for i in range(30)))
    won = [lease.submission_id for lease in leases if lease is not None]
    assert len(won) == len(set(won))
    assert set(won) <= ids


async def test_release_puts_it_back(store: Store) -> None:
    problem = await store.get_problem_by_id(await publish(store))
    assert problem is not None
    user = await store.ensure_user("alice")
    sub = await store.add_submission(user=user, problem=problem, code="x", notebook=None)
    lease = await store.claim("w1", 30)
    assert lease is not None and await store.release(lease)
    again = await store.claim("w1", 30, submission_id=sub.id)
    assert again is not None and again.attempts == 2


async def test_ping_reports_an_unreachable_database() -> None:
    store = Store(url="postgresql+psycopg://nobody@127.0.0.1:1/none")
    problem = await store.ping()
    assert problem is not None and "OperationalError" in problem
    await store.close()
