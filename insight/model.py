"""The rating model: per-student ratings and per-tag mastery, replayed from the history.

- :class:`EloModel` rates every student and every problem, Elo-style, on a
  logit scale: the predicted chance that ``user`` gets ``problem`` accepted is
  ``sigmoid(ability + mean(tag skill over the problem's tags) - difficulty +
  retry gain * earlier failures on it)``. Every verdict moves the student's
  ability, their skill in each of the problem's tags and the problem's
  difficulty by ``K * (outcome - prediction)``, with ``K`` shrinking as a
  rating sees more verdicts (a new student or problem moves fast, an
  established one slowly). A problem starts at a difficulty given by its
  1..5 ``difficulty``.
- :class:`Insight` replays the whole history once, keeping per-student records;
  :class:`InsightCache` keeps it and feeds it each new verdict as it arrives.
  ``internal_error`` verdicts do not move ratings and do not count as attempts.

Recommendations are in :mod:`codetutor.insight.recommend`, the class overview in
:mod:`codetutor.insight.overview` and the gradebook in :mod:`codetutor.insight.gradebook`.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from codetutor.judge.store import Store

from .history import (
    INTERNAL_ERROR,
    Attempt,
    History,
    ProblemInfo,
    history_signature,
    iso,
    load_attempts,
    load_history,
)

#: Elo display scale: a rating of 1500 is a logit of 0; 400 points are a factor 10 in odds
ELO_BASE = 1500.0
ELO_SCALE = 400.0 / math.log(10.0)


def sigmoid(x: float) -> float:
    """The logistic function, safe for any float."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def elo(logit: float) -> int:
    """A logit-scale rating shown on the familiar Elo scale (1500 = average)."""
    return round(ELO_BASE + ELO_SCALE * logit)


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
                    "last_solved_at": iso(record.last_solved_at),
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
