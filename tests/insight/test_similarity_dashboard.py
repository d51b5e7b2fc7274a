"""The dashboard's similarity report as a service: instructors only, pages, downloads, API.

``codetutor dashboard`` runs as a process against a judge database (SQLite and
PostgreSQL) with a problem
whose students handed in copies (disguised) and an independent solution, and a tutor
transcripts database where one of them asked the tutor.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from codetutor.judge.store import Store
from codetutor.tutor.memory import ChatMemory
from codetutor.tutor.transcripts import Transcripts
from tests.judge.service.judge_service_helpers import FakeHub

from .test_dashboard import ACCESS, Dashboard

pytestmark = pytest.mark.slow

SET = Path(__file__).parent.parent / "files" / "similarity" / "two-sum"
#: who handed in what: three copies of one solution (a cluster) and one of their own
HANDED_IN = {
    "minji": "reference",
    "joon": "copy_rename",
    "yuna": "copy_korean",
    "alex": "independent",
}


async def fill_class(db_url: str, transcripts_url: str) -> None:
    store = Store(url=db_url)
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    published = await store.publish(
        user=teacher,
        slug="two-sum",
        title={"en": "Two numbers with a given sum", "ko": "합이 목표값인 두 수"},
        difficulty=3,
        tags=["hashing"],
        mode="function",
        public={},
        student_notebook=(SET / "student.ipynb").read_text(encoding="utf-8"),
        bundle="{}",
        case_count=4,
        sha256="a" * 64,
    )
    for name, source in HANDED_IN.items():
        user = await store.ensure_user(name)
        # a wrong first try, then the code compared (the best)
        for code, verdict, score in (
            ("def two_sum(a, b):\n    return None\n", "wrong_answer", 0.25),
            ((SET / f"{source}.py").read_text(encoding="utf-8"), "accepted", 1.0),
        ):
            sub = await store.add_submission(
                user=user, problem=published.problem, code=code, notebook=None
            )
            lease = await store.claim("test", 60, submission_id=sub.id)
            assert lease is not None
            await store.finish(
                lease, {"verdict": verdict, "score": score, "time_ms": 5.0, "cases": []}
            )
    await store.close()
    memory = ChatMemory(transcripts=Transcripts(url=transcripts_url))
    try:
        for text in ("hint please", "왜 틀렸나요?", "another hint"):
            await memory.remember("joon", "two-sum", [{"role": "user", "content": text}], keep=8)
    finally:
        await memory.close()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Dashboard, str, str]]:
    workdir = tmp_path_factory.mktemp("similarity")
    transcripts = f"sqlite:///{workdir / 'transcripts.sqlite'}"
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    asyncio.run(fill_class(db_url, transcripts))
    mp = pytest.MonkeyPatch()
    mp.setenv("CODETUTOR_TRANSCRIPTS_URL", transcripts)
    try:
        running = Dashboard(hub, db_url, workdir)
    finally:
        mp.undo()
    try:
        yield (
            running,
            hub.add_user("teacher3", ACCESS, "custom:judge:read-all", access=False),
            hub.add_user("minji3", "custom:judge:submit"),
        )
    finally:
        running.stop()


PAGES = [
    "similarity",
    "similarity/two-sum",
    "similarity/two-sum/pair?a=minji&b=joon",
    "similarity.csv",
    "similarity.json",
]


def test_students_get_403(service: tuple[Dashboard, str, str]) -> None:
    running, _, student = service
    for path in PAGES:
        page = running.get(path, student)
        assert page.status_code == 403, path

    run = requests.post(
        running.base + "similarity/run",
        headers={"Authorization": f"token {student}"},
        timeout=30,
    )
    assert run.status_code == 403
    assert run.headers["Content-Type"].startswith("application/json")
    # a browser without a login is sent to the Hub
    assert running.get("similarity", None, allow_redirects=False).status_code == 302


def test_the_report_ranks_pairs_and_finds_the_cluster(service: tuple[Dashboard, str, str]) -> None:
    running, teacher, _ = service
    data = running.get("similarity.json", teacher).json()
    (problem,) = data["problems"]
    assert problem["compared"] == 4
    pairs = {frozenset((p["a"], p["b"])) for p in problem["pairs"]}
    assert pairs == {
        frozenset(("minji", "joon")),
        frozenset(("minji", "yuna")),
        frozenset(("joon", "yuna")),
    }
    scores = [p["score"] for p in problem["pairs"]]
    assert scores == sorted(scores, reverse=True) and min(scores) >= data["threshold"]
    assert problem["clusters"] == [["joon", "minji", "yuna"]]
    joon = problem["students"]["joon"]
    assert joon["tutor_messages"] == 3 and len(joon["submissions"]) == 2
    assert problem["students"]["minji"]["tutor_messages"] == 0


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_pages_in_both_languages(service: tuple[Dashboard, str, str], lang: str) -> None:
    running, teacher, _ = service
    index = running.get(f"similarity?lang={lang}", teacher)
    assert index.status_code == 200 and 'data-problem="two-sum"' in index.text
    assert ("유사 제출" in index.text) == (lang == "ko")
    page = running.get(f"similarity/two-sum?lang={lang}", teacher)
    assert page.text.count('class="pair"') == 3 and 'class="cluster"' in page.text
    assert ("튜터 질문" in page.text) == (lang == "ko")
    pair = running.get(f"similarity/two-sum/pair?a=minji&b=joon&lang={lang}", teacher)
    assert pair.status_code == 200 and pair.text.count("<mark") >= 2


def test_csv_export(service: tuple[Dashboard, str, str]) -> None:
    running, teacher, _ = service
    r = running.get("similarity.csv", teacher)
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 3 and {row["cluster"] for row in rows} == {"1"}
    assert {row["problem"] for row in rows} == {"two-sum"}


def test_bad_requests_are_4xx(service: tuple[Dashboard, str, str]) -> None:
    running, teacher, _ = service
    assert running.get("similarity/no-such-problem", teacher).status_code == 404
    assert running.get("similarity/two-sum/pair?a=minji&b=alex", teacher).status_code == 404
    assert running.get("similarity/two-sum/pair?a=minji&b=joon&x=1", teacher).status_code == 400


def test_compare_on_demand(service: tuple[Dashboard, str, str]) -> None:

    running, teacher, _ = service
    before = running.get("similarity.json", teacher).json()["generated_at"]
    r = requests.post(
        running.base + "similarity/run",
        headers={"Authorization": f"token {teacher}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["pairs"] == 3 and body["problems"] == 1 and body["generated_at"] > before
    assert (
        json.loads(running.get("similarity.json", teacher).text)["generated_at"]
        == body["generated_at"]
    )
