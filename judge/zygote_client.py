"""The judge's side of the zygote (:mod:`codetutor.judge.zygote`): one per judge process.

:class:`ZygoteClient` starts the zygote, asks it for kernels and follows their
exits; :class:`ForkedKernelProcess` is the Popen-like handle on such a kernel that
:class:`~codetutor.judge.provisioners.ZygoteProvisioner` gives jupyter_client.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import signal
import subprocess
import threading
from typing import Any


class ZygoteClient:
    """The judge's connection to its zygote: one zygote per judge process.

    The zygote is a plain child process, not one of an event loop's: a reader
    thread turns its replies into the results of futures on whichever event loop
    asked. Event loops may come and go (a test suite has one per test) while the
    one zygote stays; it exits when the judge closes its stdin or dies.
    """

    _shared: dict[tuple[str, tuple[str, ...]], ZygoteClient] = {}
    _shared_lock = threading.Lock()

    def __init__(self, python: str, preload: list[str]) -> None:
        self.python = python
        self.preload = preload
        self.process: subprocess.Popen[bytes] | None = None
        # Guards the process, the tables below and every write to the zygote.
        self._lock = threading.Lock()
        self._counter = 0
        self._pending: dict[int, asyncio.Future[int]] = {}
        self._exits: dict[int, asyncio.Future[int]] = {}
        self._codes: dict[int, int] = {}  # exits reported before anyone asked
        self._started: concurrent.futures.Future[None] | None = None

    @classmethod
    def shared(cls, python: str, preload: list[str]) -> ZygoteClient:
        """This process's client for zygotes of ``python`` preloading ``preload``."""
        key = (python, tuple(preload))
        with cls._shared_lock:
            client = cls._shared.get(key)
            if client is None:
                client = cls._shared[key] = cls(python, preload)
            return client

    def _start(self) -> concurrent.futures.Future[None]:
        """Start the zygote unless it runs; the future is done once it is ready."""
        with self._lock:
            if self._started is None:
                self._started = concurrent.futures.Future()
                # The thread that starts the zygote is the one that reads it: the zygote
                # dies with the thread that forked it (PR_SET_PDEATHSIG), so that must be
                # a thread that lives exactly as long as the zygote.
                threading.Thread(target=self._run, name="codetutor-zygote", daemon=True).start()
            return self._started

    def _run(self) -> None:
        started = self._started
        assert started is not None
        try:
            process = subprocess.Popen(
                [self.python, "-m", "codetutor.judge.zygote", *self.preload],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={
                    "PATH": "/usr/bin:/bin",
                    "LANG": "C.UTF-8",
                    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                },
                cwd="/",
                start_new_session=True,
            )
        except OSError as e:
            with self._lock:
                self._started = None
            started.set_exception(e)
            return
        assert process.stdout is not None and process.stdin is not None
        line = process.stdout.readline()
        if line.startswith(b'{"ready"'):
            with self._lock:
                self.process = process
            started.set_result(None)
            self._read(process)
        else:
            process.kill()
        process.wait()
        with self._lock:
            for future in [*self._pending.values(), *self._exits.values()]:
                _settle(future, OSError("the zygote exited"))
            self._pending.clear()
            self._exits.clear()
            self._codes.clear()
            self.process = None
            self._started = None
        process.stdin.close()
        process.stdout.close()
        if not started.done():
            started.set_exception(OSError(f"the zygote did not start: {line[:200]!r}"))

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            message = json.loads(line)
            with self._lock:
                if "spawned" in message:
                    future = self._pending.pop(message["spawned"], None)
                    if future is not None:
                        _settle(future, message["pid"])
                elif "failed" in message:
                    future = self._pending.pop(message["failed"], None)
                    if future is not None:
                        _settle(future, OSError(message["error"]))
                elif "exited" in message:
                    future = self._exits.get(message["exited"])
                    if future is None:
                        self._codes[message["exited"]] = message["status"]
                    else:
                        _settle(future, message["status"])

    def exit_future(self, pid: int) -> asyncio.Future[int]:
        """A future, on the running loop, for the exit status of kernel ``pid``."""
        loop = asyncio.get_running_loop()
        with self._lock:
            future = self._exits.get(pid)
            if future is None or future.done() or future.get_loop() is not loop:
                future = self._exits[pid] = loop.create_future()
                if pid in self._codes:
                    future.set_result(self._codes.pop(pid))
            return future

    async def spawn(self, request: dict[str, Any]) -> int:
        """Fork a sandboxed kernel; return the pid of its outer process. Coroutine."""
        await asyncio.wrap_future(self._start())
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        with self._lock:
            process = self.process
            if process is None or process.stdin is None:
                raise OSError("the zygote exited")
            self._counter += 1
            number = self._counter
            self._pending[number] = future
            try:
                process.stdin.write(json.dumps({**request, "spawn": number}).encode() + b"\n")
                process.stdin.flush()
            except (OSError, ValueError) as e:
                self._pending.pop(number, None)
                raise OSError(f"the zygote exited: {e}") from e
        try:
            return await asyncio.wait_for(future, 30)
        finally:
            with self._lock:
                self._pending.pop(number, None)

    def forget(self, pid: int) -> None:
        with self._lock:
            self._exits.pop(pid, None)
            self._codes.pop(pid, None)


def _settle(future: asyncio.Future[Any], outcome: Any) -> None:
    """Give ``future`` its result (or exception) on its own loop, from any thread."""

    def settle() -> None:
        if future.done():
            return
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)

    # A closed loop has nobody waiting any more.
    with contextlib.suppress(RuntimeError):
        future.get_loop().call_soon_threadsafe(settle)


class ForkedKernelProcess:
    """A Popen-like handle on a kernel forked by the zygote (not our child)."""

    def __init__(self, pid: int, exited: asyncio.Future[int], client: ZygoteClient) -> None:
        self.pid = pid
        self._exited = exited
        self._client = client
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and self._exited.done() and not self._exited.cancelled():
            self.returncode = self._exited.result() if self._exited.exception() is None else -1
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    async def wait_async(self) -> int | None:
        """Wait (at most 10 s) for the zygote to report this process's exit. Coroutine."""
        with contextlib.suppress(asyncio.TimeoutError, OSError):
            await asyncio.wait_for(asyncio.shield(self._exited), 10.0)
        code = self.poll()
        if code is not None:
            self._client.forget(self.pid)
        return code

    def wait(self, timeout: float | None = None) -> int | None:
        return self.poll()
