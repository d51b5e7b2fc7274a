"""Where the judge's sandboxes come from: one fresh per request (:class:`SandboxProvider`)
or a pool of ready ones (:class:`SandboxPool`, the default), so a submission never
waits for a kernel to start.

Each pooled sandbox holds a kernel that has finished starting and has the
harness installed, but has run no student code. A submission takes one, runs,
and the sandbox is destroyed: sandboxes are never reused, so no state leaks
between submissions. The pool refills in the background, a bounded number of
starts at a time so that refilling never starves judging of CPU, and survives
sandboxes that die while they wait.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from traitlets import Integer, Type, default
from traitlets.config import LoggingConfigurable

from .exceptions import SandboxError
from .provisioners import BubblewrapProvisioner, reap_stale_sandboxes
from .runner import SandboxRunner
from .sandbox import Sandbox, check_confinement


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


class SandboxPool(SandboxProvider):
    """A :class:`SandboxProvider` that keeps ``size`` sandboxes ready."""

    size = Integer(help="How many ready sandboxes to keep. 0 starts one per request.").tag(
        config=True
    )

    @default("size")
    def _size_default(self) -> int:
        return max(2, min(8, 2 * (os.cpu_count() or 1)))

    max_concurrent_starts = Integer(
        help="How many sandboxes may be starting at once (starting one costs about 0.1-0.3 s of CPU)."
    ).tag(config=True)

    @default("max_concurrent_starts")
    def _max_starts_default(self) -> int:
        # A start is mostly waiting (about 0.08 s of CPU in 0.2 s with the zygote).
        return 2 * (os.cpu_count() or 1)

    def __init__(self, **kwargs: Any) -> None:
        """Raises :class:`SandboxError` when sandboxes cannot be confined (see
        :func:`check_confinement`): a judge that cannot confine does not start."""
        super().__init__(**kwargs)
        self.confinement = check_confinement(self)
        self.log.debug("sandboxes are confined by %s", self.confinement)
        self._ready: list[Sandbox] = []
        self._waiters: list[asyncio.Future[Sandbox]] = []
        self._starting = 0
        self._background: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._last_error: SandboxError | None = None
        self._failures = 0
        self._changed = asyncio.Event()

    @property
    def ready_count(self) -> int:
        return len(self._ready)

    async def acquire(self, memory_limit_mb: int, output_limit_bytes: int) -> Sandbox:
        """A ready sandbox with these limits; waits for one if none is ready. Coroutine."""
        if self._closed:
            raise SandboxError("the sandbox pool is closed")
        if not self._reaped:
            await asyncio.get_running_loop().run_in_executor(None, self.reap)
        if self.size <= 0:
            return await super().acquire(memory_limit_mb, output_limit_bytes)
        while True:
            sandbox = self._take_ready()
            if sandbox is None:
                future: asyncio.Future[Sandbox] = asyncio.get_running_loop().create_future()
                self._waiters.append(future)
                self._refill()
                try:
                    sandbox = await future
                except asyncio.CancelledError:
                    # Cancelled just after a sandbox was handed over: nobody else has it.
                    if future.done() and not future.cancelled() and future.exception() is None:
                        self._spawn(future.result().destroy())
                    raise
                finally:
                    if future in self._waiters:
                        self._waiters.remove(future)
            self._refill()
            if not sandbox.is_alive():
                self._spawn(sandbox.destroy())
                continue
            try:
                sandbox.provisioner.set_memory_limit(memory_limit_mb)
                sandbox.provisioner.output_limit_bytes = output_limit_bytes
            except Exception:
                self._spawn(sandbox.destroy())
                continue
            return sandbox

    async def release(self, sandbox: Sandbox) -> None:
        """Destroy a used sandbox in the background (never reused). Coroutine."""
        self._spawn(sandbox.destroy())

    async def prefill(self) -> None:
        """Start the pool and wait until it is full (for services at start-up). Coroutine.

        Raises the start error if sandboxes cannot be started at all.
        """
        self._refill()
        while len(self._ready) < self.size and not self._closed:
            if self._last_error is not None and not self._starting:
                raise self._last_error
            self._changed.clear()
            await self._changed.wait()

    async def close(self) -> None:
        """Destroy every sandbox the pool holds and wait for pending work. Coroutine."""
        self._closed = True
        for future in self._waiters:
            if not future.done():
                future.set_exception(SandboxError("the sandbox pool is closed"))
        ready, self._ready = self._ready, []
        for sandbox in ready:
            self._spawn(sandbox.destroy())
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    # -- internals ----------------------------------------------------------

    def _take_ready(self) -> Sandbox | None:
        return self._ready.pop(0) if self._ready else None

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _refill(self) -> None:
        if self._closed:
            return
        wanted = self.size + len(self._waiters)
        while (
            self._starting < self.max_concurrent_starts
            and len(self._ready) + self._starting < wanted
        ):
            self._starting += 1
            self._spawn(self._start_one())

    async def _start_one(self) -> None:
        try:
            sandbox = await SandboxProvider.acquire(self, 256, 1 << 20)
        except SandboxError as e:
            self._last_error = e
            self._starting -= 1
            self._changed.set()
            # Give the waiters the error instead of letting them wait forever.
            for future in self._waiters:
                if not future.done():
                    future.set_exception(e)
                    break
            self._failures += 1
            await asyncio.sleep(min(30.0, 0.25 * 2**self._failures))
            self._refill()
            return
        self._last_error = None
        self._failures = 0
        self._starting -= 1
        if self._closed:
            await sandbox.destroy()
            return
        for future in self._waiters:
            if not future.done():
                future.set_result(sandbox)
                break
        else:
            self._ready.append(sandbox)
        self._changed.set()
        self._refill()
