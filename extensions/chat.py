"""``WS /codetutor/api/tutor/chat``: the tutor's chat, relayed with the notebook's code."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import websocket

from codetutor.web.handlers import send_event

from .client import ServiceClient
from .exceptions import ExtensionError, ServiceError
from .notebooks import problem_id_of, student_code


class ChatHandler(
    WebSocketMixin, websocket.WebSocketHandler, ExtensionHandlerMixin, JupyterHandler
):
    """``WS /codetutor/api/tutor/chat``: the tutor's streamed chat, through this server.

    The client sends the tutor's messages (``{"type": "ask", "message", ...}`` or
    ``{"type": "stop"}``); an ``ask`` may name ``path``, a notebook in the
    workspace: its problem id and student code are filled in. This handler only
    relays: the tutor asks the judge for the student's last verdict itself (a
    ``verdict`` or ``attempts`` from the client is dropped). Every event of the
    tutor (``token``, ``replace``, ``done``, ``error``) comes back as it is.
    """

    upstream: websocket.WebSocketClientConnection | None = None
    _relay: asyncio.Future[None] | None = None

    @property
    def tutor(self) -> ServiceClient:
        client: ServiceClient = self.settings["codetutor_tutor"]
        return client

    def set_default_headers(self) -> None:
        # JupyterHandler's headers do not apply to a WebSocket upgrade.
        return

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        try:
            self.upstream = await self.tutor.websocket("api/tutor/chat")
        except ServiceError as e:
            self.set_status(e.status)
            self.finish(json.dumps({"message": e.message}))
            return
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open()
        self._relay = asyncio.ensure_future(self._relay_upstream())

    async def _relay_upstream(self) -> None:
        upstream = self.upstream
        assert upstream is not None
        while True:
            message = await upstream.read_message()
            if message is None:
                self._send({"type": "error", "message": "the tutor closed the conversation"})
                self.close()
                return
            if self.ws_connection is None or self.ws_connection.is_closing():
                return
            await self.write_message(message)

    async def on_message(self, message: str | bytes) -> None:
        try:
            body = json.loads(message)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._send({"type": "error", "message": "messages must be JSON objects"})
            return
        for dropped in ("user", "verdict", "attempts"):
            body.pop(dropped, None)
        if body.get("type") == "ask" and "path" in body:
            try:
                body = await self._grounded(body)
            except ExtensionError as e:
                self._send({"type": "error", "message": e.message, "status": e.status})
                return
        if self.upstream is not None:
            await self.upstream.write_message(json.dumps(body, ensure_ascii=False))

    async def _grounded(self, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with the problem id and student code of the notebook at ``path``."""
        path = body.pop("path")
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            raise ExtensionError(400, "'path' must be a notebook's path in your workspace")
        cm = self.contents_manager
        path = path.strip("/")
        if not await ensure_async(cm.file_exists(path)):
            raise ExtensionError(404, f"no notebook at {path}")
        model = await ensure_async(cm.get(path, content=True, type="notebook"))
        nb = json.loads(json.dumps(model["content"]))
        problem = body.get("problem_id") or problem_id_of(nb)
        if not problem:
            raise ExtensionError(
                400, f"{path} is not a problem notebook (no metadata.codetutor.id)"
            )
        body["problem_id"] = problem
        body.setdefault("code", student_code(nb))
        return body

    def _send(self, event: dict[str, Any]) -> None:
        send_event(self, event)

    def on_close(self) -> None:
        if self._relay is not None:
            self._relay.cancel()
        if self.upstream is not None:
            self.upstream.close()
            self.upstream = None
