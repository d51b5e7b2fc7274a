"""Single-user servers in a bubblewrap sandbox (the embedded default's spawner).

:class:`BubblewrapSpawner` is JupyterHub's :class:`~jupyterhub.spawner.LocalProcessSpawner`
without system accounts: each user's server runs

- as a host uid of its own (from the Hub's block of uids plus the Hub's user id,
  stable across restarts; see :attr:`BubblewrapSpawner.first_uid`), dropped to
  inside the sandbox with no capabilities
  and ``no_new_privs`` (the shared :func:`~codetutor.confine.drop_privileges_args`);
- with its own home, ``<homes_dir>/<name>`` on the host (mode 0700, owned by
  that uid), seen as ``/home/<name>``; no other user's home, no Hub database,
  no data dir: besides the home only the system (read-only, the judge's
  :func:`~codetutor.confine.system_mount_args`), Python and the Code Tutor
  package are visible, read-only; a private ``/tmp``;
- in its own PID, IPC and UTS namespaces (it shares the host's network: the proxy
  must reach it and it must reach the Hub and its services on loopback), and
  allowed to send over loopback only (:mod:`codetutor.hub.firewall`: no internet,
  no local network; :attr:`BubblewrapSpawner.loopback_only`);
- in cgroups (memory, processes, CPU share) from :attr:`mem_limit`,
  :attr:`pids_limit` and :attr:`cpu_limit`, emptied when the server stops.

Without root, bubblewrap runs unprivileged in a user namespace under the Hub's
own uid and without cgroups (development only: nothing separates users then).
Production uses DockerSpawner instead (see :mod:`codetutor.hub.config`).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
from functools import partial
from pathlib import Path
from subprocess import Popen
from typing import Any

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from traitlets import Bool, Integer, List, Unicode, default

from codetutor.cgroups import V1Cgroup, V2Cgroup
from codetutor.confine import (
    bind_args,
    drop_privileges_args,
    namespace_args,
    python_roots,
    scratch_args,
    system_mount_args,
)
from codetutor.hub.firewall import FirewallError, restrict_to_loopback


class UserV1Cgroup(V1Cgroup):
    """A user server's v1 cgroups: the judge's controllers plus ``cpu`` for a CPU quota."""

    CONTROLLERS: tuple[str, ...] = ("memory", "pids", "cpuacct", "cpu")

    def set_cpu(self, cores: float) -> None:
        """Bound the group to ``cores`` CPUs' worth of time (CFS quota)."""
        period = 100_000
        self._write("cpu", "cpu.cfs_period_us", str(period))
        self._write("cpu", "cpu.cfs_quota_us", str(max(1000, int(cores * period))))


class UserV2Cgroup(V2Cgroup):
    """A user server's cgroup in the v2 unified hierarchy, with ``cpu`` for a CPU quota."""

    CONTROLLERS: tuple[str, ...] = ("memory", "pids", "cpu")

    def set_cpu(self, cores: float) -> None:
        """Bound the group to ``cores`` CPUs' worth of time (``cpu.max``)."""
        period = 100_000
        self._write("cpu.max", f"{max(1000, int(cores * period))} {period}")


UserCgroup = UserV1Cgroup | UserV2Cgroup


def user_cgroup_class(root: str) -> type[UserV1Cgroup] | type[UserV2Cgroup] | None:
    """The kind of cgroup user servers get on this host, as the judge chooses its own
    (``CODETUTOR_CGROUPS``: auto takes v2 where usable, else v1); None without cgroups."""
    mode = os.environ.get("CODETUTOR_CGROUPS", "auto") or "auto"
    kinds = {"auto": (UserV2Cgroup, UserV1Cgroup), "v2": (UserV2Cgroup,), "v1": (UserV1Cgroup,)}
    for kind in kinds.get(mode, ()):
        if kind.usable(root):
            return kind
    return None


def package_paths() -> list[str]:
    """Host directories holding the ``codetutor`` package's code (and nothing else).

    A wheel install has the whole package in one folder. An editable install (a
    checkout) maps the repository's top-level folders (judge/, hub/, tutor/,
    insight/, extensions/) into the package, as its pyproject.toml's package-dir
    says: each mapped folder is listed, the repository around them (with problem
    notebooks and their reference solutions) is not.
    """
    import importlib.util
    import tomllib

    import codetutor

    root = Path(codetutor.__file__).resolve().parent
    paths = {str(root)}
    project = root.parent / "pyproject.toml"
    if project.is_file():
        with project.open("rb") as f:
            mapping = tomllib.load(f).get("tool", {}).get("setuptools", {}).get("package-dir", {})
        for name in mapping:
            spec = importlib.util.find_spec(name)
            for location in (spec.submodule_search_locations or []) if spec else []:
                paths.add(str(Path(location).resolve()))
    return sorted(paths)


class BubblewrapSpawner(LocalProcessSpawner):
    """Runs each user's single-user server in a bubblewrap sandbox (module docstring)."""

    homes_dir = Unicode(
        help="Host directory holding each user's home as <homes_dir>/<name>. Required."
    ).tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)
    setpriv = Unicode("setpriv", help="util-linux setpriv, used to drop to the user's uid.").tag(
        config=True
    )
    first_uid = Integer(
        430000,
        help="Start of the host uids of user servers (the judge's sandboxes use 420000-424095). "
        "Each Hub (each homes_dir) gets a block of uids_per_hub uids from here, chosen by a "
        "hash of its homes_dir, so two Hubs on one machine do not share uids; a user's uid "
        "is their block's first + their Hub user id, the same across restarts.",
    ).tag(config=True)
    uids_per_hub = Integer(65536, help="Size of one Hub's block of uids (its most users).").tag(
        config=True
    )
    uid_blocks = Integer(
        4096, help="How many blocks the hash of homes_dir chooses from (uid range size)."
    ).tag(config=True)
    pids_limit = Integer(512, help="Most processes and threads in one user's server.").tag(
        config=True
    )
    open_files_limit = Integer(4096, help="RLIMIT_NOFILE in the sandbox.").tag(config=True)
    scratch_mb = Integer(256, help="Size of the sandbox's private /tmp, in MiB.").tag(config=True)
    cgroup_root = Unicode(
        "/sys/fs/cgroup",
        help="Mount point of the cgroup hierarchies (v1 controllers, or the v2 unified one).",
    ).tag(config=True)
    readonly_paths = List(
        Unicode(), help="Extra host paths made visible read-only in every user's sandbox."
    ).tag(config=True)
    loopback_only = Bool(
        True,
        help="""Let user servers (their uid range) send over loopback only: they reach the
        Hub, the proxy and the services, not the internet or the local network (iptables;
        needs root, as the uids and cgroups do). A server is not started when the rules
        cannot be installed.""",
    ).tag(config=True)

    @default("cmd")
    def _default_cmd(self) -> list[str]:
        return [sys.executable, "-m", "jupyterhub.singleuser"]

    @default("mem_limit")
    def _default_mem_limit(self) -> int:
        return 2 << 30

    @default("cpu_limit")
    def _default_cpu_limit(self) -> float:
        return 1.0

    @default("default_url")
    def _default_default_url(self) -> str:
        return "/lab"

    @property
    def isolated(self) -> bool:
        """Whether the server gets a uid and cgroups of its own (the Hub runs as root)."""
        return os.geteuid() == 0

    @property
    def uid(self) -> int:
        """The host uid the user's server runs as."""
        if not self.isolated:
            return os.geteuid()
        digest = hashlib.sha256(str(Path(self.homes_dir).resolve()).encode()).hexdigest()
        block = int(digest[:8], 16) % self.uid_blocks
        return self.first_uid + block * self.uids_per_hub + int(self.user.id)

    @property
    def home_inside(self) -> str:
        return f"/home/{self.user.escaped_name}"

    @property
    def home_on_host(self) -> Path:
        if not self.homes_dir:
            raise ValueError("BubblewrapSpawner.homes_dir is not set")
        return Path(self.homes_dir, self.user.escaped_name)

    @property
    def cgroup_name(self) -> str:
        return f"hub-user-{self.uid}"

    @default("notebook_dir")
    def _default_notebook_dir(self) -> str:
        return self.home_inside

    def make_preexec_fn(self, name: str) -> Any:
        # The uid is dropped inside the sandbox (setpriv), not before bubblewrap starts.
        return None

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        env["USER"] = self.user.name
        env["HOME"] = self.home_inside
        env["SHELL"] = "/bin/bash"
        return env

    async def move_certs(self, paths: dict[str, str]) -> dict[str, str]:
        # internal_ssl is not used with this spawner.
        return paths

    def make_home(self) -> Path:
        """Create the user's home on the host (0700, owned by their uid) if missing."""
        home = self.home_on_host
        home.parent.mkdir(mode=0o711, parents=True, exist_ok=True)
        home.mkdir(mode=0o700, exist_ok=True)
        if self.isolated:
            os.chown(home, self.uid, self.uid)
        return home

    def make_cgroup(self) -> UserCgroup | None:
        """The server's cgroup with its limits set, or None without root or cgroups."""
        kind = user_cgroup_class(self.cgroup_root) if self.isolated else None
        if kind is None:
            return None
        cgroup = kind(self.cgroup_root, self.cgroup_name)
        if self.mem_limit:
            cgroup.set_memory(int(self.mem_limit) >> 20)
        cgroup.set_pids(self.pids_limit)
        if self.cpu_limit:
            cgroup.set_cpu(float(self.cpu_limit))
        return cgroup

    def sandbox_command(self, cmd: list[str], home: Path, cgroup: UserCgroup | None) -> list[str]:
        """The launch command: join the cgroups, set rlimits, bubblewrap, then ``cmd``."""
        # the network namespace is the host's: the firewall keeps it to loopback
        args = namespace_args(
            self.bwrap, hostname="codetutor", isolated=self.isolated, network=True
        )
        args += system_mount_args()
        args += ["--ro-bind-try", "/etc/hosts", "/etc/hosts"]
        args += scratch_args(self.scratch_mb)
        args += bind_args([*python_roots(cmd), *package_paths(), *self.readonly_paths])
        args += ["--perms", "0755", "--dir", "/home", "--bind", str(home), self.home_inside]
        args += ["--chdir", self.home_inside]
        limits = f"ulimit -c 0 && ulimit -n {int(self.open_files_limit)}"
        if self.isolated:
            args += drop_privileges_args(self.setpriv, self.uid)
        else:
            args += ["--"]
        args += cmd
        procs = cgroup.procs_files if cgroup is not None else []
        script = (
            'while [ "$1" != -- ]; do echo $$ > "$1" || exit 111; shift; done; shift; '
            + f'{limits} && exec "$@"'
        )
        return ["/bin/bash", "-c", script, "codetutor-user-server", *procs, "--", *args]

    async def start(self) -> tuple[str, int]:
        """Start the user's server in its sandbox; return its (ip, port). Coroutine."""
        if shutil.which(self.bwrap) is None:
            raise RuntimeError(
                f"{self.bwrap!r} not found on PATH; install the Debian package bubblewrap"
            )
        if self.port == 0:  # type: ignore[has-type]
            self.port = random_port()
        loop = asyncio.get_running_loop()
        if self.isolated and self.loopback_only:
            last_uid = self.first_uid + self.uid_blocks * self.uids_per_hub - 1
            try:
                await loop.run_in_executor(None, restrict_to_loopback, self.first_uid, last_uid)
            except FirewallError as e:
                raise RuntimeError(
                    f"cannot keep user servers off the network ({e}); install iptables, "
                    "or set BubblewrapSpawner.loopback_only = False"
                ) from e
        home = await loop.run_in_executor(None, self.make_home)
        cgroup = await loop.run_in_executor(None, self.make_cgroup)
        cmd = self.sandbox_command([*self.cmd, *self.get_args()], home, cgroup)
        env = self.get_env()
        self.log.info("starting the sandboxed server of %s as uid %s", self.user.name, self.uid)
        self.proc = await loop.run_in_executor(
            None,
            partial(Popen, cmd, env=env, cwd="/", start_new_session=True, **self.popen_kwargs),
        )
        self.pid = self.proc.pid
        return (self.ip or "127.0.0.1", self.port)

    async def stop(self, now: bool = False) -> None:
        """Stop the server and everything it started (its whole cgroup). Coroutine."""
        await super().stop(now=now)
        await asyncio.get_running_loop().run_in_executor(None, self.empty_cgroup)

    def empty_cgroup(self) -> None:
        """Kill whatever is left in the server's cgroup and remove it."""
        if not self.isolated:
            return
        kind = user_cgroup_class(self.cgroup_root)
        cgroup = kind.existing(self.cgroup_root, self.cgroup_name) if kind is not None else None
        if cgroup is not None:
            cgroup.kill_all()
            cgroup.remove()
