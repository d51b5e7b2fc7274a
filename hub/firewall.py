"""Keep embedded user servers off the network: loopback only.

The bubblewrap spawner's servers share the host's network namespace (the proxy
reaches them, and they reach the Hub and its services, over loopback). What they
must not reach is everything else: the internet, the local network, the host's
other addresses. Every user server runs as a uid of its own from one range
(:attr:`~codetutor.hub.spawner.BubblewrapSpawner.first_uid` onwards), so one
packet-filter rule covers them all: traffic from those uids leaves through the
loopback interface or not at all (a TCP connection is reset, anything else refused).

The rules live in a chain of their own, ``CODETUTOR-USERS``, jumped to from
``OUTPUT`` for the uid range, in iptables and (when present) ip6tables. Installing
them is idempotent and they stay in place (like Docker's own chains): they match only
processes of those uids.
"""

from __future__ import annotations

import shutil
import subprocess
import threading

CHAIN = "CODETUTOR-USERS"

_lock = threading.Lock()


class FirewallError(RuntimeError):
    """The packet filter could not be set up (missing tool, no permission)."""


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool, "-w", "5", *args], capture_output=True, text=True, timeout=30, check=False
    )


def _ensure(tool: str, first_uid: int, last_uid: int) -> None:
    owner = ["-m", "owner", "--uid-owner", f"{first_uid}-{last_uid}"]
    if _run(tool, "-n", "-L", CHAIN).returncode != 0:
        created = _run(tool, "-N", CHAIN)
        if created.returncode != 0 and _run(tool, "-n", "-L", CHAIN).returncode != 0:
            raise FirewallError(f"{tool} -N {CHAIN}: {created.stderr.strip()}")
    rules = [
        ["-o", "lo", "-j", "RETURN"],
        ["-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
        ["-j", "REJECT"],
    ]
    listed = _run(tool, "-S", CHAIN).stdout
    wanted = [" ".join(["-A", CHAIN, *rule]) for rule in rules]
    present = [line for line in listed.splitlines() if line.startswith(f"-A {CHAIN} ")]
    if [_normal(p) for p in present] != [_normal(w) for w in wanted]:
        _check(tool, "-F", CHAIN)
        for rule in rules:
            _check(tool, "-A", CHAIN, *rule)
    if _run(tool, "-C", "OUTPUT", *owner, "-j", CHAIN).returncode != 0:
        _check(tool, "-I", "OUTPUT", "1", *owner, "-j", CHAIN)


def _normal(rule: str) -> str:
    # iptables -S may spell a rule's options differently from how it was given
    return (
        rule.replace("--reject-with icmp-port-unreachable", "")
        .replace("--reject-with icmp6-port-unreachable", "")
        .strip()
    )


def _check(tool: str, *args: str) -> None:
    result = _run(tool, *args)
    if result.returncode != 0:
        raise FirewallError(f"{tool} {' '.join(args)}: {result.stderr.strip()}")


def restrict_to_loopback(first_uid: int, last_uid: int) -> None:
    """Let processes of uids ``first_uid``..``last_uid`` send only over loopback. Blocking.

    Raises :class:`FirewallError` when iptables is missing or refuses (the caller
    must not start a server it cannot confine).
    """
    tools = [t for t in ("iptables", "ip6tables") if shutil.which(t)]
    if "iptables" not in tools:
        raise FirewallError("iptables is not installed (Debian package iptables)")
    with _lock:
        for tool in tools:
            try:
                _ensure(tool, first_uid, last_uid)
            except FirewallError:
                if tool == "iptables":
                    raise
                # IPv6 filtering unavailable (no ip6tables support in this kernel):
                # only refuse when the host has IPv6 addresses beyond loopback.
                if _has_global_ipv6():
                    raise


def _has_global_ipv6() -> bool:
    try:
        with open("/proc/net/if_inet6") as f:
            return any(not line.split()[-1] == "lo" for line in f if line.strip())
    except OSError:
        return False
