"""The judge in this process, for the tutor's CLI and tests: never in a service.

The tutor service reaches the judge only through the judge service
(:class:`codetutor.tutor.problems.JudgeClient`, :class:`codetutor.tutor.checker.
JudgeServiceChecker`); sandboxes start only in judge workers and in command-line
tools. ``codetutor tutor check-reply`` is such a tool: it selects these by
configuration (``SolutionGuard.checker_class``, ``Tutor.judge_class``):

* :class:`FolderJudge`: problems read from folders of notebooks (no verdicts);
* :class:`LocalChecker`: candidate programs judged by a :class:`~.judge.Judge`
  in this process, against the full problem read from folders or a file.

:func:`tutor_problem_view` is what the tutor may know about a problem, for the
judge service's endpoint and for these.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Instance, List, Unicode, default

from codetutor.tutor.checker import SolutionChecker
from codetutor.tutor.exceptions import ProblemError as TutorProblemError
from codetutor.tutor.problems import JudgeClient, LastVerdict, TutorProblem

from .exceptions import ProblemError
from .judge import Judge
from .problem import Problem, Visibility
from .submission import Submission


def tutor_problem_view(problem: Problem, version: int = 0) -> dict[str, Any]:
    """What the tutor may know about a problem version, as JSON: no hidden test is in it.

    The reference solution is included for the guard (a reply too similar to it is
    withheld) and the hint ladder (pointing at a suspect line); it never enters a
    prompt.
    """
    meta = problem.meta
    return {
        "id": meta.id,
        "version": version,
        "title": dict(meta.title),
        "difficulty": meta.difficulty,
        "tags": list(meta.tags),
        "mode": meta.mode.value,
        "statement": problem.statement_source,
        "starter": problem.starter_source,
        "solution": problem.solution_source,
        "solution_names": list(problem.solution_names),
        "public_cases": [c.source for c in problem.cases if c.visibility is Visibility.PUBLIC],
        "hidden_case_count": sum(1 for c in problem.cases if c.visibility is Visibility.HIDDEN),
        "sha256": problem.sha256,
        "hints": problem.hints.to_dict(),
        "tutor": meta.tutor.to_dict(),
    }


class _Folders(JudgeClient):
    problem_dirs = List(
        Unicode(),
        help="Folders holding problems, looked up by id as ID.bundle, ID.ipynb or "
        "ID/problem.ipynb.",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._full: dict[str, Problem] = {}

    def full_problem(self, problem_id: str) -> Problem:
        """The whole problem ``problem_id`` (hidden tests too); raises the tutor's ProblemError."""
        if problem_id in self._full:
            return self._full[problem_id]
        for directory in self.problem_dirs:
            for candidate in (
                Path(directory, f"{problem_id}.bundle"),
                Path(directory, f"{problem_id}.ipynb"),
                Path(directory, problem_id, "problem.ipynb"),
            ):
                if candidate.is_file():
                    return self._keep(self.load_file(candidate))
        raise TutorProblemError(
            f"no problem {problem_id!r} in {self.problem_dirs}", "Unknown problem."
        )

    def load_file(self, path: str | Path) -> Problem:
        try:
            return Problem.load(path)
        except ProblemError as e:
            raise TutorProblemError(f"{path}: {e}", "This problem cannot be read.") from e

    def _keep(self, problem: Problem) -> Problem:
        self._full[problem.meta.id] = problem
        return problem


class FolderJudge(_Folders):
    """``Tutor.judge_class`` for the CLI and tests: problems from folders, no verdicts."""

    async def problem(self, problem_id: str, user: str | None = None) -> TutorProblem:
        return TutorProblem.from_dict(tutor_problem_view(self.full_problem(problem_id)))

    async def last_verdict(self, user: str, problem_id: str) -> LastVerdict:
        return LastVerdict()

    async def guard(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        raise NotImplementedError("FolderJudge judges nothing: use LocalChecker")


class LocalChecker(SolutionChecker):
    """``SolutionGuard.checker_class`` for the CLI and tests: the judge in this process.

    Finds the whole problem by id in :attr:`folders` (``FolderJudge.problem_dirs``
    and ``LocalChecker.problem_dirs``), or as loaded with :meth:`load`; publishes it
    here once (its expected values) and judges each program.
    """

    problem_dirs = List(
        Unicode(), help="Folders holding problems (as FolderJudge.problem_dirs)."
    ).tag(config=True)

    judge = Instance(Judge)

    @default("judge")
    def _default_judge(self) -> Judge:
        return Judge(parent=self)

    folders = Instance(_Folders)

    @default("folders")
    def _default_folders(self) -> _Folders:
        kwargs = {"problem_dirs": self.problem_dirs} if self.problem_dirs else {}
        return FolderJudge(parent=self, **kwargs)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._published: dict[str, Problem] = {}

    def load(self, path: str | Path) -> TutorProblem:
        """The tutor's view of the problem notebook or bundle at ``path`` (kept for judging).

        Raises the tutor's :class:`~codetutor.tutor.exceptions.ProblemError`.
        """
        problem = self.folders._keep(self.folders.load_file(path))
        return TutorProblem.from_dict(tutor_problem_view(problem))

    async def published(self, problem_id: str) -> Problem:
        """Coroutine: the whole problem with its expected values (published here once)."""
        problem = self.folders.full_problem(problem_id)
        if problem.is_published:
            return problem
        if problem.sha256 not in self._published:
            from .publish import Publisher

            publisher = Publisher(parent=self, judge=self.judge)
            self._published[problem.sha256] = await publisher.publish(problem)
        return self._published[problem.sha256]

    async def accepted(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        full = await self.published(problem.id)
        verdicts = []
        for program in programs:
            result = await self.judge.judge(full, Submission.from_source(program))
            verdicts.append(result.verdict.value == "accepted")
        return verdicts

    async def close(self) -> None:
        await self.judge.close()
