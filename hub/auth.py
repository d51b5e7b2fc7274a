"""Logging in: the embedded default's authenticator.

:class:`CodeTutorAuthenticator` is jupyterhub-nativeauthenticator (bcrypt-hashed
passwords in the Hub's database, sign-up that an admin approves at
``/hub/authorize``, lockout after repeated failed logins) plus two things:

- **login rate limit** (SPEC.md section 7: 5 a minute, burst 3) per client
  address and per user name, with the judge's token buckets
  (:class:`codetutor.ratelimit.RateLimiter`, limit class ``login``);
  past it the login form answers 429 with ``Retry-After``
  (:class:`CodeTutorLoginHandler`, which also runs NativeAuthenticator's login
  page on JupyterHub 6, whose handlers no longer have ``statsd``);
- **seeded accounts**: the accounts named in :attr:`accounts_file` (written by
  ``codetutor up``: its admin, and with ``--demo`` a student and an instructor)
  exist, approved, with those passwords, as soon as the Hub starts.

Production uses an OAuth/OIDC provider instead (oauthenticator; see
:mod:`codetutor.hub.config`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bcrypt
from nativeauthenticator import NativeAuthenticator
from nativeauthenticator.handlers import LoginHandler as NativeLoginHandler
from nativeauthenticator.orm import UserInfo
from tornado import web
from traitlets import Instance, Unicode, default

from codetutor.ratelimit import RateLimiter


class CodeTutorAuthenticator(NativeAuthenticator):
    """NativeAuthenticator with a login rate limit and seeded accounts (module docstring)."""

    accounts_file = Unicode(
        "",
        help="""JSON file {"name": {"password": ...}} of accounts that must exist,
        approved, when the Hub starts (an existing account keeps its password).""",
    ).tag(config=True)

    limiter = Instance(RateLimiter, help="Token buckets of the login rate limit.")

    @default("allow_all")
    def _default_allow_all(self) -> bool:
        # An admin's approval of the sign-up decides who may log in, not allowed_users.
        return True

    @default("limiter")
    def _default_limiter(self) -> RateLimiter:
        return RateLimiter(parent=self)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.accounts_file:
            self.seed_accounts(json.loads(Path(self.accounts_file).read_text()))

    def seed_accounts(self, accounts: dict[str, dict[str, Any]]) -> None:
        """Create each missing account of ``accounts``, approved; leave existing ones alone."""
        for name, spec in accounts.items():
            if self.user_exists(name):
                continue
            info = UserInfo(
                username=self.normalize_username(name),
                password=bcrypt.hashpw(str(spec["password"]).encode(), bcrypt.gensalt()),
                is_authorized=True,
            )
            self.db.add(info)
            self.db.commit()
            self.log.info("created the account %s", name)

    async def login_allowed(self, handler: web.RequestHandler, username: str) -> str:
        """Coroutine: "" if this login attempt may go on, else the Retry-After seconds.

        Both the client's address and the user name asked for have a bucket, so
        neither many names from one address nor many addresses on one name get
        past the limit.
        """
        name = self.normalize_username(username)[:64]
        address = handler.request.remote_ip or "?"
        for key in (f"ip:{address}", f"user:{name}"):
            decision = await self.limiter.hit("login", "login", key)
            if not decision.allowed:
                self.log.warning("login rate limit for %s", key)
                return decision.retry_after_header
        return ""

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        return [
            (path, CodeTutorLoginHandler if handler is NativeLoginHandler else handler)
            for path, handler in super().get_handlers(app)
        ]


class CodeTutorLoginHandler(NativeLoginHandler):
    """``POST /hub/login``: NativeAuthenticator's login, rate-limited (429 past the limit)."""

    async def post(self) -> None:
        data = {arg: self.get_argument(arg, strip=False) for arg in self.request.arguments}
        username = data.get("username", "")
        retry_after = await self.authenticator.login_allowed(self, username)
        if retry_after:
            self.set_status(429)
            self.set_header("Retry-After", retry_after)
            html = await self._render(
                login_error="Too many login attempts; wait a minute and try again.",
                username=username,
            )
            self.finish(html)
            return
        user = await self.login_user(data)
        if user:
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        error = "Invalid username or password."
        info = self.authenticator.get_user(username)
        if info is not None and not info.is_authorized:
            if info.is_valid_password(data.get("password", "")):
                error = f"User {username} has not been authorized by an administrator yet."
        self.set_status(403)
        html = await self._render(login_error=error, username=username)
        self.finish(html)
