"""During a student's exam the judge refuses the tutor their problem; the tutor says so.

:class:`ExamJudge` stands in for the judge service's ``api/tutor/problems``: it
answers 403 with an ``exam`` field for a ``?user=`` in an exam, as the real one
does (tests/judge/service/test_judge_service_tutoring.py), and records each
call's ``user``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado import httpserver, web
from traitlets.config import Config

import tests.tutor.test_problem_source as source
from codetutor.tutor.problems import ExamInProgressError, JudgeUnavailableError
from codetutor.tutor.tutor import Tutor

from .conftest import free_port

ENDS = "2027-03-08T11:00:00+00:00"


class ExamJudge:
    """The judge's tutor problem endpoint; users in :attr:`in_exam` are refused."""

    def __init__(self) -> None:
        self.published = source.PublishedJudge()
        self.published.publish("dedupe", "reference", 1)
        self.in_exam: set[str] = set()
        self.refuse_plainly = False
        self.users: list[str | None] = []
        self.port = free_port()
        judge = self

        class ProblemHandler(web.RequestHandler):
            def get(self, slug: str) -> None:
                user = self.get_query_argument("user", None)
                judge.users.append(user)
                if judge.refuse_plainly:
                    self.set_status(403)
                    self.finish({"message": "the tutor's token lacks a scope"})
                elif user in judge.in_exam:
                    self.set_status(403)
                    self.finish(
                        {
                            "message": f"the tutor is off during the exam 'midterm' (until {ENDS})",
                            "exam": {"assignment": "midterm", "ends_at": ENDS},
                        }
                    )
                else:
                    self.finish(judge.published.problems[slug])

        self.server = httpserver.HTTPServer(
            web.Application([(r"/services/judge/api/tutor/problems/([^/]+)", ProblemHandler)])
        )
        self.server.listen(self.port, "127.0.0.1")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/judge/"


@pytest.fixture
async def judge() -> AsyncIterator[ExamJudge]:
    fake = ExamJudge()
    yield fake
    fake.server.stop()


def make_tutor(judge: ExamJudge) -> Tutor:
    c = Config()
    c.JudgeClient.url = judge.url
    c.JudgeClient.token = source.TOKEN
    c.JudgeClient.problem_refresh_s = 3600.0
    return Tutor(config=c)


def assert_exam_message(error: ExamInProgressError) -> None:
    assert error.status_code == 403 and error.status == 403
    assert "The tutor and review are off during your exam" in error.user_message
    assert "시험 중에는 튜터와 코드 리뷰를 쓸 수 없습니다" in error.user_message
    assert ENDS in error.user_message
    assert "judge" not in error.user_message.lower()
    assert error.extra["exam"] == {"assignment": "midterm", "ends_at": ENDS}


async def test_the_problem_is_asked_for_the_student_even_when_cached(judge: ExamJudge) -> None:
    tutor = make_tutor(judge)
    try:
        first = await tutor.get_problem("dedupe", user="alice")
        assert first.id == "dedupe" and judge.users == ["alice"]
        # cached for an hour, yet the judge is asked again: alice's exam may have begun
        judge.in_exam.add("alice")
        with pytest.raises(ExamInProgressError) as refused:
            await tutor.get_problem("dedupe", user="alice")
        assert_exam_message(refused.value)
        assert judge.users == ["alice", "alice"]
        # bob is in no exam; a call without a student uses the cache
        assert (await tutor.get_problem("dedupe", user="bob")).id == "dedupe"
        assert await tutor.get_problem("dedupe") is not None
        assert judge.users == ["alice", "alice", "bob"]
    finally:
        await tutor.close()


async def test_chat_and_review_are_refused_during_the_exam(judge: ExamJudge) -> None:
    judge.in_exam.add("alice")
    tutor = make_tutor(judge)
    try:
        with pytest.raises(ExamInProgressError) as refused:
            async for _ in tutor.chat(user="alice", problem_id="dedupe", message="hint?"):
                pytest.fail("no event may come during an exam")
        assert_exam_message(refused.value)
        with pytest.raises(ExamInProgressError) as refused:
            await tutor.review(user="alice", code="def f(): pass\n", problem_id="dedupe")
        assert_exam_message(refused.value)
        assert judge.users == ["alice", "alice"]
    finally:
        await tutor.close()


async def test_a_refusal_without_an_exam_is_still_the_judge_unavailable(
    judge: ExamJudge,
) -> None:
    judge.refuse_plainly = True
    tutor = make_tutor(judge)
    try:
        with pytest.raises(JudgeUnavailableError) as refused:
            await tutor.get_problem("dedupe", user="alice")
        assert "cannot be reached" in refused.value.user_message
        assert not isinstance(refused.value, ExamInProgressError)
    finally:
        await tutor.close()


def test_the_error_event_carries_the_exam() -> None:
    error = ExamInProgressError("log", {"assignment": "midterm", "ends_at": None})
    event: dict[str, Any] = {"message": error.user_message, **error.extra}
    assert event["exam"]["assignment"] == "midterm"
    assert event["message"].endswith("The tutor and review are off during your exam.")
