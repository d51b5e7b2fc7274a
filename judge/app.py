"""``codetutor publish`` and ``codetutor judge``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from traitlets import Bool, Unicode, default

from codetutor.cli import CodeTutorBaseApp, UsageError

from .exceptions import JudgeException, ProblemError, SandboxError, SubmissionError
from .judge import Judge
from .problem import Problem
from .publish import Publisher, write_outputs
from .submission import Submission
from .verdict import Audience, JudgeResult, Verdict, dumps

EXIT_JUDGE_FAILURE = 1


class PublishApp(CodeTutorBaseApp):
    """codetutor publish PROBLEM.ipynb --out DIR"""

    name = "publish"
    description = (
        "Validate a problem notebook, run its reference solution in the sandbox to compute "
        "expected values, and write DIR/<id>.ipynb (student notebook) and DIR/<id>.bundle (judge bundle)."
    )
    out_dir = Unicode("", help="Where to write the student notebook and the bundle.").tag(
        config=True
    )
    aliases: Any = {"out": "PublishApp.out_dir"}

    def start(self) -> None:
        (path,) = self.positional(1, "PROBLEM.ipynb --out DIR")
        if not self.out_dir:
            raise UsageError("usage: codetutor publish PROBLEM.ipynb --out DIR (--out is required)")
        if "size" not in self.config.SandboxPool:
            self.config.SandboxPool.size = 0
        try:
            problem = Problem.load(path)
            problem = asyncio.run(self._publish(problem))
            student, bundle = write_outputs(problem, self.out_dir)
        except ProblemError as e:
            raise UsageError(f"{path}: {e.message}") from None
        except (JudgeException, SandboxError) as e:
            self.log.error("publish failed: %s", e.log_message)
            print(f"codetutor: publish failed: {e.message}", file=sys.stderr)
            sys.exit(EXIT_JUDGE_FAILURE)
        print(f"published {problem.meta.id}: {len(problem.cases)} cases")
        print(f"  student notebook: {student}")
        print(f"  judge bundle:     {bundle}")

    async def _publish(self, problem: Problem) -> Problem:
        publisher = Publisher(parent=self)
        try:
            return await publisher.publish(problem)
        finally:
            await publisher.close()


class JudgeApp(CodeTutorBaseApp):
    """codetutor judge PROBLEM.(ipynb|bundle) SUBMISSION.(ipynb|py) [--json]"""

    name = "judge"
    description = (
        "Judge a submission against a problem (a problem notebook or a published bundle) and print "
        "the verdict. Exit 0 when a verdict was reached, 2 for bad input, 1 if the judge failed."
    )
    json_output = Bool(False, help="Print one JSON object instead of a summary.").tag(config=True)
    instructor = Bool(False, help="Show hidden-case details (instructor view).").tag(config=True)
    cache_dir = Unicode(help="Where published copies of problem notebooks are cached.").tag(
        config=True
    )

    @default("cache_dir")
    def _cache_dir_default(self) -> str:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "codetutor", "bundles")

    flags: Any = {
        "json": ({"JudgeApp": {"json_output": True}}, "Print one JSON object."),
        "instructor": ({"JudgeApp": {"instructor": True}}, "Show hidden-case details."),
    }

    def start(self) -> None:
        problem_path, submission_path = self.positional(
            2, "PROBLEM.(ipynb|bundle) SUBMISSION.(ipynb|py) [--json]"
        )
        try:
            problem = Problem.load(problem_path)
            submission = Submission.from_path(submission_path)
        except (ProblemError, SubmissionError) as e:
            raise UsageError(e.message) from None
        try:
            result = asyncio.run(self._judge(problem, submission))
        except ProblemError as e:
            raise UsageError(f"{problem_path}: {e.message}") from None
        except (JudgeException, SandboxError) as e:
            self.log.error("judge failure: %s", e.log_message)
            if self.json_output:
                failed = JudgeResult(Verdict.INTERNAL_ERROR, 0.0, 0.0, problem_id=problem.meta.id)
                print(dumps(failed.to_dict()))
            print(f"codetutor: the judge failed: {e.message}", file=sys.stderr)
            sys.exit(EXIT_JUDGE_FAILURE)
        self.report(result)

    async def _judge(self, problem: Problem, submission: Submission) -> JudgeResult:
        if "size" not in self.config.SandboxPool:
            # One command judges one submission: start sandboxes on demand, keep none waiting.
            self.config.SandboxPool.size = 0
        judge = Judge(parent=self)
        try:
            if not problem.is_published:
                problem = await self._published(problem, judge)
            return await judge.judge(problem, submission)
        finally:
            await judge.close()

    async def _published(self, problem: Problem, judge: Judge) -> Problem:
        """A problem notebook's published form, from the cache or computed now."""
        cached = self._cached(problem)
        if cached is not None:
            return cached
        published = await Publisher(parent=self, judge=judge).publish(problem)
        self._store(published)
        return published

    def _cache_path(self, problem: Problem) -> Path:
        return Path(self.cache_dir, f"{problem.sha256}.bundle")

    def _cached(self, problem: Problem) -> Problem | None:
        path = self._cache_path(problem)
        if not path.exists():
            return None
        try:
            return Problem.load(path)
        except ProblemError:
            path.unlink(missing_ok=True)
            return None

    def _store(self, problem: Problem) -> None:
        path = self._cache_path(problem)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(problem.to_bundle()), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as e:
            self.log.warning("could not cache the published problem: %s", e)

    def report(self, result: JudgeResult) -> None:
        audience: Audience = "instructor" if self.instructor else "student"
        if self.json_output:
            print(dumps(result.to_dict(audience), ensure_ascii=False))
            return
        print(f"{result.verdict.value}  score {result.score:.2f}  ({result.time_ms:.0f} ms)")
        if result.error is not None:
            where = f" (cell {result.error.cell + 1})" if result.error.cell is not None else ""
            print(f"  {result.error.message}{where}")
        for case in result.to_dict(audience)["cases"]:
            line = f"  [{case['visibility']:6}] {case['name']}: {case['status']} ({case['time_ms']:.0f} ms)"
            if case.get("message"):
                line += f" - {case['message']}"
            elif case["status"] == "failed" and "expected" in case:
                line += f" - expected {case['expected']}, got {case['actual']}"
            print(line)
