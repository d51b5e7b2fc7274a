"""``codetutor course export|import``: a course as files and back, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from judge_service_helpers import problem_notebook

from codetutor.judge.courses import CourseBook, parse_assignment, parse_course
from codetutor.judge.store import Store
from tests.judge.conftest import published

OPENS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2027, 3, 8, 15, 0, tzinfo=UTC)
POLICY = {"kind": "by_date", "steps": [{"hours": 48.0, "credit": 0.8}]}


def course_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codetutor", "course", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def make_course(db_url: str, tmp_path: Path) -> Store:
    notebook = tmp_path / "add.ipynb"
    notebook.write_text(json.dumps(problem_notebook()))
    problem = await published(notebook)
    store = Store(url=db_url)
    await store.upgrade()
    await store.publish_problem(user=await store.ensure_user("teacher"), problem=problem)
    book = CourseBook(store)
    course, _ = await book.put_course(
        parse_course({"id": "cs101", "title": "Intro", "problems": ["add"]})
    )
    for slug, extra in (("hw1", {"late_policy": POLICY}), ("exam", {"exam_minutes": 50})):
        await book.put_assignment(
            course,
            parse_assignment(
                {
                    "id": slug,
                    "opens_at": OPENS.isoformat(),
                    "due_at": DUE.isoformat(),
                    "problems": [{"problem": "add", "points": 10}],
                    **extra,
                }
            ),
        )
    return store


async def test_export_then_import_next_term(db_url: str, tmp_path: Path) -> None:
    store = await make_course(db_url, tmp_path)
    out = tmp_path / "cs101"
    done = course_cli("export", "cs101", f"--out={out}", f"--db-url={db_url}")
    assert done.returncode == 0, done.stderr
    document = json.loads((out / "course.json").read_text())
    assert (document["format"], document["id"], document["problems"]) == (
        "codetutor-course/1",
        "cs101",
        ["add"],
    )
    assert [a["id"] for a in document["assignments"]] == ["hw1", "exam"]
    assert document["assignments"][0]["late_policy"] == POLICY
    assert document["assignments"][1]["exam_minutes"] == 50
    instructor_notebook = json.loads((out / "problems" / "add.ipynb").read_text())
    assert any("solution" in c["metadata"].get("tags", []) for c in instructor_notebook["cells"])
    assert json.loads((out / "problems" / "add.bundle").read_text())["expected"]

    done = course_cli(
        "import", str(out), "--shift-days=182", "--id=cs101-next", f"--db-url={db_url}"
    )
    assert done.returncode == 0, done.stderr
    assert "imported course cs101-next: 1 problems, 2 assignments" in done.stdout
    book = CourseBook(store)
    course = await book.course("cs101-next")
    assert (course.title, course.problems) == ("Intro", ["add"])
    assignments = await book.assignments(course)
    assert [a.slug for a in assignments] == ["hw1", "exam"]
    assert assignments[0].due_at == DUE + timedelta(days=182)
    assert assignments[0].opens_at == OPENS + timedelta(days=182)
    assert assignments[0].late_policy == POLICY and assignments[1].exam_minutes == 50
    # the same problem content adds no version
    newest = await store.get_problem("add")
    assert newest is not None and newest.version == 1
    await store.close()


async def test_bad_input_exits_2_with_one_line(db_url: str, tmp_path: Path) -> None:
    store = await make_course(db_url, tmp_path)
    await store.close()
    folder = tmp_path / "course"
    assert course_cli("export", "cs101", f"--out={folder}", f"--db-url={db_url}").returncode == 0
    document = json.loads((folder / "course.json").read_text())

    def refused(*args: str) -> str:
        done = course_cli(*args)
        assert done.returncode == 2, (done.stdout, done.stderr)
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("codetutor: ")
        return done.stderr

    assert "no course 'nope'" in refused("export", "nope", f"--out={folder}", f"--db-url={db_url}")
    assert "--out is required" in refused("export", "cs101", f"--db-url={db_url}")
    assert "not found" in refused("import", str(tmp_path / "missing"), f"--db-url={db_url}")
    assert "usage" in refused("import")
    assert "export|import" in refused()
    assert "--shift-days" in refused("import", str(folder), "--shift-days=99999")
    assert "--id" in refused("import", str(folder), "--id=Not An Id", f"--db-url={db_url}")

    broken = dict(
        document, assignments=[dict(document["assignments"][0], due_at="2020-01-01T00:00:00Z")]
    )
    (folder / "course.json").write_text(json.dumps(broken))
    assert "due_at is before opens_at" in refused("import", str(folder), f"--db-url={db_url}")
    (folder / "course.json").write_text("{not json")
    assert "not readable JSON" in refused("import", str(folder), f"--db-url={db_url}")
    (folder / "course.json").write_text(json.dumps(dict(document, format="other")))
    assert "not a course file" in refused("import", str(folder), f"--db-url={db_url}")
    (folder / "course.json").write_text(json.dumps(document))
    (folder / "problems" / "add.bundle").unlink()
    (folder / "problems" / "add.ipynb").unlink()
    assert "no add.bundle or add.ipynb" in refused("import", str(folder), f"--db-url={db_url}")


@pytest.mark.parametrize("args", [("course", "teach"), ("course", "export", "a", "b")])
def test_unknown_subcommands_and_extra_arguments(args: tuple[str, ...]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "codetutor", *args], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1


def test_import_publishes_a_notebook_without_a_bundle(db_url: str, tmp_path: Path) -> None:
    folder = tmp_path / "course"
    (folder / "problems").mkdir(parents=True)
    assignment = {
        "id": "hw1",
        "opens_at": OPENS.isoformat(),
        "due_at": DUE.isoformat(),
        "problems": [{"problem": "plus", "points": 3}],
    }
    document = {"format": "codetutor-course/1", "id": "fresh", "assignments": [assignment]}
    (folder / "course.json").write_text(json.dumps(document))
    (folder / "problems" / "plus.ipynb").write_text(json.dumps(problem_notebook("plus")))
    done = course_cli("import", str(folder), f"--db-url={db_url}")
    assert done.returncode == 0, done.stderr

    async def check() -> None:
        store = Store(url=db_url)
        await store.connect()
        problem = await store.get_problem("plus")
        assert problem is not None and problem.case_count == 4
        course = await CourseBook(store).course("fresh")
        assert course.problems == ["plus"]
        await store.close()

    asyncio.run(check())
    broken = problem_notebook("plus")
    for cell in broken["cells"]:
        if "solution" in cell["metadata"]["tags"]:
            cell["source"] = "def add(a, b):\n    raise ValueError('no')"
    (folder / "problems" / "plus.ipynb").write_text(json.dumps(broken))
    done = course_cli("import", str(folder), f"--db-url={db_url}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert done.stderr.startswith("codetutor: problem plus: ")
