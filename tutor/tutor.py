"""The tutor: grounded chat with a hint ladder and a solution guard, and code review.

:class:`Tutor` is the one manager the tutor service's handlers call. For each turn
it admits the request (rate limit and daily quota), builds the prompt from what the
student may see — the problem and their last verdict come from the judge service
(:attr:`Tutor.judge_class`, :mod:`codetutor.tutor.problems`) — asks the scheduler
for a generation, and releases the reply to the student only through the
:class:`~codetutor.tutor.guard.SolutionGuard`:

* text is released line by line; a line that could carry code (backticks, brackets,
  ``=``, keywords, indentation) is released only after the guard approved the whole
  reply up to and including it, and a fenced block only once it is closed;
* the complete reply is checked again at the end;
* a withheld reply stops the generation and is replaced by a fixed hint.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from traitlets import Any as AnyTrait
from traitlets import Enum, Float, Instance, Integer, Type, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor import elaboration, ladder, prompts, review
from codetutor.tutor.engine import GenerationRequest
from codetutor.tutor.exceptions import BadRequestError, RateLimitedError, TutorError
from codetutor.tutor.guard import GuardResult, SolutionGuard
from codetutor.tutor.memory import ChatMemory
from codetutor.tutor.metrics import RejectReason
from codetutor.tutor.problems import JudgeClient, LastVerdict, TutorProblem
from codetutor.tutor.quota import DailyQuota
from codetutor.tutor.scheduler import Scheduler

_MAYBE_CODE = re.compile(
    r"[`()\[\]{}=:;]|^\s{2,}\S|\b(?:def|return|for|while|import|lambda|print)\b", re.M
)
_FENCE_LINE = re.compile(r"^[ \t]{0,3}(?:`{3,}|~{3,})", re.M)
_PROBLEM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


#: what a student reads where the instructor turned the tutor off (metadata.codetutor.tutor)
TUTOR_OFF = {
    "en": "The tutor is turned off for this problem (exam practice): "
    "your instructor wants you to solve it on your own.",
    "ko": "이 문제에서는 튜터가 꺼져 있습니다(시험 연습): 선생님이 스스로 풀어 보기를 바랍니다.",
}


def _fences_closed(text: str) -> bool:
    return len(_FENCE_LINE.findall(text)) % 2 == 0


class Tutor(LoggingConfigurable):
    """Chat, hints and reviews for students (see the module docstring)."""

    scheduler = Instance(Scheduler)
    guard = Instance(SolutionGuard)
    memory = Instance(ChatMemory)
    quota = Instance(DailyQuota)
    rate_limiter = AnyTrait(
        help="Token buckets per user (default: the judge service's RateLimiter)."
    )

    judge_class = Type(
        default_value=JudgeClient,
        klass=JudgeClient,
        help="""Where problems and students' last verdicts come from: JudgeClient (the
        judge service's tutor endpoints, with this service's Hub token), or
        codetutor.judge.local.FolderJudge (problem folders in this process: the CLI,
        tests).""",
    ).tag(config=True)

    judge = Instance(JudgeClient)

    @default("judge")
    def _default_judge(self) -> JudgeClient:
        judge: JudgeClient = self.judge_class(parent=self)
        return judge

    rate_limit_class = Unicode(
        "ai", help="The RateLimiter limit class of tutor requests (SPEC: AI burst 5)."
    ).tag(config=True)
    max_history_messages = Integer(
        8, help="Earlier chat messages (user and tutor) kept per student and problem."
    ).tag(config=True)
    max_history_chars = Integer(
        6000, help="Characters of earlier messages sent to the model at most."
    ).tag(config=True)
    max_message_chars = Integer(4000, help="Longest student message accepted.").tag(config=True)
    max_code_chars = Integer(20000, help="Longest student code accepted.").tag(config=True)
    chat_max_tokens = Integer(256, help="max_tokens of a chat reply.").tag(config=True)
    review_max_tokens = Integer(
        256,
        help="""max_tokens of a review. Grammar-constrained decoding costs more per
        token than free text (llama-cpp-python checks the whole vocabulary).""",
    ).tag(config=True)
    temperature = Float(0.3, help="Sampling temperature of chat replies.").tag(config=True)
    seed = Integer(0, help="Sampling seed (fixed, so a reply can be reproduced).").tag(config=True)
    attempts_per_level = Integer(
        2, help="Failed submissions that raise the hint ladder by one rung."
    ).tag(config=True)
    deadline_s = Float(90.0, help="Deadline of one generation, queue wait included.").tag(
        config=True
    )

    model_mode = Enum(
        ["auto", *prompts.MODEL_MODES],
        "auto",
        help="""How the model is used: chat (it follows a chat template), completion (a
        base model: it continues a few-shot note after the tutor's own grounded text),
        off (no model text: instructor hints and test facts only), or auto (completion
        for a GGUF without a chat template or a model whose probe reply echoes its
        prompt, else chat).""",
    ).tag(config=True)
    base_model_mode = Enum(
        ["completion", "off"],
        "off",
        help="""What model_mode 'auto' picks for a model that cannot chat (no chat template,
        or a probe reply that echoes): 'off' (no model text; default, because the bundled
        270M base model's few-shot notes were rarely useful in bench/tutor_quality.py) or
        'completion' (a few-shot note after the grounded text, kept only when it is about
        the failing test).""",
    ).tag(config=True)
    completion_max_tokens = Integer(
        48, help="max_tokens of a base model's few-shot note (completion mode)."
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mode = ""

    @default("guard")
    def _default_guard(self) -> SolutionGuard:
        return SolutionGuard(parent=self)

    @default("memory")
    def _default_memory(self) -> ChatMemory:
        return ChatMemory(parent=self)

    @default("quota")
    def _default_quota(self) -> DailyQuota:
        return DailyQuota(parent=self)

    @default("rate_limiter")
    def _default_rate_limiter(self) -> Any:
        from codetutor.ratelimit import RateLimiter

        return RateLimiter(parent=self)

    # -- problems and admission ------------------------------------------

    async def get_problem(self, problem_id: str, user: str | None = None) -> TutorProblem:
        """Coroutine: the newest version of ``problem_id``, from :attr:`judge`, for ``user``.

        Raises :class:`BadRequestError` for a malformed id, :class:`ProblemError` for
        an unknown problem, :class:`ExamInProgressError` while ``user`` is in an exam,
        :class:`JudgeUnavailableError` when the judge cannot say.
        """
        if not isinstance(problem_id, str) or not _PROBLEM_ID.match(problem_id):
            raise BadRequestError("problem_id must be a problem's id")
        return await self.judge.problem(problem_id, user=user)

    async def last_verdict(self, user: str, problem_id: str) -> LastVerdict:
        """Coroutine: ``user``'s last verdict on ``problem_id`` from the judge (empty if unknown).

        The chat is grounded in it; when the judge cannot say, the chat goes on without.
        """
        try:
            return await self.judge.last_verdict(user, problem_id)
        except TutorError as e:
            self.log.info("tutor: no verdict of %s on %s: %s", user, problem_id, e)
            return LastVerdict()

    async def close(self) -> None:
        """Coroutine: release the judge client, the guard and Redis connections (if opened)."""
        await self.memory.close()
        await self.judge.close()
        await self.guard.close()

    async def admit(self, user: str, endpoint: str, groups: list[str] | None = None) -> None:
        """Coroutine: charge one request to ``user``; raise RateLimitedError past a limit."""
        from codetutor.tutor import metrics

        decision = await self.rate_limiter.hit(self.rate_limit_class, endpoint, user)
        if not decision.allowed:
            metrics.LLM_REJECTED.labels(reason=RejectReason.rate_limited.value).inc()
            raise RateLimitedError(
                f"{user} rate-limited on {endpoint}",
                int(decision.retry_after_header),
                "Too many tutor requests; wait a moment.",
            )
        quota = await self.quota.take(user, groups)
        if not quota.allowed:
            metrics.LLM_REJECTED.labels(reason=RejectReason.quota_exhausted.value).inc()
            raise RateLimitedError(
                f"{user} used today's quota of {quota.limit}",
                quota.retry_after_s,
                f"You have used today's {quota.limit} tutor requests; more tomorrow.",
            )

    # -- chat ----------------------------------------------------------------

    async def history(self, user: str, problem_id: str) -> list[dict[str, str]]:
        """Coroutine: the bounded history of ``user`` on ``problem_id`` (theirs only)."""
        messages = await self.memory.turns(user, problem_id)
        messages = messages[-max(2, self.max_history_messages) :]
        total = 0
        kept: list[dict[str, str]] = []
        for message in reversed(messages):
            total += len(message["content"])
            if total > self.max_history_chars:
                break
            kept.append(message)
        kept.reverse()
        # A history must start with the student's turn for strict chat templates.
        while kept and kept[0]["role"] != "user":
            kept.pop(0)
        return kept

    async def _guard_check(
        self, problem: TutorProblem, text: str, user: str, code: str
    ) -> GuardResult:
        """Coroutine: the guard on ``text`` as part of the conversation (earlier replies, code)."""
        earlier = [
            m["content"]
            for m in await self.memory.turns(user, problem.id)
            if m["role"] == "assistant"
        ]
        return await self.guard.check(problem, text, earlier=earlier, code=code)

    async def _remember(self, user: str, problem_id: str, question: str, answer: str) -> None:
        turns = [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        await self.memory.remember(user, problem_id, turns, self.max_history_messages)

    async def forget(self, user: str, problem_id: str | None = None) -> None:
        """Coroutine: drop ``user``'s chat history (on one problem, or all) and hint counts."""
        await self.memory.forget(user, problem_id)

    async def chat(
        self,
        *,
        user: str,
        problem_id: str,
        message: str,
        code: str = "",
        verdict: dict[str, Any] | None = None,
        lang: str | None = None,
        hint: bool = False,
        attempts: int = 0,
        groups: list[str] | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """Answer one student turn, as events.

        Yields ``{"type": "token", "text"}`` pieces, possibly ``{"type": "replace",
        "text", "reason"}`` (the reply so far is withheld: show this instead), then
        ``{"type": "done", "lang", "level", "withheld"}``. Raises
        :class:`RateLimitedError`, :class:`QueueFullError`, :class:`BadRequestError`,
        :class:`ProblemError` before the first event. Closing the iterator early
        cancels the generation. Without ``verdict``, the student's last verdict and
        failed attempts are asked of the judge.
        """
        if not isinstance(message, str) or not message.strip():
            if not hint:
                raise BadRequestError("message must be non-empty text")
            message = ""
        if len(message) > self.max_message_chars or len(code or "") > self.max_code_chars:
            raise BadRequestError("message or code too long")
        problem = await self.get_problem(problem_id, user=user)
        if not problem.enabled:
            language = prompts.choose_language(lang, message or code)
            yield {"type": "token", "text": TUTOR_OFF[language]}
            yield {
                "type": "done",
                "lang": language,
                "level": None,
                "line": None,
                "withheld": False,
                "sources": [],
                "disabled": True,
            }
            return
        await self.admit(user, "chat", groups)
        if verdict is None:
            last = await self.last_verdict(user, problem_id)
            verdict, attempts = last.verdict, max(attempts, last.attempts)
        language = prompts.choose_language(lang, message or code)
        asked = await self.memory.count_hint(user, problem_id) if hint else 0
        if hint and not message:
            message = "힌트를 주세요." if language == "ko" else "Can I have a hint?"
        plan = ladder.plan(
            problem,
            verdict,
            code or "",
            language,
            hint=hint,
            asked=asked,
            attempts=max(0, int(attempts)),
            message=message,
            attempts_per_level=self.attempts_per_level,
        )
        sources = list(plan.sources)
        line = plan.line
        level = plan.model_level or (prompts.HintLevel.NUDGE if hint else None)
        done = {
            "type": "done",
            "lang": language,
            "level": plan.level,
            "line": line,
            "withheld": False,
            "mode": "",
        }
        prefix = plan.text
        if prefix:
            # the tutor's own text goes out before any model is asked (or probed)
            yield {"type": "token", "text": prefix}
        mode = await self.model_mode_now(user)
        done["mode"] = mode
        history = await self.history(user, problem_id) if mode == "chat" else []
        request = elaboration.model_request(
            user=user,
            problem=problem,
            code=code or "",
            verdict=verdict,
            language=language,
            plan=plan,
            mode=mode,
            history=history,
            message=message,
            max_tokens=self.chat_max_tokens,
            completion_max_tokens=self.completion_max_tokens,
            temperature=self.temperature,
            seed=self.seed,
        )
        if request is None:
            if not prefix:
                prefix = "\n".join(plan.fact_lines)
                yield {"type": "token", "text": prefix}
                sources.append(ladder.SOURCE_GROUNDED)
            await self._remember(user, problem_id, message, prefix)
            yield {**done, "sources": sources, "reason": "no model text"}
            return
        instructions = prompts.instruction_texts()
        echo_context = (request.prompt or "") + "\n".join(
            m["content"] for m in request.messages or []
        )
        job = self.scheduler.submit(request, deadline_s=self.deadline_s)
        separator = "\n\n" if prefix else ""
        released = ""
        pending: list[str] = []
        reason = ""
        try:
            async for chunk in job.stream():
                if not chunk.text:
                    continue
                pending.append(chunk.text)
                text = "".join(pending)
                cut = text.rfind("\n") + 1
                if not cut or not _fences_closed(released + text[:cut]):
                    continue
                segment = text[:cut]
                if prompts.echoes_prompt(released + segment, instructions, echo_context):
                    job.cancel("the model echoes its prompt")
                    reason, pending = "model text withheld: it repeats the tutor's prompt", []
                    break
                if _MAYBE_CODE.search(segment) or problem.avoid:
                    verdict_now = await self._guard_check(
                        problem, released + segment, user, code or ""
                    )
                    if not verdict_now.allowed:
                        job.cancel("withheld by the guard")
                        async for event in self._withhold(
                            user,
                            problem,
                            message,
                            language,
                            level or prompts.HintLevel.NUDGE,
                            line,
                            verdict_now.reason,
                            prefix,
                            sources,
                            mode,
                            plan.level,
                        ):
                            yield event
                        return
                if segment.strip() or released:
                    yield {"type": "token", "text": (separator if not released else "") + segment}
                    released += segment
                pending = [text[cut:]] if text[cut:] else []
            rest = "".join(pending)
            if rest and prompts.echoes_prompt(released + rest, instructions, echo_context):
                reason, rest = "model text withheld: it repeats the tutor's prompt", ""
            if rest and not released and prompts.detect_language(rest, language) != language:
                reason, rest = "model text withheld: not in the student's language", ""
            if (
                rest
                and mode == "completion"
                and not prompts.about_fact(released + rest, plan.fact_lines[:1])
            ):
                reason, rest = "model text withheld: not about the failing test", ""
            final = await self._guard_check(problem, released + rest, user, code or "")
            if not final.allowed:
                async for event in self._withhold(
                    user,
                    problem,
                    message,
                    language,
                    level or prompts.HintLevel.NUDGE,
                    line,
                    final.reason,
                    prefix,
                    sources,
                    mode,
                    plan.level,
                ):
                    yield event
                return
            if rest.strip():
                yield {"type": "token", "text": (separator if not released else "") + rest}
                released += rest
            if released.strip():
                sources.append(ladder.SOURCE_MODEL)
            elif not prefix:
                prefix = "\n".join(plan.fact_lines)
                sources.append(ladder.SOURCE_GROUNDED)
                yield {"type": "token", "text": prefix}
            reply = prefix + (separator + released if released.strip() else "")
            await self._remember(user, problem_id, message, reply)
            yield {**done, "sources": sources, "reason": reason}
        finally:
            if not job.done:
                job.cancel("client went away")

    async def model_mode_now(self, user: str = "tutor") -> str:
        """Coroutine: how the model is used (one of :data:`prompts.MODEL_MODES`).

        :attr:`model_mode` unless it is ``auto``: then :attr:`base_model_mode` for an
        engine that reports no chat template, ``chat`` for one that has one, and for
        an engine that cannot say, a probe (:func:`elaboration.probe_mode`). Decided
        once; a probe that fails leaves the decision for the next turn and answers
        ``off`` meanwhile.
        """
        if self.model_mode != "auto":
            return self.model_mode
        if not self._mode:
            decided = await elaboration.probe_mode(
                self.scheduler,
                user=user,
                base_model_mode=self.base_model_mode,
                seed=self.seed,
                deadline_s=self.deadline_s,
                log=self.log,
            )
            if not decided:
                return "off"
            self._mode = decided
        return self._mode

    async def _withhold(
        self,
        user: str,
        problem: TutorProblem,
        message: str,
        language: str,
        level: prompts.HintLevel,
        line: int | None,
        reason: str,
        prefix: str = "",
        sources: list[str] | None = None,
        mode: str = "",
        shown_level: int | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        text = prefix or prompts.fallback_hint(language, level, list(problem.tags), line)
        await self._remember(user, problem.id, message, text)
        yield {"type": "replace", "text": text, "reason": reason}
        yield {
            "type": "done",
            "lang": language,
            "level": shown_level or int(level),
            "line": line,
            "withheld": True,
            "sources": list(sources or []) or [ladder.SOURCE_GROUNDED],
            "reason": reason,
            "mode": mode,
        }

    # -- review ----------------------------------------------------------------

    async def review(
        self,
        *,
        user: str,
        code: str,
        problem_id: str | None = None,
        lang: str | None = None,
        groups: list[str] | None = None,
    ) -> dict[str, Any]:
        """Coroutine: review ``code``; returns ``{"findings": [...], "model_ok": bool, "lang"}``.

        Findings are schema-valid always: the model's output is validated and dropped
        whole when malformed (``model_ok`` false), and a model finding whose text
        the guard withholds is dropped.
        """
        if not isinstance(code, str) or not code.strip():
            raise BadRequestError("code must be non-empty text")
        if len(code) > self.max_code_chars:
            raise BadRequestError("code too long")
        problem = await self.get_problem(problem_id, user=user) if problem_id else None
        if problem is not None and not problem.enabled:
            language = prompts.choose_language(lang, code)
            return {
                "findings": [],
                "model_ok": False,
                "lang": language,
                "disabled": True,
                "message": TUTOR_OFF[language],
            }
        await self.admit(user, "review", groups)
        language = prompts.choose_language(lang, code)
        statement = problem.statement if problem is not None else ""
        request = GenerationRequest(
            user=user,
            messages=review.review_messages(code, language, statement),
            max_tokens=self.review_max_tokens,
            temperature=0.0,
            seed=self.seed,
            json_schema=review.REVIEW_SCHEMA,
        )
        job = self.scheduler.submit(request, deadline_s=self.deadline_s)
        try:
            text = "".join([chunk.text async for chunk in job.stream()])
        finally:
            if not job.done:
                job.cancel("client went away")
        line_count = len(code.splitlines())
        model_findings = review.parse_model_findings(text, line_count)
        model_ok = model_findings is not None
        if model_findings is None:
            self.log.info("dropped malformed review output for %s (%d chars)", user, len(text))
            model_findings = []
        if problem is not None:
            model_findings = await review.guarded_findings(
                self.guard, problem, model_findings, code=code
            )
        ruff = await review.ruff_findings(code)
        findings = review.merge_findings(model_findings, ruff)
        return {
            "findings": [f.to_dict() for f in findings],
            "model_ok": model_ok,
            "lang": language,
        }
