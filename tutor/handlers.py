"""HTTP and WebSocket handlers of the tutor service (thin: auth, validate, call the Tutor).

* ``WS /api/tutor/chat`` — send ``{"type": "ask", "problem_id", "message", "code",
  "verdict", "lang", "hint", "attempts", "user"}``; receive ``token`` events, maybe
  one ``replace`` (the reply was withheld by the solution guard: show this text
  instead), then ``done``; or ``error`` with ``message`` (and ``retry_after`` on
  429). Send ``{"type": "stop"}`` to stop a reply; closing the socket stops it too.
* ``POST /api/tutor/hint`` — the same as a chat turn with ``hint: true``, answered
  as one JSON object ``{"text", "level", "line", "lang", "withheld"}``.
* ``POST /api/tutor/review`` — ``{"code", "problem_id"?, "lang"?}`` →
  ``{"findings": [...], "model_ok", "lang"}``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tornado import web, websocket

from codetutor.tutor.exceptions import QueueFullError, TutorError
from codetutor.tutor.tutor import Tutor
from codetutor.tutor.web import APIHandler
from codetutor.web.handlers import send_event


def _chat_arguments(handler: APIHandler, body: dict[str, Any]) -> dict[str, Any]:
    verdict = body.get("verdict")
    attempts = body.get("attempts", 0)
    lang = body.get("lang")
    return {
        "user": handler.on_behalf_of(body.get("user")),
        "problem_id": body.get("problem_id"),
        "message": body.get("message") or "",
        "code": body.get("code") if isinstance(body.get("code"), str) else "",
        "verdict": verdict if isinstance(verdict, dict) else None,
        "lang": lang if isinstance(lang, str) else None,
        "attempts": attempts if isinstance(attempts, int) and not isinstance(attempts, bool) else 0,
        "groups": handler.groups_of(body.get("groups")),
    }


class TutorHandler(APIHandler):
    @property
    def tutor(self) -> Tutor:
        tutor: Tutor = self.settings["tutor"]
        return tutor


class HintHandler(TutorHandler):
    """``POST /api/tutor/hint``: one rung up the hint ladder, as JSON."""

    endpoint = "/api/tutor/hint"

    async def post(self) -> None:
        body = self.json_body()
        text = ""
        done: dict[str, Any] = {}
        try:
            async for event in self.tutor.chat(hint=True, **_chat_arguments(self, body)):
                if event["type"] == "token":
                    text += event["text"]
                elif event["type"] == "replace":
                    text = event["text"]
                elif event["type"] == "done":
                    done = event
        except TutorError as e:
            self.send_domain_error(e)
            return
        self.write_json(
            {
                "text": text,
                "level": done.get("level"),
                "line": done.get("line"),
                "lang": done.get("lang"),
                "withheld": done.get("withheld", False),
            }
        )


class ReviewHandler(TutorHandler):
    """``POST /api/tutor/review``: structured findings (model + ruff)."""

    endpoint = "/api/tutor/review"

    async def post(self) -> None:
        body = self.json_body()
        lang = body.get("lang")
        problem_id = body.get("problem_id")
        code = body.get("code")
        try:
            result = await self.tutor.review(
                user=self.on_behalf_of(body.get("user")),
                code=code if isinstance(code, str) else "",
                problem_id=problem_id if isinstance(problem_id, str) else None,
                lang=lang if isinstance(lang, str) else None,
                groups=self.groups_of(body.get("groups")),
            )
        except TutorError as e:
            self.send_domain_error(e)
            return
        self.write_json(result)


class ChatSocketHandler(websocket.WebSocketHandler, TutorHandler):
    """``WS /api/tutor/chat``: streamed, guarded replies (protocol in the module docstring)."""

    endpoint = "/api/tutor/chat"
    _task: asyncio.Task[None] | None = None

    def check_origin(self, origin: str) -> bool:
        # Authentication is by token, not cookie, so a foreign origin gains nothing.
        return True

    def on_message(self, message: str | bytes) -> None:
        try:
            body = json.loads(message)
            if not isinstance(body, dict):
                raise ValueError("not an object")
        except ValueError:
            self._send({"type": "error", "message": "messages must be JSON objects"})
            return
        kind = body.get("type")
        if kind == "stop":
            if self._task is not None:
                self._task.cancel()
            return
        if kind != "ask":
            self._send({"type": "error", "message": "type must be 'ask' or 'stop'"})
            return
        if self._task is not None and not self._task.done():
            self._send({"type": "error", "message": "a reply is still streaming; stop it first"})
            return
        self._task = asyncio.ensure_future(self._answer(body))

    async def _answer(self, body: dict[str, Any]) -> None:
        try:
            arguments = _chat_arguments(self, body)
            hint = bool(body.get("hint"))
            async for event in self.tutor.chat(hint=hint, **arguments):
                self._send(event)
        except QueueFullError as e:
            self._send(
                {
                    "type": "error",
                    "message": e.user_message,
                    "status": e.status_code,
                    "retry_after": e.retry_after_s,
                }
            )
        except TutorError as e:
            self._send(
                {"type": "error", "message": e.user_message, "status": e.status_code, **e.extra}
            )
        except asyncio.CancelledError:
            self._send({"type": "done", "stopped": True})

    def _send(self, event: dict[str, Any]) -> None:
        send_event(self, event)

    def on_close(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def on_finish(self) -> None:
        # A WebSocket's "request" ends at the upgrade; count it once like others.
        super().on_finish()


def tutor_routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """The tutor API's routes under ``prefix`` (which ends with ``/``)."""
    return [
        (prefix + "api/tutor/chat", ChatSocketHandler),
        (prefix + "api/tutor/hint", HintHandler),
        (prefix + "api/tutor/review", ReviewHandler),
    ]
