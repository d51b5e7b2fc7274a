"""The checker: where a problem's tests are evaluated, apart from the student's code.

A :class:`Checker` keeps a few checker processes (:mod:`codetutor.judge._checker`),
each in a bubblewrap sandbox of its own (no network, read-only system, its own
uid, no capabilities, rlimits). They never run student code: what reaches them
from a student's sandbox is plain data that the judge has bounded, validated
and parsed. Each judgement opens a :class:`CheckerRun` (a forked child of a
checker process, so no run sees another's state), asks it for cases, and
answers its requests to the student's code through a callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib import resources
from typing import Any

from traitlets import Integer, Unicode
from traitlets.config import LoggingConfigurable

from codetutor.cgroups import NoCgroup
from codetutor.confine import bubblewrap_args, drop_privileges_args

from .exceptions import JudgeFailure
from .provisioners import BubblewrapProvisioner, UidAllocator

_BOOT = (
    "import sys, types\n"
    "for name, src in (('_codetutor_wire', sys.argv[1]), ('_codetutor_checker', sys.argv[2])):\n"
    "    m = types.ModuleType(name)\n"
    "    exec(compile(src, '<' + name + '>', 'exec'), m.__dict__)\n"
    "    sys.modules[name] = m\n"
    "del name, src, m\n"
    "sys.argv[1:] = []\n"
    "sys.modules['_codetutor_checker'].main()\n"
)

#: what a student's sandbox answered to one request of the checker
Reply = dict[str, Any]
Rpc = Callable[[dict[str, Any]], Awaitable[Reply]]


class CheckerFailed(JudgeFailure):
    """A checker process died or broke its protocol (the judge's or the tests' fault)."""


class TestsFailed(JudgeFailure):
    """The tests cannot even start (their imports fail): the problem's fault."""


def _source(name: str) -> str:
    return resources.files("codetutor.judge").joinpath(name).read_text(encoding="utf-8")


class CheckerProcess:
    """One sandboxed checker process, speaking JSON lines on its stdin/stdout."""

    def __init__(
        self, process: asyncio.subprocess.Process, uid: int | None, uid_lock: int | None
    ) -> None:
        self.process = process
        self.uid = uid
        self.uid_lock = uid_lock
        self.broken = False
        #: a case is in progress (a run closed now would leave the child mid-case)
        self.busy = False

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"
        try:
            self.process.stdin.write(data)
            await self.process.stdin.drain()
        except (ConnectionError, RuntimeError) as e:
            self.broken = True
            raise CheckerFailed("the checker stopped", log_message=f"checker write: {e!r}") from e

    async def receive(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        try:
            line = await self.process.stdout.readline()
        except (ValueError, asyncio.LimitOverrunError) as e:
            self.broken = True
            raise CheckerFailed(
                "the checker sent too much", log_message=f"checker line too long: {e!r}"
            ) from e
        if not line:
            self.broken = True
            raise CheckerFailed("the checker stopped", log_message="checker closed its output")
        try:
            message = json.loads(line)
        except ValueError as e:
            self.broken = True
            raise CheckerFailed("the checker broke its protocol", log_message=repr(e)) from e
        if not isinstance(message, dict):
            self.broken = True
            raise CheckerFailed("the checker broke its protocol", log_message=repr(line[:200]))
        return message

    async def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            await self.process.wait()
        if self.uid is not None:
            # Everything of the checker's uid is gone before another sandbox may take it.
            group = NoCgroup("", f"{self.uid}-checker")
            await asyncio.get_running_loop().run_in_executor(None, group.kill_all)
        if self.uid_lock is not None:
            UidAllocator.release(self.uid_lock)
            self.uid_lock = None


class CheckerRun:
    """One submission's tests in a forked child of a checker process.

    Cases are evaluated in order with :meth:`case`; ``rpc`` performs an
    operation in the student's sandbox and returns its reply, or raises (the
    sandbox was stopped): the run then tells the child to give up the case,
    and re-raises.
    """

    def __init__(self, process: CheckerProcess) -> None:
        self.process = process

    async def case(self, index: int, rpc: Rpc) -> dict[str, Any]:
        """Evaluate case ``index``; its outcome as the checker reports it. Coroutine."""
        return await self._exchange({"case": index}, rpc)

    async def setup(self, index: int, rpc: Rpc) -> dict[str, Any]:
        """Run only case ``index``'s setup statements (replayed in a new sandbox). Coroutine."""
        return await self._exchange({"setup": index}, rpc)

    async def _exchange(self, request: dict[str, Any], rpc: Rpc) -> dict[str, Any]:
        process = self.process
        process.busy = True
        await process.send(request)
        while True:
            message = await process.receive()
            if "rpc" in message and isinstance(message["rpc"], dict):
                try:
                    reply = await rpc(message["rpc"])
                except BaseException:
                    # The student's sandbox is gone: let the child unwind the case, then go on.
                    try:
                        await asyncio.shield(self._abandon())
                        process.busy = False
                    except Exception:
                        process.broken = True
                    raise
                await process.send(reply)
            elif "done" in message and isinstance(message["done"], dict):
                process.busy = False
                return dict(message["done"])
            else:
                process.broken = True
                raise CheckerFailed(
                    "the checker stopped in the middle of a case",
                    log_message=f"checker sent {str(message)[:200]!r}",
                )

    async def _abandon(self) -> None:
        await self.process.send({"abort": True})
        while True:
            message = await asyncio.wait_for(self.process.receive(), 5)
            if "done" in message:
                return
            if "rpc" in message:
                await self.process.send({"abort": True})
            else:
                raise CheckerFailed("the checker did not give up a case")


class Checker(LoggingConfigurable):
    """Checker processes of one judge: started on demand, one run at a time each, kept."""

    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    setpriv = Unicode("setpriv", help="util-linux setpriv, used to drop to the checker's uid.").tag(
        config=True
    )
    memory_limit_mb = Integer(
        2048, help="Address-space limit (RLIMIT_AS) of a checker process, in MiB."
    ).tag(config=True)
    max_line_bytes = Integer(
        64 << 20, help="Largest message a checker may send the judge, in bytes."
    ).tag(config=True)
    start_timeout = Integer(30, help="Seconds a checker process may take to start.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._idle: list[CheckerProcess] = []
        self._all: set[CheckerProcess] = set()
        self._closed = False

    def command(self, uid: int | None) -> list[str]:
        """The command that starts one sandboxed checker process."""
        python = [sys.executable, "-I", "-c", _BOOT, _source("_wire.py"), _source("_checker.py")]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1"}
        args = bubblewrap_args(self.bwrap, python, isolated=uid is not None, env=env, scratch_mb=16)
        limits = f"ulimit -c 0 && ulimit -n 64 && ulimit -v {int(self.memory_limit_mb) << 10}"
        if uid is not None:
            limits += " && ulimit -u 64"
            args += drop_privileges_args(self.setpriv, uid)
        else:
            args += ["--"]
        return ["/bin/bash", "-c", f'{limits} && exec "$@"', "codetutor-checker", *args, *python]

    async def _start(self) -> CheckerProcess:
        if shutil.which(self.bwrap) is None:
            raise CheckerFailed(
                "bubblewrap is not installed", log_message=f"{self.bwrap!r} not found on PATH"
            )
        uid: int | None = None
        lock: int | None = None
        if os.geteuid() == 0:
            prov = BubblewrapProvisioner(parent=self)
            os.makedirs(prov.runtime_dir, mode=0o711, exist_ok=True)
            uid, lock = UidAllocator(
                os.path.join(prov.runtime_dir, "uids"), prov.first_uid, prov.uid_count
            ).acquire()
        process = await asyncio.create_subprocess_exec(
            *self.command(uid),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            limit=int(self.max_line_bytes),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            cwd="/",
        )
        checker = CheckerProcess(process, uid, lock)
        try:
            hello = await asyncio.wait_for(checker.receive(), self.start_timeout)
        except (CheckerFailed, TimeoutError) as e:
            await checker.stop()
            raise CheckerFailed(
                "the judge could not start its checker", log_message=f"checker start: {e!r}"
            ) from e
        if hello.get("checker") != "ready":
            await checker.stop()
            raise CheckerFailed("the judge could not start its checker", log_message=repr(hello))
        self._all.add(checker)
        return checker

    @contextlib.asynccontextmanager
    async def open(
        self, cases: list[dict[str, Any]], imports: list[str], names: list[str]
    ) -> AsyncIterator[CheckerRun]:
        """A run of these tests, in a fresh child of an idle checker process. Coroutine.

        ``cases``: what the checker needs of each case (kind, setup and case
        source; never an expected value). Raises :class:`CheckerFailed`, or
        :class:`TestsFailed` when the tests' own imports fail.
        """
        if self._closed:
            raise CheckerFailed("the checker is closed")
        process = self._idle.pop() if self._idle else await self._start()
        try:
            await process.send({"open": {"cases": cases, "imports": imports, "names": names}})
            ready = await asyncio.wait_for(process.receive(), self.start_timeout)
        except BaseException as e:
            await self._discard(process)
            if isinstance(e, TimeoutError):
                raise CheckerFailed("the checker did not answer") from e
            raise
        if not ready.get("ready"):
            await self._finish(process)
            found = ready.get("error")
            error: dict[str, Any] = found if isinstance(found, dict) else {}
            raise TestsFailed(
                "the tests' imports fail: "
                + f"{error.get('ename', 'Error')}: {error.get('evalue', '')}".rstrip(": ")
            )
        try:
            yield CheckerRun(process)
        finally:
            await self._close_run(process)

    async def _close_run(self, process: CheckerProcess) -> None:
        if not process.broken and not process.busy:
            try:
                await process.send({"close": True})
                await self._finish(process)
                return
            except (CheckerFailed, TimeoutError):
                pass
        await self._discard(process)

    async def _finish(self, process: CheckerProcess) -> None:
        """Wait for the run's child to end; keep the process if all is well."""
        message = await asyncio.wait_for(process.receive(), self.start_timeout)
        if "ended" not in message:
            process.broken = True
        if process.broken or self._closed:
            await self._discard(process)
        elif process not in self._idle:
            self._idle.append(process)

    async def _discard(self, process: CheckerProcess) -> None:
        if process in self._idle:
            self._idle.remove(process)
        self._all.discard(process)
        await process.stop()

    async def close(self) -> None:
        """Stop every checker process. Coroutine."""
        self._closed = True
        for process in list(self._all):
            await self._discard(process)
        self._idle.clear()
