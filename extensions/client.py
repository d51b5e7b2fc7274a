"""Calls from a user's server to the Hub services, with the user's own Hub token.

A :class:`ServiceClient` talks to one service (the judge or the tutor) at its
base URL, sending ``Authorization: token <JUPYTERHUB_API_TOKEN>``: the token
JupyterHub gave this user's server. The services take the caller's identity from
that token, so whatever the server asks, it asks as its owner.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from tornado import httpclient, websocket
from tornado.httputil import HTTPHeaders
from traitlets import Float, Unicode
from traitlets.config import LoggingConfigurable

from .exceptions import ServiceError


class ServiceClient(LoggingConfigurable):
    """JSON over HTTP (and WebSocket) to one Hub service."""

    service = Unicode(help="The service's name, for messages (judge, tutor).")
    base_url = Unicode(help="The service's base URL, ending with '/'.")
    token = Unicode(help="The Hub token sent with every request.")
    request_timeout_s = Float(120.0, help="Longest wait for one answer.").tag(config=True)
    connect_timeout_s = Float(10.0, help="Longest wait to connect.").tag(config=True)

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        """The full URL of ``path`` under the service, with ``query`` (None values dropped)."""
        url = self.base_url.rstrip("/") + "/" + path.lstrip("/")
        params = {k: v for k, v in (query or {}).items() if v is not None}
        return url + ("?" + urlencode(params) if params else "")

    def headers(self, **extra: str) -> HTTPHeaders:
        headers = HTTPHeaders(
            {"Authorization": f"token {self.token}", "Accept": "application/json"}
        )
        headers.update(extra)
        return headers

    def _check_configured(self) -> None:
        if not self.base_url:
            raise ServiceError(
                self.service, 503, f"the {self.service} service is not configured on this server"
            )

    def _error(self, error: Exception) -> ServiceError:
        """The :class:`ServiceError` for a failed call."""
        response = getattr(error, "response", None)
        code = getattr(error, "code", 599)
        if response is None or code >= 500 or code == 599:
            return ServiceError(
                self.service,
                502,
                f"the {self.service} service is unavailable; try again shortly",
                log_message=f"{self.service} service call failed: {error!r}",
            )
        body: dict[str, Any] = {}
        try:
            decoded = json.loads(response.body or b"{}")
            body = decoded if isinstance(decoded, dict) else {}
        except ValueError:
            pass
        message = str(body.pop("message", "") or response.reason or "error")
        headers = {}
        if response.headers.get("Retry-After"):
            headers["Retry-After"] = response.headers["Retry-After"]
        return ServiceError(self.service, code, message, extra=body, headers=headers)

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """Coroutine: ``(status, decoded JSON)`` of a call; raises :class:`ServiceError`."""
        self._check_configured()
        request = httpclient.HTTPRequest(
            self.url(path, query),
            method=method,
            headers=self.headers(
                **({"Content-Type": "application/json"} if body is not None else {})
            ),
            body=json.dumps(body) if body is not None else None,
            request_timeout=self.request_timeout_s,
            connect_timeout=self.connect_timeout_s,
        )
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request)
        except (httpclient.HTTPError, OSError) as e:
            raise self._error(e) from None
        try:
            return response.code, json.loads(response.body) if response.body else None
        except ValueError:
            raise ServiceError(
                self.service,
                502,
                f"the {self.service} service answered something that is not JSON",
            ) from None

    async def request_text(self, path: str) -> str:
        """Coroutine: the body of ``GET path`` as text; raises :class:`ServiceError`."""
        self._check_configured()
        request = httpclient.HTTPRequest(
            self.url(path),
            headers=self.headers(),
            request_timeout=self.request_timeout_s,
            connect_timeout=self.connect_timeout_s,
        )
        try:
            response = await httpclient.AsyncHTTPClient().fetch(request)
        except (httpclient.HTTPError, OSError) as e:
            raise self._error(e) from None
        return str(response.body.decode("utf-8"))

    async def stream(
        self, path: str, on_chunk: Callable[[bytes], Awaitable[None] | None], timeout_s: float
    ) -> None:
        """Coroutine: ``GET path`` and hand each piece of the body to ``on_chunk`` as it comes.

        For server-sent events. Raises :class:`ServiceError` if the call fails
        before anything was streamed.
        """
        self._check_configured()
        pending: list[Awaitable[None]] = []

        def receive(chunk: bytes) -> None:
            result = on_chunk(chunk)
            if result is not None:
                pending.append(result)

        request = httpclient.HTTPRequest(
            self.url(path),
            headers=self.headers(Accept="text/event-stream"),
            streaming_callback=receive,
            request_timeout=timeout_s,
            connect_timeout=self.connect_timeout_s,
        )
        try:
            await httpclient.AsyncHTTPClient().fetch(request)
        except (httpclient.HTTPError, OSError) as e:
            raise self._error(e) from None
        finally:
            for awaitable in pending:
                await awaitable

    async def websocket(self, path: str) -> websocket.WebSocketClientConnection:
        """Coroutine: a WebSocket to ``path`` under the service, authenticated with the token."""
        self._check_configured()
        url = self.url(path).replace("http://", "ws://", 1).replace("https://", "wss://", 1)
        request = httpclient.HTTPRequest(
            url, headers=self.headers(), connect_timeout=self.connect_timeout_s
        )
        try:
            return await websocket.websocket_connect(request)
        except (httpclient.HTTPError, OSError) as e:
            raise self._error(e) from None
