"""Class insight end to end on ``codetutor up --demo``.

A real ``up --demo`` (Hub, proxy, judge with a worker, dashboard) on a small
problem set: the demo classmates' submissions are judged; the instructor logs in
through the Hub and reaches the dashboard by OAuth (it is in their Services
menu), downloads the gradebook; the demo student cannot open the dashboard and
gets recommendations from the judge.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Iterator

import pytest
import requests

from codetutor.insight.demo import CLASSMATES
from codetutor.insight.gradebook import GRADEBOOK_COLUMNS
from tests.e2e.helpers import REPO, Up

pytestmark = pytest.mark.slow

PROBLEMS = ["celsius-to-fahrenheit", "leap-year", "letter-grade", "circle-elimination"]


def login(base: str, name: str, password: str) -> requests.Session:
    """A browser session logged in to the Hub as ``name``."""
    session = requests.Session()
    session.get(f"{base}/hub/login", timeout=30)
    r = session.post(
        f"{base}/hub/login",
        data={
            "username": name,
            "password": password,
            "_xsrf": session.cookies.get("_xsrf", path="/hub/") or "",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text
    return session


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    root = tmp_path_factory.mktemp("demo")
    problems = root / "problems"
    for slug in PROBLEMS:
        shutil.copytree(REPO / "notebooks" / slug, problems / slug)
    instance = Up(root / "data", demo=True, extra_args=(f"--UpApp.problems_dir={problems}",))
    instance.start()
    try:
        yield instance
    finally:
        instance.stop()
        assert instance.left_behind() == []


def judged_history(up: Up, timeout_s: float = 240.0) -> dict:
    """The class overview once the demo submissions are all judged."""
    deadline = time.monotonic() + timeout_s
    while "demo submissions of classmates" not in up.log():
        assert time.monotonic() < deadline, up.log()[-3000:]
        time.sleep(1)
    queued = int(up.log().split("Submitted ")[1].split()[0])
    assert queued > 0
    while True:
        r = up.session.get(f"{up.url}/services/judge/api/insight", timeout=60)
        if r.status_code == 200 and r.json()["totals"]["submissions"] == queued:
            return dict(r.json())
        assert time.monotonic() < deadline, r.text
        time.sleep(1)


def test_the_demo_class_on_the_dashboard_and_in_the_gradebook(up: Up) -> None:
    overview = judged_history(up)
    classmates = sorted(name for name, *_ in CLASSMATES)
    assert [s["user"] for s in overview["students"]] == classmates
    assert overview["totals"]["accepted"] > 0

    instructor = login(up.url, "instructor", up.password("instructor"))
    home = instructor.get(f"{up.url}/hub/home", timeout=30)
    assert home.status_code == 200 and "/services/dashboard/" in home.text
    page = instructor.get(
        f"{up.url}/services/dashboard/", headers={"Accept-Language": "ko"}, timeout=60
    )
    assert page.status_code == 200, page.text[-2000:]
    assert "학급 대시보드" in page.text
    for chart in ("activity", "acceptance", "verdicts", "tags"):
        assert f'data-chart="{chart}"' in page.text
    for name in classmates:
        assert f'data-user="{name}"' in page.text

    download = instructor.get(f"{up.url}/services/dashboard/gradebook.csv", timeout=60)
    assert download.status_code == 200
    table = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert table[0] == list(GRADEBOOK_COLUMNS)
    assert len(table) == 1 + len(classmates) * len(PROBLEMS)
    api = up.session.get(f"{up.url}/services/judge/api/gradebook?format=csv", timeout=60)
    assert api.status_code == 200
    assert list(csv.reader(io.StringIO(api.content.decode("utf-8")))) == table


def test_the_demo_student_gets_recommendations_not_the_dashboard(up: Up) -> None:
    judged_history(up)
    student = login(up.url, "student", up.password("student"))
    home = student.get(f"{up.url}/hub/home", timeout=30)
    assert home.status_code == 200 and "/services/dashboard/" not in home.text
    refused = student.get(f"{up.url}/services/dashboard/", timeout=60)
    assert refused.status_code == 403
    token = up.api("POST", "users/student/tokens", {"expires_in": 600}).json()["token"]
    r = requests.get(
        f"{up.url}/services/judge/api/recommendations",
        headers={"Authorization": f"token {token}"},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"] == "student" and body["solved"] == []
    assert {p["problem"] for p in body["recommendations"]} <= set(PROBLEMS)
    assert body["recommendations"], body
    for pick in body["recommendations"]:
        assert pick["reason"]["ko"] and pick["reason"]["en"]
