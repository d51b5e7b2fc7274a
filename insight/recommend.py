"""Recommendations: a student's next problems, each with its reasons in Korean and English.

:class:`Recommender` picks unsolved problems whose predicted success (from the
:class:`~codetutor.insight.model.EloModel`) falls in a target band (likely, not
certain), mixed with the student's weakest tags, tags due for review (not
solved in ``review_after_days``) and tags never tried.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from traitlets import Float, Int, TraitError, validate
from traitlets.config import LoggingConfigurable

from codetutor.judge.models import utcnow

from .history import ProblemInfo
from .model import Insight, elo


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


def reason_target() -> Reason:
    return Reason(
        "target",
        ko="풀 가능성이 높지만 확실하지는 않은 문제입니다. 지금 도전하기 알맞습니다.",
        en="You are likely, but not certain, to solve this: a good next step.",
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


def reason_retry(attempts: int) -> Reason:
    return Reason(
        "retry",
        ko=f"이 문제를 {attempts}번 시도했지만 아직 통과하지 못했습니다. 다시 도전해 보세요.",
        en=f"You tried this {attempts} time(s) without acceptance; try it again.",
    )


def reason_new_tag(tag: str) -> Reason:
    return Reason(
        "new_tag",
        ko=f"아직 시도하지 않은 주제 '{tag}'의 문제입니다.",
        en=f"A first problem on '{tag}', a topic you have not tried yet.",
        tag=tag,
    )


def reason_start() -> Reason:
    return Reason(
        "start",
        ko="시작하기 좋은 문제입니다.",
        en="A good problem to start with.",
    )


def reason_challenge() -> Reason:
    return Reason(
        "challenge",
        ko="도전 문제입니다.",
        en="A challenge.",
    )


def reason_warm_up() -> Reason:
    return Reason(
        "warm_up",
        ko="가볍게 풀 수 있는 문제입니다.",
        en="A quick win.",
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
                reasons.append(reason_retry(mine.attempts))
                score += 0.3 * fit
            new = [t for t in problem.tags if t not in tried]
            if has_history and new:
                reasons.append(reason_new_tag(new[0]))
                score += 0.25 * fit
            if self.target_low <= p <= self.target_high:
                # the specific reasons above come first; the band is the general one
                reasons.append(reason_target() if has_history else reason_start())
            elif not reasons:
                reasons.append(reason_challenge() if p < self.target_low else reason_warm_up())
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
