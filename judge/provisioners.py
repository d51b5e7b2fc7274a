"""Kernel provisioners that confine a judge kernel: bubblewrap, and zygote-forked.

A jupyter_client *kernel provisioner* launches the kernel of a :class:`~.sandbox.Sandbox`:
:class:`BubblewrapProvisioner` runs ipykernel inside bubblewrap as a uid of its own
(:class:`UidAllocator`), in the cgroup confinement the host allows
(:mod:`codetutor.cgroups`), with the command line of :mod:`codetutor.confine`;
:class:`ZygoteProvisioner` forks it from a pre-imported template process.
:func:`reap_stale_sandboxes` cleans up after a judge that died. The module
docstring of :mod:`codetutor.judge.sandbox` says what a sandbox may and may not do.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import tempfile
import uuid
from abc import abstractmethod
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Dict, Enum, Instance, Integer, List, Unicode, default

from codetutor.cgroups import CGROUP_MODES, CONFINEMENTS, Confinement, NoCgroup, confinement_class
from codetutor.confine import ETC_FILES, bubblewrap_args, drop_privileges_args, python_roots

from .exceptions import SandboxError


class UidAllocator:
    """Hands out host uids for sandboxes, one per live sandbox, across processes.

    Each allocation holds an exclusive ``flock`` on a file named for the uid,
    so judge workers on the same machine never share a uid.
    """

    def __init__(self, lock_dir: str, first: int, count: int) -> None:
        self.lock_dir = Path(lock_dir)
        self.lock_dir.mkdir(parents=True, exist_ok=True)
        self.first = first
        self.count = count

    def acquire(self) -> tuple[int, int]:
        """Return ``(uid, lock_fd)``; raise :class:`SandboxError` when all are taken."""
        start = (os.getpid() * 7919) % self.count
        for offset in range(self.count):
            uid = self.first + (start + offset) % self.count
            fd = os.open(self.lock_dir / f"{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return uid, fd
        raise SandboxError(
            "no free sandbox uid", log_message=f"all {self.count} sandbox uids are in use"
        )

    @staticmethod
    def release(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.close(fd)


def _default_runtime_dir() -> str:
    base = (
        "/dev/shm"
        if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK)
        else tempfile.gettempdir()
    )
    return os.path.join(base, f"codetutor-judge-{os.geteuid()}")


class SandboxProvisioner(LocalProvisioner):
    """A kernel provisioner whose kernel is confined and measurable.

    Subclasses (bubblewrap here, Docker in production) implement the
    measurements the judge needs while a submission runs.
    """

    memory_limit_mb = Integer(256, help="Memory limit of the whole sandbox, in MiB.").tag(
        config=True
    )
    output_limit_bytes = Integer(
        1 << 20,
        help="Largest file the sandbox may write (its own stdout/stderr log included), in bytes.",
    ).tag(config=True)
    pids_limit = Integer(64, help="Most processes and threads in one sandbox.").tag(config=True)
    cpu_limit_s = Integer(
        300,
        help="RLIMIT_CPU of the kernel, a backstop: the judge enforces per-case limits itself.",
    ).tag(config=True)
    open_files_limit = Integer(256, help="RLIMIT_NOFILE in the sandbox.").tag(config=True)
    scratch_mb = Integer(64, help="Size of the sandbox's private /tmp (tmpfs), in MiB.").tag(
        config=True
    )
    readonly_paths = List(
        Unicode(),
        help="Extra host paths made visible read-only inside the sandbox (e.g. data sets).",
    ).tag(config=True)
    sandbox_env = Dict(
        Unicode(),
        help="Environment of the kernel inside the sandbox (nothing of the judge's is inherited).",
    ).tag(config=True)

    @default("sandbox_env")
    def _sandbox_env_default(self) -> dict[str, str]:
        return {
            "HOME": "/tmp",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "TERM": "dumb",
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "IPYTHONDIR": "/tmp/.ipython",
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }

    @abstractmethod
    def cpu_seconds(self) -> float:
        """CPU time used by everything in the sandbox so far."""

    @abstractmethod
    def memory_exceeded(self) -> bool:
        """True once the sandbox was stopped for using too much memory."""

    @abstractmethod
    def output_exceeded(self) -> bool:
        """True once the sandbox wrote past its output limit outside the kernel's streams."""

    @abstractmethod
    def set_memory_limit(self, megabytes: int) -> None:
        """Change the memory limit of the running sandbox."""


class BubblewrapProvisioner(SandboxProvisioner):
    """Runs the kernel in a bubblewrap sandbox (see the module docstring)."""

    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    setpriv = Unicode("setpriv", help="util-linux setpriv, used to drop to the sandbox uid.").tag(
        config=True
    )
    runtime_dir = Unicode(
        help="Where per-sandbox directories (IPC sockets, connection file, log) live. "
        "A tmpfs is best: what a sandbox writes there counts against its memory limit."
    ).tag(config=True)

    @default("runtime_dir")
    def _runtime_dir_default(self) -> str:
        return _default_runtime_dir()

    cgroup_root = Unicode(
        "/sys/fs/cgroup",
        help="Mount point of the cgroup hierarchies (v1 controllers or v2 unified).",
    ).tag(config=True)
    first_uid = Integer(420000, help="First host uid given to sandboxes.").tag(config=True)
    uid_count = Integer(4096, help="How many host uids sandboxes may use.").tag(config=True)

    @default("sandbox_env")
    def _sandbox_env_default(self) -> dict[str, str]:
        return {"PATH": "/usr/local/bin:/usr/bin:/bin", **super()._sandbox_env_default()}

    cgroups = Enum(
        list(CGROUP_MODES),
        help="How sandboxes are confined: v1 or v2 cgroups; none (rlimits and /proc only, "
        "weaker: see the README); auto (v2 where usable, else v1; never none: a judge that "
        "cannot confine refuses to start). Defaults to $CODETUTOR_CGROUPS, else auto.",
    ).tag(config=True)

    @default("cgroups")
    def _cgroups_default(self) -> str:
        return os.environ.get("CODETUTOR_CGROUPS", "auto") or "auto"

    def confinement_class(self) -> type[Confinement]:
        """The confinement :attr:`cgroups` selects here; raises :class:`SandboxError` if none can."""
        return confinement_class(self.cgroups, self.cgroup_root)

    kernel_cmd: list[str] = []
    sandbox_dir = Instance(Path, allow_none=True)
    cgroup = Instance(Confinement, allow_none=True)
    uid = Integer(-1)
    _uid_lock: int | None = None
    _log_file: Any = None

    # -- measurements -----------------------------------------------------

    def cpu_seconds(self) -> float:
        if self.cgroup is not None:
            return self.cgroup.cpu_seconds()
        return 0.0

    def memory_exceeded(self) -> bool:
        return self.cgroup is not None and self.cgroup.oom_killed()

    def output_exceeded(self) -> bool:
        # fstat of the file we opened: the sandbox can replace the path, not our file.
        if self._log_file is None:
            return False
        try:
            return os.fstat(self._log_file.fileno()).st_size >= self.output_limit_bytes
        except (OSError, ValueError):
            return False

    def set_memory_limit(self, megabytes: int) -> None:
        self.memory_limit_mb = megabytes
        if self.cgroup is not None:
            self.cgroup.set_memory(megabytes)

    def rlimits(self) -> dict[str, int]:
        """Every rlimit (keys of zygote.RLIMITS, bytes where a size) the kernel starts with."""
        if self.cgroup is not None:
            memory = self.cgroup.rlimits()
        else:  # not root, CODETUTOR_CGROUPS=none: rlimits bound the judge's own uid
            memory = NoCgroup.memory_rlimits(self.memory_limit_mb)
        return {
            "cpu": int(self.cpu_limit_s),
            "fsize": int(self.output_limit_bytes + (64 << 10)),
            "nofile": int(self.open_files_limit),
            "nproc": int(self.pids_limit),
            "core": 0,
            **memory,
        }

    # -- lifecycle ----------------------------------------------------------

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is None:
            raise SandboxError("the sandbox provisioner needs a kernel manager")
        if shutil.which(self.bwrap) is None:
            raise SandboxError(
                "bubblewrap is not installed",
                log_message=f"{self.bwrap!r} not found on PATH; install the Debian package bubblewrap",
            )
        os.makedirs(self.runtime_dir, mode=0o711, exist_ok=True)
        isolated = os.geteuid() == 0
        if isolated:
            self.uid, self._uid_lock = UidAllocator(
                os.path.join(self.runtime_dir, "uids"), self.first_uid, self.uid_count
            ).acquire()
        else:
            self.uid = os.geteuid()
        name = f"{self.uid}-{uuid.uuid4().hex[:12]}"
        self.sandbox_dir = Path(self.runtime_dir, name)
        self.sandbox_dir.mkdir(mode=0o700)
        if isolated:
            os.chown(self.sandbox_dir, self.uid, self.uid)
        if isolated or self.cgroups != NoCgroup.mode:
            self.cgroup = self.confinement_class()(self.cgroup_root, name)
            self.cgroup.set_memory(self.memory_limit_mb)
            self.cgroup.set_pids(self.pids_limit)
        km.transport = "ipc"
        km.ip = str(self.sandbox_dir / "kernel")
        km.connection_file = str(self.sandbox_dir / "kernel.json")
        kwargs.pop("env", None)
        kwargs = await super().pre_launch(**kwargs)
        if isolated:
            os.chown(km.connection_file, self.uid, self.uid)
        self._log_file = self._open_log()
        self.kernel_cmd = list(kwargs["cmd"])
        kwargs["cmd"] = self._wrap(kwargs["cmd"], isolated)
        kwargs["env"] = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
        kwargs["stdout"] = self._log_file
        kwargs["stderr"] = self._log_file
        kwargs["stdin"] = None
        kwargs["cwd"] = "/"
        return kwargs

    def _open_log(self) -> Any:
        """The file that receives the sandbox's own stdout and stderr (closed in cleanup)."""
        assert self.sandbox_dir is not None
        return open(self.sandbox_dir / "kernel.log", "wb")

    def _wrap(self, kernel_cmd: list[str], isolated: bool) -> list[str]:
        """The launch command: cgroups and rlimits, then bubblewrap, then the kernel.

        As root, bubblewrap sets the sandbox up with root's view of the host
        (so it can bind a Python that lives under /root), keeps only the
        capabilities needed to change uid, and runs ``setpriv`` inside, which
        becomes the sandbox's own uid with no capabilities and no_new_privs
        before it execs the kernel.
        """
        assert self.sandbox_dir is not None
        args = bubblewrap_args(
            self.bwrap,
            kernel_cmd,
            isolated=isolated,
            env=self.sandbox_env,
            scratch_mb=self.scratch_mb,
            readonly=self.readonly_paths,
            writable=[str(self.sandbox_dir)],
        )
        # bash's ulimit counts sizes in KiB; RLIMIT_NPROC only as root (one uid per sandbox).
        options = {
            "cpu": "-t",
            "fsize": "-f",
            "nofile": "-n",
            "core": "-c",
            "data": "-d",
            "as": "-v",
        }
        if isolated:
            options["nproc"] = "-u"
        rlimits = self.rlimits()
        limits = " && ".join(
            f"ulimit {option} {rlimits[key] // 1024 if key in ('fsize', 'data', 'as') else rlimits[key]}"
            for key, option in options.items()
            if key in rlimits
        )
        if not isolated:
            return [
                "/bin/bash",
                "-c",
                f'{limits} && exec "$@"',
                "codetutor-sandbox",
                *args,
                "--",
                *kernel_cmd,
            ]
        args += [*drop_privileges_args(self.setpriv, self.uid), *kernel_cmd]
        # Join the cgroups first, so that everything the sandbox starts is inside them.
        script = (
            'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; '
            + f'{limits} && exec "$@"'
        )
        cgroup_files = self.cgroup.procs_files if self.cgroup is not None else []
        return ["/bin/bash", "-c", script, "codetutor-sandbox", *cgroup_files, "--", *args]

    async def kill(self, restart: bool = False) -> None:
        if self.cgroup is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.cgroup.kill_all)
        with contextlib.suppress(OSError, ValueError):
            await super().kill(restart=restart)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        emptied = True
        if self.cgroup is not None:
            emptied = self.cgroup.kill_all()
            self.cgroup.remove()
            self.cgroup = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self.sandbox_dir is not None:
            if emptied:
                shutil.rmtree(self.sandbox_dir, ignore_errors=True)
            else:
                # Keep the directory: reap_stale_sandboxes() finds it once our uid lock is gone.
                self.log.error("sandbox %s did not die; left for the reaper", self.sandbox_dir)
            self.sandbox_dir = None
        if self._uid_lock is not None:
            UidAllocator.release(self._uid_lock)
            self._uid_lock = None


def reap_stale_sandboxes(runtime_dir: str, cgroup_root: str) -> int:
    """Remove sandboxes left behind by judge processes that died (SIGKILL, crash).

    A live sandbox's owner holds the flock of its uid; a sandbox directory whose
    uid lock can be taken has no owner: everything in it is killed and removed.
    Returns how many were reaped.
    """
    root = Path(runtime_dir)
    if not root.is_dir():
        return 0
    reaped = 0
    for entry in root.iterdir():
        uid_text, _, _ = entry.name.partition("-")
        if not entry.is_dir() or not uid_text.isdigit():
            continue
        lock = root / "uids" / f"{uid_text}.lock"
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its owner is alive
            if os.geteuid() == 0:
                for kind in CONFINEMENTS:
                    with contextlib.suppress(SandboxError):
                        group = kind.existing(cgroup_root, entry.name)
                        if group is not None:
                            group.kill_all()
                            group.remove()
            shutil.rmtree(entry, ignore_errors=True)
            reaped += 1
        finally:
            os.close(fd)
    return reaped


class ZygoteProvisioner(BubblewrapProvisioner):
    """Kernels forked from a pre-imported zygote, confined as in bubblewrap (see zygote.py).

    Needs root. Uids, cgroups, the sandbox directory, limits and measurements
    are those of :class:`BubblewrapProvisioner`; only the launch differs.
    """

    preload = List(
        Unicode(),
        default_value=[
            "ipykernel.kernelapp",
            "ipykernel.ipkernel",
            "ipykernel.zmqshell",
            "IPython.core.interactiveshell",
            "IPython.core.completer",
            "IPython.core.completerlib",
            "IPython.core.debugger",
            "IPython.core.oinspect",
            "IPython.extensions.storemagic",
            "ipykernel.debugger",
            "tornado.queues",
        ],
        help="Modules the zygote imports once, so that forked kernels need not (add a problem's allowed libraries).",
    ).tag(config=True)

    def filesystem(self) -> tuple[list[str], dict[str, str]]:
        """Read-only paths and top-level symlinks of the sandbox's root."""
        ro_paths = ["/usr"]
        symlinks = {}
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                symlinks[top] = os.readlink(top)
            elif os.path.isdir(top):
                ro_paths.append(top)
        ro_paths += [p for p in ETC_FILES if os.path.exists(p)]
        ro_paths += [*python_roots(self.kernel_cmd), *self.readonly_paths]
        return ro_paths, symlinks

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        if os.geteuid() != 0:
            raise SandboxError(
                "the judge could not start a sandbox", log_message="the zygote sandbox needs root"
            )
        return await super().pre_launch(**kwargs)

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        from .zygote_client import ForkedKernelProcess, ZygoteClient

        assert self.sandbox_dir is not None
        kernel_cmd = self.kernel_cmd
        argv = kernel_cmd[kernel_cmd.index("ipykernel_launcher") + 1 :]
        ro_paths, symlinks = self.filesystem()
        request = {
            "dir": str(self.sandbox_dir),
            "uid": self.uid,
            "cgroups": self.cgroup.procs_files if self.cgroup is not None else [],
            "ro_paths": ro_paths,
            "symlinks": symlinks,
            "scratch_bytes": self.scratch_mb << 20,
            "env": dict(self.sandbox_env),
            "argv": argv,
            "rlimits": self.rlimits(),
        }
        client = ZygoteClient.shared(kernel_cmd[0], list(self.preload))
        try:
            pid = await client.spawn(request)
        except (TimeoutError, OSError) as e:
            raise SandboxError(
                "the judge could not start a sandbox", log_message=f"zygote spawn failed: {e}"
            ) from e
        self.process = ForkedKernelProcess(pid, client.exit_future(pid), client)  # type: ignore[assignment]
        self.pid = pid
        self.pgid = None
        return self.connection_info

    async def wait(self) -> int | None:
        process = self.process
        if process is None:
            return 0
        code = await process.wait_async()  # type: ignore[attr-defined]
        self.process = None
        return code
