"""Running requests in a sandbox through nbclient, on the judge's own clock.

A :class:`SandboxSession` is one sandbox in use by one submission. The judge
opens a *window* for each step it asks for (the student's cells together, or
one case) and sends that step's requests (:meth:`SandboxSession.call`), each
one execute request through :class:`JudgeClient`, an nbclient
``NotebookClient``. While a window is open a watchdog enforces, from outside:

- time: the judge's wall clock since the window opened, and the sandbox's CPU
  time from its cgroup (or /proc); nothing the kernel says can shorten,
  extend or suspend a window, and a kernel still busy with an earlier request
  (a sleeping hook, a thread) spends the new window's time;
- output: every message from the sandbox, whatever its type, counts (less a
  small allowance per request for the protocol's own messages);
- memory, the kernel's death, and connections the sandbox broke.

When a limit is hit the whole sandbox is killed at once and the request
raises :class:`StepAborted` with the reason. A request's result is what the
harness (:mod:`codetutor.judge._kernel`) published for that request's nonce:
data, which the caller validates; the session itself decides nothing else.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import secrets
import time
from dataclasses import dataclass
from importlib import resources
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, DeadKernelError
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from .exceptions import JudgeFailure, SandboxError
from .ipc import JudgeKernelClient
from .sandbox import Sandbox

RESULT = "application/vnd.codetutor.result+json"
SHOWN_OUTPUT = 8192

# nbclient logs a kernel's death as an error; here a death is an expected
# outcome (the watchdog kills sandboxes) that the judge reports as a verdict.
_nbclient_log = logging.getLogger("codetutor.judge.nbclient")
_nbclient_log.setLevel(logging.CRITICAL)
_HARNESS_MODULE = "_codetutor_kernel"
_WIRE_MODULE = "_codetutor_wire"


def _source(name: str) -> str:
    return resources.files("codetutor.judge").joinpath(name).read_text(encoding="utf-8")


def harness_source() -> str:
    """The source of the kernel-side harness, as sent to every sandbox."""
    return _source("_kernel.py")


def install_harness_code() -> str:
    """Code that installs the wire format and the harness as modules, leaving the user namespace clean."""
    return (
        "def __codetutor_install(name, src):\n"
        "    import sys, types\n"
        "    m = types.ModuleType(name)\n"
        "    exec(compile(src, '<codetutor harness>', 'exec'), m.__dict__)\n"
        "    sys.modules[name] = m\n"
        f"__codetutor_install({_WIRE_MODULE!r}, {_source('_wire.py')!r})\n"
        f"__codetutor_install({_HARNESS_MODULE!r}, {harness_source()!r})\n"
        "del __codetutor_install\n"
    )


class Abort(str, enum.Enum):
    """Why a step was stopped from outside."""

    TIMEOUT = "timeout"
    MEMORY = "memory"
    OUTPUT = "output_limit"
    DIED = "died"


@dataclass(frozen=True)
class StepLimits:
    cpu_s: float
    wall_s: float
    output_bytes: int


class StepAborted(Exception):
    """The sandbox was stopped during the open window (it is dead now)."""

    def __init__(self, reason: Abort, elapsed_s: float) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.elapsed_s = elapsed_s


class NoResult(Exception):
    """A request ended without a well-formed result (the student's code broke the harness)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Window:
    """One step's time, output and shown stdout, measured by the judge."""

    step: tuple[str, int]
    limits: StepLimits
    show: bool
    wall0: float
    cpu0: float
    bytes0: int
    allowance: int = 0
    #: requests sent in this window (each adds the runner's per-request time allowance)
    requests: int = 0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    closed: bool = False

    def __post_init__(self) -> None:
        self.shown: list[str] = []
        self.shown_size = 0

    @property
    def stdout(self) -> str | None:
        return "".join(self.shown) or None


class JudgeClient(NotebookClient):
    """nbclient's client, handing each message of a request to its session."""

    def __init__(self, nb: Any, session: SandboxSession, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self._session = session

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        content = msg["content"]
        msg_type = msg["msg_type"]
        if msg_type == "status":
            if content.get("execution_state") == "idle":
                raise CellExecutionComplete()
        elif msg_type in ("display_data", "update_display_data", "execute_result"):
            data = content.get("data")
            if isinstance(data, dict) and RESULT in data:
                self._session.on_result(data[RESULT])
        elif msg_type == "stream":
            self._session.on_stream(content.get("text"))
        elif msg_type == "error":
            self._session.on_error(content)
        return None


class SandboxSession:
    """One sandbox used by one submission: requests, windows and the watchdog.

    Use as ``async with runner.session(sandbox) as session``; the caller
    releases the sandbox afterwards.
    """

    def __init__(self, runner: SandboxRunner, sandbox: Sandbox) -> None:
        self.runner = runner
        self.sandbox = sandbox
        self.window: Window | None = None
        self.aborted: StepAborted | None = None
        self.received_bytes = 0
        self._abort_event = asyncio.Event()
        self._nonce = ""
        self._parts: list[str] = []
        self._result: Any = None
        self._result_error: str | None = None
        self._error: dict[str, Any] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._aborting: asyncio.Future[None] | None = None
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("")])
        self.client = JudgeClient(
            nb,
            self,
            km=sandbox.km,
            timeout=None,
            allow_errors=True,
            record_timing=False,
            iopub_timeout=2,
            raise_on_iopub_timeout=False,
            log=_nbclient_log,
        )
        self.client.kc = sandbox.client

    # -- what the channels and the client report -----------------------------

    def received(self, nbytes: int) -> None:
        self.received_bytes += nbytes
        window = self.window
        if (
            window is not None
            and not window.closed
            and self.output_used() > window.limits.output_bytes
        ):
            self._abort_event.set()

    def output_used(self) -> int:
        window = self.window
        if window is None:
            return 0
        return max(0, self.received_bytes - window.bytes0 - window.allowance)

    def on_result(self, part: Any) -> None:
        if self._result is not None or self._result_error is not None:
            return
        if (
            not isinstance(part, dict)
            or part.get("n") != self._nonce
            or type(part.get("i")) is not int
            or not isinstance(part.get("v"), str)
        ):
            return  # not this request's: ignore
        if part["i"] != len(self._parts):
            self._result_error = "the harness's result came out of order"
            return
        self._parts.append(part["v"])
        if part.get("last") is True:
            try:
                self._result = json.loads("".join(self._parts), parse_constant=_reject)
            except (ValueError, RecursionError):
                self._result_error = "the harness's result could not be read"
            self._parts = []

    def on_stream(self, text: Any) -> None:
        window = self.window
        if window is None or not window.show or not isinstance(text, str):
            return
        room = SHOWN_OUTPUT - window.shown_size
        if room > 0:
            window.shown.append(text[:room])
            window.shown_size += min(room, len(text))

    def on_error(self, content: dict[str, Any]) -> None:
        if self._error is None:
            self._error = {
                "ename": str(content.get("ename", "Error"))[:200],
                "evalue": str(content.get("evalue", ""))[:2000],
            }

    # -- windows ---------------------------------------------------------------

    def open(self, step: tuple[str, int], limits: StepLimits, *, show: bool) -> Window:
        """Start the judge's clock for ``step``."""
        if self.aborted is not None:
            raise self.aborted
        self.window = Window(
            step=step,
            limits=limits,
            show=show,
            wall0=time.monotonic(),
            cpu0=self.sandbox.provisioner.cpu_seconds(),
            bytes0=self.received_bytes,
        )
        return self.window

    def close(self) -> Window:
        """Stop the clock of the open window; return it with its times."""
        window = self.window
        assert window is not None
        if not window.closed:
            window.wall_s = time.monotonic() - window.wall0
            if self.aborted is None:
                window.cpu_s = max(0.0, self.sandbox.provisioner.cpu_seconds() - window.cpu0)
            window.closed = True
        return window

    # -- requests ----------------------------------------------------------

    async def guard(self, coro: Any) -> Any:
        """Await ``coro`` unless a limit stops the sandbox first. Coroutine.

        Raises :class:`StepAborted` then (``coro`` is cancelled): the window's
        clock runs while the checker works, too.
        """
        task = asyncio.ensure_future(coro)
        abort = asyncio.ensure_future(self._abort_event.wait())
        try:
            await asyncio.wait([task, abort], return_when=asyncio.FIRST_COMPLETED)
        finally:
            abort.cancel()
        if not task.done():
            if self._aborting is None:
                await self._abort(self._reason() or Abort.TIMEOUT)
            else:
                await asyncio.shield(self._aborting)
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        if task.done() and not task.cancelled() and task.exception() is None:
            return task.result()
        if self.aborted is not None:
            raise self.aborted
        return task.result()

    async def call(self, function: str, request: dict[str, Any]) -> Any:
        """Call ``function`` of the harness with ``request`` in the open window. Coroutine.

        Returns the parsed result (unvalidated data). Raises
        :class:`StepAborted` if a limit stopped the sandbox, :class:`NoResult`
        if the request ended without a result.
        """
        window = self.window
        if window is None or window.closed:
            raise RuntimeError("no open window")
        if self.aborted is not None:
            raise self.aborted
        self._nonce = secrets.token_hex(8)
        self._parts, self._result, self._result_error, self._error = [], None, None, None
        text = json.dumps(request, separators=(",", ":"), allow_nan=False)
        code = f"__import__('sys').modules[{_HARNESS_MODULE!r}].{function}({self._nonce!r})"
        window.allowance += len(code) + self.runner.message_allowance
        window.requests += 1
        # The request travels in the execute request's metadata: no code to compile or echo.
        client = self.sandbox.client
        assert isinstance(client, JudgeKernelClient)
        client.request_metadata = {"codetutor": text}
        cell = nbformat.v4.new_code_cell(code)
        execution = asyncio.ensure_future(
            self.client.async_execute_cell(cell, 0, store_history=False)
        )
        # However the request ends (even if this call is cancelled), its outcome is read.
        execution.add_done_callback(_retrieve)
        abort = asyncio.ensure_future(self._abort_event.wait())
        try:
            await asyncio.wait([execution, abort], return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            execution.cancel()
            raise
        finally:
            abort.cancel()
        if not execution.done():
            await self._stop(execution)
        if self.aborted is not None:
            raise self.aborted
        try:
            execution.result()
        except (DeadKernelError, asyncio.CancelledError):
            await self._abort(Abort.DIED)
            raise self.aborted from None  # type: ignore[misc]
        except Exception as e:
            raise JudgeFailure(
                "the judge failed while running a submission", log_message=repr(e)
            ) from e
        if self._result is not None:
            return self._result
        if self._result_error is not None:
            raise NoResult(self._result_error)
        if self._error is not None:
            raise NoResult(f"{self._error['ename']}: {self._error['evalue']}".rstrip(": "))
        raise NoResult("the submission stopped the judge's harness from answering")

    async def _stop(self, execution: asyncio.Future[Any]) -> None:
        """The watchdog fired: make sure the sandbox is stopped and the request ended."""
        if self.aborted is None:
            await self._abort(self._reason() or Abort.TIMEOUT)
        task = getattr(self.client, "task_poll_for_reply", None)
        if task is not None:
            task.cancel()
        execution.cancel()
        with contextlib.suppress(BaseException):
            await execution

    # -- the watchdog --------------------------------------------------------

    def _reason(self) -> Abort | None:
        """A limit the open window has passed, if any."""
        window = self.window
        if window is None or window.closed:
            return None
        prov = self.sandbox.provisioner
        if self.output_used() > window.limits.output_bytes or prov.output_exceeded():
            return Abort.OUTPUT
        if prov.memory_exceeded():
            return Abort.MEMORY
        if not self.sandbox.is_alive():
            return Abort.DIED
        if self.sandbox.client is not None and self.sandbox.client.disconnected():  # type: ignore[attr-defined]
            return Abort.OUTPUT
        # The protocol's own cost (an execute request per operation the tests ask for) is
        # the judge's, not the student's: each request adds a fixed allowance.
        runner = self.runner
        if time.monotonic() - window.wall0 > (
            window.limits.wall_s + window.requests * runner.request_wall_allowance
        ):
            return Abort.TIMEOUT
        if prov.cpu_seconds() - window.cpu0 > (
            window.limits.cpu_s + window.requests * runner.request_cpu_allowance
        ):
            return Abort.TIMEOUT
        return None

    async def _watch(self) -> None:
        while self._aborting is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._abort_event.wait(), self.runner.poll_interval)
            reason = self._reason()
            if reason is not None:
                await self._abort(reason)
                return

    async def _abort(self, reason: Abort) -> None:
        """Stop the sandbox for ``reason`` (once; later callers wait for the first)."""
        if self._aborting is None:
            self._aborting = asyncio.ensure_future(self._do_abort(reason))
        await asyncio.shield(self._aborting)

    async def _do_abort(self, reason: Abort) -> None:
        window = self.window
        elapsed = time.monotonic() - window.wall0 if window is not None else 0.0
        if reason in (Abort.DIED, Abort.OUTPUT):
            # A connection breaks when the kernel dies too: which came first?
            reason = await self._died_or(reason)
        prov = self.sandbox.provisioner
        if reason is Abort.DIED:
            if prov.memory_exceeded():
                reason = Abort.MEMORY
            elif prov.output_exceeded():
                reason = Abort.OUTPUT
        if window is not None and not window.closed:
            window.wall_s = elapsed
            window.closed = True
        self.aborted = StepAborted(reason, elapsed)
        self._abort_event.set()
        await self.sandbox.kill()

    async def _died_or(self, reason: Abort) -> Abort:
        if reason is Abort.OUTPUT and self.output_used() > (
            self.window.limits.output_bytes if self.window else 0
        ):
            return reason
        deadline = time.monotonic() + self.runner.death_grace
        while time.monotonic() < deadline:
            if not self.sandbox.is_alive():
                return Abort.DIED
            await asyncio.sleep(self.runner.poll_interval)
        return reason

    async def __aenter__(self) -> SandboxSession:
        client = self.sandbox.client
        assert isinstance(client, JudgeKernelClient)
        client.set_meter(self)
        self._watchdog = asyncio.ensure_future(self._watch())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog


def _retrieve(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()


def _reject(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


class SandboxRunner(LoggingConfigurable):
    """Starts sessions on sandboxes; how closely they are watched."""

    poll_interval = Float(
        0.005, help="Seconds between the watchdog's checks of a running sandbox."
    ).tag(config=True)

    death_grace = Float(
        0.1,
        help="Seconds to wait, after a connection broke, for the kernel's death to show.",
    ).tag(config=True)

    request_cpu_allowance = Float(
        0.01,
        help="Sandbox CPU seconds per request not counted against a step's time limit "
        "(the kernel's cost of serving one execute request).",
    ).tag(config=True)

    request_wall_allowance = Float(
        0.02,
        help="Wall seconds per request not counted against a step's time limit.",
    ).tag(config=True)

    message_allowance = Integer(
        8192,
        help="Bytes per request not counted as output: the protocol's own messages.",
    ).tag(config=True)

    async def load_harness(self, sandbox: Sandbox) -> None:
        """Install the harness in a sandbox that has run no student code. Coroutine."""
        assert sandbox.client is not None
        reply = await sandbox.client.execute_interactive(
            install_harness_code(), store_history=False, allow_stdin=False, timeout=30
        )
        if reply["content"].get("status") != "ok":
            raise SandboxError(
                "the judge could not prepare a sandbox",
                log_message=f"harness install failed: {reply['content'].get('evalue')}",
            )

    def session(self, sandbox: Sandbox) -> SandboxSession:
        """A session on ``sandbox`` (use with ``async with``)."""
        return SandboxSession(self, sandbox)
