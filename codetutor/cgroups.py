"""Confinement of sandboxes: cgroup v1, cgroup v2 or rlimits, chosen per host.

Shared by the judge's sandboxes (:mod:`codetutor.judge.sandbox`) and the Hub's
user servers (:mod:`codetutor.hub.spawner`). :func:`confinement_class` picks the
implementation for a ``CODETUTOR_CGROUPS`` mode; each raises
:class:`~codetutor.errors.SandboxError` where it cannot confine.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from pathlib import Path

from codetutor.errors import SandboxError

CGROUP_MODES = ("auto", "v1", "v2", "none")


def read_keyed(text: str, key: str) -> int | None:
    """The value of ``key`` in a flat-keyed cgroup file (``key value`` lines), or None."""
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


def _uid_of(name: str) -> int | None:
    """The sandbox uid a confinement name (``UID-hex``) starts with, or None."""
    head = name.partition("-")[0]
    return int(head) if head.isdigit() else None


class Confinement:
    """What bounds one sandbox's memory and processes and measures its CPU time.

    One implementation per way of confining: cgroup v1 (:class:`V1Cgroup`), the
    cgroup v2 unified hierarchy (:class:`V2Cgroup`) or, without cgroups, rlimits
    and ``/proc`` (:class:`NoCgroup`). ``Confinement(root, name)`` creates the
    sandbox's group (root: the cgroup mount point; name: ``UID-hex``, the
    sandbox's uid first); :meth:`existing` finds one left behind.
    """

    #: the CODETUTOR_CGROUPS value that selects this implementation
    mode = ""

    def __init__(self, root: str, name: str) -> None:
        self.root = root
        self.name = name

    @classmethod
    def usable(cls, root: str) -> bool:
        """Whether this process can confine sandboxes this way on this host."""
        raise NotImplementedError

    @classmethod
    def names(cls, root: str) -> list[str]:
        """Names of the sandbox groups that exist now (of any judge on the host)."""
        return []

    @classmethod
    def existing(cls, root: str, name: str) -> Confinement | None:
        """The group called ``name`` if it exists, else None."""
        return cls(root, name) if name in cls.names(root) else None

    @property
    def procs_files(self) -> list[str]:
        """Files a process writes its pid to, to join the group (before it execs the kernel)."""
        return []

    def rlimits(self) -> dict[str, int]:
        """Extra rlimits (keys of zygote.RLIMITS, in bytes) the kernel starts with."""
        return {}

    def set_memory(self, megabytes: int) -> None:
        """Bound the memory of the whole sandbox (its processes' from now on, for rlimits)."""
        raise NotImplementedError

    def set_pids(self, count: int) -> None:
        """Bound the number of processes and threads (a no-op where rlimits do it)."""

    def cpu_seconds(self) -> float:
        """CPU time used by everything in the sandbox so far."""
        raise NotImplementedError

    def oom_killed(self) -> bool:
        """True once the sandbox ran out of memory."""
        raise NotImplementedError

    def pids(self) -> list[int]:
        """Host pids of the processes in the sandbox."""
        raise NotImplementedError

    def kill_all(self, timeout: float = 10.0) -> bool:
        """SIGKILL every process in the sandbox and wait until none is left.

        Returns False if some process outlived ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        delay = 0.001
        while time.monotonic() < deadline:
            pids = self.pids()
            if not pids:
                return True
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        return not self.pids()

    def remove(self) -> None:
        """Remove the group (empty it with :meth:`kill_all` first)."""

    @staticmethod
    def _rmdir(path: Path) -> None:
        for _ in range(100):
            try:
                path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                time.sleep(0.005)


class V1Cgroup(Confinement):
    """One sandbox's cgroup in each v1 controller we use (memory, pids, cpuacct).

    Creating it needs root; :meth:`usable` says whether we can.
    """

    mode = "v1"
    CONTROLLERS: tuple[str, ...] = ("memory", "pids", "cpuacct")

    def __init__(self, root: str, name: str) -> None:
        super().__init__(root, name)
        self.paths = {c: Path(root, c, "codetutor", name) for c in self.CONTROLLERS}
        for path in self.paths.values():
            path.mkdir(parents=True, exist_ok=True)

    @classmethod
    def usable(cls, root: str) -> bool:
        if os.geteuid() != 0:
            return False
        return all(
            os.access(Path(root, c), os.W_OK) and not Path(root, c, "cgroup.controllers").exists()
            for c in cls.CONTROLLERS
        )

    @classmethod
    def names(cls, root: str) -> list[str]:
        found: set[str] = set()
        for controller in cls.CONTROLLERS:
            with contextlib.suppress(OSError):
                found.update(
                    p.name for p in Path(root, controller, "codetutor").iterdir() if p.is_dir()
                )
        return sorted(found)

    @property
    def procs_files(self) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.paths.values()]

    def _write(self, controller: str, key: str, value: str) -> bool:
        try:
            (self.paths[controller] / key).write_text(value)
            return True
        except OSError:
            return False

    def _read(self, controller: str, key: str) -> str:
        try:
            return (self.paths[controller] / key).read_text()
        except OSError:
            return ""

    def set_memory(self, megabytes: int) -> None:
        limit = str(megabytes << 20)
        # Swap accounting may or may not be on; when it is, bound memory+swap too.
        # Order matters: memsw must stay >= the memory limit at every moment.
        if not self._write("memory", "memory.limit_in_bytes", limit):
            self._write("memory", "memory.memsw.limit_in_bytes", limit)
            self._write("memory", "memory.limit_in_bytes", limit)
        self._write("memory", "memory.memsw.limit_in_bytes", limit)

    def set_pids(self, count: int) -> None:
        self._write("pids", "pids.max", str(count))

    def cpu_seconds(self) -> float:
        text = self._read("cpuacct", "cpuacct.usage").strip()
        return int(text) / 1e9 if text else 0.0

    def oom_killed(self) -> bool:
        return bool(read_keyed(self._read("memory", "memory.oom_control"), "oom_kill"))

    def pids(self) -> list[int]:
        found: set[int] = set()
        for controller in ("pids", "memory"):
            for line in self._read(controller, "cgroup.procs").split():
                found.add(int(line))
        return sorted(found)

    def remove(self) -> None:
        for path in self.paths.values():
            self._rmdir(path)


#: Compatibility name of :class:`V1Cgroup` (the hub's user servers extend it).
Cgroup = V1Cgroup


class V2Cgroup(Confinement):
    """One sandbox's cgroup in a delegated subtree of the v2 unified hierarchy.

    Sandboxes live in ``<base>/codetutor/<name>``, where ``<base>`` is the cgroup
    the judge started in (the root of a container's private cgroup namespace, a
    systemd service with ``Delegate=yes``, or the host's root). The "no internal
    processes" rule forbids enabling controllers for the children of a cgroup
    that has processes itself, so :meth:`prepare` first moves those processes
    (the judge's, and in a container its siblings') into a leaf ``<base>/
    codetutor-judge``.
    """

    mode = "v2"
    #: controllers each sandbox needs (CPU time comes from cpu.stat, which every cgroup has)
    CONTROLLERS: tuple[str, ...] = ("memory", "pids")
    #: the leaf the judge's own cgroup's processes move to
    LEAF = "codetutor-judge"
    _prepared: dict[str, Path] = {}

    def __init__(self, root: str, name: str) -> None:
        super().__init__(root, name)
        self.path = self.prepare(root) / name
        self.path.mkdir(exist_ok=True)

    @classmethod
    def base(cls, root: str) -> Path:
        """The delegated cgroup the sandboxes' subtree hangs from (see the class docstring)."""
        own = "/"
        with contextlib.suppress(OSError):
            for line in Path("/proc/self/cgroup").read_text().splitlines():
                if line.startswith("0::"):
                    own = line[3:].strip()
        path = Path(root, own.lstrip("/"))
        return path.parent if path.name == cls.LEAF else path

    @classmethod
    def prepare(cls, root: str) -> Path:
        """Create the sandboxes' subtree with memory and pids enabled; return its path.

        Raises :class:`SandboxError` where the hierarchy is not ours to change.
        """
        key = f"{root} {' '.join(cls.CONTROLLERS)}"
        if key in cls._prepared and cls._prepared[key].is_dir():
            return cls._prepared[key]
        base = cls.base(root)
        subtree = base / "codetutor"
        enable = " ".join(f"+{c}" for c in cls.CONTROLLERS)
        try:
            try:
                (base / "cgroup.subtree_control").write_text(enable)
            except OSError as e:
                if e.errno != errno.EBUSY:
                    raise
                # base has processes of its own: move them all into a leaf, then retry.
                leaf = base / cls.LEAF
                leaf.mkdir(exist_ok=True)
                for _ in range(10):
                    pids = (base / "cgroup.procs").read_text().split()
                    if not pids:
                        break
                    for pid in pids:
                        with contextlib.suppress(ProcessLookupError, OSError):
                            (leaf / "cgroup.procs").write_text(pid)
                (base / "cgroup.subtree_control").write_text(enable)
            subtree.mkdir(exist_ok=True)
            (subtree / "cgroup.subtree_control").write_text(enable)
        except OSError as e:
            raise SandboxError(
                "the judge cannot confine sandboxes",
                log_message=f"cgroup v2: cannot delegate {enable} below {base}: {e}",
            ) from e
        cls._prepared[key] = subtree
        return subtree

    @classmethod
    def usable(cls, root: str) -> bool:
        controllers = Path(root, "cgroup.controllers")
        if not controllers.is_file():
            return False
        base = cls.base(root)
        try:
            available = (base / "cgroup.controllers").read_text().split()
        except OSError:
            return False
        return all(c in available for c in cls.CONTROLLERS) and os.access(base, os.W_OK)

    @classmethod
    def names(cls, root: str) -> list[str]:
        if not Path(root, "cgroup.controllers").is_file():
            return []
        with contextlib.suppress(OSError):
            return sorted(p.name for p in (cls.base(root) / "codetutor").iterdir() if p.is_dir())
        return []

    @property
    def procs_files(self) -> list[str]:
        return [str(self.path / "cgroup.procs")]

    def _write(self, key: str, value: str) -> bool:
        try:
            (self.path / key).write_text(value)
            return True
        except OSError:
            return False

    def _read(self, key: str) -> str:
        try:
            return (self.path / key).read_text()
        except OSError:
            return ""

    def set_memory(self, megabytes: int) -> None:
        self._write("memory.max", str(megabytes << 20))
        self._write("memory.swap.max", "0")  # absent without swap accounting: nothing to bound

    def set_pids(self, count: int) -> None:
        self._write("pids.max", str(count))

    def cpu_seconds(self) -> float:
        usec = read_keyed(self._read("cpu.stat"), "usage_usec")
        return usec / 1e6 if usec else 0.0

    def oom_killed(self) -> bool:
        return bool(read_keyed(self._read("memory.events"), "oom_kill"))

    def pids(self) -> list[int]:
        return sorted(int(pid) for pid in self._read("cgroup.procs").split())

    def kill_all(self, timeout: float = 10.0) -> bool:
        # cgroup.kill (Linux 5.14+) kills the whole tree at once, forks in flight included.
        self._write("cgroup.kill", "1")
        return super().kill_all(timeout)

    def remove(self) -> None:
        self._rmdir(self.path)


class NoCgroup(Confinement):
    """Confinement without cgroups: rlimits bound, ``/proc`` measures.

    Memory: RLIMIT_DATA and RLIMIT_AS of every process (an allocation past them
    raises MemoryError); processes: RLIMIT_NPROC of the sandbox's own uid (set
    at launch); CPU time: user+system time (with reaped children's) of every
    process of the sandbox's uid or in its PID namespace, from ``/proc``. The
    sandbox is known by its uid (the name's first part), so this needs one uid
    per sandbox: a judge running as root.
    """

    mode = "none"
    #: per-process headroom over the memory limit for thread stacks and the interpreter
    DATA_SLACK_MB = 64
    #: RLIMIT_AS on top of the memory limit: file mappings and reserved arenas are not memory
    ADDRESS_SPACE_SLACK_MB = 2048

    def __init__(self, root: str, name: str) -> None:
        super().__init__(root, name)
        self.uid = _uid_of(name)
        self.memory_mb = 0
        self._pidns: str | None = None
        self._cpu = 0.0
        self._rss_peak = 0

    @classmethod
    def usable(cls, root: str) -> bool:
        return True

    @classmethod
    def existing(cls, root: str, name: str) -> Confinement | None:
        group = cls(root, name)
        return group if group.uid is not None and group.pids() else None

    def rlimits(self) -> dict[str, int]:
        return self.memory_rlimits(self.memory_mb)

    @classmethod
    def memory_rlimits(cls, megabytes: int) -> dict[str, int]:
        """RLIMIT_DATA and RLIMIT_AS (bytes) that bound each process to about ``megabytes``."""
        return {
            "data": (megabytes + cls.DATA_SLACK_MB) << 20,
            "as": (megabytes + cls.ADDRESS_SPACE_SLACK_MB) << 20,
        }

    def set_memory(self, megabytes: int) -> None:
        import resource

        self.memory_mb = megabytes
        limits = self.rlimits()
        for pid in self.pids():
            for key, value in limits.items():
                with contextlib.suppress(OSError):
                    resource.prlimit(
                        pid, getattr(resource, f"RLIMIT_{key.upper()}"), (value, value)
                    )

    def _processes(self) -> list[tuple[int, bool, list[str], str]]:
        """(pid, runs as the sandbox uid, /proc/PID/stat fields after the name, VmRSS line)
        of the sandbox's processes: its uid's, and the others in its PID namespace."""
        found: list[tuple[int, bool, list[str], str]] = []
        if self.uid is None:
            return found
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path("/proc", entry, "status").read_text()
                uids = next(ln for ln in status.splitlines() if ln.startswith("Uid:")).split()[1:]
                own = str(self.uid) in uids
                if own and self._pidns is None:
                    self._pidns = os.readlink(f"/proc/{entry}/ns/pid")
                if not own and (
                    self._pidns is None or os.readlink(f"/proc/{entry}/ns/pid") != self._pidns
                ):
                    continue
                stat = Path("/proc", entry, "stat").read_text().rpartition(")")[2].split()
            except (OSError, StopIteration):
                continue
            rss = next((ln for ln in status.splitlines() if ln.startswith("VmRSS:")), "")
            found.append((int(entry), own, stat, rss))
        return found

    def cpu_seconds(self) -> float:
        ticks = 0
        for _, own, stat, _ in self._processes():
            # fields 14-17 of stat (utime, stime, cutime, cstime); stat[0] is field 3
            utime, stime, cutime, cstime = (int(v) for v in stat[11:15])
            ticks += cutime + cstime + (utime + stime if own else 0)
        # Exited processes drop out of the sum until their parent reaps them: never go back.
        self._cpu = max(self._cpu, ticks / os.sysconf("SC_CLK_TCK"))
        return self._cpu

    def oom_killed(self) -> bool:
        rss = 0
        for _, own, _, line in self._processes():
            if own and line:
                rss += int(line.split()[1]) << 10
        self._rss_peak = max(self._rss_peak, rss)
        return self.memory_mb > 0 and self._rss_peak >= self.memory_mb << 20

    def pids(self) -> list[int]:
        return sorted(pid for pid, own, _, _ in self._processes() if own)


#: Every way of confining, in the order ``auto`` tries them (NoCgroup never: it must be asked for).
CONFINEMENTS: tuple[type[Confinement], ...] = (V2Cgroup, V1Cgroup, NoCgroup)


def confinement_class(mode: str, root: str) -> type[Confinement]:
    """The confinement for CODETUTOR_CGROUPS ``mode`` (auto|v1|v2|none) on this host.

    ``auto`` is v2 where the unified hierarchy is usable, else v1 where that is,
    and never ``none``. Raises :class:`SandboxError` (one line: what to do) when
    the mode cannot confine here: a judge that cannot confine does not start.
    """
    if mode == "auto":
        for kind in CONFINEMENTS[:2]:
            if kind.usable(root):
                return kind
        raise SandboxError(
            "the judge cannot confine sandboxes",
            log_message=f"no usable cgroup v2 or v1 hierarchy at {root} (as uid {os.geteuid()}); "
            "run as root on a cgroup host, or set CODETUTOR_CGROUPS=none to bound sandboxes by "
            "rlimits alone",
        )
    for cls in CONFINEMENTS:
        if cls.mode == mode:
            if not cls.usable(root):
                raise SandboxError(
                    "the judge cannot confine sandboxes",
                    log_message=f"CODETUTOR_CGROUPS={mode}, but that cgroup hierarchy is not "
                    f"usable at {root} (as uid {os.geteuid()})",
                )
            return cls
    raise SandboxError(
        "the judge cannot confine sandboxes",
        log_message=f"CODETUTOR_CGROUPS={mode!r}: choose one of {', '.join(CGROUP_MODES)}",
    )
