"""Plain data across the sandbox boundary: the harness's encoder and the judge's decoder agree."""

from __future__ import annotations

import json
import math
from collections import Counter, OrderedDict, defaultdict, namedtuple
from typing import Any

import pytest

from codetutor.judge import _kernel
from codetutor.judge.values import (
    DecodeError,
    NotPlainData,
    decode,
    decode_json,
    normalize_stdout,
    values_equal,
)

Point = namedtuple("Point", "x y")


def roundtrip(value: Any) -> Any:
    return decode(json.loads(json.dumps(_kernel.encode(value))))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -7,
        2**200,
        -(2**70),
        1.5,
        "한글",
        b"\x00\xff",
        [1, [2, [3]]],
        (1, "a"),
        {"a": 1, 2: [3], (4, 5): None},
        {1, 2, 3},
        frozenset({"x"}),
        3 + 4j,
        [],
        (),
        {},
    ],
)
def test_plain_data_round_trips(value: Any) -> None:
    back = roundtrip(value)
    assert back == value
    assert type(back) is type(value)


def test_special_floats() -> None:
    assert math.isnan(roundtrip(float("nan")))
    assert roundtrip(float("inf")) == float("inf")
    assert roundtrip(float("-inf")) == float("-inf")


def test_subclasses_reduce_to_their_base_type() -> None:
    assert roundtrip(Counter("aab")) == {"a": 2, "b": 1}
    assert type(roundtrip(Counter("aab"))) is dict
    assert type(roundtrip(defaultdict(int, a=1))) is dict
    assert type(roundtrip(OrderedDict(a=1))) is dict
    assert roundtrip(Point(1, 2)) == (1, 2)
    assert type(roundtrip(Point(1, 2))) is tuple

    class Sneaky(int):
        def __int__(self) -> int:
            return 42

        def __repr__(self) -> str:
            return "42"

    assert roundtrip(Sneaky(5)) == 5


def test_objects_that_are_not_plain_data() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    back = roundtrip(AlwaysEqual())
    assert isinstance(back, NotPlainData)
    assert not values_equal(back, back)
    assert not values_equal(5, roundtrip([AlwaysEqual()]))
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    assert isinstance(roundtrip(cyclic), NotPlainData)


@pytest.mark.parametrize(
    "expected, actual, equal",
    [
        (1, 1.0, True),
        (True, 1, True),
        ([1, 2], (1, 2), False),
        ({"a": 1}, {"a": 1}, True),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (0.1 + 0.2, 0.3, True),
        (1.0, 1.001, False),
        (0.0, 1e-9, False),
        ([1.0, [2.0]], [1.0000000001, [2.0]], True),
        ({1, 2}, frozenset({1, 2}), True),
        ("a", b"a", False),
        (float("inf"), float("inf"), True),
        (None, 0, False),
    ],
)
def test_comparison(expected: Any, actual: Any, equal: bool) -> None:
    assert values_equal(expected, actual, 1e-6) is equal


NAN = float("nan")
INF = float("inf")


@pytest.mark.parametrize(
    "expected, actual, equal",
    [
        # the tolerance is relative, with no absolute part
        (1000.0, 1000.0009, True),
        (1000.0, 1000.002, False),
        (1e-12, 1.0000001e-12, True),
        (1e-12, 2e-12, False),
        (0.0, 0.0, True),
        (0.0, -0.0, True),
        (0.0, 1e-300, False),
        (1e-7, 0.0, False),
        # only where the expected value is a float: an int wants that int
        (1, 1.0, True),
        (1, 1.0000001, False),
        (1000000, 1000000.5, False),
        (True, 1.0, True),
        (1.0, 1, True),
        (1.0000001, 1, True),
        (1.5, 10**400, False),
        (2**60, float(2**60), True),
        # NaN equals NaN, also nested and in complex numbers
        (NAN, NAN, True),
        (NAN, 1.0, False),
        (1.0, NAN, False),
        (1, NAN, False),
        ([1.0, NAN], [1.0, NAN], True),
        ((NAN, [NAN]), (NAN, [NAN]), True),
        ({"a": NAN, "b": [NAN]}, {"a": NAN, "b": [NAN]}, True),
        ({"a": NAN}, {"a": 0.0}, False),
        (complex(NAN, 1), complex(NAN, 1), True),
        (complex(NAN, 1), complex(NAN, 2), False),
        (complex(1, NAN), complex(NAN, 1), False),
        ({NAN, 1.0}, {NAN, 1.0}, True),
        ({NAN, 1.0}, {NAN, 2.0}, False),
        # an infinity equals only the same infinity
        (INF, INF, True),
        (-INF, -INF, True),
        (INF, -INF, False),
        (INF, 1e308, False),
        (1e308, INF, False),
        (INF, NAN, False),
        ([INF], [INF], True),
        (complex(INF, 0), complex(INF, 0), True),
        (complex(INF, 0), complex(-INF, 0), False),
        # complex numbers: relative to their size
        (1 + 1j, 1 + 1.0000001j, True),
        (1 + 1j, 1 + 1.001j, False),
        (1j, 1, False),
        (1, 1 + 0j, True),
    ],
)
def test_float_rules(expected: Any, actual: Any, equal: bool) -> None:
    """SPEC.md section 3: relative tolerance, only for float expected values; NaN equals NaN."""
    assert values_equal(expected, actual, 1e-6) is equal


def test_tolerance_is_the_problems() -> None:
    assert values_equal(100.0, 101.0, 0.02)
    assert not values_equal(100.0, 103.0, 0.02)
    assert not values_equal(100, 101, 0.5)
    assert not values_equal(1.0, 1.0000001, 0.0)
    assert values_equal(NAN, NAN, 0.0)


def test_decoder_rejects_anything_else() -> None:
    for bad in [
        '{"__ct__": "pickle", "v": "x"}',
        '{"__ct__": "dict", "v": [[[1], 2]]}',
        "[" * 100000,
    ]:
        with pytest.raises(DecodeError):
            decode_json(bad)


def test_stdout_normalization() -> None:
    assert normalize_stdout("1 2  \n3\n\n\n") == normalize_stdout("1 2\n3")
    assert normalize_stdout("1\n\n2") != normalize_stdout("1\n2")
