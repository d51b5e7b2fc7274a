"""An engine that streams from any OpenAI-compatible HTTP endpoint: our own
``codetutor llm serve``, llama.cpp's ``llama-server``, vLLM (see :mod:`.engine`)."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncGenerator
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from traitlets import Float, Integer, Unicode, default

from codetutor.tutor.engine import CancelToken, Chunk, Engine, GenerationRequest, Usage
from codetutor.tutor.exceptions import EngineError


class _StopStreaming(Exception):
    """Raised inside the HTTP streaming callback to drop a cancelled connection."""


class OpenAIEngine(Engine):
    """Any OpenAI-compatible HTTP endpoint (``/v1/chat/completions``, ``/v1/completions``).

    Streams with server-sent events. Cancelling closes the connection, which makes
    a well-behaved server (ours included) stop generating. JSON-schema requests are
    sent as ``response_format: {"type": "json_object", "schema": …}`` (llama.cpp
    servers) plus the standard ``json_schema`` form.
    """

    api_url = Unicode(
        "http://127.0.0.1:8765/v1",
        help="Base URL of the OpenAI-compatible API, up to and including /v1.",
    ).tag(config=True)
    api_key = Unicode(
        "",
        help="Bearer token sent to the endpoint (a Hub API token for our own service).",
    ).tag(config=True)
    model = Unicode("", help="Model name sent in requests; empty: the first in /v1/models.").tag(
        config=True
    )
    concurrency = Integer(
        4, help="Requests this client keeps in flight at once (the endpoint may queue more)."
    ).tag(config=True)
    request_timeout = Float(300.0, help="Seconds before an HTTP request is abandoned.").tag(
        config=True
    )

    @default("api_key")
    def _default_api_key(self) -> str:
        return os.environ.get("CODETUTOR_LLM_API_KEY", "")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._resolved_model = ""

    @property
    def model_name(self) -> str:
        return self.model or self._resolved_model or "unknown"

    @property
    def parallel(self) -> int:
        return max(1, self.concurrency)

    @property
    def chat_capable(self) -> bool | None:
        return None  # the endpoint's template is not visible: the tutor probes

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def start(self) -> None:
        if self.model or self._resolved_model:
            return
        try:
            response = await AsyncHTTPClient().fetch(
                self.api_url.rstrip("/") + "/models",
                headers=self._headers(),
                request_timeout=30,
            )
            models = json.loads(response.body)["data"]
            self._resolved_model = models[0]["id"] if models else ""
        except (OSError, HTTPClientError, KeyError, ValueError) as e:
            raise EngineError(f"cannot list models at {self.api_url}: {e}") from e

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_name,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "stream": True,
            "user": request.user,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = request.stop
        if request.messages is not None:
            body["messages"] = request.messages
        else:
            body["prompt"] = request.prompt
        if request.json_schema is not None:
            body["response_format"] = {
                "type": "json_object",
                "schema": request.json_schema,
                "json_schema": {"name": "output", "schema": request.json_schema},
            }
        return body

    async def generate(
        self, request: GenerationRequest, cancel: CancelToken
    ) -> AsyncGenerator[Chunk, None]:
        await self.start()
        path = "/chat/completions" if request.messages is not None else "/completions"
        chunks: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()
        buffer = b""
        finish_reason = "length"
        completion_tokens = 0
        started = time.monotonic()

        def on_data(data: bytes) -> None:
            nonlocal buffer, finish_reason, completion_tokens
            if cancel.cancelled:
                raise _StopStreaming()
            buffer += data
            while b"\n\n" in buffer:
                event, buffer = buffer.split(b"\n\n", 1)
                for line in event.split(b"\n"):
                    if not line.startswith(b"data:"):
                        continue
                    payload = line[5:].strip()
                    if payload == b"[DONE]":
                        continue
                    message = json.loads(payload)
                    choice = message["choices"][0]
                    if request.messages is not None:
                        text = (choice.get("delta") or {}).get("content") or ""
                    else:
                        text = choice.get("text") or ""
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
                    if text:
                        completion_tokens += 1
                        chunks.put_nowait(Chunk(text))

        http_request = HTTPRequest(
            self.api_url.rstrip("/") + path,
            method="POST",
            headers=self._headers(),
            body=json.dumps(request_body := self._body(request)),
            streaming_callback=on_data,
            request_timeout=self.request_timeout,
        )
        self.log.debug("POST %s for user %s", path, request_body["user"])

        async def fetch() -> None:
            try:
                await AsyncHTTPClient().fetch(http_request)
                chunks.put_nowait(
                    Chunk(
                        "",
                        finish_reason="length" if cancel.cancelled else finish_reason,
                        usage=Usage(completion_tokens=completion_tokens),
                    )
                )
            except _StopStreaming:
                chunks.put_nowait(
                    Chunk("", finish_reason="length", usage=Usage(0, completion_tokens))
                )
            except HTTPClientError as e:
                detail = e.response.body[:200].decode(errors="replace") if e.response else ""
                chunks.put_nowait(EngineError(f"{self.api_url}{path}: {e} {detail}"))
            except (OSError, ValueError, KeyError) as e:
                chunks.put_nowait(EngineError(f"{self.api_url}{path}: {e}"))
            finally:
                chunks.put_nowait(None)

        task = asyncio.ensure_future(fetch())
        finished = False
        try:
            while True:
                item = await chunks.get()
                if item is None:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            if not finished:
                cancel.cancel("consumer gone")
            if not task.done():
                # The streaming callback raises on the next data; bound the wait.
                try:
                    await asyncio.wait_for(asyncio.shield(task), timeout=5)
                except TimeoutError:
                    task.cancel()
            self.log.debug("%s done in %.2fs", path, time.monotonic() - started)
