"""What the tutor knows about problems and verdicts, and the one door it gets them through.

The tutor never reads the judge's database or runs the judge's code: it asks the
judge service's tutor endpoints (:mod:`codetutor.judge.service.tutoring`) with its
own Hub API token, which carries the ``custom:judge:tutor`` scope:

* :meth:`JudgeClient.problem`: a :class:`TutorProblem` (statement, starter, public
  cases, the reference solution for the guard; never a hidden test);
* :meth:`JudgeClient.last_verdict`: a student's latest verdict as they see it;
* :meth:`JudgeClient.guard`: judge candidate programs from a reply as an internal
  job on the judge's workers.

:class:`JudgeClient` is the configurable class behind ``Tutor.judge_class``; the
judge package offers an in-process one for the CLI and tests
(:class:`codetutor.judge.local.FolderJudge`).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from tornado import httpclient
from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor.exceptions import ProblemError, TutorError


@dataclass(frozen=True)
class TutorProblem:
    """The tutor's view of one problem version (the judge's ``api/tutor/problems``)."""

    id: str
    title: dict[str, str]
    statement: str
    starter: str
    #: the reference solution: for the guard and the hint ladder, never for a prompt
    solution: str
    version: int = 0
    difficulty: int = 1
    tags: tuple[str, ...] = ()
    mode: str = "function"
    solution_names: tuple[str, ...] = ()
    public_cases: tuple[str, ...] = ()
    hidden_case_count: int = 0
    sha256: str = ""
    #: the instructor's hints: ``{"ladder": {lang: [rung, …]}, "cases": {name: {lang: note}}}``;
    #: given to a student one rung at a time by the ladder, never shown whole
    hints: dict[str, Any] = field(default_factory=dict)
    #: the instructor's controls (``metadata.codetutor.tutor``): off for exam practice,
    #: context for the tutor ``{lang: text}``, words its replies must not use
    enabled: bool = True
    context: dict[str, str] = field(default_factory=dict)
    avoid: tuple[str, ...] = ()

    def title_for(self, lang: str = "en") -> str:
        return self.title.get(lang) or self.title.get("en") or next(iter(self.title.values()), "")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TutorProblem:
        """Build from the judge's JSON view; raises ``KeyError``/``TypeError`` if malformed."""
        title = data["title"]
        return cls(
            id=str(data["id"]),
            title={"en": title} if isinstance(title, str) else {**title},
            statement=str(data["statement"]),
            starter=str(data.get("starter") or ""),
            solution=str(data["solution"]),
            version=int(data.get("version") or 0),
            difficulty=int(data.get("difficulty") or 1),
            tags=tuple(str(t) for t in data.get("tags") or ()),
            mode=str(data.get("mode") or "function"),
            solution_names=tuple(str(n) for n in data.get("solution_names") or ()),
            public_cases=tuple(str(c) for c in data.get("public_cases") or ()),
            hidden_case_count=int(data.get("hidden_case_count") or 0),
            sha256=str(data.get("sha256") or ""),
            hints=dict(data.get("hints") or {}),
            enabled=bool((data.get("tutor") or {}).get("enabled", True)),
            context={
                str(k): str(v) for k, v in ((data.get("tutor") or {}).get("context") or {}).items()
            },
            avoid=tuple(str(w) for w in (data.get("tutor") or {}).get("avoid") or ()),
        )

    def context_for(self, lang: str = "en") -> str:
        """The instructor's context for the tutor in ``lang`` (or English, or any), or ""."""
        return (
            self.context.get(lang)
            or self.context.get("en")
            or next(iter(self.context.values()), "")
        )


@dataclass
class LastVerdict:
    """A student's latest verdict on a problem, as they may see it, and failed attempts."""

    verdict: dict[str, Any] | None = None
    attempts: int = 0


class JudgeUnavailableError(TutorError):
    """The judge service could not answer (down, misconfigured, or refused the tutor)."""

    status_code = 502

    def __init__(self, log_message: str) -> None:
        super().__init__(log_message, "The judge cannot be reached right now; try again shortly.")


class ExamInProgressError(TutorError):
    """The student is in an exam: the judge refuses the tutor their problems (HTTP 403).

    ``exam`` is the judge's ``{"assignment", "ends_at"}``; the user's message says
    so in both languages, never "judge unavailable".
    """

    status_code = 403

    def __init__(self, log_message: str, exam: dict[str, Any]) -> None:
        self.exam = exam
        until = exam.get("ends_at")
        when_en = f" (until {until})" if until else ""
        when_ko = f" ({until}까지)" if until else ""
        super().__init__(
            log_message,
            f"시험 중에는 튜터와 코드 리뷰를 쓸 수 없습니다{when_ko}. "
            f"The tutor and review are off during your exam{when_en}.",
        )
        self.extra["exam"] = exam


@dataclass
class _Cached:
    problem: TutorProblem
    at: float = field(default_factory=time.monotonic)


class JudgeClient(LoggingConfigurable):
    """The judge service's tutor endpoints, over HTTP with the tutor's Hub token."""

    url = Unicode(
        help="""Base URL of the judge service (…/services/judge/). Default:
        $CODETUTOR_JUDGE_URL.""",
    ).tag(config=True)

    @default("url")
    def _default_url(self) -> str:
        return os.environ.get("CODETUTOR_JUDGE_URL", "")

    token = Unicode(
        help="The Hub API token the tutor calls the judge with. Default: $JUPYTERHUB_API_TOKEN."
    ).tag(config=True)

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    request_timeout_s = Float(30.0, help="Longest wait for one answer of the judge.").tag(
        config=True
    )
    problem_refresh_s = Float(
        30.0, help="Seconds a problem is used before its newest version is looked up again."
    ).tag(config=True)
    guard_timeout_s = Float(
        60.0, help="Longest wait for the judge's workers to judge a reply's programs."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._problems: dict[str, _Cached] = {}

    async def close(self) -> None:
        """Coroutine: release connections (nothing is held between calls)."""

    async def call(
        self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Coroutine: ``(status, JSON object)`` of one call; 4xx answers are returned.

        Raises :class:`JudgeUnavailableError` when the judge cannot be reached, answers
        5xx or something that is not a JSON object.
        """
        if not self.url:
            raise JudgeUnavailableError("JudgeClient.url is not configured")
        url = self.url.rstrip("/") + "/" + path
        if query:
            url += "?" + urlencode(query)
        request = httpclient.HTTPRequest(
            url,
            method=method,
            headers={"Authorization": f"token {self.token}", "Accept": "application/json"},
            body=json.dumps(body) if body is not None else None,
            request_timeout=self.request_timeout_s,
        )
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request, raise_error=False)
            data = json.loads(response.body or b"{}")
        except (OSError, ValueError) as e:
            raise JudgeUnavailableError(f"judge call {method} {path} failed: {e!r}") from None
        if response.code >= 500 or response.code == 599 or not isinstance(data, dict):
            raise JudgeUnavailableError(
                f"judge call {method} {path}: {response.code} {str(data)[:200]}"
            )
        if response.code == 403 and isinstance(data.get("exam"), dict):
            raise ExamInProgressError(
                f"judge call {method} {path}: {data.get('message')}", data["exam"]
            )
        if response.code in (401, 403):
            raise JudgeUnavailableError(
                f"the judge refused the tutor ({response.code}): {data.get('message')}"
            )
        return response.code, data

    async def problem(self, problem_id: str, user: str | None = None) -> TutorProblem:
        """Coroutine: the newest version of ``problem_id`` (cached :attr:`problem_refresh_s`).

        With ``user`` (the student asking), the judge is always asked, with
        ``?user=NAME``, so that it can refuse during their exam: raises
        :class:`ExamInProgressError` then. Raises :class:`ProblemError` for an
        unknown problem; while the judge is down, answers with what it read
        before, else raises :class:`JudgeUnavailableError`.
        """
        cached = self._problems.get(problem_id)
        fresh = cached is not None and time.monotonic() - cached.at < self.problem_refresh_s
        if cached is not None and fresh and user is None:
            return cached.problem
        try:
            status, data = await self.call(
                "GET",
                f"api/tutor/problems/{quote(problem_id)}",
                query={"user": user} if user is not None else None,
            )
        except JudgeUnavailableError as e:
            if cached is None:
                raise
            self.log.warning("tutor: problem %r not refreshed: %s", problem_id, e)
            return cached.problem
        if status == 404:
            raise ProblemError(f"no problem {problem_id!r} in the judge", "Unknown problem.")
        if status != 200:
            raise ProblemError(f"judge: {status} {data.get('message')}", "Unknown problem.")
        try:
            problem = TutorProblem.from_dict(data)
        except (KeyError, TypeError, ValueError) as e:
            raise JudgeUnavailableError(f"the judge sent a malformed problem: {e!r}") from None
        self._problems[problem_id] = _Cached(problem)
        return problem

    async def last_verdict(self, user: str, problem_id: str) -> LastVerdict:
        """Coroutine: ``user``'s latest verdict on ``problem_id`` (empty when none or unknown)."""
        status, data = await self.call(
            "GET", f"api/tutor/verdicts/{quote(problem_id)}", query={"user": user}
        )
        if status != 200:
            return LastVerdict()
        verdict = data.get("verdict")
        attempts = data.get("attempts")
        return LastVerdict(
            verdict if isinstance(verdict, dict) else None,
            attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0,
        )

    async def guard(self, problem: TutorProblem, programs: list[str]) -> list[bool]:
        """Coroutine: for each program, whether the judge accepts it for ``problem``.

        One internal job on the judge's workers. Raises :class:`JudgeUnavailableError`
        when it cannot be judged (in time).
        """
        body: dict[str, Any] = {"problem": problem.id, "programs": programs}
        if problem.version:
            body["version"] = problem.version
        status, data = await self.call("POST", "api/tutor/guard-jobs", body)
        if status != 202 or not isinstance(data.get("id"), str):
            raise JudgeUnavailableError(f"guard job refused: {status} {data.get('message')}")
        deadline = time.monotonic() + self.guard_timeout_s
        while True:
            wait = max(0.0, min(20.0, deadline - time.monotonic()))
            status, data = await self.call(
                "GET", f"api/tutor/guard-jobs/{data['id']}", query={"wait": f"{wait:.1f}"}
            )
            if status == 200 and data.get("status") == "done":
                break
            if status != 200 or time.monotonic() >= deadline:
                raise JudgeUnavailableError(f"guard job not judged: {status} {data}")
            await asyncio.sleep(0)
        results = data.get("results")
        if data.get("error") or not isinstance(results, list) or len(results) != len(programs):
            raise JudgeUnavailableError(f"guard job failed: {data.get('error') or data}")
        if any(not isinstance(r, dict) or r.get("error") for r in results):
            raise JudgeUnavailableError("the judge could not judge some of the reply's code")
        return [bool(r.get("accepted")) for r in results]
