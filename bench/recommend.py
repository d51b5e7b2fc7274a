"""Recommender evaluation on simulated students who are not the model's own form.

The class is simulated with a model the recommender does not share:

- **items**: the problem set of ``notebooks/`` (slugs, 1..5 levels, tags), each
  with a 2PL IRT discrimination ``a`` (log-normal around 1) and difficulty ``b``
  (near what its level says, with noise);
- **students**: a true ability per tag (a student's general level plus a spread
  per tag). A problem needs all of its tags: the ability it sees is half the
  weakest of them plus half their mean. The first try succeeds with
  ``sigmoid(a * (ability - b) + noise)``; a retry of the same problem with
  ``1 - (1 - p) ** (1 + retries / 2)`` (students fix their code);
- **learning depends on practice**: every attempt on a problem adds to the
  student's ability in each of its tags ``rate * (0.3 + 0.7 * accepted) /
  (1 + attempts so far on that tag / 4)`` (diminishing returns; the rate is the
  student's own), and what was learned fades with a 30-day time constant when the
  tag is not practised.

The recommender model (:mod:`codetutor.insight`: an Elo-style rating with tag
skills and a retry gain) knows none of this. First the class practises on its own
for ``--warmup`` submissions each (students pick problems near their level and
retry failures); every policy learns from that history. Then, one round a day,
each policy picks the next problem for every student, who tries it up to three
times; every policy learns from each verdict as it comes. Policies, each run from
the same state with the same random stream:

- **model**: :class:`~codetutor.insight.recommend.Recommender` over
  :class:`~codetutor.insight.model.Insight`, as the service runs it;
- **elo**: a plain per-student Elo rating without tags (one rating per student,
  one per problem, constant K), picking the unsolved problem whose predicted
  success is closest to the middle of the recommender's own target band;
- **random**: any unsolved problem;
- **oracle**: the problem whose *true* success is closest to 0.6 (a ceiling, not
  a policy anyone can run).

Reported, with the simulator's truth: the share of recommendations in the
student's zone of proximal development (true first-try success 0.4 to 0.8), the
mean true success of a recommendation, problems solved per recommendation, and
the learning gain: the student's expected score over the whole problem set after
the rounds minus before them (forgetting included; "no practice" shows what
forgetting alone does). Then each policy's ratio to the baselines run in the same
process, and how well the two ratings predict the warm-up verdicts (log-loss,
each prediction made before its verdict). Several seeds; mean and spread.

    python bench/recommend.py [--seeds 1,2,3,4,5] [--students 200] [--warmup 20]
                              [--rounds 15] [--json]
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import random
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from codetutor.insight.history import ACCEPTED, Attempt, History, ProblemInfo
from codetutor.insight.model import Insight, sigmoid
from codetutor.insight.recommend import Recommender

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 9, 1, tzinfo=UTC)
#: the zone of proximal development, in true first-try success
ZPD = (0.4, 0.8)
#: logit noise of one attempt (a good or a bad day)
ATTEMPT_NOISE = 0.3
#: days for what was learned in a tag to fade to 1/e without practice
FORGET_DAYS = 30.0
#: tries at a recommended problem before a student moves on
MAX_TRIES = 3
POLICIES = ("model", "elo", "random", "oracle")


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
            tags=tuple(meta.get("tags", [])) or ("untagged",),
        )
    return found


# -- the simulator ------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A problem's true 2PL parameters."""

    problem: ProblemInfo
    discrimination: float
    difficulty: float


@dataclass
class SimStudent:
    """A student's true state: innate ability per tag, what was learned and when."""

    name: str
    innate: dict[str, float]
    rate: float
    learned: dict[str, float] = field(default_factory=dict)
    practice: Counter[str] = field(default_factory=Counter)
    last_practice: dict[str, float] = field(default_factory=dict)
    solved: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)

    def ability(self, tag: str, day: float) -> float:
        learned = self.learned.get(tag, 0.0)
        if learned:
            learned *= math.exp(-(day - self.last_practice[tag]) / FORGET_DAYS)
        return self.innate[tag] + learned

    def success(self, item: Item, day: float) -> float:
        """True chance that a first try at ``item`` on ``day`` is accepted (no noise)."""
        abilities = [self.ability(t, day) for t in item.problem.tags]
        seen = 0.5 * min(abilities) + 0.5 * statistics.fmean(abilities)
        return sigmoid(item.discrimination * (seen - item.difficulty))

    def attempt(self, item: Item, day: float, rng: random.Random) -> bool:
        """One submission: its verdict, and what the student learns from it."""
        abilities = [self.ability(t, day) for t in item.problem.tags]
        seen = 0.5 * min(abilities) + 0.5 * statistics.fmean(abilities)
        p = sigmoid(item.discrimination * (seen - item.difficulty) + rng.gauss(0, ATTEMPT_NOISE))
        retries = self.failures[item.problem.slug]
        p = 1.0 - (1.0 - p) ** (1.0 + retries / 2)
        accepted = rng.random() < p
        for tag in item.problem.tags:
            now = self.ability(tag, day) - self.innate[tag]
            gain = self.rate * (0.3 + 0.7 * accepted) / (1.0 + self.practice[tag] / 4.0)
            self.learned[tag] = now + gain
            self.last_practice[tag] = day
            self.practice[tag] += 1
        if accepted:
            self.solved.add(item.problem.slug)
            self.failures.pop(item.problem.slug, None)
        else:
            self.failures[item.problem.slug] += 1
        return accepted


class World:
    """A simulated class: items, students, and a clock of attempts."""

    def __init__(self, problems: dict[str, ProblemInfo], students: int, seed: int) -> None:
        rng = random.Random(seed)
        self.problems = problems
        self.items = {
            slug: Item(
                problem=p,
                discrimination=math.exp(rng.gauss(0.0, 0.35)),
                difficulty=(p.difficulty - 3) * 0.8 + rng.gauss(0.0, 0.6),
            )
            for slug, p in problems.items()
        }
        tags = sorted({t for p in problems.values() for t in p.tags})
        self.students = []
        for i in range(students):
            level = rng.gauss(0.0, 1.0)
            self.students.append(
                SimStudent(
                    name=f"s{i:03d}",
                    innate={t: level + rng.gauss(0.0, 0.7) for t in tags},
                    rate=0.15 * math.exp(rng.gauss(0.0, 0.4)),
                )
            )
        self.next_id = 1

    def record(self, student: SimStudent, slug: str, accepted: bool, at: datetime) -> Attempt:
        attempt = Attempt(
            id=self.next_id,
            user=student.name,
            problem=slug,
            verdict=ACCEPTED if accepted else "wrong_answer",
            score=1.0 if accepted else 0.0,
            at=at,
        )
        self.next_id += 1
        return attempt

    def expected_score(self, student: SimStudent, day: float) -> float:
        """The student's expected share of the whole problem set solved at the first try."""
        return statistics.fmean(student.success(item, day) for item in self.items.values())

    def warm_up(self, submissions: int, days: int, rng: random.Random) -> History:
        """The class practising on its own: problems near one's level, failures retried."""
        attempts = []
        for student in self.students:
            level = 3 + statistics.fmean(student.innate.values()) / 0.8
            times = sorted(rng.uniform(0, days) for _ in range(submissions))
            last: tuple[str, bool] | None = None
            for day in times:
                if last is not None and not last[1] and rng.random() < 0.6:
                    slug = last[0]
                else:
                    open_ = [s for s in self.problems if s not in student.solved] or list(
                        self.problems
                    )
                    weights = [math.exp(-abs(self.problems[s].difficulty - level)) for s in open_]
                    slug = rng.choices(open_, weights)[0]
                accepted = student.attempt(self.items[slug], day, rng)
                attempts.append(self.record(student, slug, accepted, START + timedelta(days=day)))
                last = (slug, accepted)
        attempts.sort(key=lambda a: (a.at, a.id))
        return History(problems=self.problems, attempts=tuple(attempts))


# -- the baseline rating -----------------------------------------------------------------


class PlainElo:
    """One rating per student and one per problem, no tags, constant K, on a logit scale.

    A problem starts at the same prior as the model's (its 1..5 level).
    """

    def __init__(
        self, problems: dict[str, ProblemInfo], k_student: float = 0.4, k_item: float = 0.2
    ) -> None:
        self.k_student = k_student
        self.k_item = k_item
        self.rating: dict[str, float] = {}
        self.difficulty = {slug: (p.difficulty - 3) * 0.75 for slug, p in problems.items()}

    def predict(self, user: str, slug: str) -> float:
        return sigmoid(self.rating.get(user, 0.0) - self.difficulty[slug])

    def update(self, user: str, slug: str, accepted: bool) -> float:
        p = self.predict(user, slug)
        surprise = float(accepted) - p
        self.rating[user] = self.rating.get(user, 0.0) + self.k_student * surprise
        self.difficulty[slug] -= self.k_item * surprise
        return p


# -- policies ------------------------------------------------------------------------------


def run_policy(
    name: str,
    world: World,
    history: History,
    rounds: int,
    warmup_days: int,
    seed: int,
) -> dict[str, float]:
    """Run ``rounds`` recommendation rounds under policy ``name``; its metrics."""
    rng = random.Random(seed * 7919 + 1)
    recommender = Recommender()
    target = (recommender.target_low + recommender.target_high) / 2
    insight = Insight(history) if name == "model" else None
    elo = PlainElo(world.problems)
    if name == "elo":
        for a in history.attempts:
            elo.update(a.user, a.problem, a.accepted)

    def pick(student: SimStudent, day: float, now: datetime) -> str | None:
        open_ = [s for s in world.problems if s not in student.solved]
        if not open_:
            return None
        if name == "model":
            assert insight is not None
            picks = recommender.recommend(insight, student.name, limit=1, now=now)
            return picks[0].problem.slug if picks else None
        if name == "elo":
            return min(open_, key=lambda s: (abs(elo.predict(student.name, s) - target), s))
        if name == "oracle":
            middle = sum(ZPD) / 2
            return min(open_, key=lambda s: (abs(student.success(world.items[s], day) - middle), s))
        return rng.choice(open_)

    start_day = float(warmup_days)
    before = {s.name: world.expected_score(s, start_day) for s in world.students}
    in_zpd: list[bool] = []
    true_success: list[float] = []
    solved = 0
    for r in range(rounds):
        order = list(world.students)
        rng.shuffle(order)
        for n, student in enumerate(order):
            day = start_day + r + n / (len(order) + 1)
            now = START + timedelta(days=day)
            slug = pick(student, day, now)
            if slug is None:
                continue
            p = student.success(world.items[slug], day)
            true_success.append(p)
            in_zpd.append(ZPD[0] <= p <= ZPD[1])
            fresh = []
            for k in range(MAX_TRIES):
                at = now + timedelta(minutes=10 * k)
                accepted = student.attempt(world.items[slug], day, rng)
                fresh.append(world.record(student, slug, accepted, at))
                if name == "elo":
                    elo.update(student.name, slug, accepted)
                if accepted:
                    solved += 1
                    break
            if insight is not None:
                insight.extend(fresh)
    end_day = start_day + rounds
    gains = [world.expected_score(s, end_day) - before[s.name] for s in world.students]
    return {
        "in_zpd": statistics.fmean(in_zpd) if in_zpd else 0.0,
        "true_success": statistics.fmean(true_success) if true_success else 0.0,
        "solved_per_pick": solved / len(in_zpd) if in_zpd else 0.0,
        "learning_gain": statistics.fmean(gains),
        "picks": len(in_zpd),
    }


def log_loss(predictions: list[tuple[float, bool]]) -> float:
    eps = 1e-9
    return -statistics.fmean(
        math.log(max(p, eps)) if y else math.log(max(1 - p, eps)) for p, y in predictions
    )


def run_seed(
    problems: dict[str, ProblemInfo],
    seed: int,
    students: int,
    warmup: int,
    warmup_days: int,
    rounds: int,
) -> dict[str, Any]:
    """One simulated class: every policy from the same warmed-up state."""
    world = World(problems, students, seed)
    history = world.warm_up(warmup, warmup_days, random.Random(seed * 7919))
    found: dict[str, Any] = {}
    for name in POLICIES:
        found[name] = run_policy(name, copy.deepcopy(world), history, rounds, warmup_days, seed)
    idle = copy.deepcopy(world)
    found["no practice"] = {
        "learning_gain": statistics.fmean(
            idle.expected_score(s, warmup_days + rounds) - idle.expected_score(s, warmup_days)
            for s in idle.students
        )
    }
    elo = PlainElo(problems)
    found["prediction"] = {
        "model": log_loss(Insight(history).predictions),
        "elo": log_loss(
            [(elo.update(a.user, a.problem, a.accepted), a.accepted) for a in history.attempts]
        ),
        "acceptance_rate": statistics.fmean(a.accepted for a in history.attempts),
    }
    return found


# -- the report -----------------------------------------------------------------------------


METRICS = (
    ("in_zpd", "in ZPD (0.4-0.8)"),
    ("true_success", "true success"),
    ("solved_per_pick", "solved/pick"),
    ("learning_gain", "learning gain"),
)


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds; ratios of the model to each baseline."""

    def stats(values: list[float]) -> dict[str, float]:
        return {
            "mean": round(statistics.fmean(values), 4),
            "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
        }

    policies: dict[str, Any] = {}
    for name in (*POLICIES, "no practice"):
        keys = [k for k, _ in METRICS if k in runs[0][name]]
        policies[name] = {k: stats([run[name][k] for run in runs]) for k in keys}
    ratios: dict[str, Any] = {}
    for baseline in ("elo", "random"):
        ratios[baseline] = {}
        for key, _ in METRICS:
            base = policies[baseline][key]["mean"]
            ratios[baseline][key] = (
                round(policies["model"][key]["mean"] / base, 3) if base else None
            )
            ratios[baseline][f"{key}_seeds_model_ahead"] = sum(
                run["model"][key] > run[baseline][key] for run in runs
            )
    prediction = {
        k: stats([run["prediction"][k] for run in runs])
        for k in ("model", "elo", "acceptance_rate")
    }
    prediction["ratio_model_to_elo"] = round(
        prediction["model"]["mean"] / prediction["elo"]["mean"], 3
    )
    return {"policies": policies, "ratios_model_to": ratios, "prediction": prediction}


def print_table(report: dict[str, Any]) -> None:
    setup = report["setup"]
    print(
        f"{len(setup['seeds'])} seeds x {setup['students']} simulated students "
        f"(2PL IRT, per-tag abilities, practice-driven learning with forgetting), "
        f"{setup['problems']} problems; {setup['warmup']} warm-up submissions each, "
        f"then {setup['rounds']} recommendations each (up to {MAX_TRIES} tries). "
        "Mean (sd over seeds)."
    )
    policies = report["summary"]["policies"]
    header = f"{'policy':14}" + "".join(f"{label:>22}" for _, label in METRICS)
    print(header)
    for name in (*POLICIES, "no practice"):
        cells = []
        for key, _ in METRICS:
            value = policies[name].get(key)
            cells.append(f"{value['mean']:>13.3f} ({value['sd']:.3f})" if value else f"{'-':>22}")
        print(f"{name:14}" + "".join(f"{c:>22}" for c in cells))
    seeds = len(setup["seeds"])
    print("\nmodel / baseline (ratio of means; seeds where the model is ahead)")
    for baseline, ratios in report["summary"]["ratios_model_to"].items():
        cells = []
        for key, _ in METRICS:
            ratio = ratios[key]
            text = "-" if ratio is None else f"{ratio:.3f}"
            cells.append(f"{text} ({ratios[key + '_seeds_model_ahead']}/{seeds})")
        print(f"{'vs ' + baseline:14}" + "".join(f"{c:>22}" for c in cells))
    prediction = report["summary"]["prediction"]
    print(
        "\nwarm-up verdicts predicted before each is known (log-loss, lower is better): "
        f"model {prediction['model']['mean']:.4f}, plain Elo {prediction['elo']['mean']:.4f}, "
        f"ratio {prediction['ratio_model_to_elo']:.3f} "
        f"(acceptance rate {prediction['acceptance_rate']['mean']:.0%})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="1,2,3,4,5", help="comma-separated")
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20, help="submissions per student")
    parser.add_argument("--warmup-days", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15, help="recommendations per student")
    parser.add_argument("--problems", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    problems = problem_set(args.problems)
    runs = [
        run_seed(problems, seed, args.students, args.warmup, args.warmup_days, args.rounds)
        for seed in seeds
    ]
    report = {
        "setup": {
            "seeds": seeds,
            "students": args.students,
            "problems": len(problems),
            "warmup": args.warmup,
            "rounds": args.rounds,
            "zpd": list(ZPD),
        },
        "summary": summarise(runs),
        "runs": runs,
    }
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        print_table(report)


if __name__ == "__main__":
    main()
