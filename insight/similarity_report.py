"""The class's similarity report: each student's best (or last) submission per problem, compared.

:class:`SimilarityChecker` reads the judge's database and compares with
:mod:`codetutor.insight.similarity` in its comparison process. Reports are stored in the judge's
database (``similarity_reports``):

- in the background by the judge workers: after storing verdicts, a worker queues a
  similarity job (:attr:`~codetutor.judge.queue.JobKind.SIMILARITY`, at most one per
  ``Worker.similarity_interval_s``), which compares and stores only when verdicts came
  since the newest report and that report is at least
  :attr:`~SimilarityChecker.min_interval_s` old (:meth:`SimilarityChecker.tick`: the
  throttle holds across workers);
- on demand (:meth:`SimilarityChecker.run`): the dashboard's button and
  ``POST similarity/run``; ``codetutor similarity`` prints one without storing it.

The dashboard shows the newest stored report (:meth:`SimilarityChecker.current`,
followed every :attr:`~SimilarityChecker.poll_s` seconds) with each student's tutor
use, read from the tutor's transcripts when shown.

Earlier terms are an archive of files, ``ARCHIVE/PROBLEM/**/*.py`` (the problem's
slug, then any folders, e.g. ``2025-fall/minji.py``); they are compared with this
term's submissions (never with each other) and shown as ``archive/…``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import DBAPIError
from traitlets import Enum, Float, Int, TraitError, Unicode, validate
from traitlets.config import LoggingConfigurable

from codetutor.errors import CodeTutorError
from codetutor.judge.models import (
    Problem,
    SimilarityReport,
    Submission,
    SubmissionStatus,
    User,
)
from codetutor.judge.store import Store
from codetutor.tutor.transcripts import Transcripts

from . import similarity as sim
from .history import history_signature
from .similarity_pool import comparison_pool

ARCHIVE_PREFIX = "archive/"
CSV_COLUMNS = [
    "problem",
    "student_a",
    "student_b",
    "similarity",
    "shared_tokens",
    "cluster",
    "a_submitted_at",
    "b_submitted_at",
    "a_submissions",
    "b_submissions",
    "a_tutor_messages",
    "b_tutor_messages",
]


@dataclass
class ProblemReport:
    """One problem: ranked pairs, clusters, and each compared student's activity."""

    problem: str
    title: dict[str, str]
    mode: str
    compared: int
    pairs: list[dict[str, Any]]
    clusters: list[list[str]]
    students: dict[str, dict[str, Any]]
    codes: dict[str, str] = field(repr=False)

    def paired_codes(self) -> dict[str, str]:
        """The code of everyone in a reported pair (what the side-by-side view shows)."""
        keys = {k for pair in self.pairs for k in (pair["a"], pair["b"])}
        return {k: v for k, v in self.codes.items() if k in keys}


@dataclass
class ClassReport:
    """Every problem's report, when it was made, and how long it took."""

    problems: dict[str, ProblemReport]
    generated_at: str
    seconds: float
    threshold: float
    pick: str

    def to_json(self, *, codes: bool = False) -> dict[str, Any]:
        """The report as JSON data; ``codes``: with the code of every student in a pair."""
        return {
            "generated_at": self.generated_at,
            "seconds": round(self.seconds, 3),
            "threshold": self.threshold,
            "pick": self.pick,
            "problems": [
                {
                    "problem": p.problem,
                    "title": p.title,
                    "mode": p.mode,
                    "compared": p.compared,
                    "pairs": p.pairs,
                    "clusters": p.clusters,
                    "students": p.students,
                    **({"codes": p.paired_codes()} if codes else {}),
                }
                for p in self.problems.values()
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClassReport:
        """A report saved with ``to_json(codes=True)``."""
        problems = {
            p["problem"]: ProblemReport(
                problem=p["problem"],
                title=dict(p["title"]),
                mode=p["mode"],
                compared=int(p["compared"]),
                pairs=list(p["pairs"]),
                clusters=[list(g) for g in p["clusters"]],
                students=dict(p["students"]),
                codes=dict(p.get("codes", {})),
            )
            for p in data["problems"]
        }
        return cls(
            problems=problems,
            generated_at=str(data["generated_at"]),
            seconds=float(data["seconds"]),
            threshold=float(data["threshold"]),
            pick=str(data["pick"]),
        )

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(CSV_COLUMNS)
        for p in self.problems.values():
            cluster_of = {k: i + 1 for i, group in enumerate(p.clusters) for k in group}
            for pair in p.pairs:
                a, b = p.students.get(pair["a"], {}), p.students.get(pair["b"], {})
                writer.writerow(
                    [
                        p.problem,
                        pair["a"],
                        pair["b"],
                        f"{pair['score']:.3f}",
                        pair["shared_tokens"],
                        cluster_of.get(pair["a"], ""),
                        a.get("compared_at", ""),
                        b.get("compared_at", ""),
                        len(a.get("submissions", [])),
                        len(b.get("submissions", [])),
                        a.get("tutor_messages", 0),
                        b.get("tutor_messages", 0),
                    ]
                )
        return out.getvalue()


def read_archive(folder: str) -> dict[str, dict[str, str]]:
    """``{problem: {"archive/REL": code}}`` from ``folder`` (module docstring).

    Raises :class:`~codetutor.errors.CodeTutorError` when ``folder`` is not a readable
    directory or a file in it is not UTF-8 text.
    """
    root = Path(folder)
    if not root.is_dir():
        raise CodeTutorError(f"the archive {folder} is not a directory", status=400)
    found: dict[str, dict[str, str]] = {}
    for path in sorted(root.glob("*/**/*.py")):
        problem = path.relative_to(root).parts[0]
        rel = path.relative_to(root / problem).with_suffix("")
        try:
            code = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise CodeTutorError(f"cannot read {path}: {e}", status=400) from None
        found.setdefault(problem, {})[f"{ARCHIVE_PREFIX}{problem}/{rel.as_posix()}"] = code
    return found


def compare_problem(
    slug: str,
    title: dict[str, str],
    mode: str,
    notebook: dict[str, Any],
    codes: dict[str, str],
    archive: dict[str, str],
    threshold: float,
) -> ProblemReport:
    """Compare one problem's chosen submissions (and its archive); CPU-bound, synchronous."""
    boilerplate, keep = sim.notebook_boilerplate(notebook)
    alphabet = sim.Alphabet()
    boiler = sorted(sim.boilerplate_hashes(boilerplate, alphabet, keep=keep))
    every = {**codes, **archive}
    prints = [
        sim.Fingerprint.of(key, code, alphabet, boilerplate=boiler, keep=keep)
        for key, code in every.items()
    ]
    matches = sim.compare_class(prints, threshold=threshold, archive_only=archive)
    pairs = [
        {
            "a": m.a.key,
            "b": m.b.key,
            "score": round(m.score, 4),
            "shared_tokens": m.shared_tokens,
            "regions_a": m.regions_a,
            "regions_b": m.regions_b,
        }
        for m in matches
    ]
    return ProblemReport(
        problem=slug,
        title=title,
        mode=mode,
        compared=len(codes),
        pairs=pairs,
        clusters=sim.clusters(matches),
        students={},
        codes=every,
    )


class SimilarityChecker(LoggingConfigurable):
    """Compares the class's submissions now and then, and keeps the newest report."""

    threshold = Float(
        sim.DEFAULT_THRESHOLD,
        help="Similarity (0..1) from which a pair is reported (bench/similarity.py chose it).",
    ).tag(config=True)

    pick = Enum(
        ["best", "last"],
        "best",
        help="Which submission of each student is compared: the best score (newest of "
        "equals) or the last one.",
    ).tag(config=True)

    archive_dir = Unicode(
        "", help="Folder of earlier terms' submissions, ARCHIVE/PROBLEM/**/*.py (optional)."
    ).tag(config=True)

    poll_s = Float(
        30.0, help="How often the dashboard looks for a newer stored report (background)."
    ).tag(config=True)

    keep_reports = Int(5, help="Stored reports kept (the newest).").tag(config=True)

    min_interval_s = Float(
        300.0,
        help="Least time between two background comparisons (the judge workers' throttle).",
    ).tag(config=True)

    @validate("threshold")
    def _check_threshold(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0 < value <= 1:
            raise TraitError("SimilarityChecker.threshold must be in (0, 1]")
        return value

    def __init__(self, *, store: Store, transcripts: Transcripts | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.store = store
        self.transcripts = transcripts
        self.report: ClassReport | None = None
        self._lock = asyncio.Lock()
        self._shown: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def load(self) -> tuple[list[Any], dict[str, Any]]:
        """Coroutine: judged submissions (oldest first) and the newest problem rows by slug."""
        query = (
            select(
                User.name,
                Problem.slug,
                Submission.code,
                Submission.score,
                Submission.verdict,
                Submission.created_at,
                Submission.id,
            )
            .join(User, User.id == Submission.user_id)
            .join(Problem, Problem.id == Submission.problem_id)
            .where(Submission.status == SubmissionStatus.JUDGED.value)
            .order_by(Submission.created_at, Submission.id)
        )
        async with self.store.session() as s:
            rows = list((await s.execute(query)).all())
        problems = {p.slug: p for p in await self.store.latest_problems()}
        return rows, problems

    async def compare(self) -> tuple[ClassReport, str]:
        """Coroutine: compare every problem now; the report and the signature it was made from.

        Tutor use is not in it (:meth:`attach_tutor_use` adds it where the tutor's
        transcripts are known: the dashboard).
        """
        started = time.perf_counter()
        signature = repr(await history_signature(self.store))
        rows, problems = await self.load()
        archive = read_archive(self.archive_dir) if self.archive_dir else {}
        chosen: dict[str, dict[str, Any]] = {}
        history: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for user, slug, code, score, verdict, created, sid in rows:
            history.setdefault((slug, user), []).append(
                {"id": sid, "at": created.isoformat(), "verdict": verdict, "score": score}
            )
            best = chosen.setdefault(slug, {}).get(user)
            if self.pick == "last" or best is None or (score or 0) >= best["score"]:
                chosen[slug][user] = {"code": code, "score": score or 0, "at": created.isoformat()}
        loop = asyncio.get_running_loop()
        reports: dict[str, ProblemReport] = {}
        for slug in sorted(set(chosen) | (set(archive) & set(problems))):
            row = problems.get(slug)
            if row is None:
                continue
            try:
                notebook = json.loads(row.student_notebook)
            except ValueError:
                notebook = {}
            codes = {user: c["code"] for user, c in chosen.get(slug, {}).items()}
            found = await loop.run_in_executor(
                comparison_pool(),
                compare_problem,
                slug,
                dict(row.title),
                row.mode,
                notebook if isinstance(notebook, dict) else {},
                codes,
                archive.get(slug, {}),
                self.threshold,
            )
            for user, c in chosen.get(slug, {}).items():
                found.students[user] = {
                    "compared_at": c["at"],
                    "submissions": history.get((slug, user), []),
                    "tutor_messages": 0,
                    "tutor_first_at": None,
                }
            reports[slug] = found
        report = ClassReport(
            problems=reports,
            generated_at=datetime.now(UTC).isoformat(),
            seconds=time.perf_counter() - started,
            threshold=self.threshold,
            pick=self.pick,
        )
        self.log.info("compared %s problems for similarity in %.1f s", len(reports), report.seconds)
        return report, signature

    async def save(self, report: ClassReport, signature: str) -> int:
        """Coroutine: store ``report`` (the newest :attr:`keep_reports` are kept); its row id."""
        row = SimilarityReport(
            signature=signature[:255],
            seconds=report.seconds,
            report=json.dumps(report.to_json(codes=True), ensure_ascii=False, default=str),
        )
        async with self.store.session() as s:
            s.add(row)
            await s.flush()
            old = (
                select(SimilarityReport.id)
                .order_by(SimilarityReport.id.desc())
                .offset(self.keep_reports)
            )
            stale = [i for (i,) in (await s.execute(old)).all()]
            if stale:
                await s.execute(delete(SimilarityReport).where(SimilarityReport.id.in_(stale)))
            return int(row.id)

    async def newest(self) -> tuple[int, str, datetime] | None:
        """Coroutine: the newest stored report's ``(id, signature, created_at)``, or None."""
        query = (
            select(SimilarityReport.id, SimilarityReport.signature, SimilarityReport.created_at)
            .order_by(SimilarityReport.id.desc())
            .limit(1)
        )
        async with self.store.session() as s:
            found = (await s.execute(query)).first()
        return (int(found[0]), str(found[1]), found[2]) if found else None

    async def read(self, report_id: int) -> ClassReport:
        """Coroutine: the stored report ``report_id``."""
        async with self.store.session() as s:
            text = (
                await s.execute(
                    select(SimilarityReport.report).where(SimilarityReport.id == report_id)
                )
            ).scalar_one()
        return ClassReport.from_json(json.loads(text))

    async def attach_tutor_use(self, report: ClassReport) -> ClassReport:
        """Coroutine: ``report`` with each student's questions to the tutor per problem."""
        for slug, p in report.problems.items():
            talk = await self._tutor_use(slug)
            for user, student in p.students.items():
                student["tutor_messages"] = talk.get(user, {}).get("messages", 0)
                student["tutor_first_at"] = talk.get(user, {}).get("first_at")
        return report

    async def run(self, *, save: bool = True) -> ClassReport:
        """Coroutine: compare now (on demand), store it unless ``save`` is false, keep it."""
        async with self._lock:
            report, signature = await self.compare()
            if save:
                try:
                    self._shown = await self.save(report, signature)
                except DBAPIError as e:
                    # shown all the same; the workers' throttle just does not see it
                    self.log.warning("cannot store the similarity report: %s", e.orig)
            self.report = await self.attach_tutor_use(report)
            return self.report

    async def tick(self) -> bool:
        """Coroutine: the background job's step (a judge worker's similarity job): compare
        and store if verdicts came since the newest stored report and it is at least
        :attr:`min_interval_s` old (the throttle). Whether it compared."""
        if self._lock.locked():
            return False
        newest = await self.newest()
        if newest is not None:
            _id, signature, created = newest
            if (datetime.now(UTC) - created).total_seconds() < self.min_interval_s:
                return False
            if signature == repr(await history_signature(self.store)):
                return False
        async with self._lock:
            report, signature = await self.compare()
            await self.save(report, signature)
        return True

    async def _tutor_use(self, slug: str) -> dict[str, dict[str, Any]]:
        """Each student's questions to the tutor on ``slug`` (count, first time)."""
        if self.transcripts is None or not self.transcripts.enabled:
            return {}
        use: dict[str, dict[str, Any]] = {}
        for user, messages in (await self.transcripts.conversations(slug)).items():
            asked = [m for m in messages if m["role"] == "user"]
            if asked:
                first = datetime.fromtimestamp(float(asked[0]["at"]), UTC).isoformat()
                use[user] = {"messages": len(asked), "first_at": first}
        return use

    async def current(self) -> ClassReport:
        """Coroutine: the newest stored report (made now if there is none), with tutor use."""
        newest = await self.newest()
        if newest is None:
            # none stored yet (no worker has compared): made here once, then on demand
            return self.report if self.report is not None else await self.run(save=False)
        if newest[0] != self._shown or self.report is None:
            report = await self.read(newest[0])
            self.report, self._shown = await self.attach_tutor_use(report), newest[0]
        return self.report

    def start(self) -> None:
        """Start following the stored reports in the background (in the running loop)."""
        self._task = asyncio.get_running_loop().create_task(self._background())

    async def _background(self) -> None:
        while True:
            try:
                await self.current()
            except asyncio.CancelledError:
                raise
            except Exception as e:
                self.log.warning("cannot read the similarity report: %s", e)
            await asyncio.sleep(self.poll_s)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
