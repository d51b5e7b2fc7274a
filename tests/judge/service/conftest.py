"""Fixtures of the judge service tests: real PostgreSQL and Redis servers.

Both servers are throwaway: PostgreSQL is a fresh cluster made with ``initdb``
in a temporary folder, Redis a ``redis-server`` without persistence, each on a
free loopback port. ``./dev`` installs them (Debian ``postgresql`` and
``redis-server``); outside CI a machine without them skips the tests that need
them, under ``CI=true`` those tests fail instead.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from judge_service_helpers import PostgresServer, RedisServer  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'judge.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()
