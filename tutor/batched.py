"""Batched decoding: several sequences in one llama.cpp context, one ``llama_decode`` per step.

:class:`BatchedLlamaCppEngine` is the in-process engine for serving several students
at once. llama-cpp-python's ``Llama`` decodes one sequence at a time; here one
llama.cpp context holds ``parallel_sequences`` sequences (``n_seq_max``), and every
step puts the next token of *every* running sequence — plus prompt tokens of newly
admitted ones (continuous batching) — into a single batch. Decoding is bound by
reading the weights, so a batch of several tokens costs little more than one token.

Each sequence slot keeps the tokens in its KV cache after a request ends; a new
request goes to the slot sharing the longest prefix with its prompt (the same system
prompt and problem), and only the rest of the prompt is evaluated.

All llama.cpp calls run in one thread of the engine's executor (the decode loop);
requests and cancellations reach it through a thread-safe inbox and flags.
"""

from __future__ import annotations

import asyncio
import json
import queue
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from codetutor.tutor.engine import (
    CancelToken,
    Chunk,
    GenerationRequest,
    LlamaCppEngine,
    Usage,
    fold_system_messages,
)
from codetutor.tutor.exceptions import EngineError

Emit = Callable[[Chunk | BaseException | None], None]


@dataclass
class _Sequence:
    """A request being decoded in one slot."""

    request: GenerationRequest
    cancel: CancelToken
    emit: Emit
    slot: int = -1
    prompt: list[int] = field(default_factory=list)
    pending: list[int] = field(default_factory=list)  # prompt tokens not yet evaluated
    tokens: list[int] = field(default_factory=list)  # evaluated (in the KV cache)
    next_token: int | None = None  # sampled, not yet evaluated
    sampler: Any = None
    generated: int = 0
    raw: bytes = b""
    text: str = ""
    sent: int = 0  # characters of text already emitted
    stop: list[str] = field(default_factory=list)
    logits_index: int = -1


class BatchedLlamaCppEngine(LlamaCppEngine):
    """``parallel_sequences`` sequences decoded together in one context (see module doc)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inbox: queue.Queue[_Sequence | None] = queue.Queue()
        self._loop_future: asyncio.Future[None] | None = None
        self._llm: Any = None
        self._ctx: Any = None
        self._batch: Any = None
        self._slot_cache: list[list[int]] = []
        self._ready = False

    def _threads(self) -> int:
        # One context decodes every sequence: it gets all the cores.
        if self.n_threads > 0:
            return self.n_threads
        import os

        return max(1, os.cpu_count() or 1)

    async def start(self) -> None:
        async with self._start_lock:
            if self._ready:
                return
            from concurrent.futures import ThreadPoolExecutor

            loop = asyncio.get_running_loop()
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llama-batch")
            if not self.model_path:
                from codetutor.tutor.engine import bundled_model_path

                self.model_path = str(
                    await loop.run_in_executor(self._executor, bundled_model_path)
                )
            await loop.run_in_executor(self._executor, self._open)
            self._name = self.model_path.rsplit("/", 1)[-1].removesuffix(".gguf")
            self._loop_future = loop.run_in_executor(self._executor, self._decode_loop)
            self._ready = True
            self.log.info(
                "batched engine: %s sequences in one context of %s tokens, %s threads",
                self.parallel,
                self.n_ctx * self.parallel,
                self._threads(),
            )

    def _open(self) -> None:
        import os

        from llama_cpp import _internals as internals
        from llama_cpp import llama_cpp as lib

        if not os.path.isfile(self.model_path):
            raise EngineError(f"model file not found: {self.model_path}")
        # A Llama with a tiny context provides the model, tokenizer and chat format.
        self._llm = self._load_small(self.model_path)
        params = lib.llama_context_default_params()
        params.n_ctx = self.n_ctx * self.parallel
        params.n_batch = max(self.n_batch, self.parallel)
        params.n_ubatch = max(self.n_batch, self.parallel)
        params.n_seq_max = self.parallel
        params.n_threads = self._threads()
        params.n_threads_batch = self._threads()
        params.kv_unified = False
        params.no_perf = True
        self._ctx = internals.LlamaContext(
            model=self._llm._model, params=params, verbose=self.verbose
        )
        self._batch = internals.LlamaBatch(
            n_tokens=params.n_batch, embd=0, n_seq_max=self.parallel, verbose=self.verbose
        )
        self._slot_cache = [[] for _ in range(self.parallel)]

    def _load_small(self, path: str) -> Any:
        saved = self.n_ctx
        self.n_ctx = 256
        try:
            return self._load(path)
        finally:
            self.n_ctx = saved

    async def stop(self) -> None:
        if not self._ready:
            return
        self._inbox.put(None)
        if self._loop_future is not None:
            await self._loop_future
        self._ready = False
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._batch = None
        self._ctx = None
        if self._llm is not None:
            self._llm.close()
            self._llm = None

    async def generate(
        self, request: GenerationRequest, cancel: CancelToken
    ) -> AsyncGenerator[Chunk, None]:
        await self.start()
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[Chunk | BaseException | None] = asyncio.Queue()

        def emit(item: Chunk | BaseException | None) -> None:
            loop.call_soon_threadsafe(chunks.put_nowait, item)

        self._inbox.put(_Sequence(request=request, cancel=cancel, emit=emit))
        released = False
        try:
            while True:
                item = await chunks.get()
                if item is None:
                    released = True
                    return
                if isinstance(item, BaseException):
                    raise EngineError(f"llama.cpp failed: {item}") from item
                yield item
        finally:
            if not released:
                cancel.cancel("consumer gone")
                # Wait for the decode loop to let go of the sequence (its slot is free then).
                while await chunks.get() is not None:
                    pass

    # -- the decode loop (executor thread) -------------------------------------

    def _prepare(self, seq: _Sequence) -> None:
        from llama_cpp import LlamaGrammar
        from llama_cpp import _internals as internals

        llm = self._llm
        request = seq.request
        if request.messages is not None:
            prompt, stop = self._format_chat(request.messages)
        else:
            prompt, stop = request.prompt or "", []
        seq.stop = [s for s in [*request.stop, *stop] if s]
        bos = llm.detokenize([llm.token_bos()], special=True).decode(errors="ignore")
        add_bos = not (bos and prompt.startswith(bos))
        seq.prompt = llm.tokenize(prompt.encode(), add_bos=add_bos, special=True)
        if len(seq.prompt) + 1 >= self.n_ctx:
            seq.prompt = seq.prompt[-(self.n_ctx // 2) :]
        sampler = internals.LlamaSampler()
        if request.json_schema is not None:
            grammar = LlamaGrammar.from_json_schema(json.dumps(request.json_schema), verbose=False)
            sampler.add_grammar(llm._model, grammar)
        if request.temperature <= 0:
            sampler.add_greedy()
        else:
            sampler.add_top_k(40)
            sampler.add_top_p(request.top_p, 1)
            sampler.add_min_p(0.05, 1)
            sampler.add_temp(request.temperature)
            sampler.add_dist(self.seed if request.seed is None else request.seed)
        seq.sampler = sampler

    def _format_chat(self, messages: list[dict[str, str]]) -> tuple[str, list[str]]:
        from llama_cpp import llama_chat_format

        llm = self._llm
        template = (llm.metadata or {}).get("tokenizer.chat_template")
        if template:
            eos = llm.detokenize([llm.token_eos()], special=True).decode(errors="ignore")
            bos = llm.detokenize([llm.token_bos()], special=True).decode(errors="ignore")
            formatter = llama_chat_format.Jinja2ChatFormatter(
                template, eos_token=eos, bos_token=bos
            )
            response = formatter(messages=messages)  # type: ignore[arg-type]
        elif llm.chat_format == "gemma":
            response = llama_chat_format.format_gemma(messages=fold_system_messages(messages))
        else:
            response = llama_chat_format.format_llama2(messages=messages)
        stop = response.stop if isinstance(response.stop, list) else [response.stop or ""]
        return response.prompt, [s for s in stop if s]

    def _assign_slot(self, seq: _Sequence, free: list[int]) -> None:
        """Put ``seq`` in the free slot whose cached tokens share the longest prefix."""

        def shared(slot: int) -> int:
            cached = self._slot_cache[slot]
            n = 0
            for a, b in zip(cached, seq.prompt, strict=False):
                if a != b:
                    break
                n += 1
            return n

        slot = max(free, key=shared)
        free.remove(slot)
        keep = min(shared(slot), len(seq.prompt) - 1)
        self._ctx.kv_cache_seq_rm(slot, keep, -1)
        seq.slot = slot
        seq.tokens = list(seq.prompt[:keep])
        seq.pending = list(seq.prompt[keep:])

    def _take_inbox(self, block: bool) -> list[_Sequence | None]:
        items: list[_Sequence | None] = []
        try:
            items.append(self._inbox.get() if block else self._inbox.get_nowait())
            while True:
                items.append(self._inbox.get_nowait())
        except queue.Empty:
            pass
        return items

    def _decode_loop(self) -> None:
        active: list[_Sequence] = []
        waiting: list[_Sequence] = []
        free = list(range(self.parallel))
        while True:
            for item in self._take_inbox(block=not active and not waiting):
                if item is None:
                    for seq in active + waiting:
                        self._finish(seq, "length")
                    return
                waiting.append(item)
            while waiting and free:
                seq = waiting.pop(0)
                if seq.cancel.cancelled:
                    self._finish(seq, "length")
                    continue
                try:
                    self._prepare(seq)
                    self._assign_slot(seq, free)
                except Exception as e:
                    if seq.slot >= 0:
                        free.append(seq.slot)
                        self._slot_cache[seq.slot] = []
                    seq.slot = -1
                    seq.emit(e)
                    seq.emit(None)
                    continue
                active.append(seq)
            for seq in [s for s in active if s.cancel.cancelled]:
                active.remove(seq)
                free.append(seq.slot)
                self._finish(seq, "length")
            if not active:
                continue
            try:
                self._step(active)
            except Exception as e:
                for seq in active:
                    self._ctx.kv_cache_seq_rm(seq.slot, -1, -1)
                    self._slot_cache[seq.slot] = []
                    free.append(seq.slot)
                    seq.emit(e)
                    seq.emit(None)
                active = []
                continue
            for seq in [s for s in active if s.next_token is None and not s.pending]:
                active.remove(seq)
                free.append(seq.slot)

    def _step(self, active: list[_Sequence]) -> None:
        """One llama_decode over every active sequence, then sample their next tokens."""
        batch = self._batch.batch
        capacity = self._batch._n_tokens
        n = 0
        # Decoding sequences first (one token each), then prompt chunks in what is left.
        ordered = [s for s in active if not s.pending] + [s for s in active if s.pending]
        for seq in ordered:
            seq.logits_index = -1
            if seq.pending:
                take = seq.pending[: max(0, capacity - n)]
                if not take:
                    continue
                for token in take:
                    batch.token[n] = token
                    batch.pos[n] = len(seq.tokens)
                    batch.n_seq_id[n] = 1
                    batch.seq_id[n][0] = seq.slot
                    batch.logits[n] = False
                    seq.tokens.append(token)
                    n += 1
                seq.pending = seq.pending[len(take) :]
                if not seq.pending:
                    batch.logits[n - 1] = True
                    seq.logits_index = n - 1
            elif seq.next_token is not None and n < capacity:
                batch.token[n] = seq.next_token
                batch.pos[n] = len(seq.tokens)
                batch.n_seq_id[n] = 1
                batch.seq_id[n][0] = seq.slot
                batch.logits[n] = True
                seq.tokens.append(seq.next_token)
                seq.next_token = None
                seq.logits_index = n
                n += 1
        if n == 0:
            return
        batch.n_tokens = n
        self._ctx.decode(self._batch)
        for seq in ordered:
            if seq.logits_index < 0:
                continue
            token = seq.sampler.sample(self._ctx, seq.logits_index)
            self._accept(seq, token)

    def _accept(self, seq: _Sequence, token: int) -> None:
        from llama_cpp import llama_cpp as lib

        llm = self._llm
        if lib.llama_vocab_is_eog(llm._model.vocab, token):
            self._finish(seq, "stop")
            return
        seq.generated += 1
        seq.raw += llm._model.detokenize([token], special=False)
        try:
            seq.text = seq.raw.decode("utf-8")
        except UnicodeDecodeError:
            # An incomplete multi-byte character: wait for the rest of it.
            if seq.generated < seq.request.max_tokens:
                seq.next_token = token
                return
            seq.text = seq.raw.decode("utf-8", errors="ignore")
        for stop in seq.stop:
            at = seq.text.find(stop, max(0, seq.sent - len(stop)))
            if at >= 0:
                seq.text = seq.text[:at]
                self._finish(seq, "stop")
                return
        # Hold back a tail that could be the start of a stop string.
        hold = max((len(s) - 1 for s in seq.stop), default=0)
        upto = max(seq.sent, len(seq.text) - hold)
        if upto > seq.sent:
            seq.emit(Chunk(seq.text[seq.sent : upto]))
            seq.sent = upto
        if seq.generated >= seq.request.max_tokens or len(seq.tokens) + 1 >= self.n_ctx:
            self._finish(seq, "length")
            return
        seq.next_token = token

    def _finish(self, seq: _Sequence, reason: str) -> None:
        if seq.sent < len(seq.text):
            seq.emit(Chunk(seq.text[seq.sent :]))
            seq.sent = len(seq.text)
        if seq.slot >= 0:
            # Keep what is in the KV cache for the next request's shared prefix.
            self._slot_cache[seq.slot] = list(seq.tokens)
        seq.next_token = None
        seq.pending = []
        seq.emit(Chunk("", finish_reason=reason, usage=Usage(len(seq.prompt), seq.generated)))
        seq.emit(None)
