"""Benchmark of the shared LLM service against llama-cpp-python, on equal terms.

Every path gets the **same thread budget** (``--threads``, default: the machine's
cores) and the **same concurrency**, measured in one run on the same model:

1. **direct** — ``llama_cpp.Llama.create_completion(stream=True)`` in this process,
   ``k`` ``Llama`` objects in ``k`` threads, ``threads // k`` threads each (at least 1:
   the service's own formula), ``k = min(streams, --direct-max)``; this is the
   baseline of every row with the same number of streams;
2. **service** — ``codetutor llm serve`` in its own process, streamed over HTTP
   (server-sent events), for each engine (``slots``: one llama.cpp context per
   sequence; ``batched``: all sequences in one context) and ``--parallel`` value;
3. **llama_cpp.server** — llama-cpp-python's own OpenAI-compatible server (one
   model, one request at a time, the others queued), when
   ``llama-cpp-python[server]`` is installed.

For each row: aggregate tokens/s (all streams' tokens over the wall time), the ratio
to direct at the same number of streams, the median and p95 time to first token,
tokens per CPU-second, and ``cut``: streams that got fewer tokens than direct did.

    python bench/llm.py                       # bundled model, CPU
    python bench/llm.py --gpu-layers -1       # every layer on the GPU
    python bench/llm.py --engines batched --parallel 4 8 --tokens 64 --rounds 5 --json-out r.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

PROMPT = "Write a long story about a student who learns to program in Python. Once upon a time"


@dataclass
class Row:
    path: str
    parallel: int
    streams: int
    tokens: int
    wall_s: float
    tokens_per_s: float
    ttft_p50_s: float
    ttft_p95_s: float
    cpu_s: float = 0.0
    ratio: float = 0.0
    counts: tuple[int, ...] = ()
    cut: int = 0

    @property
    def tokens_per_cpu_s(self) -> float:
        return self.tokens / self.cpu_s if self.cpu_s else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def per_object_threads(threads: int, objects: int) -> int:
    """Threads of each of ``objects`` contexts sharing ``threads``: the service's formula."""
    return max(1, threads // max(1, objects))


def load_direct(model: str, gpu_layers: int, threads: int) -> Any:
    """One ``Llama`` in this process with ``threads`` threads, warmed up."""
    from llama_cpp import Llama

    llm = Llama(
        model_path=model,
        n_ctx=2048,
        n_gpu_layers=gpu_layers,
        n_threads=threads,
        n_threads_batch=threads,
        seed=0,
        verbose=False,
    )
    for _ in llm.create_completion(PROMPT, max_tokens=8, temperature=0.0, stream=True):
        pass  # like the service's warm-up, it leaves the prompt in the KV cache
    return llm


def _direct_stream(llm: Any, tokens: int, started: float) -> tuple[float, int]:
    kwargs = {"max_tokens": tokens, "temperature": 0.0, "stream": True, "seed": 0}
    first = 0.0
    count = 0
    for part in llm.create_completion(PROMPT, **kwargs):
        if part["choices"][0]["text"]:
            count += 1
            if not first:
                first = time.perf_counter() - started
    return first, count


def bench_direct(llms: list[Any], streams: int, tokens: int) -> Row:
    """``streams`` streams over ``llms`` (one thread each, streams dealt round robin).

    All streams start at once, as the service's do: a stream waiting for its
    ``Llama`` counts its wait in its time to first token.
    """
    work: queue.Queue[int] = queue.Queue()
    for index in range(streams):
        work.put(index)
    results: list[tuple[float, int]] = []
    lock = threading.Lock()

    def run(llm: Any) -> None:
        while True:
            try:
                work.get_nowait()
            except queue.Empty:
                return
            result = _direct_stream(llm, tokens, started)
            with lock:
                results.append(result)

    workers = [threading.Thread(target=run, args=(llm,)) for llm in llms]
    cpu_started = time.process_time()
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    ttfts = [r[0] for r in results]
    counts = tuple(r[1] for r in results)
    total = sum(counts)
    return Row(
        f"direct {len(llms)} Llama x{per_object_threads_of(llms)}t",
        len(llms),
        streams,
        total,
        wall,
        total / wall,
        statistics.median(ttfts),
        percentile(ttfts, 0.95),
        cpu,
        counts=counts,
    )


def per_object_threads_of(llms: list[Any]) -> int:
    return int(llms[0].context_params.n_threads) if llms else 0


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ENGINES = {
    "slots": "codetutor.tutor.engine.LlamaCppEngine",
    "batched": "codetutor.tutor.batched.BatchedLlamaCppEngine",
}


def wait_healthy(process: subprocess.Popen[bytes], url: str, what: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"{what} did not start")


def start_service(
    model: str, engine: str, parallel: int, gpu_layers: int, threads: int
) -> tuple[subprocess.Popen[bytes], str]:
    """``codetutor llm serve`` with ``parallel`` sequences sharing ``threads``."""
    port = free_port()
    option = "BatchedLlamaCppEngine" if engine == "batched" else "LlamaCppEngine"
    each = threads if engine == "batched" else per_object_threads(threads, parallel)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "codetutor",
            "llm",
            "serve",
            "--model",
            model,
            "--port",
            str(port),
            "--parallel",
            str(parallel),
            "--gpu-layers",
            str(gpu_layers),
            "--ctx",
            "2048",
            "--engine",
            ENGINES[engine],
            f"--{option}.n_threads={each}",
            "--Scheduler.max_outstanding_per_user=64",
            "--Scheduler.max_queued=256",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, url + "/health", "codetutor llm serve")
    return process, url


def start_llama_cpp_server(
    model: str, gpu_layers: int, threads: int
) -> tuple[subprocess.Popen[bytes], str] | None:
    """llama-cpp-python's own server with ``threads`` threads, or None if not installed."""
    try:
        import llama_cpp.server  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        return None
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            model,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--n_threads",
            str(threads),
            "--n_threads_batch",
            str(threads),
            "--n_gpu_layers",
            str(gpu_layers),
            "--seed",
            "0",
            "--verbose",
            "False",
            # queue concurrent requests instead of cutting the running one
            "--interrupt_requests",
            "False",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_healthy(process, url + "/v1/models", "llama_cpp.server")
    return process, url


async def one_stream(url: str, user: str, tokens: int) -> tuple[float, int]:
    """Stream one completion; returns (time to first token, tokens received)."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps(
        {
            "prompt": PROMPT,
            "max_tokens": tokens,
            "temperature": 0.0,
            "seed": 0,
            "stream": True,
            "user": user,
            "timeout": 3600,
        }
    ).encode()
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /v1/completions HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    first = 0.0
    count = 0
    while True:
        line = await reader.readline()
        if not line:
            break
        text = line.decode().strip()
        if not text.startswith("data:"):
            continue
        payload = text[5:].strip()
        if payload == "[DONE]":
            break
        event = json.loads(payload)
        choices = event.get("choices") or [{}]
        if choices[0].get("text"):
            count += 1
            if not first:
                first = time.perf_counter() - started
    writer.close()
    await writer.wait_closed()
    return first, count


async def bench_service(
    url: str, pid: int, label: str, parallel: int, streams: int, tokens: int
) -> Row:
    await one_stream(url, "warmup", 8)
    cpu_started = process_cpu_s(pid)
    started = time.perf_counter()
    results = await asyncio.gather(*(one_stream(url, f"user-{i}", tokens) for i in range(streams)))
    wall = time.perf_counter() - started
    cpu = process_cpu_s(pid) - cpu_started
    ttfts = [r[0] for r in results]
    counts = tuple(r[1] for r in results)
    total = sum(counts)
    return Row(
        label,
        parallel,
        streams,
        total,
        wall,
        total / wall,
        statistics.median(ttfts),
        percentile(ttfts, 0.95),
        cpu,
        counts=counts,
    )


def default_model() -> str:
    from codetutor.tutor.engine import bundled_model_path

    return str(bundled_model_path())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="", help="GGUF path (default: the bundled model)")
    parser.add_argument("--tokens", type=int, default=64, help="tokens generated per stream")
    parser.add_argument("--gpu-layers", type=int, default=0, help="-1: every layer on the GPU")
    parser.add_argument(
        "--threads", type=int, default=0, help="thread budget of every path (0: the CPU count)"
    )
    parser.add_argument(
        "--parallel", type=int, nargs="+", default=[1, 2, 4], help="sequences served at once"
    )
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument(
        "--direct-max", type=int, default=4, help="most Llama objects (threads) of the baseline"
    )
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["slots"],
        choices=sorted(ENGINES),
        help="slots: a llama.cpp context per sequence; batched: one context, one decode per step",
    )
    parser.add_argument(
        "--no-server", action="store_true", help="leave llama_cpp.server out of the run"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--json-out", default="", help="also write the rows as JSON here")
    args = parser.parse_args()
    model = args.model or default_model()
    threads = args.threads or os.cpu_count() or 1

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    direct: dict[int, list[Any]] = {}
    for streams in args.streams:
        k = max(1, min(streams, args.direct_max))
        if k not in direct:
            each = per_object_threads(threads, k)
            direct[k] = [load_direct(model, args.gpu_layers, each) for _ in range(k)]
    services: dict[str, tuple[subprocess.Popen[bytes], str, int]] = {}
    results: dict[tuple[str, int], list[Row]] = {}
    try:
        for engine in args.engines:
            for parallel in args.parallel:
                if engine == "batched" and parallel == 1 and "slots" in args.engines:
                    continue  # the same as slots x1
                process, url = start_service(model, engine, parallel, args.gpu_layers, threads)
                each = threads if engine == "batched" else per_object_threads(threads, parallel)
                label = f"service {engine} {parallel}x{each}t"
                services[label] = (process, url, parallel)
        server = None if args.no_server else start_llama_cpp_server(model, args.gpu_layers, threads)
        if server is not None:
            services[f"llama_cpp.server 1x{threads}t"] = (server[0], server[1], 1)
        elif not args.no_server:
            print("llama_cpp.server: not installed (pip install 'llama-cpp-python[server]')")
        # Rounds interleave every configuration, so that a shared machine's changing
        # load falls on all of them alike; each row is the median round.
        for _ in range(args.rounds):
            for streams in args.streams:
                llms = direct[max(1, min(streams, args.direct_max))]
                results.setdefault(("direct", streams), []).append(
                    bench_direct(llms, streams, args.tokens)
                )
                for label, (process, url, parallel) in services.items():
                    row = asyncio.run(
                        bench_service(url, process.pid, label, parallel, streams, args.tokens)
                    )
                    results.setdefault((label, streams), []).append(row)
    finally:
        for process, _, _ in services.values():
            process.terminate()
        for process, _, _ in services.values():
            process.wait(timeout=30)
        for llms in direct.values():
            for llm in llms:
                llm.close()
    rows = [sorted(runs, key=lambda r: r.tokens_per_s)[len(runs) // 2] for runs in results.values()]
    baselines = {r.streams: r for r in rows if r.path.startswith("direct")}
    for row in rows:
        base = baselines[row.streams]
        row.ratio = row.tokens_per_s / base.tokens_per_s if base.tokens_per_s else 0.0
        expected = max(base.counts) if base.counts else args.tokens
        row.cut = sum(1 for c in row.counts if c < expected)
    rows.sort(key=lambda r: (r.streams, not r.path.startswith("direct"), r.path))

    print(
        f"model: {Path(model).name}  tokens/stream: {args.tokens}  gpu layers: {args.gpu_layers}"
        f"  thread budget: {threads}  cpus: {os.cpu_count()}"
        f"  load average: {os.getloadavg()[0]:.1f}"
    )
    header = (
        f"{'path':<32}{'streams':>8}{'tokens':>8}{'tok/s':>9}{'ratio':>7}"
        f"{'ttft p50':>10}{'ttft p95':>10}{'tok/cpu-s':>11}{'cut':>5}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.path:<32}{row.streams:>8}{row.tokens:>8}{row.tokens_per_s:>9.1f}"
            f"{row.ratio:>7.2f}{row.ttft_p50_s:>9.2f}s{row.ttft_p95_s:>9.2f}s"
            f"{row.tokens_per_cpu_s:>11.1f}{row.cut:>5}"
        )
    print(
        f"median of {args.rounds} interleaved rounds; ratio: aggregate tokens/s over direct"
        " llama-cpp-python with the same streams and thread budget (same run, same model)."
    )
    print(
        "tok/cpu-s: tokens per CPU-second of the generating process; cut: streams that got"
        " fewer tokens than the direct run's streams."
    )
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                [{**asdict(r), "tokens_per_cpu_s": r.tokens_per_cpu_s} for r in rows], indent=2
            )
        )


if __name__ == "__main__":
    main()
