"""Kernels forked from a pre-imported template process (a *zygote*), each in its own sandbox.

Starting ipykernel costs about 0.2 s of CPU, most of it importing ipykernel and
IPython. The zygote is a root process, started once per judge process with an
empty environment, that imports all of that and then waits. For each sandbox
the judge asks it for a kernel; it forks, and the child confines itself
exactly as the bubblewrap sandbox is confined before it becomes the kernel:

- it joins the sandbox's cgroups (v1 or v2; none with ``CODETUTOR_CGROUPS=none``)
  and sets its rlimits (memory ones too when there are no cgroups);
- it unshares mount, PID, network, IPC, UTS and cgroup namespaces and forks
  once more, so the kernel is PID 1 of a namespace that dies with it;
- it builds a new root on a tmpfs with read-only binds of only the system and
  Python directories (no problem files, no database, no other sandbox), a
  private size-limited ``/tmp``, a minimal ``/dev`` (null, zero, full, random,
  urandom, tty: the host's nodes bound in), its own ``/proc``, and
  the sandbox directory holding the IPC sockets; then ``pivot_root``;
- it drops every capability (bounding set included), becomes the sandbox's
  uid, sets ``no_new_privs``, replaces its environment, reseeds ``random``,
  and only then starts ipykernel from the already imported modules.

A new kernel so costs a fork and a kernel initialisation instead of an
interpreter start. :class:`ZygoteProvisioner` is the jupyter_client kernel
provisioner for such kernels; it shares everything else (uids, cgroups, the
sandbox directory, measurements) with :class:`BubblewrapProvisioner`.

The judge's side is :mod:`codetutor.judge.zygote_client`. The zygote speaks JSON lines on its stdin/stdout: ``{"spawn": N, ...}`` is
answered by ``{"spawned": N, "pid": PID}`` (or ``{"failed": N, "error": ...}``),
and every child's exit is reported as ``{"exited": PID, "status": CODE}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import platform
import select
import signal
import sys
from typing import Any

# -- the zygote process (runs as ``python -m codetutor.judge.zygote``) ----------

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
RLIMITS = {
    "cpu": "RLIMIT_CPU",
    "fsize": "RLIMIT_FSIZE",
    "nofile": "RLIMIT_NOFILE",
    "nproc": "RLIMIT_NPROC",
    "core": "RLIMIT_CORE",
    "data": "RLIMIT_DATA",
    "as": "RLIMIT_AS",
}


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


class _Confiner:
    """The steps a forked child takes to become a sandboxed kernel (see the module docstring)."""

    def __init__(self, request: dict[str, Any]) -> None:
        self.req = request
        self.libc = _libc()

    def mount(
        self,
        source: str | None,
        target: str,
        fstype: str | None,
        flags: int,
        data: str | None = None,
    ) -> None:
        _check(
            self.libc.mount(
                source.encode() if source else None,
                target.encode(),
                fstype.encode() if fstype else None,
                ctypes.c_ulong(flags),
                data.encode() if data else None,
            ),
            f"mount {target}",
        )

    def bind(
        self,
        root: str,
        path: str,
        *,
        writable: bool = False,
        device: bool = False,
        recursive: bool = True,
    ) -> None:
        """Bind host ``path`` at the same place under ``root``: read-only unless ``writable``,
        nosuid, nodev unless it is a ``device`` node that must stay usable, and with the
        mounts below it unless not ``recursive``."""
        target = root + path
        if os.path.isdir(path):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "a"):
                pass
        self.mount(path, target, None, MS_BIND | (MS_REC if recursive else 0))
        flags = (
            MS_BIND
            | MS_REMOUNT
            | MS_NOSUID
            | (0 if device else MS_NODEV)
            | (0 if writable else MS_RDONLY)
        )
        self.mount(None, target, None, flags)

    def build_root(self) -> None:
        req = self.req
        sandbox_dir = req["dir"]
        root = os.path.join(sandbox_dir, "root")
        os.makedirs(root, exist_ok=True)
        self.mount(None, "/", None, MS_REC | MS_PRIVATE)
        self.mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
        # The private /tmp first: a Python that lives under /tmp is bound inside it below.
        os.makedirs(root + "/tmp")
        self.mount(
            "tmpfs",
            root + "/tmp",
            "tmpfs",
            MS_NOSUID | MS_NODEV,
            f"size={req['scratch_bytes']},mode=1777",
        )
        for path in req["ro_paths"]:
            if os.path.exists(path):
                self.bind(root, path)
        for link, target in req["symlinks"].items():
            os.symlink(target, root + link)
        # /dev: a few harmless devices, as bubblewrap's --dev provides: the host's nodes
        # bound onto files of a tmpfs (mknod is not ours to do), the binds not nodev.
        dev = root + "/dev"
        os.makedirs(dev)
        self.mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,mode=0755")
        for name in DEVICES:
            if os.path.exists("/dev/" + name):
                self.bind(root, "/dev/" + name, writable=True, device=True)
        for name, target in (
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ):
            os.symlink(target, f"{dev}/{name}")
        os.makedirs(dev + "/shm")
        self.mount("tmpfs", dev + "/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=1777")
        os.makedirs(root + "/proc")
        self.mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        # Not recursive: the new root is mounted inside the sandbox directory, and a
        # recursive bind would show the kernel a second, writable view of its own root.
        self.bind(root, sandbox_dir, writable=True, recursive=False)
        # pivot_root into the new root and forget the old one
        os.chdir(root)
        os.mkdir(".oldroot")
        number = SYS_PIVOT_ROOT.get(platform.machine())
        if number is None:
            raise OSError("pivot_root: unsupported architecture")
        _check(self.libc.syscall(number, b".", b".oldroot"), "pivot_root")
        os.chdir("/")
        _check(self.libc.umount2(b"/.oldroot", MNT_DETACH), "umount old root")
        os.rmdir("/.oldroot")
        self.mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)

    def drop_privileges(self) -> None:
        import resource

        for key, value in self.req["rlimits"].items():
            limit = getattr(resource, RLIMITS[key])
            resource.setrlimit(limit, (value, value))
        for cap in range(64):
            if self.libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
                break
        uid = self.req["uid"]
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
        _check(self.libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")

    def become_kernel(self) -> None:
        """In the fork: confine, then run ipykernel. Never returns."""
        req = self.req
        code = 0
        try:
            # Die with the zygote (which dies with its judge): nothing outlives a dead judge.
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            for path in req["cgroups"]:
                with open(path, "w") as f:
                    f.write(str(os.getpid()))
            os.setsid()
            _check(
                self.libc.unshare(
                    CLONE_NEWNS
                    | CLONE_NEWUTS
                    | CLONE_NEWIPC
                    | CLONE_NEWNET
                    | CLONE_NEWPID
                    | CLONE_NEWCGROUP
                ),
                "unshare",
            )
            child = os.fork()
            if child:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                # The outer process stays in the host's PID namespace, waits for
                # the kernel (PID 1 inside), and takes its exit status.
                _, status = os.waitpid(child, 0)
                os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            log = os.open(os.path.join(req["dir"], "kernel.log"), os.O_WRONLY | os.O_APPEND)
            null = os.open("/dev/null", os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)
            self.libc.sethostname(b"sandbox", 7)
            self.build_root()
            self.drop_privileges()
            # Changing uid cleared the parent-death signal: set it again.
            self.libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            os.chdir("/tmp")
            os.environ.clear()
            os.environ.update(req["env"])
            for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
                signal.signal(sig, signal.SIG_DFL)
            signal.set_wakeup_fd(-1)
            import random

            random.seed()
            from ipykernel.kernelapp import IPKernelApp

            app = IPKernelApp.instance()
            app.initialize(req["argv"])
            app.start()
        except BaseException as e:  # the kernel's own failures go to its log
            with contextlib.suppress(Exception):
                import traceback

                where = traceback.extract_tb(e.__traceback__)[-1]
                os.write(2, f"codetutor zygote child: {e!r} at line {where.lineno}\n".encode())
            code = 70
        os._exit(code)


def serve(preload: list[str]) -> None:
    """The zygote's main loop: import, then fork kernels on request until stdin closes."""
    import importlib

    parent = os.getppid()
    _libc().prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        return  # the judge died before we could watch it
    for name in preload:
        importlib.import_module(name)
    out = sys.stdout.buffer
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stdin = sys.stdin.buffer

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    def reap() -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            send({"exited": pid, "status": os.waitstatus_to_exitcode(status)})

    send({"ready": os.getpid()})
    requests = stdin.fileno()
    pending = b""
    while True:
        readable, _, _ = select.select([requests, wake_r], [], [])
        if wake_r in readable:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_r, 4096)
            reap()
        if requests not in readable:
            continue
        # Read the fd itself: several requests may arrive at once, and a buffered
        # readline would leave the later ones where select() cannot see them.
        chunk = os.read(requests, 1 << 16)
        if not chunk:
            return
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            try:
                pid = os.fork()
            except OSError as e:
                send({"failed": request["spawn"], "error": str(e)})
                continue
            if pid == 0:
                signal.set_wakeup_fd(-1)
                _Confiner(request).become_kernel()
            send({"spawned": request["spawn"], "pid": pid})
            reap()


def main() -> None:
    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
