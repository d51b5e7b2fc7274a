"""Sandboxed kernels.

A :class:`Sandbox` is one ipykernel that runs student code and nothing else,
reached by nbclient/jupyter_client over ZMQ IPC sockets in a directory shared
with the sandbox. It is never reused: a submission takes a fresh one and it is
destroyed afterwards, with everything it started.

The kernel is launched by a jupyter_client *kernel provisioner*.
:class:`~.provisioners.BubblewrapProvisioner` (the local backend) runs ipykernel inside
bubblewrap:

- as an unprivileged uid of its own (one per live sandbox, so process limits
  and file ownership never mix between sandboxes), with no capabilities and
  ``no_new_privs``;
- in new user, PID, network (empty: loopback only), IPC, UTS and cgroup
  namespaces, so it sees no other process and reaches no network;
- on a read-only view of only the system and Python directories it needs: no
  problem files, no database, no other user's files; a private size-limited
  ``/tmp``; the judge's environment is cleared;
- in cgroups (v1: memory, pids, cpuacct; or v2: memory, pids) that bound its
  memory and processes and let the judge read its CPU time and whether it ran
  out of memory; without cgroups (``CODETUTOR_CGROUPS=none``) rlimits bound
  each process's memory and the uid's processes, and CPU time is read from
  ``/proc`` (see :class:`Confinement`);
- with rlimits on CPU time, file size (output), open files and core dumps.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client import AsyncKernelManager
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from traitlets import Float, Unicode, default
from traitlets.config import LoggingConfigurable

from .exceptions import SandboxError
from .ipc import JudgeKernelClient, JudgeKernelManager, wait_listening
from .provisioners import BubblewrapProvisioner, SandboxProvisioner, ZygoteProvisioner

#: The kernel provisioners' entry points (pyproject.toml) name them in this module.
__all__ = [
    "KERNEL_NAME",
    "BubblewrapProvisioner",
    "JudgeKernelSpecManager",
    "Sandbox",
    "ZygoteProvisioner",
    "check_confinement",
]

KERNEL_NAME = "codetutor-judge"


def check_confinement(parent: Any) -> str:
    """How the sandboxes of a judge configured like ``parent`` will be confined.

    Returns the mode (v1, v2 or none) for the local backends, "container" for
    others (Docker confines its containers). Raises :class:`SandboxError` when
    the local backends cannot confine as CODETUTOR_CGROUPS asks: the judge must
    then refuse to start rather than judge without limits.
    """
    name = JudgeKernelSpecManager(parent=parent).provisioner_name
    if name not in ("codetutor-zygote", "codetutor-bubblewrap"):
        return "container"
    return BubblewrapProvisioner(parent=parent).confinement_class().mode


class JudgeKernelSpecManager(KernelSpecManager):
    """Serves the one kernel spec the judge uses: ipykernel behind a sandbox provisioner."""

    provisioner_name = Unicode(
        help="Kernel provisioner (entry point in jupyter_client.kernel_provisioners) that confines judge "
        "kernels: codetutor-zygote (forked from a pre-imported process; needs root) or codetutor-bubblewrap.",
    ).tag(config=True)

    @default("provisioner_name")
    def _provisioner_name_default(self) -> str:
        return "codetutor-zygote" if os.geteuid() == 0 else "codetutor-bubblewrap"

    python = Unicode(help="Python interpreter of judge kernels (must have ipykernel).").tag(
        config=True
    )

    @default("python")
    def _python_default(self) -> str:
        return sys.executable

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        if kernel_name != KERNEL_NAME:
            return super().get_kernel_spec(kernel_name)
        return KernelSpec(
            argv=[
                self.python,
                "-m",
                "ipykernel_launcher",
                "-f",
                "{connection_file}",
                "--HistoryManager.enabled=False",
                "--IPKernelApp.log_level=WARN",
            ],
            display_name="Code Tutor judge",
            language="python",
            metadata={"kernel_provisioner": {"provisioner_name": self.provisioner_name}},
        )


class Sandbox(LoggingConfigurable):
    """One sandboxed kernel, ready to run code (see the module docstring).

    Use :meth:`start`, then :attr:`client`, then :meth:`destroy` (always).
    """

    startup_timeout = Float(30, help="Seconds a sandboxed kernel may take to start.").tag(
        config=True
    )

    connect_timeout = Float(
        5.0,
        help="Seconds a new sandbox may take to answer its first connection before the judge "
        "connects again (before any student code runs; never after).",
    ).tag(config=True)

    km: AsyncKernelManager | None = None
    client: AsyncKernelClient | None = None
    started_at: float = 0.0

    @property
    def provisioner(self) -> SandboxProvisioner:
        assert self.km is not None and isinstance(self.km.provisioner, SandboxProvisioner)
        return self.km.provisioner

    async def start(
        self, memory_limit_mb: int | None = None, output_limit_bytes: int | None = None
    ) -> None:
        """Start the kernel and wait until it answers. Coroutine.

        Raises :class:`SandboxError` if it cannot start.
        """
        self.km = JudgeKernelManager(
            kernel_name=KERNEL_NAME,
            kernel_spec_manager=JudgeKernelSpecManager(parent=self),
            parent=self,
        )
        # No signing key: whatever key the kernel held, its student could sign with it, so
        # the judge trusts no signature; it bounds and validates every message instead.
        self.km.session.key = b""
        self.started_at = time.monotonic()
        try:
            # The provisioner's limits come from traitlets config; override per problem here.
            await self.km.start_kernel()
            prov = self.provisioner
            if memory_limit_mb is not None:
                prov.set_memory_limit(memory_limit_mb)
            if output_limit_bytes is not None:
                prov.output_limit_bytes = output_limit_bytes
            await self._connect(prov)
        except SandboxError:
            await self.destroy()
            raise
        except asyncio.CancelledError:
            # The caller gave up (a judge closing): the half-started sandbox goes too.
            await asyncio.shield(self.destroy())
            raise
        except Exception as e:
            log_tail = self.log_tail()
            await self.destroy()
            raise SandboxError(
                "the judge could not start a sandbox",
                log_message=f"sandbox start failed: {e!r}; kernel log: {log_tail!r}",
            ) from e

    async def _connect(self, prov: SandboxProvisioner) -> None:
        """Connect the judge's client to endpoints that listen already. Coroutine.

        The client never reconnects (see :mod:`codetutor.judge.ipc`); a first
        connection that got lost on a busy machine is made again, with a new
        client, only here, while the kernel has run no student code.
        """
        assert self.km is not None
        self.km.client_factory = JudgeKernelClient
        deadline = time.monotonic() + self.startup_timeout
        while True:
            client = self.km.client(sandbox_dir=str(getattr(prov, "sandbox_dir", "") or ""))
            assert isinstance(client, JudgeKernelClient)
            await wait_listening(
                client.endpoint_paths(), max(0.1, deadline - time.monotonic()), self.is_alive
            )
            self.client = client
            # Shell and IOPub are all the judge uses: no stdin, heartbeat thread or control channel.
            client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
            try:
                await self._wait_ready(min(deadline, time.monotonic() + self.connect_timeout))
                return
            except TimeoutError:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"the kernel did not answer in {self.startup_timeout} s"
                    ) from None
                self.log.warning("a sandbox did not answer its first connection; connecting again")
                self.client = None
                client.stop_channels()

    async def _wait_ready(self, until: float) -> None:
        """Wait until the kernel answers on shell and its IOPub reaches us. Coroutine.

        Like ``KernelClient.wait_for_ready`` but without its fixed 0.2 s waits:
        a kernel_info request is repeated until its reply has come on shell and
        its status message on IOPub (so IOPub is connected). Raises
        :class:`TimeoutError` at ``until`` (monotonic).
        """
        from queue import Empty

        assert self.client is not None
        deadline = until
        sent: set[str] = set()
        answered = False
        while True:
            if not answered:
                sent.add(self.client.kernel_info())
                try:
                    reply = await self.client.get_shell_msg(timeout=0.25)
                    answered = reply["parent_header"].get("msg_id") in sent
                except Empty:
                    pass
            if answered:
                # The kernel answers; is IOPub connected? Any status of our requests says so.
                try:
                    while True:
                        msg = await self.client.get_iopub_msg(timeout=0.05)
                        if msg["parent_header"].get("msg_id") in sent:
                            return
                except Empty:
                    sent.add(self.client.kernel_info())
            if not self.is_alive():
                raise RuntimeError("the kernel died while starting")
            if time.monotonic() > deadline:
                raise TimeoutError("the kernel did not answer")

    def log_tail(self, size: int = 2000) -> str:
        prov = self.km.provisioner if self.km is not None else None
        path = getattr(prov, "sandbox_dir", None)
        if path is None:
            return ""
        try:
            with open(Path(path) / "kernel.log", "rb") as f:
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - size))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def is_alive(self) -> bool:
        prov = self.km.provisioner if self.km is not None else None
        process = getattr(prov, "process", None)
        return process is not None and process.poll() is None

    async def kill(self) -> None:
        """Stop everything in the sandbox at once (the kernel and all it started)."""
        if self.km is not None and self.km.provisioner is not None:
            await self.km.provisioner.kill()

    async def destroy(self) -> None:
        """Kill the kernel and everything it started; remove every trace. Never raises."""
        client, km = self.client, self.km
        self.client = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.stop_channels()
        if km is not None:
            try:
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
                else:
                    await km.cleanup_resources()
            except Exception:
                self.log.exception("error while destroying a sandbox")
                with contextlib.suppress(Exception):
                    if km.provisioner is not None:
                        await km.provisioner.cleanup()
        self.km = None
