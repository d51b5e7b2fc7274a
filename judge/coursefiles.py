"""``codetutor course export|import``: a course as files, to carry it to the next term.

A course folder holds::

    course.json              {"format": "codetutor-course/1", "id", "title", "problems": [...],
                              "assignments": [<the API's AssignmentInput>, ...]}
    problems/<id>.ipynb      the instructor's problem notebook (edit it, publish it again)
    problems/<id>.bundle     the judge's published copy (expected values included)

``export`` writes it from the judge's database; ``import`` publishes every problem
(from its bundle when there is one, so no reference run is needed; else from the
notebook, through the publish pipeline), then creates or updates the course and its
assignments. ``--shift-days=N`` moves every open and due time by N days, ``--id``
imports it under another course id (``cs101-2027s``). Both talk to the database
(``--db-url``, the judge service's); a running service sees the course at once.
Bad input exits 2 with one line on stderr (:class:`~codetutor.cli.UsageError`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import nbformat
from traitlets import Int, Unicode

from codetutor.cli import CodeTutorBaseApp, UsageError

from .courses import CourseBook, CourseError, CourseSpec, parse_assignment, parse_course, parse_slug
from .exceptions import JudgeException, ProblemError
from .problem import Problem
from .publish import Publisher
from .service.coursework import spec_of
from .store import Store

FORMAT = "codetutor-course/1"
EXIT_JUDGE_FAILURE = 1
MAX_SHIFT_DAYS = 3660


class CourseFilesApp(CodeTutorBaseApp):
    """What ``course export`` and ``course import`` share: the database."""

    db_url = Unicode(
        "", help="The judge's database URL (default: the judge service's default)."
    ).tag(config=True)

    def make_store(self) -> Store:
        return Store(parent=self, url=self.db_url) if self.db_url else Store(parent=self)

    def run(self, work: Any) -> None:
        """Run ``work(store)`` (a coroutine function) against the migrated database."""

        async def main() -> None:
            store = self.make_store()
            try:
                await store.upgrade()
                await work(store)
            finally:
                await store.close()

        try:
            asyncio.run(main())
        except CourseError as e:
            raise UsageError(e.message) from None


class CourseExportApp(CourseFilesApp):
    """codetutor course export COURSE --out DIR"""

    name = "course export"
    description = "Write a course (its problems, assignments and late policies) to a folder."
    out_dir = Unicode("", help="The folder to write the course to.").tag(config=True)
    aliases: Any = {"out": "CourseExportApp.out_dir", "db-url": "CourseExportApp.db_url"}

    def start(self) -> None:
        (course,) = self.positional(1, "COURSE --out DIR")
        if not self.out_dir:
            raise UsageError("usage: codetutor course export COURSE --out DIR (--out is required)")
        out = Path(self.out_dir)
        if out.exists() and not out.is_dir():
            raise UsageError(f"{out} is not a folder")
        try:
            parse_slug(course, "COURSE")
        except CourseError as e:
            raise UsageError(e.message) from None
        self.run(lambda store: export_course(store, course, out))
        print(f"exported course {course} to {out}")


class CourseImportApp(CourseFilesApp):
    """codetutor course import DIR [--shift-days=N] [--id=NEW]"""

    name = "course import"
    description = (
        "Publish a course folder's problems and create or update its course and assignments."
    )
    shift_days = Int(0, help="Move every open and due time by this many days.").tag(config=True)
    course_id = Unicode("", help="Import under this course id instead of the folder's.").tag(
        config=True
    )
    publisher_name = Unicode("course-import", help="The user the problems are published as.").tag(
        config=True
    )
    aliases: Any = {
        "shift-days": "CourseImportApp.shift_days",
        "id": "CourseImportApp.course_id",
        "as": "CourseImportApp.publisher_name",
        "db-url": "CourseImportApp.db_url",
    }

    def start(self) -> None:
        (folder,) = self.positional(1, "DIR [--shift-days=N] [--id=COURSE]")
        if abs(self.shift_days) > MAX_SHIFT_DAYS:
            raise UsageError(f"--shift-days must be between -{MAX_SHIFT_DAYS} and {MAX_SHIFT_DAYS}")
        course, assignments, problems = read_course(Path(folder))
        if self.course_id:
            try:
                course = replace(course, slug=parse_slug(self.course_id, "--id"))
            except CourseError as e:
                raise UsageError(e.message) from None
        shift = timedelta(days=self.shift_days)
        shifted = [
            replace(a, opens_at=a.opens_at + shift, due_at=a.due_at + shift) for a in assignments
        ]

        async def work(store: Store) -> None:
            user = await store.ensure_user(self.publisher_name)
            for problem in problems:
                if not problem.published:
                    problem = await self._publish(problem)
                await store.publish_problem(user=user, problem=problem)
            book = CourseBook(store)
            row, _ = await book.put_course(course)
            for spec in shifted:
                await book.put_assignment(row, spec)

        self.run(work)
        print(
            f"imported course {course.slug}: {len(problems)} problems, {len(shifted)} assignments"
        )

    async def _publish(self, problem: Problem) -> Problem:
        """The problem through the publish pipeline: its reference run, in a sandbox.

        A notebook that fails publishing is bad input (:class:`CourseError`); the
        judge failing is not: it exits 1 with one line, as ``codetutor publish``.
        """
        publisher = Publisher(parent=self)
        try:
            return await publisher.publish(problem)
        except ProblemError as e:
            raise CourseError(f"problem {problem.meta.id}: {e.message}") from None
        except JudgeException as e:
            self.log.error("publishing %s failed: %s", problem.meta.id, e.log_message)
            print(f"codetutor: publishing {problem.meta.id} failed: {e.message}", file=sys.stderr)
            sys.exit(EXIT_JUDGE_FAILURE)
        finally:
            await publisher.close()


class CourseApp(CodeTutorBaseApp):
    """``codetutor course``: dispatches to ``export`` and ``import``."""

    name = "course"
    description = "Carry a course to the next term: export it to a folder, import it back."
    subcommands: Any = {
        "export": ("codetutor.judge.coursefiles.CourseExportApp", CourseExportApp.description),
        "import": ("codetutor.judge.coursefiles.CourseImportApp", CourseImportApp.description),
    }

    def start(self) -> None:
        if self.subapp is None:
            raise UsageError("usage: codetutor course export|import ...")
        self.subapp.start()


async def export_course(store: Store, slug: str, out: Path) -> None:
    """Write course ``slug`` to ``out`` (see the module); :class:`CourseError` if there is none."""
    book = CourseBook(store)
    course = await book.course(slug)
    assignments = [spec_of(a).to_dict() for a in await book.assignments(course)]
    (out / "problems").mkdir(parents=True, exist_ok=True)
    for problem_slug in course.problems:
        row = await store.get_problem(problem_slug)
        if row is None:
            raise CourseError(f"course {slug!r} uses problem {problem_slug!r}, which is gone")
        bundle = json.loads(await store.get_bundle(row.id))
        (out / "problems" / f"{problem_slug}.bundle").write_text(
            json.dumps(bundle, ensure_ascii=False, indent=1) + "\n"
        )
        nbformat.write(
            nbformat.from_dict(bundle["notebook"]), out / "problems" / f"{problem_slug}.ipynb"
        )
    document = {
        "format": FORMAT,
        "id": course.slug,
        "title": course.title,
        "problems": list(course.problems),
        "assignments": assignments,
    }
    (out / "course.json").write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n")


def read_course(folder: Path) -> tuple[CourseSpec, list[Any], list[Problem]]:
    """The course, its assignments and problems from ``folder``; :class:`UsageError` naming
    the file and what is wrong."""
    path = folder / "course.json"
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: not found (is {folder} a course folder?)") from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UsageError(f"{path}: not readable JSON: {e}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise UsageError(f"{path}: not a course file (format must be {FORMAT!r})")
    try:
        course = parse_course(
            {k: document[k] for k in ("id", "title", "problems") if k in document}
        )
        raw = document.get("assignments", [])
        if not isinstance(raw, list):
            raise CourseError("assignments must be a list")
        assignments = [parse_assignment(a) for a in raw]
    except CourseError as e:
        raise UsageError(f"{path}: {e.message}") from None
    needed = {p for a in assignments for p, _ in a.problems} | set(course.problems)
    problems = []
    for slug in sorted(needed):
        bundle, notebook = (
            folder / "problems" / f"{slug}.bundle",
            folder / "problems" / f"{slug}.ipynb",
        )
        source = bundle if bundle.exists() else notebook
        if not source.exists():
            raise UsageError(f"{folder / 'problems'}: no {slug}.bundle or {slug}.ipynb")
        try:
            problem = Problem.load(source)
        except ProblemError as e:
            raise UsageError(f"{source}: {e.message}") from None
        if problem.meta.id != slug:
            raise UsageError(f"{source}: its problem id is {problem.meta.id!r}, not {slug!r}")
        problems.append(problem)
    if not set(course.problems) >= {p for a in assignments for p, _ in a.problems}:
        missing = sorted({p for a in assignments for p, _ in a.problems} - set(course.problems))
        course = replace(course, problems=(*course.problems, *missing))
    return course, assignments, problems
