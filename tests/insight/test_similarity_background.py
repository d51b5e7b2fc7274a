"""The similarity report made again in the background after new verdicts, throttled."""

from __future__ import annotations

from pathlib import Path

from codetutor.insight.similarity_report import SimilarityChecker
from codetutor.judge.store import Store

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
        # nothing compared yet: the first tick compares
        assert await checker.tick()
        first = checker.report
        assert first is not None and len(first.problems["two-sum"].pairs) == 3
        # no new verdicts: nothing to do
        assert not await checker.tick()
        # a fourth copy comes in: compared again, and it joins the cluster
        await hand_in(store, "sam", (SET / "copy_deadcode.py").read_text(encoding="utf-8"))
        assert await checker.tick()
        report = checker.report
        assert report is not None and report is not first
        assert report.problems["two-sum"].clusters == [["joon", "minji", "sam", "yuna"]]
        # throttled: a new verdict within min_interval_s waits for the next tick after it
        checker.min_interval_s = 3600
        await hand_in(store, "theo", (SET / "copy_reorder.py").read_text(encoding="utf-8"))
        assert not await checker.tick()
        assert "theo" not in checker.report.problems["two-sum"].students
        # on demand, the throttle does not apply
        await checker.run()
        assert "theo" in checker.report.problems["two-sum"].students
    finally:
        await store.close()
