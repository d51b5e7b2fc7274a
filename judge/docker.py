"""Judge kernels in Docker containers (the production sandbox backend).

:class:`DockerProvisioner` is a kernel provisioner, registered as the entry point
``codetutor-docker`` and chosen with
``c.JudgeKernelSpecManager.provisioner_name = "codetutor-docker"``. Each sandbox
is one fresh container of the judge-kernel image (``deploy/images/judge-kernel``):

- no network (``--network none``), a read-only root, a private size-limited
  ``/tmp`` (tmpfs) and the sandbox's own directory, nothing else of the host;
- as a non-root user, with every capability dropped, ``no-new-privileges`` and
  the seccomp profile :file:`seccomp.json` (Docker's own default is replaced:
  the profile closes the kernel interfaces a submission never needs: namespaces,
  mounts, keyrings, BPF, ptrace, io_uring, ...);
- with limits on memory (no swap), CPU, processes, open files, file size and
  core dumps; a small init (``--init``) as PID 1 so the kernel is an ordinary,
  killable process;
- talking ZMQ to nbclient over IPC sockets in the sandbox directory, which is
  bind-mounted at the same path inside (so the connection file means the same
  on both sides); the kernel's own stdout and stderr go to ``kernel.log`` there,
  bounded by the file-size limit like the bubblewrap sandbox's.

Docker calls are blocking (docker SDK); they run in the event loop's executor.
One background thread per process follows the engine's event stream for our
containers, so that a container's exit, and whether the kernel was killed for
its memory (the container state's ``OOMKilled``), are known without asking.
CPU time is read from the container's cgroup, found through its init process.

Containers carry labels naming their owner (the judge process); a judge removes
the containers and directories of owners that died before it starts its first
sandbox. A container does not outlive its judge meanwhile: the judge holds an
exclusive lock on ``owner.lock`` in the sandbox directory for the sandbox's life,
and a small watcher in the container, waiting for a shared lock on it, kills every
process of the sandbox once the judge is gone (even by SIGKILL), which stops the
container.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import threading
import uuid
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from traitlets import Float, Integer, Unicode, default

from .containers import (
    _CONTAINER_SCRIPT,
    LABEL,
    OWNER_LABEL,
    ContainerCgroup,
    ContainerProcess,
    ContainerWatcher,
    owner_alive,
    owner_token,
    seccomp_profile,
)
from .exceptions import SandboxError
from .provisioners import SandboxProvisioner


class DockerProvisioner(SandboxProvisioner):
    """Runs the kernel in a locked-down container (see the module docstring)."""

    image = Unicode(
        "codetutor/judge-kernel:latest",
        help="The judge-kernel image (deploy/images/judge-kernel): Python, ipykernel and the "
        "libraries problems may import.",
    ).tag(config=True)
    python = Unicode(
        "/opt/venv/bin/python", help="The kernel's Python inside the image (has ipykernel)."
    ).tag(config=True)
    docker_url = Unicode(
        help="The Docker engine's API address; empty: the environment's (DOCKER_HOST or the "
        "local socket)."
    ).tag(config=True)
    runtime_dir = Unicode(
        help="Where per-sandbox directories (IPC sockets, connection file, log) live, at the "
        "same path on the Docker host (they are bind-mounted). A tmpfs is best."
    ).tag(config=True)

    @default("runtime_dir")
    def _runtime_dir_default(self) -> str:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else "/tmp"
        return os.path.join(base, f"codetutor-docker-{os.geteuid()}")

    user = Unicode(
        help="uid:gid the kernel runs as (never root). Default: the image's sandbox user "
        "10001:10001 when the judge is root, else the judge's own uid and gid (so it can reach "
        "the kernel's sockets)."
    ).tag(config=True)

    @default("user")
    def _user_default(self) -> str:
        if os.geteuid() == 0:
            return "10001:10001"
        return f"{os.geteuid()}:{os.getegid()}"

    cpus = Float(1.0, help="CPU cores' worth of time the sandbox may use at once.").tag(config=True)
    shm_mb = Integer(16, help="Size of the sandbox's /dev/shm, in MiB.").tag(config=True)

    sandbox_dir: Path | None = None
    container_id: str | None = None
    cgroup: ContainerCgroup | None = None
    _client: Any = None
    _watcher: ContainerWatcher | None = None
    _reaped: ClassVar[set[str]] = set()

    # -- measurements -------------------------------------------------------

    def cpu_seconds(self) -> float:
        if self.cgroup is not None:
            value = self.cgroup.cpu_seconds()
            if value is not None:
                return value
        return 0.0

    def memory_exceeded(self) -> bool:
        process = self.process
        if isinstance(process, ContainerProcess) and process.oom_killed:
            return True
        return self.cgroup is not None and self.cgroup.oom_killed()

    _log_fd: int | None = None

    def output_exceeded(self) -> bool:
        # fstat of the log opened before the container started: the sandbox can replace
        # the path (its directory is writable inside), not the file we hold.
        if self._log_fd is None:
            return False
        try:
            return os.fstat(self._log_fd).st_size >= self.output_limit_bytes
        except OSError:
            return False

    def set_memory_limit(self, megabytes: int) -> None:
        """Change the running container's memory limit (no swap). Blocking, briefly:
        the new limit must hold before the caller lets student code run."""
        self.memory_limit_mb = megabytes
        if self.container_id is None or self._client is None:
            return
        limit = megabytes << 20
        try:
            self._client.api.update_container(
                self.container_id, mem_limit=limit, memswap_limit=limit
            )
        except Exception as e:
            raise SandboxError(
                "the judge could not set a sandbox's memory limit",
                log_message=f"docker update {self.container_id[:12]}: {e}",
            ) from e

    # -- lifecycle ------------------------------------------------------------

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Run a blocking Docker call in the executor. Coroutine."""
        return await asyncio.get_running_loop().run_in_executor(None, partial(fn, *args, **kwargs))

    _clients: ClassVar[dict[tuple[int, str], Any]] = {}
    _clients_lock = threading.Lock()

    def _connect(self) -> Any:
        """The process's client of the configured engine (made once, then shared). Blocking."""
        import docker

        key = (os.getpid(), self.docker_url)
        with DockerProvisioner._clients_lock:
            client = DockerProvisioner._clients.get(key)
            if client is None:
                if self.docker_url:
                    client = docker.DockerClient(base_url=self.docker_url)
                else:
                    client = docker.from_env()
                DockerProvisioner._clients[key] = client
        return client

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is None:
            raise SandboxError("the sandbox provisioner needs a kernel manager")
        try:
            self._client = await self._call(self._connect)
            self._watcher = await self._call(ContainerWatcher.for_client, self._client)
        except Exception as e:
            raise SandboxError(
                "the judge could not start a sandbox",
                log_message=f"cannot reach the Docker engine: {e}",
            ) from e
        os.makedirs(self.runtime_dir, mode=0o711, exist_ok=True)
        if self.runtime_dir not in DockerProvisioner._reaped:
            DockerProvisioner._reaped.add(self.runtime_dir)
            count = await self._call(reap_stale_containers, self._client, self.runtime_dir)
            if count:
                self.log.info("removed %d sandbox containers left by judges that died", count)
        uid, _, gid = self.user.partition(":")
        if not uid.isdigit() or int(uid) == 0:
            raise SandboxError(
                "the judge could not start a sandbox",
                log_message=f"DockerProvisioner.user must be a numeric non-root uid: {self.user!r}",
            )
        self.sandbox_dir = Path(self.runtime_dir, uuid.uuid4().hex[:16])
        self.sandbox_dir.mkdir(mode=0o700)
        km.transport = "ipc"
        km.ip = str(self.sandbox_dir / "kernel")
        km.connection_file = str(self.sandbox_dir / "kernel.json")
        kwargs.pop("env", None)
        kwargs = await super().pre_launch(**kwargs)
        (self.sandbox_dir / "kernel.log").touch()
        self._log_fd = os.open(self.sandbox_dir / "kernel.log", os.O_RDONLY | os.O_NOFOLLOW)
        self._hold_owner_lock()
        if os.geteuid() == 0:
            owner = (int(uid), int(gid or uid))
            for path in (self.sandbox_dir, self.sandbox_dir / "kernel.log", km.connection_file):
                os.chown(path, *owner)
        # The kernel spec's interpreter is the judge's; inside the image it is self.python.
        kwargs["cmd"] = [self.python, *list(kwargs["cmd"])[1:]]
        return kwargs

    _owner_lock_fd: int | None = None

    def _hold_owner_lock(self) -> None:
        """Lock ``owner.lock`` for as long as this judge process holds the sandbox."""
        assert self.sandbox_dir is not None
        fd = os.open(
            self.sandbox_dir / "owner.lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644
        )
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._owner_lock_fd = fd

    def _release_owner_lock(self) -> None:
        fd, self._owner_lock_fd = self._owner_lock_fd, None
        if fd is not None:
            os.close(fd)

    def container_config(self, cmd: list[str]) -> dict[str, Any]:
        """Arguments of ``containers.create`` for a kernel running ``cmd``."""
        import docker.types

        assert self.sandbox_dir is not None
        directory = str(self.sandbox_dir)
        log = str(self.sandbox_dir / "kernel.log")
        lock = str(self.sandbox_dir / "owner.lock")
        fsize = self.output_limit_bytes + (64 << 10)
        volumes = {directory: {"bind": directory, "mode": "rw"}}
        for path in self.readonly_paths:
            volumes[path] = {"bind": path, "mode": "ro"}
        return {
            "image": self.image,
            # The shell starts the watcher (it gets the shared lock only once the judge's
            # exclusive one is gone, then kills everything of the sandbox), redirects the
            # kernel's own output and is replaced by the kernel.
            "command": ["/bin/sh", "-c", _CONTAINER_SCRIPT, log, lock, *cmd],
            "entrypoint": [],
            "name": f"codetutor-sandbox-{self.sandbox_dir.name}",
            "labels": {LABEL: self.runtime_dir, OWNER_LABEL: owner_token()},
            "user": self.user,
            "environment": dict(self.sandbox_env),
            "working_dir": "/tmp",
            "hostname": "sandbox",
            "network_mode": "none",
            "ipc_mode": "private",
            "read_only": True,
            "tmpfs": {"/tmp": f"rw,nosuid,nodev,size={self.scratch_mb}m,mode=1777"},
            "shm_size": self.shm_mb << 20,
            "volumes": volumes,
            "mem_limit": self.memory_limit_mb << 20,
            "memswap_limit": self.memory_limit_mb << 20,
            "nano_cpus": int(self.cpus * 1e9),
            "pids_limit": self.pids_limit,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges", f"seccomp={seccomp_profile()}"],
            "ulimits": [
                docker.types.Ulimit(name="core", soft=0, hard=0),
                docker.types.Ulimit(
                    name="nofile", soft=self.open_files_limit, hard=self.open_files_limit
                ),
                docker.types.Ulimit(name="cpu", soft=self.cpu_limit_s, hard=self.cpu_limit_s),
                docker.types.Ulimit(name="fsize", soft=fsize, hard=fsize),
            ],
            "init": True,
            "log_config": docker.types.LogConfig(type="none"),
            "healthcheck": {"test": ["NONE"]},
            "detach": True,
        }

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        assert self._client is not None and self._watcher is not None
        try:
            container = await self._call(
                self._client.containers.create, **self.container_config(cmd)
            )
        except Exception as e:
            raise SandboxError(
                "the judge could not start a sandbox",
                log_message=f"docker create ({self.image}): {e}",
            ) from e
        self.container_id = container.id
        process = ContainerProcess(container.id, self._client)
        self._watcher.watch(process)
        self.process = process  # type: ignore[assignment]
        try:
            await self._call(container.start)
            state = (await self._call(self._client.api.inspect_container, container.id))["State"]
        except Exception as e:
            raise SandboxError(
                "the judge could not start a sandbox",
                log_message=f"docker start {container.id[:12]}: {e}",
            ) from e
        process.pid = int(state.get("Pid") or 0) or None
        self.pid = process.pid
        self.pgid = None
        if process.pid:
            self.cgroup = process.cgroup = ContainerCgroup.find(process.pid)
        if self.cgroup is None:
            self.log.warning(
                "sandbox %s: container cgroup not visible; CPU time is not measured",
                container.id[:12],
            )
        return self.connection_info

    async def poll(self) -> int | None:
        process = self.process
        return process.poll() if process is not None else 0

    async def wait(self) -> int | None:
        process = self.process
        if process is None:
            return 0
        # KernelManager bounds this wait (and kills first); never hold a thread for long.
        while await self._call(process.wait, 0.5) is None:
            pass
        self.process = None
        return process.returncode

    async def send_signal(self, signum: int) -> None:
        process = self.process
        if isinstance(process, ContainerProcess):
            await self._call(process.send_signal, signum)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(9)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(15)

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        if self.container_id is not None and self._client is not None:
            container_id, self.container_id = self.container_id, None
            if self._watcher is not None:
                self._watcher.forget(container_id)
            try:
                await self._call(self._client.api.remove_container, container_id, force=True)
            except Exception as e:
                if "No such container" not in str(e):
                    self.log.error("could not remove sandbox container %s: %s", container_id, e)
        self.cgroup = None
        self._release_owner_lock()
        if self._log_fd is not None:
            os.close(self._log_fd)
            self._log_fd = None
        if self.sandbox_dir is not None:
            await self._call(shutil.rmtree, self.sandbox_dir, True)
            self.sandbox_dir = None


def reap_stale_containers(client: Any, runtime_dir: str) -> int:
    """Remove sandbox containers (and their directories) of judges that died. Blocking.

    Only containers of ``runtime_dir`` are considered, and only those whose owner
    process is gone. Returns how many were removed.
    """
    removed = 0
    for info in client.api.containers(all=True, filters={"label": f"{LABEL}={runtime_dir}"}):
        labels = info.get("Labels") or {}
        if owner_alive(labels.get(OWNER_LABEL, "")):
            continue
        with contextlib.suppress(Exception):
            client.api.remove_container(info["Id"], force=True)
            removed += 1
        name = (info.get("Names") or [""])[0].rpartition("codetutor-sandbox-")[2]
        if name:
            shutil.rmtree(Path(runtime_dir, name), ignore_errors=True)
    return removed


__all__ = [
    "ContainerCgroup",
    "ContainerProcess",
    "ContainerWatcher",
    "DockerProvisioner",
    "reap_stale_containers",
    "seccomp_profile",
]
