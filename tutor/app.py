"""Command-line applications of the tutor: ``codetutor llm …`` and ``codetutor tutor …``."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

from traitlets import Bool, Unicode

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.ratelimit import RateLimiter
from codetutor.tutor.auth import ServiceAuth
from codetutor.tutor.engine import LlamaCppEngine, OpenAIEngine
from codetutor.tutor.exceptions import TutorError
from codetutor.tutor.guard import SolutionGuard
from codetutor.tutor.memory import ChatMemory
from codetutor.tutor.problems import JudgeClient
from codetutor.tutor.quota import DailyQuota
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
    }

    def start(self) -> None:
        if self.subapp is None:
            raise UsageError("missing subcommand; choose one of: check-reply, serve")
        self.subapp.start()
