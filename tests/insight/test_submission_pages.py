"""The dashboard's pages of students' work (issue 17): lists, one submission with its code
and hidden-case details, a diff, zips of notebooks, the gradebook page, and the links
between them and the dashboard. Instructors only: a student and an admin outside the
instructors are refused; the service runs as a process against the fake Hub.
"""

from __future__ import annotations

import asyncio
import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from codetutor.judge.problem import Problem
from codetutor.judge.store import Store
from codetutor.judge.submission import Submission
from tests.insight.test_dashboard import ACCESS, Dashboard
from tests.judge.service.judge_service_helpers import FakeHub, problem_notebook

pytestmark = pytest.mark.slow

WRONG = "def add(a, b):\n    return a - b\n"
RIGHT = "def add(a, b):\n    # 합\n    return a + b\n"
#: what JupyterHub's admin role gives that matters here: no dashboard access of its own
ADMIN = ("admin:users", "admin:servers", "admin-ui", "list:users")


def case(name: str, visibility: str, status: str, expected: str, actual: str) -> dict:
    return {
        "name": name,
        "visibility": visibility,
        "status": status,
        "time_ms": 1.5,
        "expected": expected,
        "actual": actual,
    }


async def fill(db_url: str) -> dict[str, int]:
    """Two students' submissions to ``add`` (wrong, then right) and one to ``other``."""
    store = Store(url=db_url)
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    rows = {}
    for slug in ("add", "other"):
        problem = Problem.from_notebook(nbformat.from_dict(problem_notebook(slug)))
        published = await store.publish_problem(user=teacher, problem=problem)
        rows[slug] = published.problem
    ids: dict[str, int] = {}
    for user_name, slug, code, verdict in (
        ("minji", "add", WRONG, "wrong_answer"),
        ("minji", "add", RIGHT, "accepted"),
        ("jisoo", "add", RIGHT, "accepted"),
        ("minji", "other", WRONG, "wrong_answer"),
    ):
        user = await store.ensure_user(user_name)
        stored = Submission.from_source(code).to_stored()
        sub = await store.add_submission(user=user, problem=rows[slug], code=code, notebook=stored)
        lease = await store.claim("test", 60, submission_id=sub.id)
        assert lease is not None
        ok = verdict == "accepted"
        cases = [
            case("small", "public", "passed" if ok else "failed", "3", "3" if ok else "-1"),
            case(
                "big",
                "hidden",
                "passed" if ok else "failed",
                "1000001",
                "1000001" if ok else "999999",
            ),
        ]
        result = {"verdict": verdict, "score": 1.0 if ok else 0.0, "time_ms": 7.0, "cases": cases}
        await store.finish(lease, result)
        ids[f"{user_name}-{slug}-{verdict}"] = sub.id
    await store.close()
    return ids


class World:
    def __init__(self, dashboard: Dashboard, hub: FakeHub, ids: dict[str, int]) -> None:
        self.dashboard = dashboard
        self.ids = ids
        self.instructor = hub.add_user("teacher", ACCESS, "custom:judge:read-all", access=False)
        # the Hub's admin in the instructors group (as `codetutor up` makes it)
        self.admin = hub.add_user("root", *ADMIN, ACCESS, "custom:judge:read-all", access=False)
        self.operator = hub.add_user("ops", *ADMIN, access=False)
        self.student = hub.add_user("minji", "custom:judge:submit")

    def get(self, path: str, token: str | None = None, **kwargs: object) -> object:
        return self.dashboard.get(path, token or self.instructor, **kwargs)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    workdir: Path = tmp_path_factory.mktemp("work")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    ids = asyncio.run(fill(db_url))
    dashboard = Dashboard(hub, db_url, workdir)
    try:
        yield World(dashboard, hub, ids)
    finally:
        dashboard.stop()


PAGES = [
    "gradebook",
    "submissions?user=minji",
    "submissions?problem=add",
    "submissions.zip?user=minji",
    "submissions/1",
    "submissions/2/diff?against=1",
]


@pytest.mark.parametrize("path", PAGES)
def test_only_instructors_and_instructing_admins_see_students_work(world: World, path: str) -> None:
    browser = world.dashboard.get(path, None, allow_redirects=False)
    assert browser.status_code == 302 and "/hub/api/oauth2/authorize" in browser.headers["Location"]
    for refused in (world.student, world.operator):
        r = world.dashboard.get(path, refused)
        assert r.status_code == 403 and "instructors" in r.text, path
        assert "return a" not in r.text
    for allowed in (world.instructor, world.admin):
        assert world.dashboard.get(path, allowed).status_code == 200, path


def test_a_students_submissions_and_a_problems(world: World) -> None:
    mine = world.get("submissions?user=minji").text
    listed = [int(n) for n in re.findall(r'data-submission="(\d+)"', mine)]
    assert listed == sorted(
        (v for k, v in world.ids.items() if k.startswith("minji")), reverse=True
    )
    assert 'href="/services/dashboard/students/minji?lang=en"' in mine
    assert "submissions.zip?user=minji" in mine
    add = world.get("submissions?problem=add&lang=ko").text
    assert set(re.findall(r'data-user="([^"]+)"', add)) == {"minji", "jisoo"}
    assert "정답" in add and "오답" in add  # verdicts in Korean
    assert world.get("submissions?user=nobody").status_code == 200
    for bad in ("submissions", "submissions.zip", f"submissions?user={'x' * 300}"):
        r = world.get(bad)
        assert r.status_code == 400, bad
    assert world.get("submissions.zip?user=nobody").status_code == 404


def test_one_submission_shows_its_code_and_the_hidden_cases(world: World) -> None:
    wrong = world.ids["minji-add-wrong_answer"]
    r = world.get(f"submissions/{wrong}")
    assert r.status_code == 200
    page = r.text
    # the code, highlighted, cell by cell
    assert re.search(r'<div class="cell" data-cell="1"><div class="prompt">In \[1\]:', page)
    assert 'a</span> <span class="o">-</span> <span class="n">b' in page
    # the statement as students saw it (markdown rendered)
    assert "<p>Write <code>add(a, b)</code> returning the sum.</p>" in page
    # every case, the hidden one in full: its test, expected and actual values
    hidden = re.search(
        r'<tr class="case case-failed" data-case="big" data-visibility="hidden">(.*?)</tr>',
        page,
        re.S,
    )
    assert hidden is not None
    assert "add(10**6, 1)" in hidden.group(1)
    assert "1000001" in hidden.group(1) and "999999" in hidden.group(1)
    # links back: the student, their submissions of the problem, the gradebook, the dashboard
    assert 'id="student-link" href="/services/dashboard/students/minji?lang=en"' in page
    assert "submissions?user=minji&amp;problem=add" in page
    assert 'href="/services/dashboard/gradebook?lang=en#student-minji"' in page
    # a diff against the student's other submission of the problem
    right = world.ids["minji-add-accepted"]
    assert f'<option value="{right}">' in page
    assert world.get("submissions/999999").status_code == 404
    assert world.get("submissions/1234567890").status_code == 404  # not a route


def test_a_diff_between_two_submissions(world: World) -> None:
    wrong, right = world.ids["minji-add-wrong_answer"], world.ids["minji-add-accepted"]
    page = world.get(f"submissions/{right}/diff?against={wrong}").text
    assert '<pre class="del">-    return a - b</pre>' in page
    assert '<pre class="add">+    # 합</pre>' in page
    assert '<pre class="add">+    return a + b</pre>' in page
    # older to newer, from either page
    reverse = world.get(f"submissions/{wrong}/diff?against={right}").text
    assert '<pre class="del">-    return a - b</pre>' in reverse
    same = world.get(f"submissions/{right}/diff?against={world.ids['jisoo-add-accepted']}").text
    assert 'id="no-difference"' in same
    for bad in ("", "?against=x", "?against=1234567890"):
        assert world.get(f"submissions/{right}/diff{bad}").status_code == 400, bad
    assert world.get(f"submissions/{right}/diff?against=999999").status_code == 404


def test_downloads_are_notebooks_in_a_zip(world: World) -> None:
    r = world.get("submissions.zip?problem=add")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    assert 'filename="submissions-add.zip"' in r.headers["Content-Disposition"]
    archive = zipfile.ZipFile(io.BytesIO(r.content))
    names = sorted(archive.namelist())
    assert names == sorted(
        f"add/{k.split('-')[0]}-{v}.ipynb" for k, v in world.ids.items() if "-add-" in k
    )
    nb = nbformat.reads(archive.read(f"add/minji-{world.ids['minji-add-accepted']}.ipynb"), 4)
    nbformat.validate(nb)
    meta = nb.metadata["codetutor"]
    assert meta["id"] == "add" and meta["submission"]["verdict"] == "accepted"
    assert [c.source for c in nb.cells if c.cell_type == "code"] == [RIGHT]
    mine = zipfile.ZipFile(io.BytesIO(world.get("submissions.zip?user=minji").content))
    assert len(mine.namelist()) == 3 and any(n.startswith("other/") for n in mine.namelist())


def test_links_dashboard_gradebook_submissions(world: World) -> None:
    dashboard = world.get("").text
    assert 'id="gradebook-page" href="/services/dashboard/gradebook?lang=en"' in dashboard
    assert "submissions?problem=add&amp;lang=en" in dashboard
    assert (
        f'href="/services/dashboard/submissions/{world.ids["jisoo-add-accepted"]}?lang=en"'
        in dashboard
    )
    gradebook = world.get("gradebook?lang=ko").text
    assert 'id="student-minji"' in gradebook and "학급 대시보드" in gradebook
    assert "submissions?user=minji&amp;problem=add&amp;lang=ko" in gradebook
    assert 'href="/services/dashboard/students/jisoo?lang=ko"' in gradebook
    assert (
        'id="gradebook-page" href="/services/dashboard/gradebook?lang=en">Gradebook</a>'
        in dashboard
    )
    student = world.get("students/minji").text
    assert ">All submissions</a>" in student
    assert "성적부</a>" in world.get("students/minji?lang=ko").text
    assert (
        'id="student-submissions" href="/services/dashboard/submissions?user=minji&amp;lang=en"'
        in student
    )
    assert "submissions?user=minji&amp;problem=add&amp;lang=en" in student
