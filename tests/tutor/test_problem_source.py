"""Where the tutor finds a problem and a student's last verdict: the judge service only.

:class:`PublishedJudge` stands in for the judge service's tutor endpoints (their
real implementation is tested in tests/judge/service/test_judge_service_tutoring.py);
it records the token each call came with.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado import httpserver, web
from traitlets.config import Config

from codetutor.judge.local import tutor_problem_view
from codetutor.judge.problem import Problem
from codetutor.tutor.exceptions import BadRequestError, ProblemError
from codetutor.tutor.problems import JudgeUnavailableError
from codetutor.tutor.tutor import Tutor

from .conftest import FILES, free_port

TOKEN = "tutor-service-token"


class PublishedJudge:
    """The judge's ``api/tutor/problems`` and ``api/tutor/verdicts`` over a dict of problems."""

    def __init__(self) -> None:
        self.problems: dict[str, dict[str, Any]] = {}
        self.verdicts: dict[tuple[str, str], dict[str, Any]] = {}
        self.tokens: list[str] = []
        self.port = free_port()
        judge = self

        class ProblemHandler(web.RequestHandler):
            def get(self, slug: str) -> None:
                judge.tokens.append(self.request.headers.get("Authorization", ""))
                if slug not in judge.problems:
                    self.set_status(404)
                    self.finish({"message": f"no problem {slug!r}"})
                    return
                self.finish(judge.problems[slug])

        class VerdictHandler(web.RequestHandler):
            def get(self, slug: str) -> None:
                user = self.get_query_argument("user")
                found = judge.verdicts.get((slug, user), {"verdict": None, "attempts": 0})
                self.finish({"problem": slug, "user": user, **found})

        self.app = web.Application(
            [
                (r"/services/judge/api/tutor/problems/([^/]+)", ProblemHandler),
                (r"/services/judge/api/tutor/verdicts/([^/]+)", VerdictHandler),
            ]
        )
        self.server: httpserver.HTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/judge/"

    def publish(self, problem_id: str, solution_comment: str, version: int) -> None:
        nb = json.loads((FILES / "dedupe.ipynb").read_text())
        nb["metadata"]["codetutor"]["id"] = problem_id
        for cell in nb["cells"]:
            if "solution" in cell["metadata"].get("tags", []):
                cell["source"] = f"# {solution_comment}\n" + "".join(cell["source"])
        problem = Problem.loads(json.dumps(nb))
        self.problems[problem_id] = tutor_problem_view(problem, version)

    def start(self) -> None:
        self.server = httpserver.HTTPServer(self.app)
        self.server.listen(self.port, "127.0.0.1")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture
async def judge() -> AsyncIterator[PublishedJudge]:
    fake = PublishedJudge()
    fake.start()
    yield fake
    fake.stop()


def make_tutor(judge: PublishedJudge, refresh_s: float = 0.0) -> Tutor:
    c = Config()
    c.JudgeClient.url = judge.url
    c.JudgeClient.token = TOKEN
    c.JudgeClient.problem_refresh_s = refresh_s
    return Tutor(config=c)


async def test_a_published_problem_reaches_the_tutor_with_its_token(
    judge: PublishedJudge,
) -> None:
    judge.publish("only-in-judge", "version one", 1)
    tutor = make_tutor(judge)
    try:
        problem = await tutor.get_problem("only-in-judge")
        assert (problem.id, problem.version) == ("only-in-judge", 1)
        assert "# version one" in problem.solution
        assert judge.tokens == [f"token {TOKEN}"]
        # republished: the guard must know the new reference solution
        judge.publish("only-in-judge", "version two", 2)
        problem = await tutor.get_problem("only-in-judge")
        assert "# version two" in problem.solution and problem.version == 2
        with pytest.raises(ProblemError):
            await tutor.get_problem("nowhere")
        with pytest.raises(BadRequestError):
            await tutor.get_problem("../etc/passwd")
    finally:
        await tutor.close()


async def test_the_newest_version_is_looked_up_again_only_after_the_refresh_time(
    judge: PublishedJudge,
) -> None:
    judge.publish("only-in-judge", "version one", 1)
    tutor = make_tutor(judge, refresh_s=3600.0)
    try:
        first = await tutor.get_problem("only-in-judge")
        judge.publish("only-in-judge", "version two", 2)
        assert await tutor.get_problem("only-in-judge") is first
    finally:
        await tutor.close()


async def test_while_the_judge_is_down_the_tutor_answers_with_what_it_read(
    judge: PublishedJudge,
) -> None:
    judge.publish("only-in-judge", "version one", 1)
    tutor = make_tutor(judge)
    try:
        first = await tutor.get_problem("only-in-judge")
        judge.stop()
        assert await tutor.get_problem("only-in-judge") is first
        with pytest.raises(JudgeUnavailableError):
            await tutor.get_problem("never-read")
        # without a verdict the chat goes on
        assert (await tutor.last_verdict("alice", "only-in-judge")).verdict is None
    finally:
        await tutor.close()


async def test_the_last_verdict_comes_from_the_judge(judge: PublishedJudge) -> None:
    verdict = {"verdict": "wrong_answer", "score": 0.5, "cases": []}
    judge.verdicts[("dedupe", "alice")] = {"verdict": verdict, "attempts": 3}
    tutor = make_tutor(judge)
    try:
        last = await tutor.last_verdict("alice", "dedupe")
        assert (last.verdict, last.attempts) == (verdict, 3)
        assert (await tutor.last_verdict("bob", "dedupe")).verdict is None
    finally:
        await tutor.close()
