"""Running a submission's steps in a sandbox through nbclient.

:class:`SandboxRunner` sends the kernel-side harness one execute request
(through :class:`JudgeClient`, an nbclient ``NotebookClient``) and watches the
events it emits (:mod:`codetutor.judge._kernel`) in real time. A watchdog
enforces the limits that the kernel cannot be trusted to enforce itself: CPU
and wall time per step, output size, memory, and the kernel's death. When a
limit is hit the whole sandbox is killed at once; the outcome records which
step was running and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import secrets
import time
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from traitlets import Float, Integer, Type
from traitlets.config import LoggingConfigurable

from .exceptions import JudgeFailure, SandboxError
from .sandbox import BubblewrapProvisioner, Sandbox, reap_stale_sandboxes

MIME = "application/vnd.codetutor.event+json"

# nbclient logs a kernel's death as an error; here a death is an expected
# outcome (the watchdog kills sandboxes) that the judge reports as a verdict.
_nbclient_log = logging.getLogger("codetutor.judge.nbclient")
_nbclient_log.setLevel(logging.CRITICAL)
_HARNESS_MODULE = "_codetutor_kernel"


def harness_source() -> str:
    """The source of the kernel-side harness, as sent to every sandbox."""
    return resources.files("codetutor.judge").joinpath("_kernel.py").read_text(encoding="utf-8")


def install_harness_code() -> str:
    """Code that installs the harness as a module, leaving the user namespace clean."""
    return (
        "def __codetutor_install(src):\n"
        "    import sys, types\n"
        f"    m = types.ModuleType({_HARNESS_MODULE!r})\n"
        "    exec(compile(src, '<codetutor harness>', 'exec'), m.__dict__)\n"
        "    sys.modules[m.__name__] = m\n"
        f"__codetutor_install({harness_source()!r})\n"
        "del __codetutor_install\n"
    )


class Abort(str, enum.Enum):
    """Why a run was stopped from outside."""

    TIMEOUT = "timeout"
    MEMORY = "memory"
    OUTPUT = "output_limit"
    DIED = "died"


@dataclass
class RunLimits:
    cpu_s: float
    wall_s: float
    output_bytes: int
    #: the whole run may not take longer than this (a backstop for a silent kernel)
    total_s: float


@dataclass
class RunOutcome:
    """What came back from one sandbox run."""

    ends: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    done: bool = False
    aborted: Abort | None = None
    #: the step that was running when the run was aborted
    aborted_step: tuple[str, int] | None = None
    aborted_elapsed_s: float = 0.0
    stream_bytes: int = 0
    wall_s: float = 0.0


class JudgeClient(NotebookClient):
    """nbclient's client, listening for the harness's events and counting output."""

    def __init__(self, nb: Any, runner: _Run, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self._run = runner

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self._run.last_message = time.monotonic()
        content = msg.get("content", {})
        msg_type = msg.get("msg_type")
        if msg_type in ("display_data", "update_display_data"):
            data = content.get("data") or {}
            if MIME in data:
                self._run.on_event(data[MIME])
                return None
        if msg_type == "stream":
            self._run.on_output(len(str(content.get("text", "")).encode("utf-8", "replace")))
        elif msg_type in ("display_data", "execute_result", "error"):
            self._run.on_output(len(str(content).encode("utf-8", "replace")))
        if self._run.overflowed:
            # Stop recording a flood; the watchdog is killing the sandbox.
            return None
        return super().process_message(msg, cell, cell_index)


class _Run:
    """State of one harness run, shared by the client and the watchdog."""

    def __init__(self, sandbox: Sandbox, token: str, limits: RunLimits) -> None:
        self.sandbox = sandbox
        self.token = token
        self.limits = limits
        self.outcome = RunOutcome()
        self.current: tuple[str, int] | None = None
        self.step_wall0 = 0.0
        self.step_cpu0 = 0.0
        self.overflowed = False
        self.abort_event = asyncio.Event()
        #: when the client last read a message of this run (monotonic)
        self.last_message = 0.0

    def on_event(self, event: Any) -> None:
        if not isinstance(event, dict) or event.get("token") != self.token:
            return  # not from our harness: ignore forged events
        kind = event.get("t")
        if kind == "begin":
            self.current = (str(event.get("step")), int(event.get("i", -1)))
            self.step_wall0 = time.monotonic()
            self.step_cpu0 = self.sandbox.provisioner.cpu_seconds()
        elif kind == "end":
            key = (str(event.get("step")), int(event.get("i", -1)))
            self.outcome.ends[key] = event
            self.current = None
        elif kind == "output_limit":
            self.overflowed = True
            self.abort_event.set()
        elif kind == "done":
            self.outcome.done = True

    def on_output(self, size: int) -> None:
        self.outcome.stream_bytes += size
        if self.outcome.stream_bytes > self.limits.output_bytes:
            self.overflowed = True
            self.abort_event.set()


class SandboxRunner(LoggingConfigurable):
    """Runs harness specs in sandboxes and enforces limits from outside."""

    poll_interval = Float(
        0.005, help="Seconds between the watchdog's checks of a running sandbox."
    ).tag(config=True)

    drain_quiet = Float(
        0.05,
        help="""Seconds without a message after which a dead kernel's output counts as read.

        What a kernel sent just before it died can still be on its way when the
        watchdog sees the death; the run ends only once its messages stop coming.
        """,
    ).tag(config=True)

    drain_max = Float(
        0.5, help="The longest wait for a dead kernel's last messages, in seconds."
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

    async def run(self, sandbox: Sandbox, spec: dict[str, Any], limits: RunLimits) -> RunOutcome:
        """Run ``spec`` (see ``_kernel.run``) in ``sandbox``; return what happened. Coroutine.

        The sandbox is killed when a limit is hit; the caller destroys it.
        """
        token = secrets.token_hex(16)
        spec = {**spec, "token": token}
        state = _Run(sandbox, token, limits)
        code = f"__import__('sys').modules[{_HARNESS_MODULE!r}].run({spec!r})"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
        client = JudgeClient(
            nb,
            state,
            km=sandbox.km,
            timeout=None,
            allow_errors=True,
            record_timing=False,
            iopub_timeout=2,
            raise_on_iopub_timeout=False,
            log=_nbclient_log,
        )
        client.kc = sandbox.client
        started = time.monotonic()
        execution = asyncio.ensure_future(
            client.async_execute_cell(nb.cells[0], 0, store_history=False)
        )
        watchdog = asyncio.ensure_future(self._watch(state, client, execution, started))
        try:
            await execution
        except (DeadKernelError, asyncio.CancelledError):
            if state.outcome.aborted is None:
                self._abort(state, Abort.DIED, started)
        except Exception as e:
            if state.outcome.aborted is None:
                raise JudgeFailure(
                    "the judge failed while running a submission", log_message=repr(e)
                ) from e
        finally:
            watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
        state.outcome.wall_s = time.monotonic() - started
        if state.outcome.aborted is Abort.DIED:
            # A kernel that died may have been killed for its memory or output.
            if sandbox.provisioner.memory_exceeded():
                state.outcome.aborted = Abort.MEMORY
            elif sandbox.provisioner.output_exceeded():
                state.outcome.aborted = Abort.OUTPUT
        return state.outcome

    def _abort(self, state: _Run, reason: Abort, started: float) -> None:
        state.outcome.aborted = reason
        state.outcome.aborted_step = state.current
        state.outcome.aborted_elapsed_s = (
            time.monotonic() - state.step_wall0 if state.current else time.monotonic() - started
        )

    async def _watch(
        self, state: _Run, client: JudgeClient, execution: asyncio.Future[Any], started: float
    ) -> None:
        prov = state.sandbox.provisioner
        limits = state.limits
        while not execution.done():
            try:
                await asyncio.wait_for(state.abort_event.wait(), self.poll_interval)
            except TimeoutError:
                pass
            now = time.monotonic()
            reason: Abort | None = None
            if state.overflowed or prov.output_exceeded():
                reason = Abort.OUTPUT
            elif prov.memory_exceeded():
                reason = Abort.MEMORY
            elif not state.sandbox.is_alive():
                reason = Abort.DIED
            elif state.current is not None and (
                now - state.step_wall0 > limits.wall_s
                or prov.cpu_seconds() - state.step_cpu0 > limits.cpu_s
            ):
                reason = Abort.TIMEOUT
            elif now - started > limits.total_s:
                reason = Abort.TIMEOUT
            if reason is None:
                continue
            if reason is Abort.DIED:
                await self._drain(state, execution, now)
            self._abort(state, reason, started)
            await state.sandbox.kill()
            task = getattr(client, "task_poll_for_reply", None)
            if task is not None:
                task.cancel()
            execution.cancel()
            return

    async def _drain(self, state: _Run, execution: asyncio.Future[Any], seen: float) -> None:
        """Let the client read what a dead kernel sent before it died. Coroutine."""
        deadline = seen + self.drain_max
        while not execution.done():
            now = time.monotonic()
            if now >= deadline or now - max(state.last_message, seen) >= self.drain_quiet:
                return
            await asyncio.sleep(min(self.poll_interval, self.drain_quiet))


class SandboxProvider(LoggingConfigurable):
    """Hands out ready sandboxes (kernel started, harness installed, no student code run).

    This provider starts a fresh sandbox for every request; a pool of
    pre-started ones can serve the same interface.
    """

    sandbox_class = Type(Sandbox, klass=Sandbox, help="The sandbox implementation.").tag(
        config=True
    )
    start_attempts = Integer(2, help="Tries to start a sandbox before giving up.").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runner = SandboxRunner(parent=self)
        self._reaped = False

    def reap(self) -> None:
        """Clean up sandboxes of judge processes that died. Called once, before the first sandbox."""
        self._reaped = True
        prov = BubblewrapProvisioner(parent=self)
        count = reap_stale_sandboxes(prov.runtime_dir, prov.cgroup_root)
        if count:
            self.log.info("removed %d sandboxes left behind by a judge that died", count)

    async def acquire(self, memory_limit_mb: int, output_limit_bytes: int) -> Sandbox:
        """A ready sandbox with these limits. Coroutine; raises :class:`SandboxError`."""
        if not self._reaped:
            await asyncio.get_running_loop().run_in_executor(None, self.reap)
        error: SandboxError | None = None
        for _ in range(self.start_attempts):
            sandbox = self.sandbox_class(parent=self)
            try:
                await sandbox.start(
                    memory_limit_mb=memory_limit_mb, output_limit_bytes=output_limit_bytes
                )
                await self.runner.load_harness(sandbox)
                return sandbox
            except SandboxError as e:
                self.log.warning("sandbox start failed: %s", e.log_message)
                error = e
                await sandbox.destroy()
        assert error is not None
        raise error

    async def release(self, sandbox: Sandbox) -> None:
        """Destroy a used sandbox. Coroutine; never raises."""
        await sandbox.destroy()

    async def close(self) -> None:
        """Release everything the provider holds. Coroutine."""
