"""Embedded user servers send over loopback only (codetutor.hub.firewall), checked with
real processes running as a user server's uid against real listeners on this host."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from codetutor.hub.firewall import CHAIN, restrict_to_loopback
from codetutor.hub.spawner import BubblewrapSpawner

FIRST = BubblewrapSpawner.first_uid.default_value
LAST = (
    FIRST
    + BubblewrapSpawner.uid_blocks.default_value * (BubblewrapSpawner.uids_per_hub.default_value)
    - 1
)


def _needs_root_and_iptables() -> None:
    missing = []
    if os.geteuid() != 0:
        missing.append("root")
    if shutil.which("iptables") is None:
        missing.append("iptables")
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"needs {' and '.join(missing)} under CI (./dev test installs iptables)")
        pytest.skip(f"needs {' and '.join(missing)}")


class OutsideHost:
    """A listener on another "host": a network namespace behind a veth pair, so packets
    to it leave through a real interface (the host's own addresses route via loopback)."""

    def __init__(self) -> None:
        tag = f"ctfw{os.getpid() % 100000}"
        self.netns, self.host_if, self.peer_if = tag, f"{tag}a", f"{tag}b"
        octet = os.getpid() % 250 + 1
        self.host_ip, self.address_ip = f"10.213.{octet}.1", f"10.213.{octet}.2"
        commands = [
            ["ip", "netns", "add", self.netns],
            ["ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if],
            ["ip", "link", "set", self.peer_if, "netns", self.netns],
            ["ip", "addr", "add", f"{self.host_ip}/30", "dev", self.host_if],
            ["ip", "link", "set", self.host_if, "up"],
            *(
                ["ip", "netns", "exec", self.netns, *c]
                for c in (
                    ["ip", "addr", "add", f"{self.address_ip}/30", "dev", self.peer_if],
                    ["ip", "link", "set", self.peer_if, "up"],
                    ["ip", "link", "set", "lo", "up"],
                )
            ),
        ]
        for command in commands:
            subprocess.run(command, check=True, capture_output=True, timeout=30)
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, sys.executable, "-c", SERVER, self.address_ip],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.server.stdout is not None
        self.address = (self.address_ip, int(self.server.stdout.readline()))

    def close(self) -> None:
        self.server.kill()
        self.server.wait()
        if self.server.stdout is not None:
            self.server.stdout.close()
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.netns], capture_output=True, timeout=30)


SERVER = """
import socket, sys
server = socket.create_server((sys.argv[1], 0))
print(server.getsockname()[1], flush=True)
while True:
    server.accept()[0].close()
"""


class Listener:
    """A TCP listener on this host that accepts connections."""

    def __init__(self, host: str) -> None:
        self.sock = socket.create_server((host, 0))
        self.address = self.sock.getsockname()[:2]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.close()

    def close(self) -> None:
        self.sock.close()


PROBE = """
import json, socket, sys
out = {}
for name, host, port in json.loads(sys.argv[1]):
    try:
        socket.create_connection((host, port), timeout=5).close()
        out[name] = "connected"
    except OSError as e:
        out[name] = type(e).__name__
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    udp.sendto(b"x", (sys.argv[2], 53))
    out["udp"] = "sent"
except OSError as e:
    out["udp"] = type(e).__name__
print(json.dumps(out))
"""


@pytest.fixture
def listeners() -> Iterator[dict[str, Any]]:
    _needs_root_and_iptables()
    if shutil.which("ip") is None:
        pytest.fail("iproute2 (ip) is missing; ./dev test installs it")
    made: dict[str, Any] = {"loopback": Listener("127.0.0.1")}
    try:
        made["outside"] = OutsideHost()
        yield made
    finally:
        for listener in made.values():
            listener.close()


def probe_as(uid: int, listeners: dict[str, Any]) -> dict[str, str]:
    targets = [[name, *listener.address] for name, listener in listeners.items()]
    argv = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    argv += [sys.executable, "-I", "-c", PROBE, json.dumps(targets)]
    argv.append(listeners["outside"].address[0])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result: dict[str, str] = json.loads(proc.stdout)
    return result


def test_user_servers_reach_loopback_only(listeners: dict[str, Any]) -> None:
    restrict_to_loopback(FIRST, LAST)
    for uid in (FIRST, FIRST + 12345, LAST):
        result = probe_as(uid, listeners)
        assert result["loopback"] == "connected", (uid, result)
        assert result["outside"] == "ConnectionRefusedError", (uid, result)  # reset at once
        assert result["udp"] != "sent", (uid, result)  # no DNS or anything else over UDP
    # Other uids (the Hub's own, the judge's sandboxes) are not affected.
    result = probe_as(FIRST - 1, listeners)
    assert result == {"loopback": "connected", "outside": "connected", "udp": "sent"}


def test_installing_twice_adds_nothing() -> None:
    _needs_root_and_iptables()
    restrict_to_loopback(FIRST, LAST)
    before = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    restrict_to_loopback(FIRST, LAST)
    after = subprocess.run(["iptables", "-S"], capture_output=True, text=True).stdout
    assert before == after
    jumps = [line for line in after.splitlines() if line.endswith(f"-j {CHAIN}")]
    assert jumps == [f"-A OUTPUT -m owner --uid-owner {FIRST}-{LAST} -j {CHAIN}"]
