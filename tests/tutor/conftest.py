"""Fixtures for the tutor tests.

The main path uses the real bundled model through the real service: one
``codetutor llm serve`` process per test session (``llm_url``). Tests about the
scheduler or the guard use :class:`ScriptedEngine`, a fake engine that replies
with scripted text at a fixed pace and records what happened to each request.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets import Float, Integer, List, Unicode
from traitlets.config import Config

from codetutor.tutor.engine import CancelToken, Chunk, Engine, GenerationRequest, Usage
from codetutor.tutor.service import LLMService, ServiceBase, TutorService

FILES = Path(__file__).resolve().parent / "files"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ScriptedEngine(Engine):
    """Fake engine: answers every request with the next of :attr:`replies`, word by word.

    Records the users in the order their generations started (:attr:`started`),
    those whose generation was cancelled (:attr:`cancelled`), and every request.
    """

    replies = List(Unicode(), ["one two three four five six seven eight nine ten"]).tag(config=True)
    token_delay = Float(0.01).tag(config=True)
    sequences = Integer(1).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.finished: list[str] = []
        self.requests: list[GenerationRequest] = []
        self._next = 0

    @property
    def model_name(self) -> str:
        return "scripted"

    @property
    def parallel(self) -> int:
        return self.sequences

    @property
    def chat_capable(self) -> bool | None:
        return True  # a scripted chat model: the tutor sends it chat messages

    async def generate(
        self, request: GenerationRequest, cancel: CancelToken
    ) -> AsyncGenerator[Chunk, None]:
        self.started.append(request.user)
        self.requests.append(request)
        text = self.replies[self._next % len(self.replies)]
        self._next += 1
        tokens = re.findall(r"\S+\s*|\s+", text)
        sent = 0
        for token in tokens[: request.max_tokens]:
            await asyncio.sleep(self.token_delay)
            if cancel.cancelled:
                self.cancelled.append(request.user)
                yield Chunk("", "length", Usage(0, sent))
                return
            sent += 1
            yield Chunk(token)
        self.finished.append(request.user)
        yield Chunk("", "stop" if sent == len(tokens) else "length", Usage(0, sent))


class Running:
    """An in-process service listening on loopback, and its base URL."""

    def __init__(self, service: ServiceBase) -> None:
        self.service = service
        self.url = f"http://127.0.0.1:{service.port}"

    @property
    def engine(self) -> Any:
        return self.service.engine


@pytest.fixture
async def start_service() -> AsyncIterator[Any]:
    """Factory: ``await start_service(LLMService, config)`` starts a service on a free port."""
    started: list[ServiceBase] = []

    async def start(cls: type[ServiceBase], config: Config) -> Running:
        service = cls(config=config, port=free_port())
        await service.start()
        started.append(service)
        return Running(service)

    yield start
    for service in started:
        await service.stop()


def local_judge(c: Config) -> Config:
    """``c`` with the judge in this process: problems from :data:`FILES`, guard judged here.

    Tests only (and the CLI): the tutor service reaches the judge service otherwise.
    """
    c.Tutor.judge_class = "codetutor.judge.local.FolderJudge"
    c.FolderJudge.problem_dirs = [str(FILES)]
    c.SolutionGuard.checker_class = "codetutor.judge.local.LocalChecker"
    return c


def scripted_config(**engine: Any) -> Config:
    c = Config()
    c.LLMService.engine_class = ScriptedEngine
    c.TutorService.engine_class = ScriptedEngine
    for key, value in engine.items():
        setattr(c.ScriptedEngine, key, value)
    return c


@pytest.fixture
async def scripted(start_service: Any) -> Running:
    """An LLM service over a ScriptedEngine with default bounds."""
    running: Running = await start_service(LLMService, scripted_config())
    return running


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"codetutor llm serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if json.loads(response.read())["status"] == "ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("codetutor llm serve did not become healthy")


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of a real ``codetutor llm serve`` with the bundled model (one per session)."""
    port = free_port()
    log = tmp_path_factory.mktemp("llm") / "serve.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            # One sequence: tests that assert content at temperature 0 then always
            # decode in the same context (several contexts are tested in test_batched).
            [
                sys.executable,
                "-m",
                "codetutor",
                "llm",
                "serve",
                "--port",
                str(port),
                "--parallel",
                "1",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def metric_value(text: str, name: str, labels: str = "") -> float:
    """The value of one sample in a Prometheus exposition (0 when absent)."""
    pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+-]+)"
    match = re.search(r"^" + pattern + r"$", text, re.M)
    return float(match.group(1)) if match else 0.0


async def open_stream(url: str, path: str, body: dict[str, Any]) -> tuple[Any, Any]:
    """POST ``body`` over a raw socket; returns (reader, writer) after the response head."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    payload = json.dumps(body).encode()
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\nContent-Length: {len(payload)}\r\n\r\n".encode()
        + payload
    )
    await writer.drain()
    return reader, writer


async def read_events(reader: Any, count: int, within_s: float = 60) -> list[str]:
    """Read ``count`` SSE ``data:`` payloads from a raw response (head skipped)."""
    events: list[str] = []

    async def read() -> None:
        while len(events) < count:
            line = await reader.readline()
            if not line:
                return
            text = line.decode().strip()
            if text.startswith("data:"):
                events.append(text[5:].strip())
                if events[-1] == "[DONE]":
                    return

    await asyncio.wait_for(read(), within_s)
    return events


__all__ = ["FILES", "LLMService", "TutorService", "local_judge", "metric_value"]
