"""The checker: evaluates a problem's tests and never runs the student's code.

Runs in a sandbox of its own (see :mod:`codetutor.judge.checker`), started
with this module's source and :mod:`codetutor.judge._wire`'s, and speaks JSON
lines with the judge on stdin/stdout.

The checker process is a small fork server. ``{"open": SPEC}`` forks a child
that serves one submission's run: it builds the test namespace (the
solution's own imports, run here, and a :class:`Ref` for every other name the
solution defines), then evaluates cases on request. Whenever a test touches a
student's name, the child asks the judge (``{"rpc": ...}``), which performs
the operation in the student's sandbox and answers with plain data or a
handle. Comparisons, helper predicates, literals and expected values are all
evaluated here, on data; the student's process only ever sees the operations
it is asked to perform and their arguments.
"""

import builtins
import json
import os
import sys

try:  # started from source
    import _codetutor_wire as _wire
except ImportError:  # imported by the judge's own tests
    from . import _wire

_IN, _OUT = 0, 1
_buffer = bytearray()


def send(message):
    data = (json.dumps(message, separators=(",", ":"), allow_nan=False) + "\n").encode()
    view = memoryview(data)
    while view:
        view = view[os.write(_OUT, view) :]


def receive():
    """The next line from the judge, parsed; ``None`` at end of input."""
    while True:
        end = _buffer.find(b"\n")
        if end >= 0:
            line = bytes(_buffer[:end])
            del _buffer[: end + 1]
            return json.loads(line)
        chunk = os.read(_IN, 1 << 20)
        if not chunk:
            return None
        _buffer.extend(chunk)


class Aborted(BaseException):
    """The judge stopped the student's sandbox in the middle of this case."""


class StudentRaised(Exception):
    """The student's code raised; ``info`` has the sandbox's name, message and traceback."""

    info: dict = {}
    status = "error"


_EXCEPTIONS = {
    name: value
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, Exception)
}


def raised(info, status):
    """An exception standing for one the student's code raised (same builtin class if any)."""
    name = str(info.get("ename") or "Exception")
    base = _EXCEPTIONS.get(name, Exception)
    try:
        cls = type(name, (StudentRaised, base), {}) if base is not Exception else StudentRaised
        exc = cls(str(info.get("evalue") or ""))
    except Exception:
        exc = StudentRaised(str(info.get("evalue") or ""))
    exc.info = info
    exc.status = status if status in ("error", "memory", "output_limit") else "error"
    return exc


class CannotSend(TypeError):
    """A test tried to pass something to the student's code that cannot cross as data."""


def _to_sandbox(value):
    if isinstance(value, Ref):
        return {_wire.TAG: "ref", **value._target}
    raise CannotSend(
        "a test can only pass plain data and the student's own objects to the student's code, "
        "not " + type(value).__name__
    )


class Opaque:
    """A value the sandbox only described (too large, say): equal to nothing."""

    def __init__(self, about):
        self.about = about

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__

    def __repr__(self):
        return str(self.about.get("repr") or "<" + str(self.about.get("type")) + ">")[:200]


def _from_sandbox(obj):
    if obj.get(_wire.TAG) == "other":
        if type(obj.get("h")) is int:
            return Ref({"h": obj["h"]}, obj)
        return Opaque(obj)
    raise _wire.DecodeError("unknown tag")


def rpc(operation, ref, args=(), kwargs=None):
    """Ask the student's sandbox to perform ``operation`` on ``ref``; its value, or raise."""
    request = {
        "o": operation,
        "t": ref._target,
        "a": _wire.dumps(list(args), _to_sandbox),
        "k": _wire.dumps(dict(kwargs or {}), _to_sandbox),
    }
    send({"rpc": request})
    reply = receive()
    if reply is None:
        raise SystemExit(0)
    if reply.get("abort"):
        raise Aborted()
    if "e" in reply:
        raise raised(reply["e"], reply.get("status"))
    return _wire.loads(reply["v"], _from_sandbox)


def _forward(operation):
    def method(self, *args):
        return rpc(operation, self, args)

    method.__name__ = "__" + operation + "__"
    return method


class Ref:
    """A student's object, seen from the checker: every use is an operation in the sandbox.

    ``target`` is ``{"n": name}`` or ``{"h": handle}``, with ``"p"``: attribute
    names to follow. Attribute access is lazy (it extends the path), so
    ``stack.push(1)`` is one operation.
    """

    __slots__ = ("_about", "_target")

    def __init__(self, target, about=None):
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_about", about or {})

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        target = dict(self._target)
        target["p"] = [*self._target.get("p", []), name]
        return Ref(target)

    def __setattr__(self, name, value):
        rpc("setattr", self, (name, value))

    def __call__(self, *args, **kwargs):
        return rpc("call", self, args, kwargs)

    def __iter__(self):
        value = rpc("list", self)
        return iter(value if isinstance(value, list) else [value])

    def __len__(self):
        return rpc("len", self)

    def __bool__(self):
        return rpc("bool", self)

    def __hash__(self):
        raise TypeError("the student's objects cannot be used as keys in a test")

    def __str__(self):
        return rpc("str", self)

    def __repr__(self):
        return rpc("repr", self)

    def __format__(self, spec):
        return rpc("format", self, (spec,))

    __getitem__ = _forward("getitem")
    __setitem__ = _forward("setitem")
    __delitem__ = _forward("delitem")
    __contains__ = _forward("contains")
    __eq__ = _forward("eq")
    __ne__ = _forward("ne")
    __lt__ = _forward("lt")
    __le__ = _forward("le")
    __gt__ = _forward("gt")
    __ge__ = _forward("ge")
    __add__ = _forward("add")
    __sub__ = _forward("sub")
    __mul__ = _forward("mul")
    __truediv__ = _forward("truediv")
    __floordiv__ = _forward("floordiv")
    __mod__ = _forward("mod")
    __pow__ = _forward("pow")
    __radd__ = _forward("radd")
    __rsub__ = _forward("rsub")
    __rmul__ = _forward("rmul")
    __neg__ = _forward("neg")
    __pos__ = _forward("pos")
    __abs__ = _forward("abs")
    __int__ = _forward("int")
    __float__ = _forward("float")
    __index__ = _forward("int")


def _describe(value):
    if isinstance(value, Opaque):
        return {
            _wire.TAG: "other",
            "type": str(value.about.get("type") or "object"),
            "repr": repr(value),
        }
    if isinstance(value, Ref):
        about = value._about
        return {
            _wire.TAG: "other",
            "type": str(about.get("type") or "object"),
            "repr": str(about.get("repr") or "<the student's object>")[:200],
        }
    return _wire.describe_other(value)


def plain(value):
    """``value`` as tagged JSON text, after asking the sandbox for a bare student name's value."""
    if isinstance(value, Ref):
        value = rpc("value", value)
    return _wire.dumps(value, _describe)


_error_info = _wire.error_info


class Run:
    """One submission's tests, in one forked child of the checker."""

    def __init__(self, spec):
        self.cases = spec["cases"]
        self.namespace = {"__builtins__": builtins, "__name__": "__tests__"}
        for statement in spec.get("imports", []):
            exec(compile(statement, "<solution imports>", "exec"), self.namespace)
        for name in spec.get("names", []):
            self.namespace[name] = Ref({"n": name})

    def _run(self, source, mode="exec"):
        return eval(compile(source, "<test>", mode), self.namespace)

    def setup(self, index):
        """Run case ``index``'s setup statements only (replayed in a fresh sandbox)."""
        try:
            for statement in self.cases[index]["setup"]:
                self._run(statement)
            return {"status": "ok"}
        except Aborted:
            return {"status": "aborted"}
        except StudentRaised as e:
            return {"status": e.status, "error": e.info}
        except Exception as e:
            return {"status": "error", "error": _error_info(e)}

    def case(self, index):
        """Evaluate case ``index``: ``{"status": "passed"|"failed"|"error"|..., ...}``."""
        case = self.cases[index]
        result: dict = {"status": "passed"}
        try:
            for statement in case["setup"]:
                self._run(statement)
            kind = case["kind"]
            if kind == "value":
                result["value"] = plain(self._run(case["expr"], "eval"))
            elif kind == "assert_equal":
                result["value"] = plain(self._run(case["expr"], "eval"))
                result["other"] = plain(self._run(case["other"], "eval"))
            elif not self._run(case["expr"], "eval"):
                result["status"] = "failed"
                if case.get("other"):
                    result["message"] = str(self._run(case["other"], "eval"))[:2000]
        except Aborted:
            result = {"status": "aborted"}
        except StudentRaised as e:
            result = {"status": e.status, "error": e.info}
        except _wire.TooLarge as e:
            result = {"status": "failed", "message": "the value is too large: " + str(e)}
        except Exception as e:
            result = {"status": "error", "error": _error_info(e)}
        return result


def serve_run(spec):
    """The child: serve one run until the judge closes it."""
    try:
        run = Run(spec)
    except Exception as e:
        send({"ready": False, "error": _error_info(e)})
        return
    send({"ready": True})
    while True:
        message = receive()
        if message is None or message.get("close"):
            return
        if "case" in message:
            send({"done": run.case(int(message["case"]))})
        elif "setup" in message:
            send({"done": run.setup(int(message["setup"]))})


def main():
    """The fork server: one child per run; ``{"ended": status}`` after each."""
    sys.setrecursionlimit(10_000)
    send({"checker": "ready"})
    while True:
        message = receive()
        if message is None:
            return
        if "open" not in message:
            continue
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                serve_run(message["open"])
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        _buffer.clear()  # what the child read was the child's
        send({"ended": os.waitstatus_to_exitcode(status)})
