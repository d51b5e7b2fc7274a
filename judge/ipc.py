"""The judge's end of a sandbox's ZMQ sockets: untrusted input, handled as such.

:class:`JudgeKernelClient` is jupyter_client's asyncio kernel client with
three changes, all about what the sandbox can do to the judge:

- **It connects once and never reconnects** (``ZMQ_RECONNECT_IVL=-1``), to
  endpoints checked before the first connection: a path under the sandbox's
  directory that is a socket, not a symlink. The connection is made while the
  kernel has run no student code (the sandbox starts and the pool keeps it
  ready before a submission takes it), so a socket the student later replaces
  with a link to some host socket is never followed.
- **Every message is size-capped before it is parsed** (``ZMQ_MAXMSGSIZE``:
  a larger one drops the connection, which the judge sees through a socket
  monitor), the receive queue is short (``ZMQ_RCVHWM``), and every frame
  received is counted by the channel's :class:`Meter` before anything else.
- **A malformed message is dropped, never raised**: a bad signature, broken
  JSON, or a header, parent header or content that is not an object.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import stat
import time
from collections.abc import Callable
from typing import Any, Protocol

import zmq
import zmq.asyncio
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Integer, Unicode, default

#: the largest message the judge accepts from a sandbox (frames together)
MAX_MESSAGE_BYTES = 4 << 20
#: messages a sandbox may have queued towards the judge on one socket
RECEIVE_QUEUE = 64


class Meter(Protocol):
    """Told the size of every message a sandbox sends, before it is parsed."""

    def received(self, nbytes: int) -> None: ...


class _NoMeter:
    def received(self, nbytes: int) -> None:
        pass


class CappedChannel(AsyncZMQSocketChannel):
    """A channel that counts every message and drops the malformed ones."""

    meter: Meter = _NoMeter()
    #: messages dropped as malformed
    dropped = 0

    async def _recv(self, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        assert self.socket is not None
        while True:
            frames = await self.socket.recv_multipart(copy=True)
            self.meter.received(sum(len(f) for f in frames))
            try:
                _, message_frames = self.session.feed_identities(frames)
                msg = self.session.deserialize(message_frames)
            except Exception:
                self.dropped += 1
                continue
            if _well_formed(msg):
                return msg
            self.dropped += 1


def _well_formed(msg: Any) -> bool:
    return (
        isinstance(msg, dict)
        and isinstance(msg.get("header"), dict)
        and isinstance(msg.get("parent_header"), dict)
        and isinstance(msg.get("content"), dict)
        and isinstance(msg.get("metadata"), dict)
        and isinstance(msg.get("msg_type"), str)
    )


class EndpointError(OSError):
    """An endpoint is not the sandbox's own socket."""


def _listening(path: str) -> bool:
    """Whether ``path`` is a unix socket (not a link) that accepts connections now."""
    try:
        if not stat.S_ISSOCK(os.lstat(path).st_mode):
            return False
    except OSError:
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
        return True
    except OSError:
        return False
    finally:
        probe.close()


async def wait_listening(paths: list[str], within_s: float, alive: Callable[[], bool]) -> None:
    """Wait until every IPC endpoint in ``paths`` accepts connections. Coroutine.

    The judge connects only then, once, with reconnection off. Raises
    :class:`TimeoutError`, or :class:`EndpointError` when the kernel died first.
    """
    deadline = time.monotonic() + within_s
    delay = 0.002
    while not all(_listening(path) for path in paths):
        if not alive():
            raise EndpointError("the kernel died before it listened")
        if time.monotonic() > deadline:
            raise TimeoutError("the kernel did not listen in time")
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.05)


class JudgeKernelClient(AsyncKernelClient):
    """A kernel client that trusts nothing the sandbox sends (see the module docstring)."""

    shell_channel_class = CappedChannel
    iopub_channel_class = CappedChannel

    sandbox_dir = Unicode(
        "", help="The directory the sandbox's IPC endpoints must be in (empty: not checked)."
    ).tag(config=True)
    max_message_bytes = Integer(MAX_MESSAGE_BYTES, help="Largest message accepted.").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.monitors: list[zmq.Socket[Any]] = []

    #: metadata for the next execute request only (the harness reads its request there)
    request_metadata: dict[str, Any] | None = None

    def execute(
        self,
        code: str,
        silent: bool = False,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool | None = None,
        stop_on_error: bool = True,
    ) -> str:
        """Send an execute request, carrying :attr:`request_metadata` if set; its msg_id."""
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
            "stop_on_error": stop_on_error,
        }
        metadata, self.request_metadata = self.request_metadata or {}, None
        msg = self.session.msg("execute_request", content, metadata=metadata)
        self.shell_channel.send(msg)
        return str(msg["header"]["msg_id"])

    def endpoint_paths(self, channels: tuple[str, ...] = ("shell", "iopub")) -> list[str]:
        """The socket files of ``channels`` (IPC transport only)."""
        return [
            url[len("ipc://") :]
            for url in (self._make_url(channel) for channel in channels)
            if url.startswith("ipc://")
        ]

    def check_endpoint(self, url: str) -> None:
        """Raise :class:`EndpointError` unless ``url`` is a socket file of the sandbox."""
        if not url.startswith("ipc://"):
            if self.transport == "tcp" and not self.sandbox_dir:
                return
            raise EndpointError(f"not an IPC endpoint: {url}")
        path = url[len("ipc://") :]
        if self.sandbox_dir and os.path.dirname(os.path.abspath(path)) != os.path.abspath(
            self.sandbox_dir
        ):
            raise EndpointError(f"endpoint outside the sandbox directory: {path}")
        info = os.lstat(path)
        if not stat.S_ISSOCK(info.st_mode):
            raise EndpointError(f"endpoint is not a socket: {path}")

    def _create_connected_socket(
        self, channel: str, identity: bytes | None = None
    ) -> zmq.sugar.socket.Socket:
        if channel not in ("shell", "iopub"):
            # Shell and IOPub are all the judge uses (see JudgeKernelManager).
            raise EndpointError(f"the judge does not open the {channel} channel")
        url = self._make_url(channel)
        self.check_endpoint(url)
        sock = self.context.socket(zmq.DEALER if channel == "shell" else zmq.SUB)
        monitor: zmq.Socket[Any] | None = None
        try:
            sock.linger = 0
            sock.setsockopt(zmq.RECONNECT_IVL, -1)
            sock.setsockopt(zmq.MAXMSGSIZE, int(self.max_message_bytes))
            sock.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
            if identity:
                sock.identity = identity
            monitor = sock.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            sock.connect(url)
        except BaseException:
            # Closed here, in this thread, not by the garbage collector in some other one.
            if monitor is not None:
                monitor.close(linger=0)
            sock.close(linger=0)
            raise
        self.monitors.append(monitor)
        return sock

    def disconnected(self) -> bool:
        """Whether a socket lost its connection (the sandbox sent too much, closed, or died)."""
        for monitor in self.monitors:
            try:
                if int(monitor.getsockopt(zmq.EVENTS)) & zmq.POLLIN:
                    return True
            except zmq.ZMQError:
                return True
        return False

    def set_meter(self, meter: Meter) -> None:
        """Count every message of shell and IOPub on ``meter`` from now on."""
        self.shell_channel.meter = meter
        self.iopub_channel.meter = meter

    @default("context")
    def _context_default(self) -> zmq.asyncio.Context:
        # A context of its own, closed by stop_channels() rather than when the client
        # is garbage-collected (jupyter_client's __del__ can wait there for sockets).
        return zmq.asyncio.Context()

    def stop_channels(self) -> None:
        """Close every socket of this client, then its context (never raises).

        Unlike jupyter_client's, this touches only the channels that were opened:
        its ``stop_channels`` reads every channel property, and each property opens
        its channel on first use (stdin, control: sockets made only to be closed).
        """
        channels = [self._shell_channel, self._iopub_channel]
        for channel in channels:
            socket_ = getattr(channel, "socket", None)
            if socket_ is not None and not socket_.closed:
                with contextlib.suppress(zmq.ZMQError):
                    socket_.disable_monitor()  # closes libzmq's own end of the monitor
        for channel in channels:
            if channel is not None:
                with contextlib.suppress(Exception):
                    channel.close()
        for monitor in self.monitors:
            monitor.close(linger=0)
        self.monitors = []
        if not self.context.closed:
            self.context.destroy(linger=0)


class JudgeKernelManager(AsyncKernelManager):
    """A kernel manager that never opens the control channel.

    jupyter_client connects a control socket as soon as a kernel is launched,
    with ZMQ's default reconnection: a socket path the student later replaces
    would be followed. The judge stops kernels by killing them (shutdown with
    ``now=True``, interrupts by signal), so it needs no control channel.
    """

    def _connect_control_socket(self) -> None:
        pass

    async def _async_request_shutdown(self, restart: bool = False) -> None:
        # No polite request: _async_finish_shutdown kills the kernel after its wait.
        return None
