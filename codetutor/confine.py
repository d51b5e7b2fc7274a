"""Bubblewrap command lines shared by the judge's sandboxes and the Hub's user servers.

Pure functions that build ``bwrap`` arguments: the system directories a Python
process needs (read-only), bind mounts, the roots of a Python installation, a
whole confined command line, and the tail that drops root to a sandbox uid.
The judge's kernels (:mod:`codetutor.judge.sandbox`) and the Hub's spawner
(:mod:`codetutor.hub.spawner`) build their sandboxes from these; cgroups are in
:mod:`codetutor.cgroups`.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

#: /etc files a Python kernel may read; nothing with secrets.
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/alternatives",
    "/etc/mime.types",
    "/etc/ssl/certs",
    "/etc/nsswitch.conf",
    "/etc/os-release",
)


def system_mount_args() -> list[str]:
    """bubblewrap arguments showing the system read-only: /usr, /bin and friends,
    the harmless /etc files (:data:`ETC_FILES`), a fresh /proc and a minimal /dev."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in ETC_FILES:
        args += ["--ro-bind-try", path, path]
    args += ["--proc", "/proc", "--dev", "/dev"]
    return args


def bind_args(readonly: list[str], writable: tuple[str, ...] | list[str] = ()) -> list[str]:
    """bubblewrap arguments binding host paths at the same place inside.

    Missing parent directories are created 0755 first: bubblewrap would make
    them 0700, out of reach of the unprivileged uid the sandbox runs as.
    """
    args: list[str] = []
    made: set[str] = set()
    for path in [*readonly, *writable]:
        for parent in reversed(Path(path).parents[:-1]):
            if str(parent) not in made and str(parent) not in ("/usr", "/tmp", "/dev", "/proc"):
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--bind" if path in writable else "--ro-bind", path, path]
    return args


def python_roots(cmd: list[str]) -> list[str]:
    """Host directories holding the Python that runs ``cmd`` (venv and base), outside /usr."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    exe = Path(cmd[0])
    if exe.is_absolute():
        roots.add(str(exe.parent.parent))
        with contextlib.suppress(OSError):
            roots.add(str(exe.resolve().parent.parent))
    # A Python under /tmp (a checkout there, say) is bound inside the sandbox's own /tmp.
    return sorted(
        r for r in roots if r and not r.startswith(("/usr/", "/proc", "/dev")) and r != "/usr"
    )


def namespace_args(
    bwrap: str, *, hostname: str, isolated: bool, network: bool = False
) -> list[str]:
    """bubblewrap and its first arguments: new PID, IPC, UTS and cgroup namespaces, and
    a network one unless ``network``; it dies with its parent, in a session of its own.
    ``isolated`` (as root): the caller drops to a uid itself; otherwise a new user
    namespace is made, in which no further one can be."""
    args = [bwrap, "--unshare-pid"]
    if not network:
        args.append("--unshare-net")
    args += [
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--hostname",
        hostname,
    ]
    if not isolated:
        args += ["--unshare-user", "--disable-userns"]
    return args


def scratch_args(megabytes: int) -> list[str]:
    """A private, size-limited ``/tmp`` (a tmpfs anyone may write, sticky)."""
    return ["--perms", "01777", "--size", str(megabytes << 20), "--tmpfs", "/tmp"]


def bubblewrap_args(
    bwrap: str,
    cmd: list[str],
    *,
    isolated: bool,
    env: dict[str, str],
    scratch_mb: int,
    readonly: list[str] | tuple[str, ...] = (),
    writable: list[str] | tuple[str, ...] = (),
) -> list[str]:
    """bubblewrap's arguments for running ``cmd`` confined (without the command itself).

    New PID, network, IPC, UTS and cgroup namespaces; a read-only system and
    Python; a private, size-limited ``/tmp``; only ``env`` in the environment.
    ``isolated`` (as root): the caller drops to a sandbox uid itself (see
    :func:`drop_privileges_args`); otherwise a new user namespace is made.
    """
    args = [*namespace_args(bwrap, hostname="sandbox", isolated=isolated), "--clearenv"]
    for key, value in env.items():
        args += ["--setenv", key, value]
    args += system_mount_args()
    args += scratch_args(scratch_mb)
    args += bind_args([*python_roots(cmd), *readonly], list(writable))
    args += ["--chdir", "/tmp"]
    return args


def drop_privileges_args(setpriv: str, uid: int) -> list[str]:
    """The tail of a root-run bubblewrap command that becomes ``uid`` inside.

    bubblewrap keeps only the capabilities needed to change uid; ``setpriv``
    then becomes ``uid`` (and gid ``uid``) with no groups, no capabilities and
    no_new_privs before it execs what follows the returned list.
    """
    return [
        "--cap-add",
        "CAP_SETUID",
        "--cap-add",
        "CAP_SETGID",
        "--cap-add",
        "CAP_SETPCAP",
        "--",
        setpriv,
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--no-new-privs",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]
