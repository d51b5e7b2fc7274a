"""Class insight: ratings, per-tag mastery, recommendations, class statistics, gradebook.

Everything here is computed from the judge's submission history
(:func:`load_history` reads it from the :class:`~codetutor.judge.store.Store`):

- :class:`EloModel` rates every student and every problem, Elo-style, on a
  logit scale: the predicted chance that ``user`` gets ``problem`` accepted is
  ``sigmoid(ability + mean(tag skill over the problem's tags) - difficulty +
  retry gain * earlier failures on it)``. Every verdict moves the student's
  ability, their skill in each of the problem's tags and the problem's
  difficulty by ``K * (outcome - prediction)``, with ``K`` shrinking as a
  rating sees more verdicts (a new student or problem moves fast, an
  established one slowly). A problem starts at a difficulty given by its
  1..5 ``difficulty``.
- :class:`Recommender` picks the next problems for a student: unsolved
  problems whose predicted success falls in a target band (likely, not
  certain), mixed with the student's weakest tags, tags due for review (not
  solved in ``review_after_days``) and tags never tried. Each recommendation
  carries its reasons in Korean and English.
- :func:`class_overview` (the instructor dashboard's numbers) and
  :func:`gradebook` (per-student, per-problem best score and time of first
  acceptance; :func:`gradebook_csv` for the CSV file).

:class:`Insight` replays the whole history once; :class:`InsightCache` keeps it
and feeds it each new verdict as it arrives. ``internal_error`` verdicts
(the judge's fault, never the student's) do not move ratings and do not count
as attempts.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from traitlets import Float, Int, TraitError, validate
from traitlets.config import LoggingConfigurable

from .models import Problem, Submission, SubmissionStatus, User, utcnow
from .store import Store
from .verdict import Verdict

ACCEPTED = Verdict.ACCEPTED.value
INTERNAL_ERROR = Verdict.INTERNAL_ERROR.value
#: Elo display scale: a rating of 1500 is a logit of 0; 400 points are a factor 10 in odds
ELO_BASE = 1500.0
ELO_SCALE = 400.0 / math.log(10.0)
#: gradebook CSV columns, in order
GRADEBOOK_COLUMNS = (
    "student",
    "problem",
    "best_score",
    "attempts",
    "accepted",
    "first_accepted_at",
)


def sigmoid(x: float) -> float:
    """The logistic function, safe for any float."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def elo(logit: float) -> int:
    """A logit-scale rating shown on the familiar Elo scale (1500 = average)."""
    return round(ELO_BASE + ELO_SCALE * logit)


# -- history ------------------------------------------------------------------


@dataclass(frozen=True)
class ProblemInfo:
    """The newest version of a problem: what recommendations and statistics show."""

    slug: str
    version: int
    title: dict[str, str]
    difficulty: int
    tags: tuple[str, ...]


@dataclass(frozen=True)
class Attempt:
    """One judged submission. ``at`` is when it was submitted."""

    id: int
    user: str
    problem: str
    verdict: str
    score: float
    at: datetime

    @property
    def accepted(self) -> bool:
        return self.verdict == ACCEPTED


@dataclass(frozen=True)
class History:
    """Problems (newest version of each slug) and judged attempts, oldest first."""

    problems: dict[str, ProblemInfo]
    attempts: tuple[Attempt, ...]

    @property
    def users(self) -> list[str]:
        """Everyone with at least one judged submission, by name."""
        return sorted({a.user for a in self.attempts})


async def history_signature(store: Store) -> tuple[Any, ...]:
    """Coroutine: a cheap value that changes whenever a verdict or a problem version is added."""
    async with store.session() as s:
        judged = (
            await s.execute(
                select(func.count(), func.max(Submission.finished_at), func.max(Submission.id))
                .select_from(Submission)
                .where(Submission.status == SubmissionStatus.JUDGED.value)
            )
        ).one()
        problems = (await s.execute(select(func.count(), func.max(Problem.id)))).one()
    return (*judged, *problems)


async def load_history(store: Store) -> History:
    """Coroutine: every problem (newest versions) and every judged submission, from ``store``.

    Submissions of older versions of a problem count for its slug.
    """
    problems = await load_problems(store)
    return History(problems=problems, attempts=await load_attempts(store, problems))


async def load_problems(store: Store) -> dict[str, ProblemInfo]:
    """Coroutine: the newest version of every problem, by slug."""
    latest = await store.latest_problems()
    problems = {
        p.slug: ProblemInfo(
            slug=p.slug,
            version=p.version,
            title=dict(p.title),
            difficulty=int(p.difficulty),
            tags=tuple(p.tags),
        )
        for p in latest
    }
    return problems


async def load_attempts(
    store: Store, problems: dict[str, ProblemInfo], *, finished_since: datetime | None = None
) -> tuple[Attempt, ...]:
    """Coroutine: judged submissions (those finished at or after ``finished_since``), oldest first."""
    query = (
        select(
            Submission.id,
            User.name,
            Problem.slug,
            Submission.verdict,
            Submission.score,
            Submission.created_at,
        )
        .join(User, User.id == Submission.user_id)
        .join(Problem, Problem.id == Submission.problem_id)
        .where(Submission.status == SubmissionStatus.JUDGED.value)
        .order_by(Submission.created_at, Submission.id)
    )
    if finished_since is not None:
        query = query.where(Submission.finished_at >= finished_since)
    async with store.session() as s:
        rows = (await s.execute(query)).all()
    return tuple(
        Attempt(
            id=sid,
            user=name,
            problem=slug,
            verdict=verdict or INTERNAL_ERROR,
            score=float(score or 0.0),
            at=created,
        )
        for sid, name, slug, verdict, score, created in rows
        if slug in problems
    )


# -- the rating model -----------------------------------------------------------


class EloModel:
    """Elo-style ratings of students (overall and per tag) and problems, on a logit scale.

    ``k``/``k_decay``: a rating that has seen ``n`` verdicts moves by
    ``k / (1 + k_decay * n)`` times the surprise (``outcome - prediction``).
    ``difficulty_step``: logits between neighbouring difficulty levels (level 3
    starts at 0). ``retry_gain``: the starting extra logit per earlier failure on
    the same problem (students fix their code), learned online with
    ``retry_rate``.
    """

    def __init__(
        self,
        *,
        k: float = 0.6,
        k_decay: float = 0.1,
        tag_k: float = 0.4,
        difficulty_step: float = 0.75,
        retry_gain: float = 0.3,
        retry_rate: float = 0.01,
        max_retries_counted: int = 4,
    ) -> None:
        self.k = k
        self.k_decay = k_decay
        self.tag_k = tag_k
        self.difficulty_step = difficulty_step
        self.retry_gain = retry_gain
        self.retry_rate = retry_rate
        self.max_retries_counted = max_retries_counted
        self.ability: dict[str, float] = defaultdict(float)
        self.ability_n: Counter[str] = Counter()
        self.tag_skill: dict[tuple[str, str], float] = defaultdict(float)
        self.tag_n: Counter[tuple[str, str]] = Counter()
        self.difficulty: dict[str, float] = {}
        self.difficulty_n: Counter[str] = Counter()
        self.failures: Counter[tuple[str, str]] = Counter()

    def prior_difficulty(self, level: int) -> float:
        """The starting logit difficulty of a problem of difficulty ``level`` (1..5)."""
        return (level - 3) * self.difficulty_step

    def problem_difficulty(self, problem: ProblemInfo) -> float:
        return self.difficulty.get(problem.slug, self.prior_difficulty(problem.difficulty))

    def skill(self, user: str, tags: Sequence[str]) -> float:
        """The user's logit skill on a problem with ``tags`` (ability plus mean tag skill)."""
        base = self.ability[user] if user in self.ability else 0.0
        if not tags:
            return base
        return base + sum(self.tag_skill.get((user, t), 0.0) for t in tags) / len(tags)

    def predict(self, user: str, problem: ProblemInfo) -> float:
        """Probability (0..1) that ``user``'s next submission to ``problem`` is accepted."""
        retries = min(self.failures[(user, problem.slug)], self.max_retries_counted)
        return sigmoid(
            self.skill(user, problem.tags)
            - self.problem_difficulty(problem)
            + self.retry_gain * retries
        )

    def mastery(self, user: str, tag: str, tries: int = 3) -> float:
        """Chance (0..1) that ``user`` solves a typical (difficulty 3) problem tagged ``tag``
        within ``tries`` submissions (each failure adds the retry gain)."""
        skill = self.skill(user, [tag])
        unsolved = 1.0
        for attempt in range(tries):
            unsolved *= 1.0 - sigmoid(skill + self.retry_gain * attempt)
        return 1.0 - unsolved

    def _k(self, n: int, k: float) -> float:
        return k / (1.0 + self.k_decay * n)

    def update(self, user: str, problem: ProblemInfo, accepted: bool) -> float:
        """Learn from one verdict; returns the prediction made just before it."""
        p = self.predict(user, problem)
        surprise = (1.0 if accepted else 0.0) - p
        retries = min(self.failures[(user, problem.slug)], self.max_retries_counted)
        self.ability[user] += self._k(self.ability_n[user], self.k) * surprise
        self.ability_n[user] += 1
        for tag in problem.tags:
            key = (user, tag)
            self.tag_skill[key] += self._k(self.tag_n[key], self.tag_k) * surprise
            self.tag_n[key] += 1
        self.difficulty[problem.slug] = (
            self.problem_difficulty(problem)
            - self._k(self.difficulty_n[problem.slug], self.k) * surprise
        )
        self.difficulty_n[problem.slug] += 1
        if retries:
            self.retry_gain = max(0.0, self.retry_gain + self.retry_rate * surprise * retries)
        if accepted:
            self.failures.pop((user, problem.slug), None)
        else:
            self.failures[(user, problem.slug)] += 1
        return p


# -- replayed history -------------------------------------------------------------


@dataclass
class TagRecord:
    """One student's record in one tag."""

    tag: str
    attempts: int = 0
    solved: set[str] = field(default_factory=set)
    last_solved_at: datetime | None = None
    last_attempt_at: datetime | None = None


@dataclass
class ProblemRecord:
    """One student's record on one problem."""

    attempts: int = 0
    best_score: float = 0.0
    first_accepted_at: datetime | None = None
    attempts_to_accept: int | None = None
    scores: list[float] = field(default_factory=list)
    last_at: datetime | None = None


class Insight:
    """The history replayed through an :class:`EloModel`, with per-student records.

    ``predictions`` holds ``(prediction, accepted)`` for every verdict, made
    just before the model learned from it (the model's own track record).
    """

    def __init__(self, history: History, model: EloModel | None = None) -> None:
        self.history = history
        self.model = model or EloModel()
        self.records: dict[str, dict[str, ProblemRecord]] = defaultdict(dict)
        self.tags: dict[str, dict[str, TagRecord]] = defaultdict(dict)
        self.predictions: list[tuple[float, bool]] = []
        #: ids of the submissions learned from
        self.seen: set[int] = set()
        for attempt in history.attempts:
            self._learn(attempt)

    def extend(self, attempts: Iterable[Attempt]) -> int:
        """Learn from newer attempts (oldest first; ones already seen are skipped) and add
        them to the history; returns how many were new."""
        fresh = [a for a in attempts if a.id not in self.seen]
        self.history = History(self.history.problems, self.history.attempts + tuple(fresh))
        for attempt in fresh:
            self._learn(attempt)
        return len(fresh)

    def _learn(self, attempt: Attempt) -> None:
        self.seen.add(attempt.id)
        if attempt.verdict == INTERNAL_ERROR:
            return
        problem = self.history.problems[attempt.problem]
        p = self.model.update(attempt.user, problem, attempt.accepted)
        self.predictions.append((p, attempt.accepted))
        record = self.records[attempt.user].setdefault(attempt.problem, ProblemRecord())
        record.attempts += 1
        record.best_score = max(record.best_score, attempt.score)
        record.scores.append(attempt.score)
        record.last_at = attempt.at
        if attempt.accepted and record.first_accepted_at is None:
            record.first_accepted_at = attempt.at
            record.attempts_to_accept = record.attempts
        for tag in problem.tags:
            tags = self.tags[attempt.user].setdefault(tag, TagRecord(tag))
            tags.attempts += 1
            tags.last_attempt_at = attempt.at
            if attempt.accepted:
                tags.solved.add(attempt.problem)
                tags.last_solved_at = attempt.at

    def solved(self, user: str) -> set[str]:
        return {slug for slug, r in self.records[user].items() if r.first_accepted_at is not None}

    def mastery(self, user: str) -> list[dict[str, Any]]:
        """The user's tags (every tag of the problem set), weakest first, as JSON-able dicts."""
        all_tags = sorted({t for p in self.history.problems.values() for t in p.tags})
        found = []
        for tag in all_tags:
            record = self.tags[user].get(tag, TagRecord(tag))
            found.append(
                {
                    "tag": tag,
                    "mastery": round(self.model.mastery(user, tag), 3),
                    "attempts": record.attempts,
                    "solved": len(record.solved),
                    "last_solved_at": _iso(record.last_solved_at),
                }
            )
        found.sort(key=lambda m: (m["attempts"] == 0, m["mastery"], m["tag"]))
        return found

    def struggling(self, user: str, *, min_failures: int = 3) -> list[str]:
        """Problems ``user`` keeps failing without progress, by slug.

        Unsolved, at least ``min_failures`` attempts, and the last
        ``min_failures`` attempts scored no better than the best before them.
        """
        found = []
        for slug, record in sorted(self.records[user].items()):
            if record.first_accepted_at is not None or record.attempts < min_failures:
                continue
            recent = record.scores[-min_failures:]
            earlier = record.scores[:-min_failures]
            if max(recent) <= (max(earlier) if earlier else recent[0]):
                found.append(slug)
        return found


# -- recommendations ----------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why a problem is recommended: a kind and the same sentence in Korean and English."""

    kind: str
    ko: str
    en: str
    tag: str | None = None
    days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"kind": self.kind, "ko": self.ko, "en": self.en}
        if self.tag is not None:
            found["tag"] = self.tag
        if self.days is not None:
            found["days"] = self.days
        return found


@dataclass
class Recommendation:
    """One recommended problem with its predicted success and reasons (the first is the main one)."""

    problem: ProblemInfo
    predicted_success: float
    reasons: list[Reason]
    score: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "problem": self.problem.slug,
            "version": self.problem.version,
            "title": self.problem.title,
            "difficulty": self.problem.difficulty,
            "tags": list(self.problem.tags),
            "predicted_success": round(self.predicted_success, 3),
            "reason": {"ko": self.reasons[0].ko, "en": self.reasons[0].en},
            "reasons": [r.to_dict() for r in self.reasons],
        }


def _pct(p: float) -> int:
    return round(100 * p)


def reason_target(p: float) -> Reason:
    return Reason(
        "target",
        ko=f"풀 가능성이 높지만 확실하지는 않은 문제입니다 (예상 성공률 {_pct(p)}%). 지금 도전하기 알맞습니다.",
        en=f"You are likely, but not certain, to solve this (predicted {_pct(p)}%): a good next step.",
    )


def reason_weak(tag: str, mastery: float) -> Reason:
    return Reason(
        "weak_tag",
        ko=f"지금까지 가장 약한 주제인 '{tag}'을(를) 연습해 보세요 (숙련도 {_pct(mastery)}%).",
        en=f"Practice '{tag}', one of your weakest topics so far (mastery {_pct(mastery)}%).",
        tag=tag,
    )


def reason_review(tag: str, days: int) -> Reason:
    return Reason(
        "review",
        ko=f"{days}일 동안 '{tag}' 문제를 풀지 않았습니다. 복습할 때입니다.",
        en=f"You have not solved a '{tag}' problem in {days} days: time to review.",
        tag=tag,
        days=days,
    )


def reason_retry(attempts: int, p: float) -> Reason:
    return Reason(
        "retry",
        ko=f"이 문제를 {attempts}번 시도했지만 아직 통과하지 못했습니다. 다시 도전해 보세요 (예상 성공률 {_pct(p)}%).",
        en=f"You tried this {attempts} time(s) without acceptance; try it again (predicted {_pct(p)}%).",
    )


def reason_new_tag(tag: str) -> Reason:
    return Reason(
        "new_tag",
        ko=f"아직 시도하지 않은 주제 '{tag}'의 문제입니다.",
        en=f"A first problem on '{tag}', a topic you have not tried yet.",
        tag=tag,
    )


def reason_start(p: float) -> Reason:
    return Reason(
        "start",
        ko=f"시작하기 좋은 문제입니다 (예상 성공률 {_pct(p)}%).",
        en=f"A good problem to start with (predicted {_pct(p)}%).",
    )


def reason_challenge(p: float) -> Reason:
    return Reason(
        "challenge",
        ko=f"도전 문제입니다 (예상 성공률 {_pct(p)}%).",
        en=f"A challenge (predicted {_pct(p)}%).",
    )


def reason_warm_up(p: float) -> Reason:
    return Reason(
        "warm_up",
        ko=f"가볍게 풀 수 있는 문제입니다 (예상 성공률 {_pct(p)}%).",
        en=f"A quick win (predicted {_pct(p)}%).",
    )


class Recommender(LoggingConfigurable):
    """Chooses a student's next problems from an :class:`Insight` (module docstring)."""

    target_low = Float(
        0.5, help="Lowest predicted success of a problem in the target band (0..1)."
    ).tag(config=True)
    target_high = Float(
        0.8, help="Highest predicted success of a problem in the target band (0..1)."
    ).tag(config=True)
    review_after_days = Int(7, help="A tag not solved for this many days is due for review.").tag(
        config=True
    )
    weak_mastery = Float(0.5, help="A tried tag with mastery below this is weak (0..1).").tag(
        config=True
    )
    weak_margin = Float(
        0.1,
        help="A tried tag with mastery this far below the student's mean over tried tags "
        "is weak too (one's weakest topics, however strong the student).",
    ).tag(config=True)
    same_tag_penalty = Float(
        0.35, help="Score taken from a candidate per already chosen problem sharing a tag."
    ).tag(config=True)

    @validate("target_low", "target_high", "weak_mastery", "weak_margin")
    def _probability(self, proposal: Any) -> float:
        value = float(proposal["value"])
        if not 0.0 <= value <= 1.0:
            raise TraitError(f"{proposal['trait'].name} must be between 0 and 1")
        return value

    def band_fit(self, p: float) -> float:
        """1 inside the target band, falling linearly to 0 at 0.3 outside it."""
        if self.target_low <= p <= self.target_high:
            return 1.0
        distance = self.target_low - p if p < self.target_low else p - self.target_high
        return max(0.0, 1.0 - distance / 0.3)

    def candidates(self, insight: Insight, user: str, now: datetime) -> list[Recommendation]:
        """Every unsolved problem with its predicted success, reasons and score (unsorted)."""
        model = insight.model
        solved = insight.solved(user)
        tag_records = insight.tags[user]
        tried = {t for t, r in tag_records.items() if r.attempts}
        masteries = {t: model.mastery(user, t) for t in tried}
        mean = sum(masteries.values()) / len(masteries) if masteries else 0.0
        weak = sorted(
            (
                t
                for t, m in masteries.items()
                if m < self.weak_mastery or (len(masteries) > 1 and m < mean - self.weak_margin)
            ),
            key=lambda t: masteries[t],
        )[:3]
        review_after = timedelta(days=self.review_after_days)
        due: dict[str, int] = {}
        for tag, record in tag_records.items():
            if record.last_solved_at is not None and now - record.last_solved_at >= review_after:
                due[tag] = (now - record.last_solved_at).days
        has_history = bool(insight.records[user])
        found = []
        for problem in insight.history.problems.values():
            if problem.slug in solved:
                continue
            p = model.predict(user, problem)
            fit = self.band_fit(p)
            reasons: list[Reason] = []
            score = fit
            review = [t for t in problem.tags if t in due]
            if review:
                oldest = max(review, key=lambda t: due[t])
                reasons.append(reason_review(oldest, due[oldest]))
                score += 0.6 * fit
            weak_here = [t for t in weak if t in problem.tags]
            if weak_here:
                reasons.append(reason_weak(weak_here[0], masteries[weak_here[0]]))
                score += 0.5 * fit
            mine = insight.records[user].get(problem.slug)
            if mine is not None and mine.attempts:
                reasons.append(reason_retry(mine.attempts, p))
                score += 0.3 * fit
            new = [t for t in problem.tags if t not in tried]
            if has_history and new:
                reasons.append(reason_new_tag(new[0]))
                score += 0.25 * fit
            if self.target_low <= p <= self.target_high:
                # the specific reasons above come first; the band is the general one
                reasons.append(reason_target(p) if has_history else reason_start(p))
            elif not reasons:
                reasons.append(reason_challenge(p) if p < self.target_low else reason_warm_up(p))
            # a small preference for the band's middle breaks ties between in-band problems
            middle = (self.target_low + self.target_high) / 2
            score -= 0.1 * abs(p - middle)
            found.append(Recommendation(problem, p, reasons, score))
        return found

    def recommend(
        self, insight: Insight, user: str, *, limit: int = 5, now: datetime | None = None
    ) -> list[Recommendation]:
        """Up to ``limit`` problems for ``user``, best first, their tags spread out."""
        now = now or utcnow()
        pool = self.candidates(insight, user, now)
        chosen: list[Recommendation] = []
        tag_uses: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        while pool and len(chosen) < limit:

            def adjusted(r: Recommendation) -> float:
                overlap = sum(tag_uses[t] for t in r.problem.tags)
                # mix the kinds of reason: a second review or weak-tag pick weighs less
                repeat = kinds[r.reasons[0].kind] if r.reasons[0].kind != "target" else 0
                return r.score - self.same_tag_penalty * overlap - 0.15 * repeat

            best = max(pool, key=lambda r: (adjusted(r), -r.problem.difficulty, r.problem.slug))
            pool.remove(best)
            chosen.append(best)
            tag_uses.update(best.problem.tags)
            kinds[best.reasons[0].kind] += 1
        return chosen


def recommendations_view(
    insight: Insight,
    recommender: Recommender,
    user: str,
    limit: int = 5,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """What the recommendations API answers for ``user``, JSON-able.

    ``rating`` (Elo scale, 1500 average), ``solved`` (slugs), ``mastery`` (every
    tag, weakest tried tag first) and ``recommendations`` (:meth:`Recommendation.to_dict`,
    best first). A user without history gets problems for beginners.
    """
    picks = recommender.recommend(insight, user, limit=limit, now=now)
    return {
        "user": user,
        "rating": elo(insight.model.ability[user] if user in insight.model.ability else 0.0),
        "solved": sorted(insight.solved(user)),
        "mastery": insight.mastery(user),
        "recommendations": [r.to_dict() for r in picks],
    }


# -- class overview and gradebook ---------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def class_overview(
    insight: Insight, *, now: datetime | None = None, days: int = 14, recent: int = 20
) -> dict[str, Any]:
    """The instructor dashboard's numbers, JSON-able.

    ``problems``: per problem, attempts (judged submissions), students who tried
    and solved it, acceptance rate (accepted / judged submissions), its verdicts
    most common first, median attempts to the first acceptance and its rating.
    ``students``: per student, submissions, solved, rating and the problems they
    struggle with (:meth:`Insight.struggling`). ``activity``: submissions and
    acceptances per day over the last ``days`` days (UTC), oldest first.
    ``recent``: the newest ``recent`` verdicts. ``tags``: mean mastery per tag
    over the students.
    """
    now = now or utcnow()
    history = insight.history
    model = insight.model
    by_problem: dict[str, list[Attempt]] = defaultdict(list)
    submissions: Counter[str] = Counter()
    last_active: dict[str, datetime] = {}
    for attempt in history.attempts:
        by_problem[attempt.problem].append(attempt)
        submissions[attempt.user] += 1
        last_active[attempt.user] = max(attempt.at, last_active.get(attempt.user, attempt.at))
    users = history.users
    problems = []
    for slug, problem in sorted(history.problems.items()):
        attempts = by_problem.get(slug, [])
        verdicts = Counter(a.verdict for a in attempts)
        to_accept = [
            r.attempts_to_accept
            for u in users
            if (r := insight.records[u].get(slug)) is not None and r.attempts_to_accept is not None
        ]
        problems.append(
            {
                "problem": slug,
                "title": problem.title,
                "difficulty": problem.difficulty,
                "tags": list(problem.tags),
                "attempts": len(attempts),
                "students": len({a.user for a in attempts}),
                "solved_by": len(to_accept),
                "acceptance_rate": round(verdicts[ACCEPTED] / len(attempts), 3)
                if attempts
                else None,
                "verdicts": dict(verdicts.most_common()),
                "median_attempts_to_accept": statistics.median(to_accept) if to_accept else None,
                "rating": elo(model.problem_difficulty(problem)),
            }
        )
    students = []
    for user in users:
        records = insight.records[user]
        students.append(
            {
                "user": user,
                "submissions": submissions[user],
                "attempted": len(records),
                "solved": len(insight.solved(user)),
                "rating": elo(model.ability[user]),
                "struggling": insight.struggling(user),
                "last_active_at": _iso(last_active.get(user)),
            }
        )
    start = (now - timedelta(days=days - 1)).date()
    per_day: dict[str, list[int]] = {
        (start + timedelta(days=i)).isoformat(): [0, 0] for i in range(days)
    }
    for attempt in history.attempts:
        day = attempt.at.date().isoformat()
        if day in per_day:
            per_day[day][0] += 1
            per_day[day][1] += attempt.accepted
    tags = sorted({t for p in history.problems.values() for t in p.tags})
    return {
        "generated_at": now.isoformat(),
        "totals": {
            "students": len(users),
            "problems": len(history.problems),
            "submissions": len(history.attempts),
            "accepted": sum(a.accepted for a in history.attempts),
            "verdicts": dict(Counter(a.verdict for a in history.attempts).most_common()),
        },
        "problems": problems,
        "students": students,
        "activity": [
            {"day": day, "submissions": n, "accepted": ok} for day, (n, ok) in per_day.items()
        ],
        "recent": [
            {
                "id": a.id,
                "user": a.user,
                "problem": a.problem,
                "verdict": a.verdict,
                "score": a.score,
                "at": a.at.isoformat(),
            }
            for a in sorted(history.attempts, key=lambda a: (a.at, a.id), reverse=True)[:recent]
        ],
        "tags": [
            {
                "tag": tag,
                "mastery": round(statistics.fmean(model.mastery(u, tag) for u in users), 3)
                if users
                else None,
            }
            for tag in tags
        ],
    }


@dataclass(frozen=True)
class GradebookRow:
    """One student's standing on one problem (``best_score`` None: never attempted)."""

    student: str
    problem: str
    best_score: float | None
    attempts: int
    first_accepted_at: datetime | None

    @property
    def accepted(self) -> bool:
        return self.first_accepted_at is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.student,
            "problem": self.problem,
            "best_score": self.best_score,
            "attempts": self.attempts,
            "accepted": self.accepted,
            "first_accepted_at": _iso(self.first_accepted_at),
        }


def gradebook(insight: Insight, students: Iterable[str] | None = None) -> list[GradebookRow]:
    """A row per student (everyone with a judged submission) and problem, by student then problem.

    ``first_accepted_at`` is when the first accepted submission was submitted.
    """
    rows = []
    for user in sorted(students) if students is not None else insight.history.users:
        records = insight.records[user]
        for slug in sorted(insight.history.problems):
            record = records.get(slug)
            rows.append(
                GradebookRow(
                    student=user,
                    problem=slug,
                    best_score=round(record.best_score, 4) if record else None,
                    attempts=record.attempts if record else 0,
                    first_accepted_at=record.first_accepted_at if record else None,
                )
            )
    return rows


def gradebook_json(insight: Insight) -> dict[str, Any]:
    """The gradebook as JSON: students, problems (with titles) and one row per pair."""
    rows = gradebook(insight)
    return {
        "students": insight.history.users,
        "problems": [
            {"problem": p.slug, "title": p.title, "difficulty": p.difficulty}
            for p in sorted(insight.history.problems.values(), key=lambda p: p.slug)
        ],
        "columns": list(GRADEBOOK_COLUMNS),
        "rows": [r.to_dict() for r in rows],
    }


def gradebook_csv(rows: Sequence[GradebookRow]) -> str:
    """The gradebook as CSV text (header :data:`GRADEBOOK_COLUMNS`, RFC 4180, CRLF lines).

    An empty ``best_score`` means never attempted; ``accepted`` is ``true``/``false``;
    ``first_accepted_at`` is ISO 8601 UTC or empty. Cells that a spreadsheet would
    read as a formula are prefixed with ``'``.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(GRADEBOOK_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                _spreadsheet_safe(row.student),
                _spreadsheet_safe(row.problem),
                "" if row.best_score is None else f"{row.best_score:g}",
                row.attempts,
                "true" if row.accepted else "false",
                _iso(row.first_accepted_at) or "",
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- the cache ------------------------------------------------------------------------


class InsightCache:
    """The newest :class:`Insight` of a store, kept up to date verdict by verdict.

    New verdicts are learned incrementally: the submissions finished since the
    last look (less ``overlap``, for workers whose clocks differ) that were not
    seen yet. A new problem version, or any verdict the incremental look missed,
    replays the whole history instead.
    """

    def __init__(self, store: Store, overlap: timedelta = timedelta(minutes=5)) -> None:
        self.store = store
        self.overlap = overlap
        self._signature: tuple[Any, ...] | None = None
        self._insight: Insight | None = None
        #: full replays so far (the rest were incremental)
        self.rebuilds = 0

    async def get(self) -> Insight:
        """Coroutine: the :class:`Insight` of the history as it is now."""
        signature = await history_signature(self.store)
        insight, known = self._insight, self._signature
        if insight is not None and known is not None and signature == known:
            return insight
        judged, finished = signature[0], known[1] if known is not None else None
        if insight is not None and known is not None and signature[3:] == known[3:] and finished:
            fresh = await load_attempts(
                self.store, insight.history.problems, finished_since=finished - self.overlap
            )
            insight.extend(fresh)
            if len(insight.seen) >= judged:
                self._signature = signature
                return insight
        history = await load_history(self.store)
        # replaying a long history takes a while: keep the event loop answering
        self._insight = await asyncio.to_thread(Insight, history)
        self._signature = signature
        self.rebuilds += 1
        return self._insight
