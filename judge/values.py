"""Plain data across the sandbox boundary: decoding and comparison.

Values leave the sandbox as *tagged JSON* written by the kernel-side harness
(:mod:`codetutor.judge._kernel`): JSON's own types for ``None``, bools, small
ints, floats, strings and lists, and ``{"__ct__": TAG, "v": ...}`` objects for
the rest (tuples, dicts, sets, bytes, big ints, complex numbers, and values
that are not plain data). Decoding builds ordinary Python objects and never
evaluates or unpickles anything.

Comparison follows Python's ``==`` on the decoded data (``1 == 1.0``, a
``Counter`` equals the dict with the same counts, a list is not a tuple),
except for floats (SPEC.md section 3): where the *expected* value is a float
(or a complex number) the actual one may differ by a relative tolerance, with
no absolute part; an int expected value is compared exactly (``1 == 1.0``
still holds, ``1 == 1.0000001`` does not); NaN equals NaN, wherever it is;
an infinity equals only the same infinity.
"""

from __future__ import annotations

import json
import math
import reprlib
from dataclasses import dataclass
from typing import Any

from . import _wire

TAG = _wire.TAG


@dataclass(frozen=True)
class NotPlainData:
    """A value that was not plain data in the sandbox; never equal to anything."""

    type_name: str
    text: str

    def __eq__(self, other: object) -> bool:
        return False

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return self.text or f"<{self.type_name}>"


DecodeError = _wire.DecodeError


def _other(obj: dict[str, Any]) -> Any:
    """A value the sandbox could only describe (not plain data): equal to nothing."""
    if obj.get(TAG) == "other":
        return NotPlainData(str(obj.get("type", "object")), str(obj.get("repr", ""))[:200])
    raise DecodeError(f"unknown tag {obj.get(TAG)!r}")


def decode_json(text: str) -> Any:
    """Parse tagged JSON text into Python data; raise :class:`DecodeError` on anything else.

    Lists, strings and numbers are built by the C parser; only tagged objects
    cost a Python call, so large values decode quickly.
    """
    return _wire.loads(text, _other)


def decode(obj: Any) -> Any:
    """Turn tagged JSON that is already parsed (a bundle's expected value) into Python data."""
    try:
        text = json.dumps(obj, allow_nan=False)
    except (ValueError, TypeError, RecursionError) as e:
        raise DecodeError(str(e)) from None
    return decode_json(text)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float | complex) and not isinstance(x, NotPlainData)


def values_equal(expected: Any, actual: Any, tolerance: float = 1e-6) -> bool:
    """Compare decoded plain data the way Python's ``==`` does, with the float rules above.

    ``tolerance`` is relative: ``|expected - actual| <= tolerance * max(|expected|, |actual|)``.
    """
    if isinstance(expected, NotPlainData) or isinstance(actual, NotPlainData):
        return False
    try:
        # Python's == (in C) never calls equal what this function would not: only
        # float tolerance (and NaN) can make unequal values "equal", so try it first.
        if type(expected) is type(actual) and expected == actual:
            return True
    except RecursionError:
        pass
    if _is_number(expected) and _is_number(actual):
        return _numbers_equal(expected, actual, tolerance)
    if isinstance(expected, set | frozenset) and isinstance(actual, set | frozenset):
        return _sets_equal(expected, actual)
    if type(expected) is not type(actual):
        return False
    if isinstance(expected, list | tuple):
        return len(expected) == len(actual) and all(
            values_equal(e, a, tolerance) for e, a in zip(expected, actual, strict=True)
        )
    if isinstance(expected, dict):
        return expected.keys() == actual.keys() and all(
            values_equal(v, actual[k], tolerance) for k, v in expected.items()
        )
    return bool(expected == actual)


def _numbers_equal(expected: Any, actual: Any, tolerance: float) -> bool:
    """Numbers: exact unless the expected one is a float or complex; NaN equals NaN."""
    if not isinstance(expected, float | complex):
        # An int (or bool) expected value wants exactly that number: 1 == 1.0 only.
        return bool(expected == actual)
    try:
        if isinstance(expected, complex) or isinstance(actual, complex):
            e, a = complex(expected), complex(actual)
        else:
            return _floats_equal(float(expected), float(actual), tolerance)
    except OverflowError:  # an int too large for a float: no float is near it
        return False
    if not all(map(math.isfinite, (e.real, e.imag, a.real, a.imag))):
        return _floats_equal(e.real, a.real, 0.0) and _floats_equal(e.imag, a.imag, 0.0)
    return abs(e - a) <= tolerance * max(abs(e), abs(a))


def _floats_equal(expected: float, actual: float, tolerance: float) -> bool:
    if math.isnan(expected) or math.isnan(actual):
        return math.isnan(expected) and math.isnan(actual)
    if math.isinf(expected) or math.isinf(actual):
        return expected == actual
    return math.isclose(expected, actual, rel_tol=tolerance, abs_tol=0.0)


def _has_nan(x: Any) -> bool:
    if isinstance(x, float):
        return math.isnan(x)
    if isinstance(x, complex):
        return math.isnan(x.real) or math.isnan(x.imag)
    return False


def _sets_equal(expected: set[Any] | frozenset[Any], actual: set[Any] | frozenset[Any]) -> bool:
    """Sets compare with ``==``, except that their NaNs (never equal in Python) match each other."""
    if expected == actual:
        return True
    nan_expected = [x for x in expected if _has_nan(x)]
    nan_actual = [x for x in actual if _has_nan(x)]
    if not nan_expected or len(nan_expected) != len(nan_actual):
        return False
    rest_expected = {x for x in expected if not _has_nan(x)}
    rest_actual = {x for x in actual if not _has_nan(x)}
    return rest_expected == rest_actual and sorted(map(type, nan_expected), key=str) == sorted(
        map(type, nan_actual), key=str
    )


_repr = reprlib.Repr()
_repr.maxstring = 200
_repr.maxother = 200
_repr.maxlist = 20
_repr.maxtuple = 20
_repr.maxdict = 20
_repr.maxset = 20
_repr.maxlevel = 4


def describe(value: Any) -> str:
    """A short, bounded ``repr`` of decoded data for feedback."""
    return _repr.repr(value)


def normalize_stdout(text: str) -> str:
    """Stdout as stdio mode compares it: no trailing whitespace per line, no trailing blank lines."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def is_plain(obj: Any) -> bool:
    """True when decoded data contains no :class:`NotPlainData`."""
    if isinstance(obj, NotPlainData):
        return False
    if isinstance(obj, list | tuple | set | frozenset):
        return all(is_plain(x) for x in obj)
    if isinstance(obj, dict):
        return all(is_plain(k) and is_plain(v) for k, v in obj.items())
    return True
