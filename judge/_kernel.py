"""The kernel-side half of the judge. Runs INSIDE the sandboxed kernel.

This module is never imported by the judge: its source (and that of
:mod:`codetutor.judge._wire`) is sent to a fresh kernel before any student
code has run there, and installed as the module ``_codetutor_kernel`` (see
:func:`codetutor.judge.runner.install_harness_code`).

It only *computes*. Each judge request calls one function here with a nonce
and the request's data (JSON text) and gets back one result, published as
display data of type :data:`RESULT` (in chunks, so no message is large):

- :func:`cells` runs the student's cells in the user namespace;
- :func:`op` performs one operation that a test asks of the student's code
  (call a function, index an object, ...), on names of the user namespace or
  on *handles*: objects that are not plain data stay here, in a table, and
  the checker refers to them by number;
- :func:`program` runs a stdio-mode program once, with one case's stdin.

Nothing here decides anything, and nothing secret is ever here: no test
source, no expected value, no other case's input. A student who patches this
module can only change the answers their own code gives. Only the standard
library is used.
"""

import io
import json
import operator
import os
import sys

try:  # installed from source inside the kernel
    import _codetutor_wire as _wire
except ImportError:  # imported by the judge's own tests
    from . import _wire

RESULT = "application/vnd.codetutor.result+json"
#: a result larger than this is sent as several messages
CHUNK = 256 * 1024
#: how much of a student's program output the harness keeps (the judge bounds it again)
PROGRAM_OUTPUT_MAX = 64 << 20

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

#: what the judge's own tests of this module see (outside IPython)
published: list = []
_handles: dict = {}

# What a student's code most often breaks in its own kernel, put back after each
# request so the next one is served: not a defence (nothing here decides anything),
# only so that a patched builtin or shell costs the student no more than its effect.
_MISSING = object()
_REPAIRED = (
    "run_cell",
    "run_cell_async",
    "run_ast_nodes",
    "run_code",
    "showtraceback",
    "showsyntaxerror",
    "transform_cell",
    "publish",
    "events",
)
_builtins = __import__("builtins")
_builtins_snapshot = dict(_builtins.__dict__)
_sys_snapshot = (sys.stdin, sys.stdout, sys.stderr, sys.displayhook, sys.excepthook)


def _attributes(*objects):
    saved = []
    for obj in objects:
        for name in _REPAIRED:
            saved.append((obj, name, vars(obj).get(name, _MISSING)))
    return saved


_attribute_snapshot = (
    _attributes(_shell, type(_shell), _shell.display_pub, type(_shell.display_pub))
    if _shell is not None
    else []
)


def _repair():
    """Put back builtins, sys streams and hooks, and the shell's execute path."""
    _builtins.__dict__.clear()
    _builtins.__dict__.update(_builtins_snapshot)
    sys.stdin, sys.stdout, sys.stderr, sys.displayhook, sys.excepthook = _sys_snapshot
    sys.settrace(None)
    sys.setprofile(None)
    if sys.getrecursionlimit() < 1000:
        sys.setrecursionlimit(1000)
    for obj, name, value in _attribute_snapshot:
        try:
            if value is _MISSING:
                if name in vars(obj):
                    delattr(obj, name)
            elif vars(obj).get(name, _MISSING) is not value:
                setattr(obj, name, value)
        except BaseException:
            pass


def _request(request):
    """The request's data: given (tests), or the current execute request's metadata."""
    if request is None:
        request = _shell.kernel.get_parent("shell")["metadata"]["codetutor"]
    return json.loads(request)


def _handle(v):
    """Keep ``v`` here and describe it; the checker refers to it by number."""
    number = len(_handles) + 1
    _handles[number] = v
    described = _wire.describe_other(v)
    described["h"] = number
    described["callable"] = callable(v)
    return described


def encode(value):
    """Tagged JSON data for ``value``; objects that are not plain data become handles.

    A value too large, too deep or containing itself is described, not sent.
    """
    try:
        return _wire.encode(value, _handle)
    except _wire.TooLarge as e:
        return {_wire.TAG: "other", "type": "too large", "repr": str(e)}


def _send(nonce, payload):
    """Publish one result, in chunks of at most :data:`CHUNK` characters."""
    text = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    count = max(1, -(-len(text) // CHUNK))
    for index in range(count):
        part = {"n": nonce, "i": index, "last": index == count - 1}
        part["v"] = text[index * CHUNK : (index + 1) * CHUNK]
        if _publish is None:
            published.append(part)
        else:
            _publish(data={RESULT: part}, metadata={})


_error_info = _wire.error_info


class OutputLimit(Exception):
    """Raised into student code that writes past the output limit."""


class _Bounded(io.TextIOBase):
    """sys.stdout / sys.stderr during a request: forwards, and stops a flood early.

    The judge counts every message itself; this only spares the kernel's
    memory a flood that its stream buffers would otherwise hold.
    """

    def __init__(self, stream, budget):
        self._stream = stream
        self._budget = budget

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        if self._budget[0] < 0:
            raise OutputLimit("output limit exceeded")
        self._budget[0] -= len(s.encode("utf-8", "replace"))
        written = self._stream.write(s)
        if self._budget[0] < 0:
            # Past the limit: let the judge see it (it decides), then stop the writer.
            self._stream.flush()
            raise OutputLimit("output limit exceeded")
        return written

    def flush(self):
        self._stream.flush()

    def isatty(self):
        return False

    encoding = "utf-8"


class _bounded_output:
    """Bound what sys.stdout and sys.stderr take during one request to ``limit`` bytes."""

    def __init__(self, limit):
        # A little past the limit, so the judge, which allows for its protocol, sees the excess.
        self.budget = [int(limit) + (64 << 10)]

    def __enter__(self):
        self.saved = (sys.stdout, sys.stderr)
        sys.stdout = _Bounded(self.saved[0], self.budget)
        sys.stderr = _Bounded(self.saved[1], self.budget)
        return self

    def __exit__(self, *exc):
        sys.stdout, sys.stderr = self.saved
        for stream in self.saved:
            try:
                stream.flush()
            except BaseException:
                pass
        return False


def _status_of(exc):
    if isinstance(exc, OutputLimit):
        return "output_limit"
    if isinstance(exc, MemoryError):
        return "memory"
    if isinstance(exc, SyntaxError):
        return "syntax"
    return "error"


def cells(nonce, request=None):
    """Run the student's cells in order, stopping at the first that raises.

    Result: ``{"cells": [{"status": "ok"|"error"|"syntax"|"memory", "error"?}, ...]}``.
    """
    spec = _request(request)
    done = []
    with _bounded_output(spec.get("lim", 1 << 20)):
        for index, source in enumerate(spec["cells"]):
            failure = None
            try:
                code = _transform(source) if _transform is not None else source
                exec(compile(code, "<cell " + str(index + 1) + ">", "exec"), _user_ns)
            except BaseException as e:
                failure = e
            _repair()
            if failure is not None:
                done.append({"status": _status_of(failure), "error": _error_info(failure, 1)})
                break
            done.append({"status": "ok"})
    _send(nonce, {"cells": done})


def _decode_other(obj):
    """A handle or a name sent back by the checker: the object it stands for."""
    if "h" in obj:
        number = obj["h"]
        if number not in _handles:
            raise ValueError("the judge referred to an object that no longer exists")
        return _resolve({"h": number, "p": obj.get("p") or []})
    if "n" in obj:
        return _resolve({"n": obj["n"], "p": obj.get("p") or []})
    raise _wire.DecodeError("unknown tag")


def _resolve(target):
    """The object a target names: a handle or a user name, then attributes."""
    if "h" in target:
        value = _handles[target["h"]]
    else:
        name = target["n"]
        if name not in _user_ns:
            raise NameError("name '" + str(name) + "' is not defined")
        value = _user_ns[name]
    for attribute in target.get("p") or []:
        value = getattr(value, attribute)
    return value


def _format(value, spec=""):
    return format(value, spec)


_OPERATIONS: dict = {
    "call": lambda f, *a, **k: f(*a, **k),
    "value": lambda v: v,
    "getitem": operator.getitem,
    "setitem": operator.setitem,
    "delitem": operator.delitem,
    "setattr": setattr,
    "len": len,
    "list": list,
    "bool": bool,
    "str": str,
    "repr": repr,
    "format": _format,
    "contains": operator.contains,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "add": operator.add,
    "sub": operator.sub,
    "mul": operator.mul,
    "truediv": operator.truediv,
    "floordiv": operator.floordiv,
    "mod": operator.mod,
    "pow": operator.pow,
    "neg": operator.neg,
    "pos": operator.pos,
    "abs": abs,
    "radd": lambda a, b: b + a,
    "rsub": lambda a, b: b - a,
    "rmul": lambda a, b: b * a,
    "int": int,
    "float": float,
    "hash": hash,
}


def op(nonce, request=None):
    """Perform one operation on the student's objects; publish its value or error.

    ``request``: ``{"o": operation, "t": target, "a": tagged args, "k": tagged kwargs}``.
    Result: ``{"v": tagged value}`` or ``{"e": error info, "status": ...}``.
    """
    try:
        spec = _request(request)
        function = _OPERATIONS[spec["o"]]
        target = _resolve(spec["t"])
        args = _wire.loads(spec.get("a") or "[]", _decode_other)
        kwargs = _wire.loads(spec.get("k") or "{}", _decode_other)
        try:
            with _bounded_output(spec.get("lim", 1 << 20)):
                value = function(target, *args, **kwargs)
        finally:
            _repair()
        result = {"v": json.dumps(encode(value), separators=(",", ":"), allow_nan=False)}
    except BaseException as e:
        _repair()
        result = {"status": _status_of(e), "e": _error_info(e, 1)}
    _send(nonce, result)


def _stdin_from(text):
    """Make fd 0 and sys.stdin read ``text`` (so input(), sys.stdin and open(0) all work)."""
    fd = os.open("/tmp/.codetutor-stdin", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    view = memoryview(text.encode("utf-8"))
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, 0)
    if fd != 0:
        os.dup2(fd, 0)
        os.close(fd)
    return io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")


def _student_input(stream, stdout):
    def input(prompt=""):
        if prompt:
            stdout.write(str(prompt))
        line = stream.readline()
        if not line:
            raise EOFError("EOF when reading a line")
        return line[:-1] if line.endswith("\n") else line

    return input


def program(nonce, request=None):
    """Run a stdio-mode program once with one case's stdin; publish what it wrote to fd 1.

    Everything that reaches file descriptor 1 counts: ``print``, ``sys.stdout``,
    ``sys.__stdout__`` and ``os.write(1, ...)``. Result:
    ``{"status": "ok"|"error"|"syntax"|"memory", "output": str, "error"?}``.
    """
    spec = _request(request)
    try:
        code = compile(spec["program"], "<program>", "exec")
    except BaseException as e:
        _send(nonce, {"status": "syntax", "output": "", "error": _error_info(e, 0)})
        return
    import builtins

    saved = {fd: os.dup(fd) for fd in (0, 1)}
    saved_streams = (sys.stdin, sys.stdout, sys.__stdout__, sys.stderr)
    out_fd = os.open("/tmp/.codetutor-stdout", os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    result = {"status": "ok"}
    try:
        os.dup2(out_fd, 1)
        stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), encoding="utf-8")
        stdin = _stdin_from(spec["stdin"])
        sys.stdin, sys.stdout = stdin, stdout
        sys.__stdout__ = stdout  # type: ignore[misc]
        sys.stderr = _Bounded(saved_streams[3], [int(spec.get("lim", 1 << 20)) + (64 << 10)])
        program_builtins = dict(builtins.__dict__)
        program_builtins["input"] = _student_input(stdin, stdout)
        namespace = {"__name__": "__main__", "__builtins__": program_builtins}
        try:
            exec(code, namespace)
        except SystemExit as e:
            if e.code not in (None, 0):
                result = {"status": "error", "error": _error_info(e, 1)}
        except BaseException as e:
            result = {"status": _status_of(e), "error": _error_info(e, 1)}
        for stream in (sys.stdout, stdout):
            try:
                stream.flush()
            except BaseException:
                pass
    finally:
        sys.stdin, sys.stdout, _, sys.stderr = saved_streams
        sys.__stdout__ = saved_streams[2]  # type: ignore[misc]
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
    os.lseek(out_fd, 0, 0)
    parts = []
    size = 0
    while size <= PROGRAM_OUTPUT_MAX:
        part = os.read(out_fd, 1 << 20)
        if not part:
            break
        parts.append(part)
        size += len(part)
    os.close(out_fd)
    result["output"] = b"".join(parts).decode("utf-8", "replace")
    _repair()
    _send(nonce, result)
