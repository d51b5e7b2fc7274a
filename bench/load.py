"""Load test of the judge service: a class submitting at once.

Starts the real service (``codetutor judge-service``, its worker processes,
the real sandboxed judge) on this machine, publishes a problem, and lets
``--students`` simulated students submit ``--submissions`` submissions in
all: each student submits, follows the live stream of that submission to its
verdict, and submits again. A queue full (429) is waited out as
``Retry-After`` says.

Baseline, measured in the same run: the judge alone, judging the same mix of
submissions one after another in this process (``Judge().judge()``, no
service, no queue, no database). The ratios say what the service adds:

- throughput ratio: service submissions/s divided by the lone judge's; with
  W workers on W free cores the ideal is W, whatever one judgement costs;
- overhead: time to verdict (client-observed, submit to verdict event)
  minus the judge's own time for that submission, p50/p95.

Finally every submission is checked in the database: all judged, none lost,
none with two verdicts (one stored result, one set of case results, one
"judged" log line, and the expected verdict for its code).

    python bench/load.py [--submissions 1000] [--students 50] [--workers N]
                         [--db-url URL] [--redis-url URL] [--baseline 10]

Authentication uses the tests' stand-in for the Hub's token check
(``tests/judge/service/judge_service_helpers.FakeHub``): the load test
measures the judge service, not JupyterHub.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "judge" / "service"))

from judge_service_helpers import (  # noqa: E402
    ACCEPTED,
    WRONG,
    Client,
    FakeHub,
    PostgresServer,
    RedisServer,
    ServiceProcess,
    database_rows,
    problem_notebook,
    verdicts_logged,
)

from codetutor.judge.judge import Judge  # noqa: E402
from codetutor.judge.problem import Problem  # noqa: E402
from codetutor.judge.publish import Publisher  # noqa: E402
from codetutor.judge.submission import Submission  # noqa: E402

#: the submission mix: (code, expected verdict, weight)
MIX = [
    (ACCEPTED, "accepted", 6),
    (WRONG, "wrong_answer", 2),
    ("def add(a, b):\n    return a + undefined_name\n", "runtime_error", 1),
    ("def add(a, b)\n    return a + b\n", "syntax_error", 1),
]


@dataclass
class Outcome:
    submission_id: int
    code: str
    expected: str
    submitted_at: float
    verdict_at: float
    verdict: str
    time_ms: float
    retries: int
    #: server side, from the verdict: commit -> claimed, claimed -> stored
    queue_wait_s: float
    worker_s: float
    #: verdict stored -> verdict event received (same machine, same clock)
    delivery_s: float


@dataclass
class Tally:
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    throttled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def pick(rng: random.Random) -> tuple[str, str]:
    codes = [(code, verdict) for code, verdict, weight in MIX for _ in range(weight)]
    return rng.choice(codes)


def follow(client: Client, submission_id: int, timeout_s: float) -> dict:
    """The submission's verdict event, read from its live stream."""
    url = client.service.url(f"api/submissions/{submission_id}/events")
    with client.session.get(url, stream=True, timeout=timeout_s) as stream:
        stream.raise_for_status()
        event = ""
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "verdict":
                return dict(json.loads(line[6:]))
    raise RuntimeError(f"stream of {submission_id} ended without a verdict")


def student(client: Client, count: int, seed: int, tally: Tally, timeout_s: float) -> None:
    rng = random.Random(seed)
    for _ in range(count):
        code, expected = pick(rng)
        retries = 0
        try:
            while True:
                submitted = time.monotonic()
                r = client.post("api/submissions", json={"problem": "add", "code": code})
                if r.status_code == 429:
                    retries += 1
                    with tally.lock:
                        tally.throttled += 1
                    time.sleep(float(r.headers.get("Retry-After", "1")))
                    continue
                r.raise_for_status()
                break
            sid = int(r.json()["id"])
            verdict = follow(client, sid, timeout_s)
            done = time.monotonic()
            received = datetime.now(UTC)
            created, started, finished = (
                datetime.fromisoformat(verdict[key])
                for key in ("created_at", "started_at", "finished_at")
            )
            with tally.lock:
                tally.outcomes.append(
                    Outcome(
                        sid,
                        code,
                        expected,
                        submitted,
                        done,
                        str(verdict["verdict"]),
                        float(verdict["time_ms"] or 0),
                        retries,
                        (started - created).total_seconds(),
                        (finished - started).total_seconds(),
                        (received - finished).total_seconds(),
                    )
                )
        except Exception as e:
            with tally.lock:
                tally.errors.append(f"{type(e).__name__}: {e}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def baseline(problem_nb: dict, rounds: int, seed: int) -> list[float]:
    """Seconds per judgement of the lone judge, on the same mix, one after another."""
    nb = nbformat.from_dict(json.loads(json.dumps(problem_nb)))
    judge = Judge()
    problem = await Publisher(judge=judge).publish(Problem.from_notebook(nb))
    rng = random.Random(seed)
    times = []
    try:
        for _ in range(rounds):
            code, expected = pick(rng)
            started = time.monotonic()
            result = await judge.judge(problem, Submission.from_source(code))
            times.append(time.monotonic() - started)
            if result.verdict.value != expected:
                raise RuntimeError(f"baseline judged {result.verdict.value}, expected {expected}")
    finally:
        await judge.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--students", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--backend",
        choices=["sqlite", "postgresql", "postgresql+redis"],
        default="sqlite",
        help="embedded SQLite, or throwaway PostgreSQL (and Redis) servers started here",
    )
    parser.add_argument("--db-url", default="", help="use this database instead")
    parser.add_argument("--redis-url", default="", help="use this Redis instead")
    parser.add_argument("--baseline", type=int, default=10, help="judgements in the baseline")
    parser.add_argument("--timeout", type=float, default=900.0, help="per-verdict timeout (s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.submissions < args.students or args.students < 1:
        parser.error("need at least one submission per student")

    print(f"baseline: the lone judge, {args.baseline} judgements one after another")
    lone = asyncio.run(baseline(problem_notebook(time_limit_s=10), args.baseline, args.seed))
    lone_mean = statistics.mean(lone)
    print(f"  {lone_mean * 1000:.0f} ms per judgement, {1 / lone_mean:.2f} submissions/s")

    workdir = Path(tempfile.mkdtemp(prefix="codetutor-load-"))
    servers: list[PostgresServer | RedisServer] = []
    db_url, redis_url = args.db_url, args.redis_url
    if not db_url and args.backend.startswith("postgresql"):
        postgres = PostgresServer()
        postgres.start()
        servers.append(postgres)
        db_url = postgres.create_database()
    if not redis_url and args.backend.endswith("+redis"):
        redis_server = RedisServer()
        redis_server.start()
        servers.append(redis_server)
        redis_url = redis_server.url
    db_url = db_url or f"sqlite:///{workdir / 'judge.sqlite'}"
    try:
        return load(args, workdir, db_url, redis_url, lone_mean)
    finally:
        for server in servers:
            if isinstance(server, PostgresServer):
                server.destroy()
            else:
                server.stop()


def load(
    args: argparse.Namespace, workdir: Path, db_url: str, redis_url: str, lone_mean: float
) -> int:
    hub = FakeHub()
    hub.start()
    service = ServiceProcess(
        hub=hub,
        db_url=db_url,
        workdir=workdir,
        workers=args.workers,
        redis_url=redis_url,
        fast=False,
        config="c.JudgeServiceApp.stream_max_s = 3600\n",
    )
    service.start()
    try:
        teacher = Client(
            service, hub.add_user("teacher", "custom:problems:write", "custom:judge:read-all")
        )
        r = teacher.post("api/problems", json=problem_notebook(time_limit_s=10))
        r.raise_for_status()
        before, _ = database_rows(db_url)
        per_student = [args.submissions // args.students] * args.students
        for i in range(args.submissions % args.students):
            per_student[i] += 1
        tally = Tally()
        threads = [
            threading.Thread(
                target=student,
                args=(
                    Client(service, hub.add_user(f"student{i:03d}", "custom:judge:submit")),
                    count,
                    args.seed * 1000 + i,
                    tally,
                    args.timeout,
                ),
            )
            for i, count in enumerate(per_student)
        ]
        print(
            f"load: {args.submissions} submissions from {args.students} students, "
            f"{args.workers} workers, {service.db_url.split(':')[0]}"
            f"{', redis' if redis_url else ''}"
        )
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        metrics_text = requests.get(service.url("metrics"), timeout=10).text
        return report(args, service, tally, elapsed, lone_mean, len(before), metrics_text)
    finally:
        service.stop()
        hub.stop()


def report(
    args: argparse.Namespace,
    service: ServiceProcess,
    tally: Tally,
    elapsed: float,
    lone_mean: float,
    existing: int,
    metrics_text: str,
) -> int:
    outcomes = tally.outcomes
    to_verdict = [o.verdict_at - o.submitted_at for o in outcomes]
    overhead = [o.verdict_at - o.submitted_at - o.time_ms / 1000 for o in outcomes]
    rate = len(outcomes) / elapsed
    print(f"  {len(outcomes)} verdicts in {elapsed:.1f} s: {rate:.2f} submissions/s")
    p50, p95, worst = (
        percentile(to_verdict, 0.5),
        percentile(to_verdict, 0.95),
        max(to_verdict, default=0),
    )
    print(f"  time to verdict: p50 {p50:.2f} s, p95 {p95:.2f} s, max {worst:.2f} s")
    print(
        f"  overhead beyond judging: p50 {percentile(overhead, 0.5):.3f} s, "
        f"p95 {percentile(overhead, 0.95):.3f} s"
    )
    waits = [o.queue_wait_s for o in outcomes]
    worker = [o.worker_s for o in outcomes]
    delivery = [o.delivery_s for o in outcomes]
    print(
        f"  of which: queue wait p50 {percentile(waits, 0.5):.2f} s "
        f"(p95 {percentile(waits, 0.95):.2f} s); worker claim-to-stored p50 "
        f"{percentile(worker, 0.5):.3f} s; stored-to-client p50 "
        f"{percentile(delivery, 0.5) * 1000:.0f} ms (p95 {percentile(delivery, 0.95) * 1000:.0f} ms)"
    )
    print(
        f"  Little's law check: {args.students} students / {rate:.2f} per s = "
        f"{args.students / rate:.1f} s expected time to verdict"
    )
    print(f"  queue full (429) answers waited out: {tally.throttled}")
    ideal = min(args.workers, os.cpu_count() or 1)
    print(
        f"ratio: service throughput / lone judge = {rate * lone_mean:.2f} "
        f"(ideal with {args.workers} workers on {os.cpu_count()} cores: {ideal})"
    )

    subs, cases = database_rows(service.db_url)
    mine = subs[existing:]
    ids = [o.submission_id for o in outcomes]
    logged = verdicts_logged(service.log())
    problems = []
    if tally.errors:
        problems.append(f"{len(tally.errors)} student errors, e.g. {tally.errors[0]}")
    if len(ids) != args.submissions:
        problems.append(f"{args.submissions - len(ids)} submissions got no verdict")
    if len(set(ids)) != len(ids):
        problems.append("a submission id was handed out twice")
    if len(mine) != args.submissions:
        problems.append(f"{len(mine)} submissions stored, {args.submissions} accepted")
    lost = [s["id"] for s in mine if s["status"] != "judged"]
    if lost:
        problems.append(f"{len(lost)} submissions not judged: {lost[:10]}")
    doubled = [s["id"] for s in mine if logged.get(s["id"], 0) != 1 or cases.get(s["id"]) != 4]
    if doubled:
        problems.append(f"{len(doubled)} submissions without exactly one verdict: {doubled[:10]}")
    wrong = [o.submission_id for o in outcomes if o.verdict != o.expected]
    if wrong:
        problems.append(f"{len(wrong)} unexpected verdicts: {wrong[:10]}")
    retried = sum(1 for s in mine if s["attempts"] != 1)
    total_counted = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics_text.splitlines()
        if line.startswith("submissions_total{")
    )
    print(
        f"check: {len(mine)} stored, {len(mine) - len(lost)} judged, "
        f"{len(mine) - len(doubled)} with exactly one verdict, {retried} judged on a retry, "
        f"submissions_total = {total_counted:.0f}"
    )
    if problems:
        for problem in problems:
            print("FAILED: " + problem)
        return 1
    print("none lost, none doubled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
