"""Judge latency and throughput against a baseline measured in the same run.

Baseline: how nbgrader grades — plain nbclient executes, with a fresh
unsandboxed ipykernel per submission, a notebook made of the student's cells
followed by the problem's test cells.

Ours: ``Judge.judge()`` on the same submissions (sandboxed, with per-case
results), sequentially and at the given concurrency levels.

    python bench/judge.py [--rounds N] [--concurrency 1,2,8]

Prints p50/p95 latency per submission and throughput for each path, and the
ratios against the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

from codetutor.judge.judge import Judge
from codetutor.judge.pool import SandboxPool
from codetutor.judge.problem import TEST_TAGS, Problem
from codetutor.judge.publish import Publisher
from codetutor.judge.submission import Submission

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tests" / "files" / "examples"
# Submissions that finish normally: unsandboxed, the limit-breaking ones would
# hang or exhaust the baseline's machine, which is the point of the sandbox.
BATCH = [
    "count-vowels/accepted",
    "count-vowels/wrong_answer_case",
    "count-vowels/runtime_error",
    "count-vowels/syntax_error",
    "sum-of-two/accepted",
    "sum-of-two/wrong_answer",
    "dedupe/accepted",
    "dedupe/wrong_order",
]


def load_batch(examples: Path) -> list[tuple[str, Path, Path]]:
    items = []
    for key in BATCH:
        problem, name = key.split("/")
        items.append(
            (
                key,
                examples / problem / "problem.ipynb",
                examples / problem / "submissions" / f"{name}.ipynb",
            )
        )
    return items


def baseline_notebook(problem_path: Path, submission_path: Path) -> nbformat.NotebookNode:
    """The student's code cells followed by the problem's test cells (function mode)."""
    problem = nbformat.read(problem_path, as_version=4)
    student = nbformat.read(submission_path, as_version=4)
    cells = [c for c in student.cells if c.cell_type == "code"]
    for cell in problem.cells:
        tags = set(cell.metadata.get("tags", []))
        if tags & set(TEST_TAGS) and cell.cell_type == "code":
            cells.append(nbformat.v4.new_code_cell(cell.source))
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


async def baseline_one(nb: nbformat.NotebookNode) -> None:
    client = NotebookClient(nb, timeout=30, allow_errors=True, kernel_name="python3")
    await client.async_execute()


async def publish_one(path: Path) -> Problem:
    publisher = Publisher()
    publisher.judge.provider.size = 0
    try:
        return await publisher.publish(Problem.load(path))
    finally:
        await publisher.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def measure(
    jobs: list[Callable[[], Awaitable[object]]], concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(jobs)
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            job = queue.pop(0)
            t0 = time.perf_counter()
            await job()
            latencies.append(time.perf_counter() - t0)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


def row(name: str, latencies: list[float], wall: float) -> dict[str, float | str]:
    return {
        "path": name,
        "n": len(latencies),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "per_s": len(latencies) / wall,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3, help="times the batch is judged per path")
    parser.add_argument(
        "--concurrency", default="1", help="comma-separated concurrency levels for the judge"
    )
    parser.add_argument("--examples", type=Path, default=EXAMPLES)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument(
        "--provisioner",
        default="",
        help="comma-separated sandbox backends to compare (codetutor-zygote, codetutor-bubblewrap, "
        "codetutor-docker); default: the judge's default. Each also gets a cold row: no pool, "
        "a fresh sandbox per submission.",
    )
    parser.add_argument(
        "--docker-image",
        default="codetutor/judge-kernel:latest",
        help="judge-kernel image for codetutor-docker (deploy/images/build.sh judge-kernel)",
    )
    args = parser.parse_args()
    levels = [int(x) for x in args.concurrency.split(",")]

    items = load_batch(args.examples)
    problems: dict[Path, Problem] = {}
    for _, problem_path, _ in items:
        if problem_path not in problems:
            problems[problem_path] = await publish_one(problem_path)

    rows = []
    # Baseline: fresh unsandboxed kernel per submission, sequential.
    baseline_jobs: list[Callable[[], Awaitable[object]]] = []
    for _ in range(args.rounds):
        for _, problem_path, submission_path in items:
            nb = baseline_notebook(problem_path, submission_path)
            baseline_jobs.append(lambda nb=nb: baseline_one(nb))
    latencies, wall = await measure(baseline_jobs, 1)
    baseline = row("baseline: nbclient, fresh kernel (c=1)", latencies, wall)
    rows.append(baseline)

    for provisioner in args.provisioner.split(",") if args.provisioner else [""]:
        rows += await judge_rows(provisioner, args, items, problems, levels)

    print(
        f"{'path':60} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'subs/s':>8} {'p50 vs base':>12} {'subs/s vs base':>15}"
    )
    for r in rows:
        print(
            f"{r['path']:60} {r['n']:>4} {r['p50_ms']:>9.1f} {r['p95_ms']:>9.1f} {r['per_s']:>8.2f} "
            f"{float(baseline['p50_ms']) / float(r['p50_ms']):>11.2f}x {float(r['per_s']) / float(baseline['per_s']):>14.2f}x"
        )
    if args.json:
        print(json.dumps(rows))


def judge_config(provisioner: str, docker_image: str, pool_size: int | None = None) -> Config:
    c = Config()
    if provisioner:
        c.JudgeKernelSpecManager.provisioner_name = provisioner
    c.DockerProvisioner.image = docker_image
    if pool_size is not None:
        c.SandboxPool.size = pool_size
    return c


async def judge_rows(
    provisioner: str,
    args: argparse.Namespace,
    items: list[tuple[str, Path, Path]],
    problems: dict[Path, Problem],
    levels: list[int],
) -> list[dict[str, float | str]]:
    """The judge's rows with one sandbox backend (``""``: the default)."""
    rows = []
    label = f"[{provisioner}] " if provisioner else ""
    trivial = Submission.from_source("def probe():\n    return 'ok'")
    # Cold: no pool, so each submission waits for its sandbox to start.
    cold = Judge(config=judge_config(provisioner, args.docker_image, pool_size=0))
    try:
        trivial_problem = await publish_one(ROOT / "tests" / "files" / "probe.ipynb")
        latencies = []
        started = time.perf_counter()
        for _ in range(args.rounds * 2):
            t0 = time.perf_counter()
            result = await cold.judge(trivial_problem, trivial)
            latencies.append(time.perf_counter() - t0)
            assert result.verdict.value == "accepted", result.to_dict()
        rows.append(
            row(
                f"{label}judge, trivial, cold sandbox (c=1)",
                latencies,
                time.perf_counter() - started,
            )
        )
    finally:
        await cold.close()
    judge = Judge(config=judge_config(provisioner, args.docker_image))
    try:
        pool = judge.provider
        if isinstance(pool, SandboxPool):
            await pool.prefill()
        # Time to verdict of a trivial accepted submission with a warm pool: each
        # submission is made once the pool has refilled (students rarely submit in lockstep).
        latencies = []
        started = time.perf_counter()
        for _ in range(args.rounds * 8):
            if isinstance(pool, SandboxPool):
                await pool.prefill()
            t0 = time.perf_counter()
            result = await judge.judge(trivial_problem, trivial)
            latencies.append(time.perf_counter() - t0)
            assert result.verdict.value == "accepted", result.to_dict()
        rows.append(
            row(
                f"{label}judge, trivial, warm pool (c=1)",
                latencies,
                time.perf_counter() - started,
            )
        )
        for level in levels:
            jobs: list[Callable[[], Awaitable[object]]] = []
            for _ in range(args.rounds):
                for _, problem_path, submission_path in items:
                    problem = problems[problem_path]
                    submission = Submission.from_path(submission_path)
                    jobs.append(lambda p=problem, s=submission: judge.judge(p, s))
            latencies, wall = await measure(jobs, level)
            rows.append(row(f"{label}judge, example batch (c={level})", latencies, wall))
    finally:
        await judge.close()
    return rows


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
