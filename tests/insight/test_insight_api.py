"""Recommendations, gradebook and class overview through the judge service's API.

Real data: a running judge service with its workers judges real submissions of
two students to three problems, on SQLite and on PostgreSQL; the insight
endpoints then answer from that history.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from codetutor.insight.gradebook import GRADEBOOK_COLUMNS
from tests.judge.service.judge_service_helpers import (
    ACCEPTED,
    WRONG,
    Client,
    FakeHub,
    ServiceProcess,
    problem_notebook,
)

SUBMIT = "custom:judge:submit"
READ_ALL = "custom:judge:read-all"
PUBLISH = "custom:problems:write"

#: slug -> (difficulty, tags)
PROBLEMS = {
    "add": (1, ["basics"]),
    "add-loops": (2, ["loops"]),
    "add-strings": (3, ["strings", "loops"]),
}


def tagged_problem(slug: str) -> dict[str, Any]:
    nb = problem_notebook(slug, title=slug)
    difficulty, tags = PROBLEMS[slug]
    nb["metadata"]["codetutor"].update({"difficulty": difficulty, "tags": tags})
    return nb


class Class:
    """A judge service with a teacher, two students and their judged submissions."""

    def __init__(self, service: ServiceProcess, hub: FakeHub) -> None:
        self.service = service
        self.hub = hub
        self.teacher = Client(service, hub.add_user("teacher", SUBMIT, READ_ALL, PUBLISH))
        self.alice = Client(service, hub.add_user("alice", SUBMIT))
        self.bob = Client(service, hub.add_user("bob", SUBMIT))
        self.carol = Client(service, hub.add_user("carol", SUBMIT))
        self.submissions: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": []}

    def submit(self, who: str, problem: str, code: str) -> None:
        client: Client = getattr(self, who)
        r = client.post("api/submissions", json={"problem": problem, "code": code})
        assert r.status_code == 202, r.text
        self.submissions[who].append(client.wait_judged(r.json()["id"]))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def klass(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Class]:
    workdir = tmp_path_factory.mktemp("insight")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    service = ServiceProcess(hub=hub, db_url=db_url, workdir=workdir, workers=2)
    service.start()
    try:
        klass = Class(service, hub)
        for slug in PROBLEMS:
            r = klass.teacher.post("api/problems", json=tagged_problem(slug))
            assert r.status_code == 201, r.text
        klass.submit("alice", "add", WRONG)
        klass.submit("alice", "add", ACCEPTED)
        klass.submit("alice", "add", ACCEPTED)
        for _ in range(3):
            klass.submit("alice", "add-loops", WRONG)
        klass.submit("bob", "add-strings", ACCEPTED)
        yield klass
    finally:
        service.stop()


def test_a_student_gets_unsolved_problems_with_reasons_in_both_languages(klass: Class) -> None:
    r = klass.alice.get("api/recommendations")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == "alice" and body["solved"] == ["add"]
    assert isinstance(body["rating"], int)
    picks = {p["problem"]: p for p in body["recommendations"]}
    assert set(picks) == {"add-loops", "add-strings"}
    for pick in picks.values():
        assert 0.0 <= pick["predicted_success"] <= 1.0
        assert pick["reason"] == {"ko": pick["reasons"][0]["ko"], "en": pick["reasons"][0]["en"]}
        for reason in pick["reasons"]:
            assert reason["ko"] and reason["en"] and reason["ko"] != reason["en"]
            assert any("\uac00" <= ch <= "\ud7a3" for ch in reason["ko"]), reason["ko"]
    retry = [x for x in picks["add-loops"]["reasons"] if x["kind"] == "retry"]
    assert retry and "3 time(s)" in retry[0]["en"] and "3번" in retry[0]["ko"]
    mastery = {m["tag"]: m for m in body["mastery"]}
    assert set(mastery) == {"basics", "loops", "strings"}
    assert mastery["basics"]["solved"] == 1 and mastery["basics"]["attempts"] == 3
    assert mastery["loops"]["solved"] == 0 and mastery["loops"]["attempts"] == 3
    assert mastery["basics"]["mastery"] > mastery["loops"]["mastery"]
    assert mastery["strings"]["attempts"] == 0 and mastery["strings"]["last_solved_at"] is None
    # the tried tags, weakest first, then the untried
    assert [m["tag"] for m in body["mastery"]] == ["loops", "basics", "strings"]


def test_a_newcomer_gets_starting_problems(klass: Class) -> None:
    body = klass.carol.get("api/recommendations?limit=2").json()
    assert body["solved"] == [] and body["rating"] == 1500
    assert len(body["recommendations"]) == 2
    assert all(m["attempts"] == 0 for m in body["mastery"])
    kinds = {r["kind"] for p in body["recommendations"] for r in p["reasons"]}
    assert kinds <= {"start", "challenge", "warm_up"}
    # the easiest is the likeliest
    ranked = sorted(body["recommendations"], key=lambda p: p["predicted_success"])
    assert ranked[-1]["difficulty"] <= ranked[0]["difficulty"]


def test_recommendations_of_another_student_are_for_instructors(klass: Class) -> None:
    denied = klass.alice.get("api/recommendations?user=bob")
    assert denied.status_code == 403 and READ_ALL in denied.json()["message"]
    theirs = klass.teacher.get("api/recommendations?user=alice")
    assert theirs.status_code == 200
    assert theirs.json() == klass.alice.get("api/recommendations").json()


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("limit=0", "between 1 and 20"),
        ("limit=21", "between 1 and 20"),
        ("limit=five", "whole number"),
        ("lang=ko", "unknown query parameter"),
    ],
)
def test_bad_recommendation_queries(klass: Class, query: str, needle: str) -> None:
    r = klass.alice.get(f"api/recommendations?{query}")
    assert r.status_code == 400 and needle in r.json()["message"]


def test_the_gradebook_as_json(klass: Class) -> None:
    assert klass.alice.get("api/gradebook").status_code == 403
    r = klass.teacher.get("api/gradebook")
    assert r.status_code == 200, r.text
    book = r.json()
    assert book["students"] == ["alice", "bob"]
    assert [p["problem"] for p in book["problems"]] == sorted(PROBLEMS)
    assert book["columns"] == list(GRADEBOOK_COLUMNS)
    rows = {(row["student"], row["problem"]): row for row in book["rows"]}
    assert len(book["rows"]) == 6 == len(rows)
    first_accepted = next(s for s in klass.submissions["alice"] if s["verdict"] == "accepted")
    assert rows[("alice", "add")] == {
        "student": "alice",
        "problem": "add",
        "best_score": 1.0,
        "attempts": 3,
        "accepted": True,
        "first_accepted_at": first_accepted["created_at"],
    }
    wrong_score = klass.submissions["alice"][0]["score"]
    assert 0 < wrong_score < 1
    assert rows[("alice", "add-loops")]["best_score"] == wrong_score
    assert rows[("alice", "add-loops")]["accepted"] is False
    assert rows[("alice", "add-loops")]["first_accepted_at"] is None
    assert rows[("alice", "add-strings")]["best_score"] is None
    assert rows[("alice", "add-strings")]["attempts"] == 0
    assert rows[("bob", "add-strings")]["accepted"] is True


def test_the_gradebook_as_csv(klass: Class) -> None:
    r = klass.teacher.get("api/gradebook?format=csv")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="gradebook.csv"' in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8"))))
    assert table[0] == list(GRADEBOOK_COLUMNS)
    json_rows = klass.teacher.get("api/gradebook").json()["rows"]
    assert len(table) == 1 + len(json_rows)
    for line, row in zip(table[1:], json_rows, strict=True):
        assert line[0] == row["student"] and line[1] == row["problem"]
        assert line[2] == ("" if row["best_score"] is None else f"{row['best_score']:g}")
        assert int(line[3]) == row["attempts"]
        assert line[4] == ("true" if row["accepted"] else "false")
        assert line[5] == (row["first_accepted_at"] or "")
    assert klass.teacher.get("api/gradebook?format=xlsx").status_code == 400
    by_accept = klass.teacher.get("api/gradebook", headers={"Accept": "text/csv"})
    assert by_accept.headers["Content-Type"].startswith("text/csv")
    assert by_accept.content == r.content


def test_the_class_overview(klass: Class) -> None:
    assert klass.bob.get("api/insight").status_code == 403
    r = klass.teacher.get("api/insight?days=3")
    assert r.status_code == 200, r.text
    overview = r.json()
    assert overview["totals"]["submissions"] == 7 and overview["totals"]["accepted"] == 3
    problems = {p["problem"]: p for p in overview["problems"]}
    assert problems["add"]["attempts"] == 3 and problems["add"]["acceptance_rate"] == 0.667
    assert problems["add"]["verdicts"] == {"accepted": 2, "wrong_answer": 1}
    assert problems["add"]["median_attempts_to_accept"] == 2
    assert problems["add-loops"]["acceptance_rate"] == 0.0
    assert problems["add-loops"]["median_attempts_to_accept"] is None
    assert problems["add-strings"]["solved_by"] == 1
    students = {s["user"]: s for s in overview["students"]}
    assert students["alice"]["struggling"] == ["add-loops"]
    assert students["bob"]["struggling"] == [] and students["bob"]["solved"] == 1
    assert len(overview["activity"]) == 3
    assert sum(day["submissions"] for day in overview["activity"]) == 7
    assert [x["id"] for x in overview["recent"]] == sorted(
        (x["id"] for x in overview["recent"]), reverse=True
    )
    assert klass.teacher.get("api/insight?days=0").status_code == 400


def test_insight_requests_are_counted(klass: Class) -> None:
    for path in ("api/recommendations", "api/gradebook", "api/insight"):
        assert klass.teacher.get(path).status_code == 200
    text = requests.get(klass.service.url("metrics"), timeout=10).text
    for endpoint in ("recommendations", "gradebook", "class_insight"):
        assert f'http_requests_total{{endpoint="{endpoint}",method="GET",status="200"}}' in text
