"""Benchmark of the shared LLM service against llama-cpp-python called directly.

Measured in one run, on the same model and settings:

1. **direct** — ``llama_cpp.Llama.create_completion(stream=True)`` in this process:
   the baseline single-stream decoding speed;
2. **service** — ``codetutor llm serve`` in its own process, streamed over HTTP
   (server-sent events), at 1, 4 and 16 concurrent streams (distinct users), for
   each engine (``slots``: one llama.cpp context per sequence, ``batched``: all
   sequences in one context and one ``llama_decode`` per step) and each
   ``--parallel`` value (sequences served at once).

For each row: aggregate tokens/s (all streams' tokens over the wall time), the
ratio to the direct single stream, and the median and p95 time to first token.

    python bench/llm.py                       # bundled model, CPU
    python bench/llm.py --gpu-layers -1       # every layer on the GPU
    python bench/llm.py --engines batched --parallel 4 8 --tokens 64 --rounds 5 --json-out r.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
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

    @property
    def tokens_per_cpu_s(self) -> float:
        return self.tokens / self.cpu_s if self.cpu_s else 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def load_direct(model: str, gpu_layers: int, threads: int) -> Any:
    """The baseline: llama-cpp-python's ``Llama`` in this process, warmed up."""
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


def bench_direct(llm: Any, tokens: int) -> Row:
    """One single stream through llama-cpp-python, no service in between."""
    kwargs = {"max_tokens": tokens, "temperature": 0.0, "stream": True, "seed": 0}
    started = time.perf_counter()
    cpu_started = time.process_time()
    first = 0.0
    count = 0
    for part in llm.create_completion(PROMPT, **kwargs):
        if part["choices"][0]["text"]:
            count += 1
            if not first:
                first = time.perf_counter()
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    ttft = first - started
    return Row("direct llama-cpp-python", 1, 1, count, wall, count / wall, ttft, ttft, cpu)


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


def start_service(
    model: str, engine: str, parallel: int, gpu_layers: int
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
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
            "--Scheduler.max_outstanding_per_user=64",
            "--Scheduler.max_queued=256",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"codetutor llm serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return process, url
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit("the service did not start")


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
        if event["choices"][0].get("text"):
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
    total = sum(r[1] for r in results)
    return Row(
        f"service {label} x{parallel}",
        parallel,
        streams,
        total,
        wall,
        total / wall,
        statistics.median(ttfts),
        percentile(ttfts, 0.95),
        cpu,
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
        "--parallel", type=int, nargs="+", default=[1, 4], help="sequences served at once"
    )
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--engines",
        nargs="+",
        default=["slots", "batched"],
        choices=sorted(ENGINES),
        help="slots: a llama.cpp context per sequence; batched: one context, one decode per step",
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions")
    parser.add_argument("--json-out", default="", help="also write the rows as JSON here")
    args = parser.parse_args()
    model = args.model or default_model()
    threads = os.cpu_count() or 1

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    llm = load_direct(model, args.gpu_layers, threads)
    services: dict[str, tuple[subprocess.Popen[bytes], str, int]] = {}
    results: dict[tuple[str, int], list[Row]] = {}
    try:
        for engine in args.engines:
            for parallel in args.parallel:
                if engine == "batched" and parallel == 1 and "slots" in args.engines:
                    continue  # the same as slots x1
                process, url = start_service(model, engine, parallel, args.gpu_layers)
                services[f"{engine} x{parallel}"] = (process, url, parallel)
        # Rounds interleave every configuration, so that a shared machine's changing
        # load falls on all of them alike; each row is the median round.
        for _ in range(args.rounds):
            results.setdefault(("direct", 1), []).append(bench_direct(llm, args.tokens))
            for streams in args.streams:
                for label, (process, url, parallel) in services.items():
                    engine = label.split()[0]
                    row = asyncio.run(
                        bench_service(url, process.pid, engine, parallel, streams, args.tokens)
                    )
                    results.setdefault((label, streams), []).append(row)
    finally:
        for process, _, _ in services.values():
            process.terminate()
        for process, _, _ in services.values():
            process.wait(timeout=30)
        llm.close()
    rows = [sorted(runs, key=lambda r: r.tokens_per_s)[len(runs) // 2] for runs in results.values()]
    baseline = rows[0].tokens_per_s
    for row in rows:
        row.ratio = row.tokens_per_s / baseline if baseline else 0.0
    base_cpu = rows[0].tokens_per_cpu_s or 1.0

    print(
        f"model: {Path(model).name}  tokens/stream: {args.tokens}  gpu layers: {args.gpu_layers}  cpus: {threads}"
    )
    header = (
        f"{'path':<28}{'streams':>8}{'tokens':>8}{'tok/s':>9}{'ratio':>7}"
        f"{'ttft p50':>10}{'ttft p95':>10}{'tok/cpu-s':>11}{'cpu ratio':>10}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.path:<28}{row.streams:>8}{row.tokens:>8}{row.tokens_per_s:>9.1f}"
            f"{row.ratio:>7.2f}{row.ttft_p50_s:>9.2f}s{row.ttft_p95_s:>9.2f}s"
            f"{row.tokens_per_cpu_s:>11.1f}{row.tokens_per_cpu_s / base_cpu:>10.2f}"
        )
    print(
        f"median of {args.rounds} interleaved rounds; ratio: aggregate tokens/s over the"
        " direct single stream (same run, same model)."
    )
    print(
        "tok/cpu-s: tokens per CPU-second used by the generating process; unlike wall-clock"
        " figures it does not depend on what else the machine runs. cpu ratio: over direct."
    )
    if args.json_out:
        Path(args.json_out).write_text(
            json.dumps(
                [{**asdict(r), "tokens_per_cpu_s": r.tokens_per_cpu_s} for r in rows], indent=2
            )
        )


if __name__ == "__main__":
    main()
