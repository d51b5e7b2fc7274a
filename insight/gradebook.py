"""The gradebook: per student and problem, best score, attempts and time of first acceptance."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .history import iso
from .model import Insight

#: gradebook CSV columns, in order
GRADEBOOK_COLUMNS = (
    "student",
    "problem",
    "best_score",
    "attempts",
    "accepted",
    "first_accepted_at",
)


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
            "first_accepted_at": iso(self.first_accepted_at),
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
                iso(row.first_accepted_at) or "",
            ]
        )
    return out.getvalue()


def _spreadsheet_safe(text: str) -> str:
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
