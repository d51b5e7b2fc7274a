"""Command-line applications of the tutor: ``codetutor llm …`` and ``codetutor tutor …``."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from traitlets import Bool, Unicode

from codetutor.cli import CodeTutorBaseApp, UsageError
from codetutor.tutor.auth import ServiceAuth
from codetutor.tutor.engine import LlamaCppEngine, OpenAIEngine
from codetutor.tutor.scheduler import Scheduler
from codetutor.tutor.service import LLMService, ServiceBase


def _run_service(service: ServiceBase) -> None:
    """Run ``service`` until SIGINT/SIGTERM, then stop it cleanly."""

    async def main() -> None:
        try:
            await service.start()
        except ValueError as e:
            raise UsageError(str(e)) from e
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stopped.set)
        await stopped.wait()
        service.log.info("shutting down")
        await service.stop()

    asyncio.run(main())


_service_classes: list[Any] = [ServiceAuth, Scheduler, LlamaCppEngine, OpenAIEngine]


class LLMServeApp(CodeTutorBaseApp):
    """``codetutor llm serve``: the shared OpenAI-compatible LLM service."""

    name = "llm serve"
    description = """Serve a GGUF model (default: the bundled small model) with an
    OpenAI-compatible API, a fair per-user queue, /health and /metrics. Listens on
    loopback unless --ip is given (then Hub auth or api_keys are required)."""

    classes = [LLMService, *_service_classes]

    config_file = Unicode("", help="Python config file to load (c.LLMService.port = …).").tag(
        config=True
    )

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

    def start(self) -> None:
        if self.extra_args:
            raise UsageError(f"unexpected argument {self.extra_args[0]!r}")
        if self.config_file:
            if not Path(self.config_file).is_file():
                raise UsageError(f"config file not found: {self.config_file}")
            self.load_config_file(self.config_file)
        model = self.config.LlamaCppEngine.get("model_path")
        if model and not Path(model).is_file():
            raise UsageError(f"model file not found: {model}")
        _run_service(LLMService(parent=self))


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


__all__ = ["Bool", "LLMApp", "LLMServeApp", "json"]
