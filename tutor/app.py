"""Command-line applications of the tutor: ``codetutor llm …`` and ``codetutor tutor …``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from traitlets import Bool, Float, Type, Unicode

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.ratelimit import RateLimiter
from codetutor.tutor.auth import ServiceAuth
from codetutor.tutor.engine import Engine, LlamaCppEngine
from codetutor.tutor.exceptions import TutorError
from codetutor.tutor.guard import SolutionGuard
from codetutor.tutor.memory import ChatMemory
from codetutor.tutor.problems import JudgeClient
from codetutor.tutor.quota import DailyQuota
from codetutor.tutor.remote import OpenAIEngine
from codetutor.tutor.scheduler import Scheduler
from codetutor.tutor.service import LLMService, ServiceBase, TutorService
from codetutor.tutor.tutor import Tutor
from codetutor.web import HubServiceApp


class ServeApp(HubServiceApp):
    """Base of ``llm serve`` and ``tutor serve``: run one service until SIGTERM/SIGINT.

    Config file, JSON logs and signals are :class:`~codetutor.web.HubServiceApp`'s;
    the service (:class:`~codetutor.tutor.service.ServiceBase`) listens itself.
    """

    logger_name = "codetutor.tutor"
    service_class: ClassVar[type[ServiceBase]] = ServiceBase
    service: ServiceBase | None = None

    def make_service(self) -> ServiceBase:
        return self.service_class(parent=self)

    async def start_service(self) -> None:
        self.service = self.make_service()
        try:
            await self.service.start()
        except ValueError as e:
            raise UsageError(str(e)) from e

    async def stop_service(self) -> None:
        if self.service is not None:
            await self.service.stop()


_service_classes: list[Any] = [ServiceAuth, Scheduler, LlamaCppEngine, OpenAIEngine]


class LLMServeApp(ServeApp):
    """``codetutor llm serve``: the shared OpenAI-compatible LLM service."""

    name = "llm serve"
    description = """Serve a GGUF model (default: the bundled small model) with an
    OpenAI-compatible API, a fair per-user queue, /health and /metrics. Listens on
    loopback unless --ip is given (then Hub auth or api_keys are required)."""

    classes = [LLMService, *_service_classes]
    service_class = LLMService

    aliases: Any = {
        "model": "LlamaCppEngine.model_path",
        "port": "LLMService.port",
        "ip": "LLMService.ip",
        "gpu-layers": "LlamaCppEngine.n_gpu_layers",
        "parallel": "LlamaCppEngine.parallel_sequences",
        "ctx": "LlamaCppEngine.n_ctx",
        "engine": "LLMService.engine_class",
        "config": "LLMServeApp.config_file",
    }

    def check_settings(self) -> None:
        super().check_settings()
        model = self.config.LlamaCppEngine.get("model_path")
        if model and not Path(model).is_file():
            raise UsageError(f"model file not found: {model}")


class LLMApp(CodeTutorBaseApp):
    """``codetutor llm``: the shared LLM service's commands."""

    name = "llm"
    description = "The shared LLM service."
    subcommands: Any = {
        "serve": (
            "codetutor.tutor.app.LLMServeApp",
            "Serve a model with an OpenAI-compatible API.",
        ),
    }

    def start(self) -> None:
        if self.subapp is None:
            raise UsageError("missing subcommand; choose one of: serve")
        self.subapp.start()


class TutorServeApp(ServeApp):
    """``codetutor tutor serve``: the tutor service (chat, hints, review)."""

    name = "tutor serve"
    description = """Serve the tutor's chat (WebSocket), hint and review API with a
    guarded, grounded LLM. By default the model runs in-process (the bundled small
    model, or --model); --llm-url points it at a shared OpenAI-compatible service."""

    classes = [
        TutorService,
        Tutor,
        SolutionGuard,
        JudgeClient,
        DailyQuota,
        ChatMemory,
        RateLimiter,
        *_service_classes,
    ]

    service_class = TutorService

    llm_url = Unicode(
        "", help="Use this OpenAI-compatible endpoint (…/v1) instead of an in-process model."
    ).tag(config=True)

    aliases: Any = {
        "model": "LlamaCppEngine.model_path",
        "port": "TutorService.port",
        "ip": "TutorService.ip",
        "gpu-layers": "LlamaCppEngine.n_gpu_layers",
        "judge-url": "JudgeClient.url",
        "llm-url": "TutorServeApp.llm_url",
        "config": "TutorServeApp.config_file",
    }

    def make_service(self) -> ServiceBase:
        if self.llm_url:
            self.config.TutorService.engine_class = OpenAIEngine
            self.config.OpenAIEngine.api_url = self.llm_url
        return super().make_service()


class CheckReplyApp(CodeTutorBaseApp):
    """``codetutor tutor check-reply PROBLEM.ipynb REPLY.md [--json]``."""

    name = "tutor check-reply"
    description = """Run the solution guard on a candidate tutor reply: prints whether it
    may be shown to a student and why. Exit 0 either way, 2 on bad input."""

    classes = [SolutionGuard]

    json_output = Bool(False, help="Print one JSON object.").tag(config=True)
    flags: Any = {
        **CodeTutorBaseApp.flags,
        "json": ({"CheckReplyApp": {"json_output": True}}, "Print one JSON object."),
    }

    def start(self) -> None:
        problem_path, reply_path = self.positional(2, "PROBLEM.ipynb REPLY.md [--json]")
        # A command-line tool may judge in its own process (a service never does).
        self.config.SolutionGuard.checker_class = "codetutor.judge.local.LocalChecker"
        guard = SolutionGuard(parent=self)
        try:
            problem = guard.checker.load(problem_path)  # type: ignore[attr-defined]
        except TutorError as e:
            raise UsageError(str(e)) from e
        try:
            reply = Path(reply_path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"cannot read {reply_path}: {e}") from e

        async def check() -> dict[str, Any]:
            try:
                result = await guard.check(problem, reply)
            finally:
                await guard.close()
            return {"allowed": result.allowed, "reason": result.reason}

        outcome = asyncio.run(check())
        if self.json_output:
            print(json.dumps(outcome, ensure_ascii=False))
        else:
            print(("allowed: " if outcome["allowed"] else "withheld: ") + outcome["reason"])


def read_submission(path: str) -> str:
    """The student's code in a ``.py`` file or the code cells of a ``.ipynb``.

    Raises :class:`UsageError` for a missing, unreadable or malformed file.
    """
    file = Path(path)
    if file.suffix not in (".py", ".ipynb"):
        raise UsageError(f"{path}: a submission is a .ipynb notebook or a .py file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    if file.suffix == ".py":
        return text
    try:
        cells = json.loads(text)["cells"]
        return "\n\n".join(
            "".join(c["source"]) if isinstance(c["source"], list) else str(c["source"])
            for c in cells
            if c.get("cell_type") == "code"
        )
    except (ValueError, KeyError, TypeError) as e:
        raise UsageError(f"{path} is not a Jupyter notebook: {e}") from None


async def ask_tutor(
    tutor: Tutor,
    problem_id: str,
    code: str,
    verdict: dict[str, Any] | None,
    question: str,
    *,
    hint: bool = False,
    lang: str | None = None,
    user: str = "student",
) -> dict[str, Any]:
    """Coroutine: one turn of :meth:`Tutor.chat` collected as ``tutor ask --json`` prints it.

    Returns ``{"reply", "hint_level", "sources", "withheld", "reason"}`` plus
    ``"mode"``, ``"lang"``, ``"first_token_s"`` (seconds to the first text) and
    ``"model_first_s"`` (seconds to the model's first text, when it was kept).
    """
    started = time.perf_counter()
    first: float | None = None
    tokens: list[float] = []
    reply = ""
    done: dict[str, Any] = {}
    async for event in tutor.chat(
        user=user,
        problem_id=problem_id,
        message=question,
        code=code,
        verdict=verdict or {},
        lang=lang,
        hint=hint,
    ):
        if event["type"] == "token":
            tokens.append(time.perf_counter() - started)
            first = first if first is not None else tokens[0]
            reply += event["text"]
        elif event["type"] == "replace":
            first = first if first is not None else time.perf_counter() - started
            reply = event["text"]
        elif event["type"] == "done":
            done = event
    return {
        "reply": reply,
        "hint_level": done.get("level"),
        "sources": list(done.get("sources") or []),
        "withheld": bool(done.get("withheld")),
        "reason": done.get("reason") or "",
        "mode": done.get("mode"),
        "lang": done.get("lang"),
        "first_token_s": round(first, 3) if first is not None else None,
        # the tutor's own text is one event; the model's text follows it
        "model_first_s": (
            round(tokens[1 if done.get("sources", [""])[0] != "model" else 0], 3)
            if "model" in (done.get("sources") or []) and len(tokens) > 1
            else None
        ),
    }


class AskApp(CodeTutorBaseApp):
    """``codetutor tutor ask PROBLEM.ipynb SUBMISSION.(ipynb|py) QUESTION [--hint] [--lang ko|en] [--json]``."""

    name = "tutor ask"
    description = """Ask the tutor one question about a submission, offline, on the chat's
    path: judge the submission (the local judge, in sandboxes), ground the reply in the
    verdict, climb the hint ladder (--hint), let the model phrase it, guard it. --json
    prints {"reply", "hint_level", "sources", "withheld", "reason"}. Exit 0 on any reply,
    2 on bad input."""
    classes = [Tutor, SolutionGuard, Scheduler, LlamaCppEngine, OpenAIEngine]

    json_output = Bool(False, help="Print one JSON object.").tag(config=True)
    hint = Bool(False, help="Ask for the next hint instead of answering a question.").tag(
        config=True
    )
    lang = Unicode("", help="The reply's language: ko or en (default: the question's).").tag(
        config=True
    )
    llm_url = Unicode(
        "", help="Use this OpenAI-compatible endpoint (…/v1) instead of an in-process model."
    ).tag(config=True)
    engine_class = Type(default_value=LlamaCppEngine, klass=Engine, help="The LLM engine.").tag(
        config=True
    )
    judge_timeout_s = Float(300.0, help="Longest wait for the judge's verdict.").tag(config=True)

    aliases: Any = {
        "lang": "AskApp.lang",
        "model": "LlamaCppEngine.model_path",
        "llm-url": "AskApp.llm_url",
        "mode": "Tutor.model_mode",
    }
    flags: Any = {
        **CodeTutorBaseApp.flags,
        "json": ({"AskApp": {"json_output": True}}, "Print one JSON object."),
        "hint": ({"AskApp": {"hint": True}}, "Ask for the next hint."),
    }

    def judge_submission(self, problem_path: str, submission_path: str) -> dict[str, Any]:
        """The student's view of the submission's verdict, from ``codetutor judge --json``.

        The judge runs as its own command (the tutor imports nothing of the judge);
        raises :class:`UsageError` when the judge calls the input bad.
        """
        command = [sys.executable, "-m", "codetutor", "judge", problem_path, submission_path]
        try:
            done = subprocess.run(
                [*command, "--json"],
                capture_output=True,
                text=True,
                timeout=self.judge_timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(f"the judge took longer than {self.judge_timeout_s:g} s") from None
        if done.returncode == 2:
            lines = done.stderr.strip().splitlines() or ["the judge refused the input"]
            raise UsageError(lines[-1].removeprefix("codetutor: "))
        try:
            verdict: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.log.warning("no verdict from the judge: %s", done.stderr.strip()[-500:])
            return {}
        return verdict

    def start(self) -> None:
        problem_path, submission_path, question = self.positional(
            3, "PROBLEM.ipynb SUBMISSION.(ipynb|py) QUESTION [--hint] [--lang ko|en] [--json]"
        )
        if self.lang not in ("", "ko", "en"):
            raise UsageError(f"--lang must be ko or en, not {self.lang!r}")
        if not question.strip() and not self.hint:
            raise UsageError("QUESTION must be non-empty text (or use --hint)")
        # A command-line tool may judge in its own process (a service never does).
        self.config.SolutionGuard.checker_class = "codetutor.judge.local.LocalChecker"
        guard = SolutionGuard(parent=self)
        try:
            problem = guard.checker.load(problem_path)  # type: ignore[attr-defined]
        except TutorError as e:
            raise UsageError(str(e)) from e
        code = read_submission(submission_path)
        verdict = self.judge_submission(problem_path, submission_path)
        if self.llm_url:
            self.config.OpenAIEngine.api_url = self.llm_url
            self.engine_class = OpenAIEngine
        outcome = asyncio.run(self._ask(guard, problem.id, code, verdict, question))
        if self.json_output:
            keys = ("reply", "hint_level", "sources", "withheld", "reason")
            print(json.dumps({k: outcome[k] for k in keys}, ensure_ascii=False))
        else:
            print(outcome["reply"])

    async def _ask(
        self,
        guard: SolutionGuard,
        problem_id: str,
        code: str,
        verdict: dict[str, Any],
        question: str,
    ) -> dict[str, Any]:
        engine: Engine = self.engine_class(parent=self)
        scheduler = Scheduler(parent=self, engine=engine)
        tutor = Tutor(
            parent=self,
            scheduler=scheduler,
            guard=guard,
            judge=guard.checker.folders,  # type: ignore[attr-defined]
        )
        try:
            if tutor.model_mode != "off":
                await engine.start()
                scheduler.start()
            return await ask_tutor(
                tutor, problem_id, code, verdict, question, hint=self.hint, lang=self.lang or None
            )
        finally:
            await scheduler.stop()
            await tutor.close()
            await engine.stop()


class TutorApp(CodeTutorBaseApp):
    """``codetutor tutor``: the tutor's commands."""

    name = "tutor"
    description = "The AI tutor: its service and the solution guard."
    subcommands: Any = {
        "serve": ("codetutor.tutor.app.TutorServeApp", "Serve the tutor API."),
        "check-reply": (
            "codetutor.tutor.app.CheckReplyApp",
            "Check a candidate reply with the solution guard.",
        ),
        "ask": (
            "codetutor.tutor.app.AskApp",
            "Ask the tutor about a submission offline (judge, ground, ladder, model, guard).",
        ),
    }

    def start(self) -> None:
        if self.subapp is None:
            raise UsageError("missing subcommand; choose one of: ask, check-reply, serve")
        self.subapp.start()
