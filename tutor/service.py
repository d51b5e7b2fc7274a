"""The shared LLM service: an OpenAI-compatible API over the fair scheduler.

Routes (under :attr:`ServiceBase.base_url`, the Hub service prefix when run by the Hub;
/health, /metrics, JSON errors and the request log are :mod:`codetutor.web`'s):

* ``POST /v1/chat/completions`` and ``POST /v1/completions`` — streaming (server-sent
  events, ``data: {…}`` chunks then ``data: [DONE]``) and non-streaming. ``user``
  names the student the request is for (fair scheduling); ``timeout`` (seconds) is
  this service's extension for a per-request deadline; ``response_format``
  ``{"type": "json_object", "schema": …}`` or ``{"type": "json_schema",
  "json_schema": {"schema": …}}`` constrains the output to a JSON schema.
* ``GET /v1/models``, ``GET /health``, ``GET /metrics``.

A client that disconnects cancels its request at once, queued or running.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from tornado import httpserver, web
from tornado.escape import json_encode
from tornado.iostream import StreamClosedError
from traitlets import Bool, Instance, Type, default
from traitlets.config import LoggingConfigurable

from codetutor.tutor import metrics
from codetutor.tutor.auth import ServiceAuth
from codetutor.tutor.engine import Chunk, Engine, GenerationRequest, LlamaCppEngine, Usage
from codetutor.tutor.exceptions import BadRequestError, TutorError
from codetutor.tutor.scheduler import Job, Scheduler
from codetutor.tutor.web import APIHandler
from codetutor.web import ServiceAddress, service_application

_ROLES = ("system", "user", "assistant")


def _number(body: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = body.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadRequestError(f"{key} must be a number in [{low}, {high}]")
    return float(value)


def _optional_int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequestError(f"{key} must be an integer")
    return value


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and part.get("type") == "text":
                parts.append(str(part.get("text", "")))
            else:
                raise BadRequestError("only text content parts are supported")
        return "".join(parts)
    raise BadRequestError("message content must be a string or a list of text parts")


def _json_schema(response_format: Any) -> dict[str, Any] | None:
    if response_format is None:
        return None
    if not isinstance(response_format, dict):
        raise BadRequestError("response_format must be an object")
    kind = response_format.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        schema = response_format.get("schema") or {"type": "object"}
    elif kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
    else:
        raise BadRequestError(f"unsupported response_format type {kind!r}")
    if not isinstance(schema, dict):
        raise BadRequestError("response_format schema must be an object")
    return schema


def parse_generation(body: dict[str, Any], *, chat: bool, user: str) -> GenerationRequest:
    """Validate an OpenAI-style request body into a :class:`GenerationRequest`.

    Raises :class:`BadRequestError` naming the offending field.
    """
    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    if chat:
        raw = body.get("messages")
        if not isinstance(raw, list) or not raw:
            raise BadRequestError("messages must be a non-empty list")
        messages = []
        for message in raw:
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                raise BadRequestError(f"each message needs a role among {', '.join(_ROLES)}")
            messages.append(
                {"role": message["role"], "content": _content_text(message.get("content"))}
            )
    else:
        raw_prompt = body.get("prompt")
        if isinstance(raw_prompt, list) and len(raw_prompt) == 1:
            raw_prompt = raw_prompt[0]
        if not isinstance(raw_prompt, str):
            raise BadRequestError("prompt must be a string")
        prompt = raw_prompt
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop) or len(stop) > 8:
        raise BadRequestError("stop must be a string or a list of at most 8 strings")
    max_tokens = _optional_int(body, "max_tokens")
    if max_tokens is None:
        max_tokens = _optional_int(body, "max_completion_tokens")
    return GenerationRequest(
        user=user,
        messages=messages,
        prompt=prompt,
        max_tokens=max_tokens or 0,
        temperature=_number(body, "temperature", 0.7, 0.0, 2.0),
        top_p=_number(body, "top_p", 0.95, 0.0, 1.0),
        seed=_optional_int(body, "seed"),
        stop=stop,
        json_schema=_json_schema(body.get("response_format")),
    )


class CompletionHandlerBase(APIHandler):
    """Shared body of the two generation endpoints."""

    chat = True
    _job: Job | None = None
    _client_gone = False

    @property
    def scheduler(self) -> Scheduler:
        scheduler: Scheduler = self.settings["scheduler"]
        return scheduler

    async def prepare(self) -> None:
        await super().prepare()
        if self.identity.kind == "user" and not self.auth.users_may_call_llm:
            raise web.HTTPError(
                403, reason="students use the tutor; the raw LLM API is for services"
            )

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._job is not None:
            self._job.cancel("client disconnected")

    async def post(self) -> None:
        body = self.json_body()
        try:
            request = parse_generation(
                body, chat=self.chat, user=self.on_behalf_of(body.get("user"))
            )
            timeout = body.get("timeout")
            if timeout is not None and (
                isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0
            ):
                raise BadRequestError("timeout must be a positive number of seconds")
            self._job = self.scheduler.submit(request, deadline_s=timeout)
        except TutorError as e:
            self.send_domain_error(e)
            return
        job = self._job
        chunks = job.stream()
        try:
            # The status is only committed once the first chunk (or an error) arrives,
            # so a request that dies in the queue still gets its proper 4xx/5xx.
            first = await anext(chunks)
        except TutorError as e:
            self.send_domain_error(e)
            return
        except StopAsyncIteration:
            # Cancelled before it started: the client is gone, nothing to answer.
            return
        completion_id = ("chatcmpl-" if self.chat else "cmpl-") + uuid.uuid4().hex
        if body.get("stream"):
            await self._stream(completion_id, first, chunks, job)
        else:
            await self._collect(completion_id, first, chunks)

    def _envelope(self, completion_id: str, streaming: bool) -> dict[str, Any]:
        if self.chat:
            kind = "chat.completion.chunk" if streaming else "chat.completion"
        else:
            kind = "text_completion"
        return {
            "id": completion_id,
            "object": kind,
            "created": int(time.time()),
            "model": self.settings["engine"].model_name,
        }

    def _choice(self, text: str, finish_reason: str | None, streaming: bool) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text, "logprobs": None, "finish_reason": finish_reason}
        if streaming:
            delta = {"content": text} if text else {}
            return {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return {
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish_reason,
        }

    @staticmethod
    def _usage(usage: Usage | None) -> dict[str, int]:
        usage = usage or Usage()
        return {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        }

    async def _send_event(self, data: dict[str, Any] | str) -> None:
        payload = data if isinstance(data, str) else json_encode(data)
        self.write(f"data: {payload}\n\n")
        await self.flush()

    async def _stream(
        self, completion_id: str, first: Chunk, chunks: AsyncIterator[Chunk], job: Job
    ) -> None:
        self.set_header("Content-Type", "text/event-stream; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        envelope = self._envelope(completion_id, streaming=True)
        try:
            if self.chat:
                await self._send_event(
                    {
                        **envelope,
                        "choices": [
                            {"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}
                        ],
                    }
                )
            chunk: Chunk | None = first
            while chunk is not None:
                event = {
                    **envelope,
                    "choices": [self._choice(chunk.text, chunk.finish_reason, streaming=True)],
                }
                if chunk.usage is not None:
                    event["usage"] = self._usage(chunk.usage)
                await self._send_event(event)
                chunk = await anext(chunks, None)
            await self._send_event("[DONE]")
        except StreamClosedError:
            job.cancel("client disconnected")
            return
        except TutorError as e:
            # Headers are gone already: report in-band, as OpenAI-style servers do.
            try:
                await self._send_event({"error": {"message": e.user_message}})
            except StreamClosedError:
                return
        self.finish()

    async def _collect(
        self, completion_id: str, first: Chunk, chunks: AsyncIterator[Chunk]
    ) -> None:
        parts = [first.text]
        last = first
        try:
            async for chunk in chunks:
                parts.append(chunk.text)
                last = chunk
        except TutorError as e:
            self.send_domain_error(e)
            return
        if self._client_gone:
            return
        self.write_json(
            {
                **self._envelope(completion_id, streaming=False),
                "choices": [
                    self._choice("".join(parts), last.finish_reason or "stop", streaming=False)
                ],
                "usage": self._usage(last.usage),
            }
        )


class ChatCompletionsHandler(CompletionHandlerBase):
    """``POST /v1/chat/completions``."""

    endpoint = "/v1/chat/completions"
    chat = True


class CompletionsHandler(CompletionHandlerBase):
    """``POST /v1/completions``."""

    endpoint = "/v1/completions"
    chat = False


class ModelsHandler(APIHandler):
    """``GET /v1/models``: the one model this service serves."""

    endpoint = "/v1/models"

    def get(self) -> None:
        engine: Engine = self.settings["engine"]
        self.write_json(
            {
                "object": "list",
                "data": [
                    {
                        "id": engine.model_name,
                        "object": "model",
                        "created": 0,
                        "owned_by": "codetutor",
                    }
                ],
            }
        )


def llm_routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """The OpenAI-compatible routes under ``prefix`` (which ends with ``/``)."""
    return [
        (prefix + "v1/chat/completions", ChatCompletionsHandler),
        (prefix + "v1/completions", CompletionsHandler),
        (prefix + "v1/models", ModelsHandler),
    ]


class ServiceBase(ServiceAddress, LoggingConfigurable):
    """What the LLM and tutor services share: engine, scheduler and auth.

    Where it listens (:class:`~codetutor.web.ServiceAddress`, default port 8765),
    /health, /metrics, the request log and the JSON errors are the shared
    skeleton's (:func:`~codetutor.web.service_application`). Subclasses list their
    routes in :meth:`routes` and may add settings in :meth:`extra_settings`.
    """

    default_port = 8765
    default_prefix = "/"
    #: how error messages name the service
    label: ClassVar[str] = "service"

    engine_class = Type(
        default_value=LlamaCppEngine,
        klass=Engine,
        help="""The LLM backend: LlamaCppEngine (in-process GGUF model) or
        OpenAIEngine (any OpenAI-compatible endpoint), or your own Engine.""",
    ).tag(config=True)

    engine = Instance(Engine)
    scheduler = Instance(Scheduler)
    auth = Instance(ServiceAuth)

    @default("engine")
    def _default_engine(self) -> Engine:
        engine: Engine = self.engine_class(parent=self)
        return engine

    @default("scheduler")
    def _default_scheduler(self) -> Scheduler:
        return Scheduler(parent=self, engine=self.engine)

    @default("auth")
    def _default_auth(self) -> ServiceAuth:
        return ServiceAuth(parent=self)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http_server: httpserver.HTTPServer | None = None
        self.started_at = time.time()

    @property
    def prefix(self) -> str:
        """The URL prefix of every route (``/`` or ``/services/NAME/``)."""
        return self.base_url

    def routes(self) -> list[tuple[str, type[web.RequestHandler]]]:
        """The service's routes (full paths); subclasses extend. /health and /metrics are added."""
        return []

    def extra_settings(self) -> dict[str, Any]:
        return {}

    def health(self) -> dict[str, Any]:
        """The ``/health`` document."""
        return {
            "status": "ok",
            "model": self.engine.model_name,
            "parallel": self.engine.parallel,
            "queued": self.scheduler.queued,
            "running": self.scheduler.running,
            "uptime_s": round(time.time() - self.started_at, 1),
        }

    def make_app(self) -> web.Application:
        """The tornado application (without listening)."""
        return service_application(
            [],
            extra_handlers=self.routes(),
            base_url=self.prefix,
            http_metrics=metrics.HTTP,
            registry=metrics.REGISTRY,
            health=self.health,
            service_label=self.label,
            access_logger="codetutor.tutor.access",
            auth=self.auth,
            engine=self.engine,
            scheduler=self.scheduler,
            **self.extra_settings(),
        )

    async def start(self) -> None:
        """Coroutine: load the engine, start the scheduler and listen."""
        self.auth.check_bind(self.ip)
        await self.engine.start()
        self.scheduler.start()
        self.http_server = httpserver.HTTPServer(self.make_app(), xheaders=False)
        self.http_server.listen(self.port, self.ip)
        self.log.info(
            "%s listening on http://%s:%s%s", type(self).__name__, self.ip, self.port, self.prefix
        )

    async def stop(self) -> None:
        """Coroutine: stop listening, cancel work, release the engine."""
        if self.http_server is not None:
            self.http_server.stop()
            await asyncio.wait_for(self.http_server.close_all_connections(), timeout=5)
        await self.scheduler.stop()
        await self.engine.stop()


class LLMService(ServiceBase):
    """The shared LLM service (``codetutor llm serve``)."""

    label = "LLM service"

    def routes(self) -> list[tuple[str, type[web.RequestHandler]]]:
        return llm_routes(self.prefix)


class TutorService(ServiceBase):
    """The tutor service (``codetutor tutor serve``): chat, hints and reviews.

    Generates with its own engine — in-process llama.cpp by default, or
    ``OpenAIEngine`` pointed at a shared ``codetutor llm serve`` — behind its own
    fair scheduler, and also serves the OpenAI-compatible routes of that engine
    when :attr:`serve_llm_api` is set.
    """

    label = "tutor service"

    serve_llm_api = Bool(
        True, help="Also serve /v1/chat/completions etc. from this service's engine."
    ).tag(config=True)

    tutor = Instance("codetutor.tutor.tutor.Tutor")

    @default("tutor")
    def _default_tutor(self) -> Any:
        from codetutor.tutor.tutor import Tutor

        return Tutor(parent=self, scheduler=self.scheduler)

    def routes(self) -> list[tuple[str, type[web.RequestHandler]]]:
        from codetutor.tutor.handlers import tutor_routes

        routes = tutor_routes(self.prefix)
        if self.serve_llm_api:
            routes += llm_routes(self.prefix)
        return routes

    def extra_settings(self) -> dict[str, Any]:
        return {"tutor": self.tutor}

    async def stop(self) -> None:
        await super().stop()
        await self.tutor.close()
