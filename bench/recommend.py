"""Offline evaluation of the recommender against a difficulty-only baseline, in the same run.

Synthetic class: the problem set of ``notebooks/`` (slugs, difficulty, tags) and
students of *known* skill. Each student has a true ability and a true skill
offset per tag; each problem a true difficulty near what its 1..5 level says.
A submission is accepted with probability
``sigmoid(ability + mean tag offset - difficulty + 0.4 * earlier failures on it)``,
and solving a tag's problem teaches a little of that tag. Students choose
problems by their displayed difficulty (near their level) and retry failures
often, as real students do. Their submissions are interleaved in time and
replayed in order.

Two predictors of "this submission will be accepted", each making its
prediction before it learns the verdict:

- **model**: :class:`codetutor.judge.insight.Insight` (the Elo-style model the
  service uses);
- **baseline**: difficulty only: the acceptance rate so far of submissions to
  problems of the same difficulty level.

Reported: log-loss, Brier score, expected calibration error (10 bins) and a
calibration table of each, and the ratios model/baseline (lower is better).
Then recommendation quality, judged with the *true* success probabilities: at
the end of the history, each student's first recommendation from
:class:`~codetutor.judge.insight.Recommender` against the baseline's choice (the
easiest unsolved problem at the student's next difficulty level): how often the
choice falls in the target band and how far it is from the band's middle.

    python bench/recommend.py [--students 300] [--submissions 60] [--seed 7] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codetutor.judge.insight import (
    ACCEPTED,
    Attempt,
    History,
    Insight,
    ProblemInfo,
    Recommender,
    sigmoid,
)

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 9, 1, tzinfo=UTC)
RETRY_GAIN = 0.4
LEARNING = 0.08


def problem_set(root: Path) -> dict[str, ProblemInfo]:
    """The problem set's metadata (notebooks/*/problem.ipynb)."""
    found = {}
    for path in sorted(root.glob("*/problem.ipynb")):
        meta = json.loads(path.read_text())["metadata"]["codetutor"]
        found[meta["id"]] = ProblemInfo(
            slug=meta["id"],
            version=1,
            title={"en": str(meta["id"])},
            difficulty=int(meta.get("difficulty", 1)),
            tags=tuple(meta.get("tags", [])),
        )
    return found


@dataclass
class Student:
    name: str
    ability: float
    tag_skill: dict[str, float]
    failures: Counter[str] = field(default_factory=Counter)
    solved: set[str] = field(default_factory=set)

    def truth(self, problem: ProblemInfo, difficulty: float) -> float:
        """The true chance that the next submission to ``problem`` is accepted."""
        tags = problem.tags
        skill = self.ability + (sum(self.tag_skill[t] for t in tags) / len(tags) if tags else 0.0)
        return sigmoid(skill - difficulty + RETRY_GAIN * min(self.failures[problem.slug], 4))


class World:
    """A synthetic class with known skills, and its submission history."""

    def __init__(self, problems: dict[str, ProblemInfo], students: int, seed: int) -> None:
        self.rng = random.Random(seed)
        self.problems = problems
        tags = sorted({t for p in problems.values() for t in p.tags})
        self.difficulty = {
            slug: (p.difficulty - 3) * 0.75 + self.rng.gauss(0.0, 0.5)
            for slug, p in problems.items()
        }
        self.students = [
            Student(
                name=f"s{i:03d}",
                ability=self.rng.gauss(0.0, 1.0),
                tag_skill={t: self.rng.gauss(0.0, 0.7) for t in tags},
            )
            for i in range(students)
        ]

    def choose(self, student: Student, last: tuple[str, bool] | None) -> ProblemInfo:
        if last is not None and not last[1] and self.rng.random() < 0.6:
            return self.problems[last[0]]
        open_ = [p for p in self.problems.values() if p.slug not in student.solved]
        if not open_:
            open_ = list(self.problems.values())
        # students judge a problem by its displayed level, aiming near their own
        level = 3 + student.ability / 0.75
        weights = [math.exp(-abs(p.difficulty - level)) for p in open_]
        return self.rng.choices(open_, weights)[0]

    def simulate(self, submissions: int, days: int = 30) -> History:
        attempts = []
        for student in self.students:
            last: tuple[str, bool] | None = None
            times = sorted(self.rng.uniform(0, days * 86400) for _ in range(submissions))
            for at in times:
                problem = self.choose(student, last)
                accepted = self.rng.random() < student.truth(problem, self.difficulty[problem.slug])
                if accepted:
                    student.solved.add(problem.slug)
                    student.failures.pop(problem.slug, None)
                    for tag in problem.tags:
                        student.tag_skill[tag] += LEARNING
                else:
                    student.failures[problem.slug] += 1
                attempts.append(
                    Attempt(
                        id=len(attempts) + 1,
                        user=student.name,
                        problem=problem.slug,
                        verdict=ACCEPTED if accepted else "wrong_answer",
                        score=1.0 if accepted else self.rng.choice([0.0, 0.25, 0.5, 0.75]),
                        at=START + timedelta(seconds=at),
                    )
                )
                last = (problem.slug, accepted)
        attempts.sort(key=lambda a: (a.at, a.id))
        return History(problems=self.problems, attempts=tuple(attempts))


def difficulty_baseline(history: History) -> list[tuple[float, bool]]:
    """Predictions of the difficulty-only baseline, each made before its verdict."""
    ok: Counter[int] = Counter()
    seen: Counter[int] = Counter()
    found = []
    for attempt in history.attempts:
        level = history.problems[attempt.problem].difficulty
        found.append(((ok[level] + 1) / (seen[level] + 2), attempt.accepted))
        seen[level] += 1
        ok[level] += attempt.accepted
    return found


def scores(predictions: list[tuple[float, bool]], bins: int = 10) -> dict[str, Any]:
    """Log-loss, Brier score, expected calibration error and the calibration table."""
    eps = 1e-9
    log_loss = -statistics.fmean(
        math.log(max(p, eps)) if y else math.log(max(1 - p, eps)) for p, y in predictions
    )
    brier = statistics.fmean((p - y) ** 2 for p, y in predictions)
    table: dict[int, list[tuple[float, bool]]] = defaultdict(list)
    for p, y in predictions:
        table[min(int(p * bins), bins - 1)].append((p, y))
    rows = []
    ece = 0.0
    for b in range(bins):
        members = table.get(b, [])
        if not members:
            continue
        predicted = statistics.fmean(p for p, _ in members)
        actual = statistics.fmean(y for _, y in members)
        ece += len(members) / len(predictions) * abs(predicted - actual)
        rows.append(
            {
                "bin": f"{b / bins:.1f}-{(b + 1) / bins:.1f}",
                "n": len(members),
                "predicted": round(predicted, 3),
                "actual": round(actual, 3),
            }
        )
    return {
        "log_loss": round(log_loss, 4),
        "brier": round(brier, 4),
        "ece": round(ece, 4),
        "calibration": rows,
    }


def baseline_pick(world: World, student: Student) -> ProblemInfo | None:
    """Difficulty only: the easiest unsolved problem at the student's next level."""
    solved_levels = [world.problems[s].difficulty for s in student.solved]
    level = min(5, max(solved_levels, default=0) + 1)
    open_ = sorted(
        (p for p in world.problems.values() if p.slug not in student.solved),
        key=lambda p: (abs(p.difficulty - level), p.difficulty, p.slug),
    )
    return open_[0] if open_ else None


def recommendation_quality(world: World, insight: Insight, now: datetime) -> dict[str, Any]:
    recommender = Recommender()
    middle = (recommender.target_low + recommender.target_high) / 2
    found: dict[str, list[float]] = {"model": [], "baseline": []}
    for student in world.students:
        picks = recommender.recommend(insight, student.name, limit=1, now=now)
        base = baseline_pick(world, student)
        if not picks or base is None:
            continue
        for who, problem in (("model", picks[0].problem), ("baseline", base)):
            found[who].append(student.truth(problem, world.difficulty[problem.slug]))

    def summary(values: list[float]) -> dict[str, Any]:
        in_band = [recommender.target_low <= v <= recommender.target_high for v in values]
        return {
            "students": len(values),
            "in_band": round(statistics.fmean(in_band), 3),
            "mean_distance_from_middle": round(
                statistics.fmean(abs(v - middle) for v in values), 3
            ),
            "mean_true_success": round(statistics.fmean(values), 3),
        }

    return {
        "band": [recommender.target_low, recommender.target_high],
        "model": summary(found["model"]),
        "baseline": summary(found["baseline"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--submissions", type=int, default=60, help="per student")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--problems", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    world = World(problem_set(args.problems), args.students, args.seed)
    history = world.simulate(args.submissions)
    insight = Insight(history)
    model = scores(insight.predictions)
    baseline = scores(difficulty_baseline(history))
    ratios = {k: round(model[k] / baseline[k], 3) for k in ("log_loss", "brier", "ece")}
    now = history.attempts[-1].at + timedelta(hours=1)
    quality = recommendation_quality(world, insight, now)
    report = {
        "students": args.students,
        "submissions": len(history.attempts),
        "problems": len(history.problems),
        "acceptance_rate": round(statistics.fmean(a.accepted for a in history.attempts), 3),
        "model": model,
        "baseline": baseline,
        "ratio_model_to_baseline": ratios,
        "recommendations": quality,
    }
    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(
        f"{report['submissions']} submissions of {args.students} synthetic students "
        f"on {report['problems']} problems (accepted {report['acceptance_rate']:.0%})"
    )
    print(f"{'':22}{'model':>10}{'baseline':>10}{'ratio':>8}")
    for key, label in (
        ("log_loss", "log-loss"),
        ("brier", "Brier score"),
        ("ece", "calibration error"),
    ):
        print(f"{label:22}{model[key]:>10.4f}{baseline[key]:>10.4f}{ratios[key]:>8.3f}")
    print("\ncalibration (predicted -> actual, n):")
    for who, data in (("model", model), ("baseline", baseline)):
        cells = ", ".join(
            f"{r['predicted']:.2f}->{r['actual']:.2f} ({r['n']})" for r in data["calibration"]
        )
        print(f"  {who:9}{cells}")
    low, high = quality["band"]
    print(f"\nfirst recommendation, true success in the band {low:.1f}-{high:.1f}:")
    for who in ("model", "baseline"):
        q = quality[who]
        print(
            f"  {who:9}in band {q['in_band']:.0%}, mean true success {q['mean_true_success']:.2f}, "
            f"distance from the middle {q['mean_distance_from_middle']:.3f}"
        )


if __name__ == "__main__":
    main()
