"""The parts of a Docker sandbox (:mod:`codetutor.judge.docker`) around its container.

Owner tokens (which judge process a container belongs to), the seccomp profile,
:class:`ContainerCgroup` (CPU and memory read from the container's cgroup),
:class:`ContainerProcess` (the Popen-like handle jupyter_client gets) and
:class:`ContainerWatcher` (one thread per process following the engine's events
for our containers).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

from codetutor.cgroups import read_keyed

#: what a sandbox container runs: $0 the kernel's log, $1 the owner lock, then the kernel
_CONTAINER_SCRIPT = (
    '(flock -s "$1" true; kill -KILL -1) </dev/null >/dev/null 2>&1 & shift; exec "$@" >>"$0" 2>&1'
)

#: label on every sandbox container; its value is the runtime directory
LABEL = "codetutor.sandbox"
#: label naming the judge process that owns a container ("<pid>:<start time>")
OWNER_LABEL = "codetutor.sandbox.owner"


def _process_start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot), or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces; fields after it are plain.
    return stat.rpartition(")")[2].split()[19]


def _running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def owner_token(pid: int | None = None) -> str:
    """``<pid>:<start time>`` of a process (default: this one): unique while the machine runs."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_process_start_time(pid)}"


def owner_alive(token: str) -> bool:
    """Whether the process an :func:`owner_token` names still runs."""
    pid, _, started = token.partition(":")
    return pid.isdigit() and _process_start_time(int(pid)) == started


def seccomp_profile() -> str:
    """The seccomp profile (JSON text) sandbox containers run under."""
    return resources.files("codetutor.judge").joinpath("seccomp.json").read_text(encoding="utf-8")


class ContainerCgroup:
    """A running container's cgroups, found from its init process (v1 or v2).

    Only readable where the judge sees the host's ``/proc`` and ``/sys/fs/cgroup``
    (a judge on the Docker host); :meth:`find` returns None elsewhere.
    """

    def __init__(self, paths: dict[str, Path]) -> None:
        #: controller ("cpuacct", "memory"; "" for the v2 unified hierarchy) -> directory
        self.paths = paths

    @classmethod
    def find(cls, pid: int, root: str = "/sys/fs/cgroup") -> ContainerCgroup | None:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            return None
        paths: dict[str, Path] = {}
        for line in lines:
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                for name in ("cpuacct", "memory", ""):
                    if controller == name:
                        directory = Path(root, name, path.lstrip("/"))
                        if directory.is_dir():
                            paths[name] = directory
        if not paths:
            return None
        if "" in paths and not (paths[""] / "cpu.stat").exists():
            del paths[""]  # a v1 machine's empty unified hierarchy
        return cls(paths) if paths else None

    def exists(self) -> bool:
        return all(path.is_dir() for path in self.paths.values())

    def _read(self, controller: str, name: str) -> str:
        directory = self.paths.get(controller)
        if directory is None:
            return ""
        try:
            return (directory / name).read_text()
        except OSError:
            return ""

    def cpu_seconds(self) -> float | None:
        """CPU time of the container: v1 cpuacct.usage, else v2 cpu.stat; None if unreadable."""
        text = self._read("cpuacct", "cpuacct.usage").strip()
        if text:
            return int(text) / 1e9
        usec = read_keyed(self._read("", "cpu.stat"), "usage_usec")
        return usec / 1e6 if usec is not None else None

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the container for memory (v1 or v2)."""
        return bool(
            read_keyed(self._read("memory", "memory.oom_control"), "oom_kill")
            or read_keyed(self._read("", "memory.events"), "oom_kill")
        )


class ContainerProcess:
    """A Popen-like handle on a sandbox container, fed by :class:`ContainerWatcher`.

    ``returncode`` is set once the container stopped and its state was read;
    ``oom_killed`` is set before it when the kernel was killed for its memory.
    """

    def __init__(self, container_id: str, client: Any) -> None:
        self.id = container_id
        self._client = client
        self.pid: int | None = None
        self.returncode: int | None = None
        self.oom_killed = False
        self.exited = threading.Event()

    def record_exit(self, state: dict[str, Any]) -> None:
        """Store the stopped container's state (``docker inspect``'s ``State``)."""
        if state.get("OOMKilled"):
            self.oom_killed = True
        code = state.get("ExitCode")
        self.returncode = int(code) if isinstance(code, int) else -1
        self.exited.set()

    #: the container's cgroups while they exist (set once it runs)
    cgroup: ContainerCgroup | None = None

    def poll(self) -> int | None:
        """The exit code, or None while the container runs.

        The engine reports an exit late on a busy machine; the container's init
        process (``pid``, seen from the host) is watched too, and when it is gone
        the exit is taken as known at once, memory kills read from its cgroup
        (still there: the engine removes it only after handling the exit).
        """
        if self.returncode is None and self.pid and not _running(self.pid):
            cgroup = self.cgroup
            if cgroup is not None and cgroup.exists():
                if cgroup.oom_killed():
                    self.oom_killed = True
                self.returncode = -1  # the real code comes with the engine's event
        return self.returncode

    def wait(self, timeout: float | None = None) -> int | None:
        self.exited.wait(timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Signal the kernel (through the container's init). Blocking."""
        if self.returncode is None:
            with contextlib.suppress(Exception):
                self._client.api.kill(self.id, signal=int(signum))

    def kill(self) -> None:
        self.send_signal(9)

    def terminate(self) -> None:
        self.send_signal(15)


class ContainerWatcher:
    """Follows the engine's ``oom`` and ``die`` events of sandbox containers.

    One per Docker client and process, on a daemon thread (the event stream is a
    blocking read). A ``die`` is recorded only after the stopped container's state
    was read, so a sandbox never looks dead before we know whether memory killed it.
    """

    _instances: ClassVar[dict[str, ContainerWatcher]] = {}
    _instances_lock = threading.Lock()

    def __init__(self, client: Any) -> None:
        self.client = client
        self.containers: dict[str, ContainerProcess] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._thread = threading.Thread(
            target=self._follow, name="codetutor-docker-events", daemon=True
        )
        self._thread.start()

    @classmethod
    def for_client(cls, client: Any) -> ContainerWatcher:
        """The watcher of ``client``'s engine (started once, then shared). Blocking."""
        key = f"{os.getpid()}:{client.api.base_url}"
        with cls._instances_lock:
            watcher = cls._instances.get(key)
            if watcher is None:
                watcher = cls._instances[key] = cls(client)
        watcher._subscribed.wait(10)
        return watcher

    def watch(self, process: ContainerProcess) -> None:
        with self._lock:
            self.containers[process.id] = process

    def forget(self, container_id: str) -> None:
        with self._lock:
            self.containers.pop(container_id, None)

    def _follow(self) -> None:
        while True:
            try:
                events = self.client.events(
                    filters={"type": "container", "event": ["oom", "die"], "label": [LABEL]},
                    decode=True,
                )
            except Exception:
                time.sleep(1.0)
                continue
            self._subscribed.set()
            # Catch up on exits missed while (re)connecting.
            with self._lock:
                known = list(self.containers.values())
            for process in known:
                self._check(process)
            try:
                for event in events:
                    self._on_event(event)
            except Exception:
                time.sleep(0.2)

    def _on_event(self, event: dict[str, Any]) -> None:
        container_id = event.get("id") or event.get("Actor", {}).get("ID", "")
        with self._lock:
            process = self.containers.get(container_id)
        if process is None:
            return
        if event.get("status", event.get("Action")) == "oom":
            process.oom_killed = True
        else:
            self._check(process)

    def _check(self, process: ContainerProcess) -> None:
        try:
            state = self.client.api.inspect_container(process.id)["State"]
        except Exception:
            # Gone already (removed): it is not running.
            process.record_exit({"ExitCode": -1})
            return
        if not state.get("Running") and state.get("Status") not in ("created", "running"):
            process.record_exit(state)
