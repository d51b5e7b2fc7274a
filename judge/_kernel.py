"""The kernel-side half of the judge. Runs INSIDE the sandboxed kernel.

This module is never imported by the judge: its source is sent to a fresh
kernel, before any student code has run there, and installed as the module
``_codetutor_kernel`` (see :func:`codetutor.judge.runner.harness_source`). At
that moment it captures pristine references to everything it relies on
(builtins, the IPython shell's display publisher, ``time``, ``json``), so a
student who later monkeypatches ``sorted``, ``repr``, ``print``,
``run_cell`` or ``showtraceback`` changes nothing the harness uses.

:func:`run` then executes, in ONE execute request: the student's cells (or,
in stdio mode, the student's program once per case), and the problem's cases.
It reports each step as an *event* (display data of type
:data:`MIME`) that the judge watches in real time to enforce time, memory and
output limits. Values leave as tagged JSON (:mod:`codetutor.judge.values`);
expected values never enter the sandbox, and pass/fail of value cases is
decided outside. Only the standard library is used here.
"""

import builtins
import io
import json
import math
import os
import sys
import threading
import time
import traceback

MIME = "application/vnd.codetutor.event+json"
TAG = "__ct__"
MAX_NODES = 2_000_000
MAX_DEPTH = 200
SHOWN_OUTPUT = 8192

_builtins_snapshot = dict(builtins.__dict__)
_builtins_copy = dict(builtins.__dict__)
_type = type
_isinstance = isinstance
_len = len
_str = str
_bool = bool
_id = id
_hex = hex
_getattr = getattr
_exec = exec
_eval = eval
_compile = compile
_BaseException = BaseException
_perf = time.perf_counter
_cpu = time.process_time
_dumps = json.dumps
_format_exception = traceback.format_exception
_isfinite = math.isfinite
_sys_stdout = sys.stdout
_sys_stderr = sys.stderr
_sys_stdin = sys.stdin
_displayhook = sys.displayhook
_excepthook = sys.excepthook
_settrace = sys.settrace
_setprofile = sys.setprofile
_getrecursionlimit = sys.getrecursionlimit
_setrecursionlimit = sys.setrecursionlimit
_dup = os.dup
_dup2 = os.dup2
_open_fd = os.open
_close = os.close
_write_file = os.write

try:
    _shell = get_ipython()  # type: ignore[name-defined]
    _publish = _shell.display_pub.publish
    _transform = _shell.transform_cell
    _user_ns = _shell.user_ns
except NameError:  # outside IPython (the judge's own tests of this module)
    _shell = None
    _publish = None
    _transform = None
    _user_ns = {}
# The kernel's IOPub thread, which sends what _publish queues (None: sends are direct).
_iopub_thread = _getattr(
    _getattr(_publish and _shell.display_pub, "pub_socket", None), "io_thread", None
)
_Event = threading.Event

_emitted: list = []


class OutputLimit(Exception):
    """Raised into student code that writes past the output limit."""


class _Capture(io.TextIOBase):
    """A bounded stand-in for sys.stdout / sys.stderr while student code runs."""

    def __init__(self, limit, on_overflow):
        self._parts = []
        self.size = 0
        self.limit = limit
        self.overflowed = False
        self._on_overflow = on_overflow
        self.buffer = _BinaryCapture(self)

    def writable(self):
        return True

    def write(self, s):
        if _type(s) is not _str:
            if _isinstance(s, _str):
                s = _str.__str__(s)
            else:
                raise TypeError("write() argument must be str, not " + _type(s).__name__)
        return self._add(s, _len(s.encode("utf-8", "replace")))

    def _add(self, s, n):
        if self.size + n > self.limit:
            if not self.overflowed:
                self.overflowed = True
                self._on_overflow()
            raise OutputLimit("output limit exceeded")
        self.size += n
        self._parts.append(s)
        return _len(s)

    def flush(self):
        pass

    def isatty(self):
        return False

    encoding = "utf-8"

    def getvalue(self):
        return "".join(self._parts)


class _BinaryCapture(io.RawIOBase):
    def __init__(self, text):
        self._text = text

    def writable(self):
        return True

    def write(self, b):
        data = bytes(b)
        self._text._add(data.decode("utf-8", "replace"), _len(data))
        return _len(data)


def _emit(event):
    if _publish is None:
        _emitted.append(event)
        return
    _publish(data={MIME: event}, metadata={})


def _sync(timeout=1.0):
    """Wait until the IOPub thread has sent every event queued so far.

    Reports queued just before student code kills its own process (``os._exit``)
    would otherwise die with it, and the judge would not know what had finished.
    """
    if _iopub_thread is None:
        return
    try:
        sent = _Event()
        _iopub_thread.schedule(sent.set)
        sent.wait(timeout)
    except _BaseException:
        pass


def _restore(recursion_floor=1000):
    """Undo what student code may have changed in the interpreter."""
    bd = builtins.__dict__
    bd.clear()
    bd.update(_builtins_snapshot)
    sys.stdout = _sys_stdout
    sys.stderr = _sys_stderr
    sys.stdin = _sys_stdin
    sys.displayhook = _displayhook
    sys.excepthook = _excepthook
    _settrace(None)
    _setprofile(None)
    if _getrecursionlimit() < recursion_floor:
        _setrecursionlimit(recursion_floor)


def encode(value):
    """Tagged JSON for plain data (see codetutor.judge.values)."""
    budget = [MAX_NODES]
    active = set()

    def enc(v, depth):
        budget[0] -= 1
        if budget[0] < 0:
            raise ValueError("value too large")
        if depth > MAX_DEPTH:
            raise ValueError("value nested too deeply")
        t = _type(v)
        if v is None or t is _bool or t is _str:
            return v
        if t is int:
            return v if -(1 << 53) < v < (1 << 53) else {TAG: "int", "v": _hex(v)}
        if t is float:
            if _isfinite(v):
                return v
            return {TAG: "float", "v": "nan" if v != v else ("inf" if v > 0 else "-inf")}
        if _isinstance(v, _bool):
            return _bool(v)
        if _isinstance(v, int):
            return enc(int.__int__(v), depth)
        if _isinstance(v, float):
            return enc(float.__float__(v), depth)
        if _isinstance(v, _str):
            return _str.__str__(v)
        if _isinstance(v, complex):
            c = complex.__complex__(v)
            return {TAG: "complex", "v": [enc(c.real, depth + 1), enc(c.imag, depth + 1)]}
        if _isinstance(v, bytes | bytearray):
            import base64

            return {TAG: "bytes", "v": base64.b64encode(bytes(v)).decode("ascii")}
        if t.__module__ == "numpy" and hasattr(v, "tolist"):
            return enc(v.tolist(), depth)
        key = _id(v)
        if key in active:
            raise ValueError("value contains itself")
        active.add(key)
        try:
            if t is list:
                # Fast path: a list of small ints, strings, bools, None and finite floats is its own encoding.
                flat = True
                for x in v:
                    tx = _type(x)
                    if not (
                        tx is _str
                        or tx is _bool
                        or x is None
                        or (tx is int and -(1 << 53) < x < (1 << 53))
                        or (tx is float and _isfinite(x))
                    ):
                        flat = False
                        break
                if flat:
                    budget[0] -= _len(v)
                    if budget[0] < 0:
                        raise ValueError("value too large")
                    return list(v)
            if _isinstance(v, list):
                return [enc(x, depth + 1) for x in list.__iter__(v)]
            if _isinstance(v, tuple):
                return {TAG: "tuple", "v": [enc(x, depth + 1) for x in tuple.__iter__(v)]}
            if _isinstance(v, dict):
                return {
                    TAG: "dict",
                    "v": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in dict.items(v)],
                }
            if _isinstance(v, frozenset):
                return {TAG: "frozenset", "v": [enc(x, depth + 1) for x in frozenset.__iter__(v)]}
            if _isinstance(v, set):
                return {TAG: "set", "v": [enc(x, depth + 1) for x in set.__iter__(v)]}
        finally:
            active.discard(key)
        return _other(v)

    try:
        return enc(value, 0)
    except ValueError as e:
        return {TAG: "other", "type": "too large", "repr": _str(e)}


def _other(v):
    t = _type(v)
    try:
        text = object.__repr__(v)
    except _BaseException:
        text = "<" + t.__name__ + ">"
    return {TAG: "other", "type": t.__module__ + "." + t.__qualname__, "repr": text[:200]}


def _error_info(exc, skip_frames):
    tb = exc.__traceback__
    for _ in range(skip_frames):
        if tb is not None:
            tb = tb.tb_next
    try:
        lines = _format_exception(_type(exc), exc, tb)
        text = "".join(lines)
    except _BaseException:
        text = _type(exc).__name__
    try:
        evalue = _str(exc)
    except _BaseException:
        evalue = ""
    name = _type(exc).__name__
    return {"ename": name, "evalue": evalue[:2000], "traceback": text[-8000:]}


def _status_of(exc):
    if _isinstance(exc, MemoryError):
        return "memory"
    if _isinstance(exc, OutputLimit):
        return "output_limit"
    if _isinstance(exc, SyntaxError):
        return "syntax"
    return "error"


class _Step:
    """Runs one step with output captured; records time and outcome."""

    def __init__(self, token, step, index, output_limit, shown):
        self.token = token
        self.step = step
        self.index = index
        self.capture = _Capture(output_limit, self._overflow)
        self.shown = shown

    def _overflow(self):
        _emit({"token": self.token, "t": "output_limit", "step": self.step, "i": self.index})

    def __enter__(self):
        _emit({"token": self.token, "t": "begin", "step": self.step, "i": self.index})
        sys.stdout = self.capture
        sys.stderr = self.capture
        self.wall0 = _perf()
        self.cpu0 = _cpu()
        return self

    def finish(self, result):
        wall = _perf() - self.wall0
        cpu = _cpu() - self.cpu0
        _restore()
        out = self.capture.getvalue()
        result.update(
            {
                "token": self.token,
                "t": "end",
                "step": self.step,
                "i": self.index,
                "wall": wall,
                "cpu": cpu,
            }
        )
        if self.capture.overflowed:
            result["status"] = "output_limit"
        if self.shown:
            result["stdout"] = out[:SHOWN_OUTPUT]
        _emit(result)
        return out

    def __exit__(self, *exc):
        return False


def _run_source(source, filename, namespace):
    code = _compile(source, filename, "exec")
    _exec(code, namespace)


def _stdin_from(text):
    """Make fd 0 and sys.stdin read ``text`` (so input(), sys.stdin and open(0) all work)."""
    path = "/tmp/.codetutor-stdin"
    fd = _open_fd(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    data = text.encode("utf-8")
    view = memoryview(data)
    while view:
        n = _write_file(fd, view)
        view = view[n:]
    os.lseek(fd, 0, 0)
    if fd != 0:  # fd 0 is free when the student's program closed it (open(0) does)
        _dup2(fd, 0)
        _close(fd)
    stream = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdin = stream
    return stream


def _student_input(stream):
    def input(prompt=""):
        if prompt:
            sys.stdout.write(_str(prompt))
        line = stream.readline()
        if not line:
            raise EOFError("EOF when reading a line")
        return line[:-1] if line.endswith("\n") else line

    return input


def run(spec):
    """Run a submission's steps as described by ``spec`` (see runner.py); emit events."""
    token = spec["token"]
    limit = spec["output_limit"]
    _restore()
    transformed = []
    for index, source in enumerate(spec["cells"]):
        try:
            transformed.append(_transform(source) if _transform is not None else source)
        except _BaseException as e:
            transformed.append(source)
            _emit({"token": token, "t": "note", "i": index, "note": _str(e)[:200]})
    if spec["mode"] == "stdio":
        _run_stdio(spec, token, limit, transformed)
    else:
        _run_function(spec, token, limit, transformed)
    _restore()
    _emit({"token": token, "t": "done"})


def _run_function(spec, token, limit, cells):
    ns = _user_ns
    if spec.get("run_cells", True):
        for index, source in enumerate(cells):
            step = _Step(token, "cell", index, limit, True)
            with step:
                result = {"status": "ok"}
                try:
                    _run_source(source, "<cell " + _str(index + 1) + ">", ns)
                except _BaseException as e:
                    result = {"status": _status_of(e), "error": _error_info(e, 2)}
                step.finish(result)
            if result["status"] != "ok":
                return
        _sync()
    test_ns = {"__builtins__": _builtins_copy, "__name__": "__tests__"}
    for name in spec["names"]:
        if name in ns:
            test_ns[name] = ns[name]
    for offset, case in enumerate(spec["cases"]):
        index = spec["first_case"] + offset
        step = _Step(token, "case", index, limit, case.get("show", False))
        with step:
            result = {"status": "ok"}
            try:
                for statement in case["setup"]:
                    _run_source(statement, "<test>", test_ns)
                kind = case["kind"]
                if kind == "value":
                    value = _eval(_compile(case["expr"], "<test>", "eval"), test_ns)
                    result["value"] = _dumps(encode(value))
                elif kind == "assert_equal":
                    left = _eval(_compile(case["expr"], "<test>", "eval"), test_ns)
                    right = _eval(_compile(case["other"], "<test>", "eval"), test_ns)
                    result["value"] = _dumps(encode(left))
                    result["other"] = _dumps(encode(right))
                else:
                    test = _eval(_compile(case["expr"], "<test>", "eval"), test_ns)
                    if not _bool(test):
                        result["status"] = "failed"
                        if case.get("other"):
                            message = _eval(_compile(case["other"], "<test>", "eval"), test_ns)
                            result["message"] = _str(message)[:2000]
            except _BaseException as e:
                result = {"status": _status_of(e), "error": _error_info(e, 1)}
            step.finish(result)


def _run_stdio(spec, token, limit, cells):
    program = "\n".join(cells)
    try:
        code = _compile(program, "<program>", "exec")
    except _BaseException as e:
        _emit(
            {
                "token": token,
                "t": "end",
                "step": "cell",
                "i": 0,
                "status": "syntax",
                "error": _error_info(e, 0),
                "wall": 0,
                "cpu": 0,
            }
        )
        return
    saved_fd0 = _dup(0)
    try:
        for offset, case in enumerate(spec["cases"]):
            index = spec["first_case"] + offset
            step = _Step(token, "case", index, limit, False)
            with step:
                result = {"status": "ok"}
                stream = _stdin_from(case["stdin"])
                builtins_for_program = dict(_builtins_snapshot)
                builtins_for_program["input"] = _student_input(stream)
                namespace = {"__name__": "__main__", "__builtins__": builtins_for_program}
                try:
                    _exec(code, namespace)
                except SystemExit as e:
                    if e.code not in (None, 0):
                        result = {"status": "error", "error": _error_info(e, 1)}
                except _BaseException as e:
                    result = {"status": _status_of(e), "error": _error_info(e, 1)}
                try:
                    sys.stdout.flush()
                except _BaseException:
                    pass
                result["output"] = step.capture.getvalue()
                step.finish(result)
    finally:
        _dup2(saved_fd0, 0)
        _close(saved_fd0)
