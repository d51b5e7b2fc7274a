"""Tagged JSON: plain data across a process boundary. Standard library only.

The one encoding every party of a judgement speaks: the sandboxed kernel
(which gets this module's *source*, installed as ``_codetutor_wire``), the
checker that evaluates tests, and the judge. JSON's own types carry ``None``,
bools, small ints, finite floats, strings and lists; everything else plain is
a tagged object ``{"__ct__": TAG, "v": ...}`` (tuples, dicts, sets,
frozensets, bytes, big ints, complex numbers, NaN and infinities). What is not
plain data is handed to a callback: the kernel turns it into a *handle* (the
object stays inside, the other side refers to it by number), the checker into
an opaque description.

Decoding builds ordinary Python objects with the C JSON parser and a hook for
tagged objects: nothing is evaluated or unpickled, and a tag nobody knows is
an error.
"""

import base64
import json
import math
import traceback

TAG = "__ct__"
#: most nodes one value may have, and how deeply it may nest
MAX_NODES = 2_000_000
MAX_DEPTH = 200
_SMALL = 1 << 53


class DecodeError(ValueError):
    """Tagged JSON that does not describe plain data."""


class TooLarge(ValueError):
    """A value with too many nodes, too deep, or containing itself."""


def encode(value, other):
    """``value`` as JSON-able tagged data; ``other(v)`` encodes what is not plain data.

    Subclasses of the plain types are reduced to their base type's contents,
    without calling any method the subclass may override. Raises
    :class:`TooLarge` for values past :data:`MAX_NODES` or :data:`MAX_DEPTH`.
    """
    budget = [MAX_NODES]
    active = set()

    def enc(v, depth):
        budget[0] -= 1
        if budget[0] < 0:
            raise TooLarge("value too large")
        if depth > MAX_DEPTH:
            raise TooLarge("value nested too deeply")
        t = type(v)
        if v is None or t is bool or t is str:
            return v
        if t is int:
            return v if -_SMALL < v < _SMALL else {TAG: "int", "v": hex(v)}
        if t is float:
            if math.isfinite(v):
                return v
            return {TAG: "float", "v": "nan" if v != v else ("inf" if v > 0 else "-inf")}
        if isinstance(v, bool):
            return bool(v)
        if isinstance(v, int):
            return enc(int.__int__(v), depth)
        if isinstance(v, float):
            return enc(float.__float__(v), depth)
        if isinstance(v, str):
            return str.__str__(v)
        if isinstance(v, complex):
            c = complex.__complex__(v)
            return {TAG: "complex", "v": [enc(c.real, depth + 1), enc(c.imag, depth + 1)]}
        if isinstance(v, bytes | bytearray):
            return {TAG: "bytes", "v": base64.b64encode(bytes(v)).decode("ascii")}
        if t.__module__ == "numpy" and hasattr(v, "tolist"):
            return enc(v.tolist(), depth)
        key = id(v)
        if key in active:
            raise TooLarge("value contains itself")
        active.add(key)
        try:
            if t is list:
                # A list of small ints, strings, bools, None and finite floats is its own encoding.
                for x in v:
                    tx = type(x)
                    if not (
                        tx is str
                        or tx is bool
                        or x is None
                        or (tx is int and -_SMALL < x < _SMALL)
                        or (tx is float and math.isfinite(x))
                    ):
                        break
                else:
                    budget[0] -= len(v)
                    if budget[0] < 0:
                        raise TooLarge("value too large")
                    return list(v)
            if isinstance(v, list):
                return [enc(x, depth + 1) for x in list.__iter__(v)]
            if isinstance(v, tuple):
                return {TAG: "tuple", "v": [enc(x, depth + 1) for x in tuple.__iter__(v)]}
            if isinstance(v, dict):
                return {
                    TAG: "dict",
                    "v": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in dict.items(v)],
                }
            if isinstance(v, frozenset):
                return {TAG: "frozenset", "v": [enc(x, depth + 1) for x in frozenset.__iter__(v)]}
            if isinstance(v, set):
                return {TAG: "set", "v": [enc(x, depth + 1) for x in set.__iter__(v)]}
        finally:
            active.discard(key)
        return other(v)

    return enc(value, 0)


def dumps(value, other):
    """:func:`encode` as compact, strict JSON text."""
    return json.dumps(encode(value, other), separators=(",", ":"), allow_nan=False)


def describe_other(v):
    """The tagged description of a value that is not plain data (never calls its methods)."""
    t = type(v)
    try:
        text = object.__repr__(v)
    except BaseException:
        text = "<" + t.__name__ + ">"
    return {TAG: "other", "type": str(t.__module__) + "." + str(t.__qualname__), "repr": text[:200]}


def error_info(exc, skip_frames=0):
    """An exception as bounded text: its name, message and traceback (``skip_frames`` dropped)."""
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    try:
        text = "".join(traceback.format_exception(type(exc), exc, tb))
    except BaseException:
        text = type(exc).__name__
    try:
        evalue = str(exc)
    except BaseException:
        evalue = ""
    return {"ename": type(exc).__name__, "evalue": evalue[:2000], "traceback": text[-8000:]}


def _list(value):
    if type(value) is not list:
        raise DecodeError("expected a list")
    return value


def _str(value):
    if type(value) is not str:
        raise DecodeError("expected a string")
    return value


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        raise DecodeError("unhashable key") from None
    return value


def _pair(value):
    if type(value) is not list or len(value) != 2:
        raise DecodeError("expected a key/value pair")
    return value[0], value[1]


def _rebuild(obj, other):
    tag = obj.get(TAG)
    value = obj.get("v")
    if tag == "tuple":
        return tuple(_list(value))
    if tag == "dict":
        return {_hashable(k): v for k, v in (_pair(p) for p in _list(value))}
    if tag == "set":
        return {_hashable(x) for x in _list(value)}
    if tag == "frozenset":
        return frozenset(_hashable(x) for x in _list(value))
    if tag == "bytes":
        try:
            return base64.b64decode(_str(value), validate=True)
        except ValueError as e:
            raise DecodeError("bad bytes: " + str(e)) from None
    if tag == "int":
        try:
            return int(_str(value), 16)
        except ValueError:
            raise DecodeError("bad int") from None
    if tag == "complex":
        parts = _list(value)
        if len(parts) != 2 or not all(type(p) in (int, float) for p in parts):
            raise DecodeError("bad complex")
        return complex(parts[0], parts[1])
    if tag == "float":
        if value not in ("nan", "inf", "-inf"):
            raise DecodeError("bad float")
        return float(value)
    if tag is None:
        raise DecodeError("an object without a tag")
    return other(obj)


def _reject_constant(name):
    raise DecodeError("non-standard JSON constant " + name)


def loads(text, other):
    """Parse tagged JSON text; ``other(obj)`` rebuilds tags that are not plain data.

    ``other`` raises :class:`DecodeError` for tags it does not know. Raises
    :class:`DecodeError` for anything that is not tagged JSON of plain data.
    """
    if type(text) is not str:
        raise DecodeError("expected tagged JSON text")
    try:
        return json.loads(
            text, object_hook=lambda obj: _rebuild(obj, other), parse_constant=_reject_constant
        )
    except DecodeError:
        raise
    except (ValueError, RecursionError, TypeError, MemoryError) as e:
        raise DecodeError(str(e)[:200]) from None
