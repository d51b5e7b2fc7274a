"""The class overview: the numbers of the instructors' dashboard."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from codetutor.judge.models import utcnow

from .history import ACCEPTED, Attempt, iso
from .model import Insight, elo


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
                "last_active_at": iso(last_active.get(user)),
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
