"""The judge's kernel client opens only what it uses and closes all it opened.

A socket the judge leaves to the garbage collector is closed by whichever thread
happens to collect it, while the event loop's thread may be using other sockets of
the same library: every socket must be closed by the judge, in its own thread.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zmq

from codetutor.judge.ipc import EndpointError, JudgeKernelClient


@pytest.fixture
def endpoints(tmp_path: Path) -> Iterator[Path]:
    """A kernel's shell (ROUTER) and IOPub (PUB) endpoints, bound in ``tmp_path``."""
    context = zmq.Context()
    shell = context.socket(zmq.ROUTER)
    iopub = context.socket(zmq.PUB)
    shell.bind(f"ipc://{tmp_path}/kernel-1")
    iopub.bind(f"ipc://{tmp_path}/kernel-2")
    yield tmp_path
    context.destroy(linger=0)


def _client(directory: Path, cls: type[JudgeKernelClient] = JudgeKernelClient) -> Any:
    return cls(
        transport="ipc",
        ip=f"{directory}/kernel",
        shell_port=1,
        iopub_port=2,
        stdin_port=3,
        control_port=4,
        hb_port=5,
        sandbox_dir=str(directory),
    )


async def test_stop_channels_closes_every_socket_and_opens_none(endpoints: Path) -> None:
    client = _client(endpoints)
    client.start_channels(shell=True, iopub=True, stdin=False, hb=False, control=False)
    sockets = [client.shell_channel.socket, client.iopub_channel.socket, *client.monitors]
    assert all(not s.closed for s in sockets)
    client.stop_channels()
    assert all(s.closed for s in sockets)
    assert client.context.closed
    # jupyter_client's stop_channels opens stdin and control only to close them
    assert client._stdin_channel is None and client._control_channel is None
    client.stop_channels()  # twice is harmless


async def test_channels_the_judge_does_not_use_are_refused(endpoints: Path) -> None:
    client = _client(endpoints)
    try:
        for connect in (client.connect_stdin, client.connect_control):
            with pytest.raises(EndpointError):
                connect()
        assert not client.context._sockets  # type: ignore[attr-defined]
    finally:
        client.stop_channels()


class _FailingConnectClient(JudgeKernelClient):
    """Test double: the connection fails after the socket was made."""

    made: list[zmq.Socket[Any]] = []

    def check_endpoint(self, url: str) -> None:
        super().check_endpoint(url)
        original = self.context.socket

        def socket(*args: Any, **kwargs: Any) -> Any:
            sock = original(*args, **kwargs)
            self.made.append(sock)

            connect_ = sock.connect

            def connect(addr: str) -> Any:
                if addr.startswith("ipc://"):
                    raise zmq.ZMQError(errno.EMFILE)
                return connect_(addr)

            sock.connect = connect  # type: ignore[method-assign]
            return sock

        self.context.socket = socket  # type: ignore[method-assign]


async def test_a_socket_that_fails_to_connect_is_closed_at_once(endpoints: Path) -> None:
    client = _client(endpoints, _FailingConnectClient)
    try:
        with pytest.raises(zmq.ZMQError):
            client.connect_shell()
        assert _FailingConnectClient.made and all(s.closed for s in _FailingConnectClient.made)
    finally:
        client.stop_channels()
