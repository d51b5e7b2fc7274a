"""Late policies at each boundary, extensions, exam windows and grading (judge/policy.py).

Time is given, never read: every moment is an argument.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from codetutor.judge.policy import (
    Attempt,
    Extension,
    GradeMode,
    LatePolicy,
    PolicyError,
    PolicyKind,
    Terms,
    closes_at,
    credit,
    exam_window_end,
    grade,
)

OPENS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
DUE = datetime(2027, 3, 8, 23, 59, tzinfo=UTC)
SECOND = timedelta(seconds=1)
HOUR = timedelta(hours=1)


def terms(policy: dict | None = None, exam_minutes: int | None = None) -> Terms:
    return Terms(OPENS, DUE, LatePolicy.from_dict(policy), exam_minutes)


BY_DATE = {"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]}
PER_HOUR = {"kind": "per_hour", "penalty": 0.1}


@pytest.mark.parametrize(
    ("policy", "moment", "expected"),
    [
        # none: full credit up to and including the due instant, then nothing
        (None, OPENS - SECOND, 0.0),
        (None, OPENS, 1.0),
        (None, DUE, 1.0),
        (None, DUE + SECOND, 0.0),
        # credit by date: 100 % until due, 80 % for two days (inclusive), then 0
        (BY_DATE, DUE, 1.0),
        (BY_DATE, DUE + SECOND, 0.8),
        (BY_DATE, DUE + 48 * HOUR, 0.8),
        (BY_DATE, DUE + 48 * HOUR + SECOND, 0.0),
        # penalty per started hour
        (PER_HOUR, DUE, 1.0),
        (PER_HOUR, DUE + SECOND, 0.9),
        (PER_HOUR, DUE + HOUR, 0.9),
        (PER_HOUR, DUE + HOUR + SECOND, 0.8),
        (PER_HOUR, DUE + 9 * HOUR, 0.1),
        (PER_HOUR, DUE + 9 * HOUR + SECOND, 0.0),
        (PER_HOUR, DUE + 1000 * HOUR, 0.0),
    ],
)
def test_credit_at_each_boundary(policy: dict | None, moment: datetime, expected: float) -> None:
    assert credit(terms(policy), moment) == pytest.approx(expected)


def test_several_steps_and_a_zero_step() -> None:
    t = terms(
        {
            "kind": "by_date",
            "steps": [{"hours": 24, "credit": 0.9}, {"hours": 72, "credit": 0.5}],
        }
    )
    assert credit(t, DUE + 24 * HOUR) == 0.9
    assert credit(t, DUE + 24 * HOUR + SECOND) == 0.5
    assert credit(t, DUE + 72 * HOUR) == 0.5
    assert credit(t, DUE + 72 * HOUR + SECOND) == 0.0
    assert closes_at(t) == DUE + 72 * HOUR
    only_zero = terms({"kind": "by_date", "steps": [{"hours": 5, "credit": 0}]})
    assert closes_at(only_zero) == DUE


def test_steps_in_any_order_and_ties() -> None:
    t = terms(
        {
            "kind": "by_date",
            "steps": [
                {"hours": 72, "credit": 0.5},
                {"hours": 24, "credit": 0.9},
                {"hours": 24, "credit": 0.1},
            ],
        }
    )
    assert [s.hours for s in t.policy.steps] == [24, 24, 72]
    assert credit(t, DUE + 24 * HOUR) == 0.9
    assert credit(t, DUE + 25 * HOUR) == 0.5


def test_per_hour_max_hours_closes_earlier() -> None:
    t = terms({"kind": "per_hour", "penalty": 0.01, "max_hours": 3})
    assert credit(t, DUE + 3 * HOUR) == pytest.approx(0.97)
    assert credit(t, DUE + 3 * HOUR + SECOND) == 0.0
    assert closes_at(t) == DUE + 3 * HOUR
    assert closes_at(terms(PER_HOUR)) == DUE + 9 * HOUR
    # a penalty that reaches exactly 0: the last hour with credit is the one before
    assert closes_at(terms({"kind": "per_hour", "penalty": 0.25})) == DUE + 3 * HOUR
    assert credit(terms({"kind": "per_hour", "penalty": 0.25}), DUE + 4 * HOUR) == 0.0


def test_closes_at_none_and_never() -> None:
    assert closes_at(terms()) == DUE
    forever = Terms(OPENS, DUE, LatePolicy(PolicyKind.PER_HOUR, penalty=0.0, max_hours=None))
    assert closes_at(forever) is None


def test_extension_moves_the_due_time_for_one_student() -> None:
    later = Extension(due_at=DUE + 72 * HOUR)
    t = terms(BY_DATE)
    assert credit(t, DUE + 72 * HOUR, later) == 1.0
    assert credit(t, DUE + 72 * HOUR + SECOND, later) == 0.8
    assert credit(t, DUE + 72 * HOUR, None) == 0.0
    assert closes_at(t, later) == DUE + 120 * HOUR
    # a multiplier alone changes nothing outside exams
    assert credit(t, DUE + SECOND, Extension(time_multiplier=2.0)) == 0.8


def test_exam_window_from_the_start_with_multiplier_and_due_cap() -> None:
    t = terms(BY_DATE, exam_minutes=60)
    start = OPENS + 10 * HOUR
    assert exam_window_end(t, start) == start + HOUR
    assert credit(t, start + HOUR, exam_started_at=start) == 1.0
    assert credit(t, start + HOUR + SECOND, exam_started_at=start) == 0.0
    assert credit(t, start - SECOND, exam_started_at=start) == 0.0
    assert credit(t, start + 10 * SECOND) == 0.0  # never started
    slow = Extension(time_multiplier=1.5)
    assert exam_window_end(t, start, slow) == start + 90 * timedelta(minutes=1)
    assert credit(t, start + 90 * timedelta(minutes=1), slow, exam_started_at=start) == 1.0
    # started 30 minutes before the due time: the window ends at the due time,
    # and late policies do not apply to exams
    late_start = DUE - 30 * timedelta(minutes=1)
    assert exam_window_end(t, late_start) == DUE
    assert credit(t, DUE + SECOND, exam_started_at=late_start) == 0.0
    assert closes_at(t, exam_started_at=late_start) == DUE
    assert closes_at(t) == DUE
    with pytest.raises(PolicyError):
        exam_window_end(terms(), start)


def test_grade_as_of_deadline_and_best_within_policy() -> None:
    t = terms(BY_DATE)
    attempts = [
        Attempt(DUE - HOUR, 0.5),
        Attempt(DUE + HOUR, 1.0),  # 80 % credit
        Attempt(DUE + 100 * HOUR, 1.0),  # no credit
    ]
    assert grade(attempts, t, mode=GradeMode.AS_OF_DEADLINE) == 0.5
    assert grade(attempts, t, mode=GradeMode.BEST_WITHIN_POLICY) == pytest.approx(0.8)
    assert grade([], t) == 0.0
    # with an extension the late attempt is on time
    ext = Extension(due_at=DUE + 2 * HOUR)
    assert grade(attempts, t, ext, mode=GradeMode.AS_OF_DEADLINE) == 1.0


def test_naive_times_are_refused() -> None:
    with pytest.raises(PolicyError):
        credit(terms(), datetime(2027, 3, 2))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("late", "object"),
        ({"kind": "sometimes"}, "kind"),
        ({"kind": "none", "penalty": 1}, "unknown"),
        ({"kind": "by_date"}, "steps"),
        ({"kind": "by_date", "steps": [{"hours": 0, "credit": 0.5}]}, "above 0"),
        ({"kind": "by_date", "steps": [{"hours": 5}]}, "hours, credit"),
        ({"kind": "by_date", "steps": [{"hours": 5, "credit": 1.5}]}, "between"),
        ({"kind": "by_date", "steps": [{"hours": "5", "credit": 1}]}, "number"),
        ({"kind": "per_hour", "penalty": 0, "max_hours": 5}, "penalty must be above 0"),
        ({"kind": "per_hour", "penalty": True}, "number"),
        ({"kind": "per_hour", "penalty": float("nan")}, "number"),
    ],
)
def test_bad_policies_name_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(PolicyError, match=message) as raised:
        LatePolicy.from_dict(data)
    assert raised.value.status == 400


@pytest.mark.parametrize("data", [None, {"kind": "none"}, BY_DATE, PER_HOUR])
def test_policy_round_trips(data: dict | None) -> None:
    policy = LatePolicy.from_dict(data)
    assert LatePolicy.from_dict(policy.to_dict()) == policy
