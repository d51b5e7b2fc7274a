"""Who is calling the tutor and LLM services.

Two modes, chosen by :attr:`ServiceAuth.hub`:

* **Hub service** (default when ``JUPYTERHUB_API_TOKEN`` is in the environment, as
  it is for Hub-managed services): every request carries a Hub token
  (``Authorization: token …``/``Bearer …``, or ``?token=`` on WebSockets), checked
  with :class:`jupyterhub.services.auth.HubAuth` against the service's access scopes
  (``JUPYTERHUB_OAUTH_ACCESS_SCOPES``, by default ``access:services!service=NAME``).
* **Standalone**: the service listens on loopback by default and accepts requests
  from loopback addresses only; a request from elsewhere needs one of the configured
  :attr:`ServiceAuth.api_keys` as a bearer token. Binding to a public address without
  API keys is refused at start-up (:meth:`ServiceAuth.check_bind`).

Hub *users* may not call the raw ``/v1`` API (:attr:`ServiceAuth.users_may_call_llm`):
its replies do not pass the solution guard, which only the tutor's own routes apply.

The caller's identity decides who a request is charged to: a Hub *user* is always
themself (the ``user`` field of the body cannot impersonate another student); a Hub
*service* (the Jupyter server extension, the tutor calling the LLM service), an API
key holder or a loopback caller acts on behalf of the ``user`` named in the body.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from typing import Any

from tornado import web
from traitlets import Bool, List, Unicode, default
from traitlets.config import LoggingConfigurable


@dataclass
class Identity:
    """An authenticated caller."""

    name: str
    kind: str  # "user" (a student or instructor) | "service" | "local" | "api-key"
    groups: tuple[str, ...] = ()

    @property
    def acts_for_others(self) -> bool:
        """Whether the caller may name the user a request is for."""
        return self.kind != "user"


def is_loopback(address: str) -> bool:
    """Whether ``address`` (an IP, possibly IPv4-mapped IPv6) is a loopback address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


class ServiceAuth(LoggingConfigurable):
    """Authenticates requests to the tutor and LLM services (see module docstring)."""

    hub = Bool(
        help="""Authenticate with JupyterHub tokens (run as a Hub service).
        Default: true when JUPYTERHUB_API_TOKEN is set.""",
    ).tag(config=True)

    @default("hub")
    def _default_hub(self) -> bool:
        return bool(os.environ.get("JUPYTERHUB_API_TOKEN"))

    api_keys = List(
        Unicode(),
        help="""Bearer tokens accepted in standalone mode from non-loopback clients
        (for example the tutor service calling a remote LLM service).""",
    ).tag(config=True)

    @default("api_keys")
    def _default_api_keys(self) -> list[str]:
        keys = os.environ.get("CODETUTOR_LLM_API_KEYS", "")
        return [k for k in keys.split(",") if k]

    users_may_call_llm = Bool(
        False,
        help="""Let Hub *users* (students) call the raw OpenAI-compatible API. Off by
        default: replies from it do not pass the solution guard, so only services
        (the tutor, the Jupyter server extension) and loopback callers may use it.""",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hub_auth: Any = None

    @property
    def hub_auth(self) -> Any:
        """The :class:`jupyterhub.services.auth.HubAuth` used in Hub mode."""
        if self._hub_auth is None:
            from jupyterhub.services.auth import HubAuth

            self._hub_auth = HubAuth(parent=self)
        return self._hub_auth

    def check_bind(self, ip: str) -> None:
        """Raise ``ValueError`` if listening on ``ip`` would leave the service open."""
        if self.hub or self.api_keys:
            return
        if ip in ("", "0.0.0.0", "::") or not is_loopback(ip):
            raise ValueError(
                f"refusing to listen on {ip or 'all addresses'} without Hub auth or api_keys"
            )

    def _bearer(self, handler: web.RequestHandler) -> str:
        header = handler.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() in ("bearer", "token") and token.strip():
            return token.strip()
        return ""

    async def authenticate(self, handler: web.RequestHandler) -> Identity:
        """Coroutine: the caller's :class:`Identity`, or raise ``HTTPError`` 401/403."""
        if self.hub:
            return await self._authenticate_hub(handler)
        token = self._bearer(handler)
        if token and any(hmac.compare_digest(token, key) for key in self.api_keys):
            return Identity(name="api-key", kind="api-key")
        if is_loopback(handler.request.remote_ip or ""):
            return Identity(name="local", kind="local")
        raise web.HTTPError(403, reason="only loopback clients or API keys are accepted")

    async def _authenticate_hub(self, handler: web.RequestHandler) -> Identity:
        hub_auth = self.hub_auth
        token = hub_auth.get_token(handler, in_cookie=False) or handler.get_argument("token", "")
        if not token:
            raise web.HTTPError(401, reason="a Hub token is required")
        model = await hub_auth.user_for_token(token, sync=False)
        if not model:
            raise web.HTTPError(401, reason="invalid Hub token")
        scopes = hub_auth.access_scopes
        if scopes and not hub_auth.check_scopes(scopes, model):
            raise web.HTTPError(403, reason="missing the scope to use this service")
        return Identity(
            name=model["name"],
            kind=model.get("kind", "user"),
            groups=tuple(str(g) for g in model.get("groups") or ()),
        )
