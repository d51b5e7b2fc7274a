"""The embedded default's authenticator: hashed seeded accounts, lockout, login rate limit."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from jupyterhub import orm
from nativeauthenticator.orm import UserInfo

from codetutor.hub.auth import CodeTutorAuthenticator


def request_from(address: str) -> Any:
    """The little of a tornado handler the authenticator reads: the client's address."""
    return SimpleNamespace(request=SimpleNamespace(remote_ip=address))


@pytest.fixture
def authenticator(tmp_path: Path) -> CodeTutorAuthenticator:
    session = orm.new_session_factory(f"sqlite:///{tmp_path / 'hub.sqlite'}")()
    accounts = tmp_path / "accounts.json"
    accounts.write_text(json.dumps({"admin": {"password": "correct horse 1"}}))
    return CodeTutorAuthenticator(
        _deprecated_db_session=session, accounts_file=str(accounts), allowed_failed_logins=3
    )


async def test_seeded_accounts_are_approved_with_hashed_passwords(
    authenticator: CodeTutorAuthenticator, tmp_path: Path
) -> None:
    info = UserInfo.find(authenticator.db, "admin")
    assert info is not None and info.is_authorized
    assert b"correct horse 1" not in info.password and info.password.startswith(b"$2")
    client = request_from("10.0.0.1")
    assert (
        await authenticator.authenticate(
            client, {"username": "admin", "password": "correct horse 1"}
        )
        == "admin"
    )
    # seeding again (a restart) leaves the existing account and its password alone
    authenticator.seed_accounts({"admin": {"password": "something else"}})
    assert UserInfo.find(authenticator.db, "admin").is_valid_password("correct horse 1")
    assert authenticator.allow_all  # approval, not allowed_users, decides who logs in


async def test_lockout_after_repeated_failures(authenticator: CodeTutorAuthenticator) -> None:
    client = request_from("10.0.0.2")
    for _ in range(3):
        assert (
            await authenticator.authenticate(client, {"username": "admin", "password": "no"})
            is None
        )
    assert authenticator.is_blocked("admin")
    right = {"username": "admin", "password": "correct horse 1"}
    assert await authenticator.authenticate(request_from("10.0.0.3"), right) is None


async def test_login_rate_limit_per_address_and_per_name(
    authenticator: CodeTutorAuthenticator,
) -> None:
    # SPEC section 7: 5 a minute, burst 3
    one = request_from("10.0.0.4")
    assert [await authenticator.login_allowed(one, f"user{i}") for i in range(3)] == ["", "", ""]
    assert int(await authenticator.login_allowed(one, "user9")) >= 1
    for i in range(3):
        assert await authenticator.login_allowed(request_from(f"10.0.1.{i}"), "carol") == ""
    assert int(await authenticator.login_allowed(request_from("10.0.2.1"), "carol")) >= 1
