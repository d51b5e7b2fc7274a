"""Fixtures of the operations tests: real tools on loopback.

The PostgreSQL and Redis servers are those of the judge service tests
(``tests/judge/service``): throwaway servers on free loopback ports. Tools the
tests run (nginx, promtool, the exporters, openssl, the Compose CLI) are installed
by ``./dev``; outside CI a machine without one skips the tests that need it,
under ``CI=true`` those tests fail instead.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
MONITORING = ROOT / "monitoring"

sys.path.insert(0, str(ROOT / "tests" / "judge" / "service"))

from judge_service_helpers import PostgresServer  # noqa: E402

from tests.judge.service.conftest import postgres_server, redis_server  # noqa: E402

__all__ = ["postgres_server", "redis_server"]


def require_tool(name: str, *candidates: str) -> str:
    """Path of the program ``name`` (or one of ``candidates``); skip or fail without it."""
    for candidate in (name, *candidates):
        found = shutil.which(candidate)
        if found:
            return found
        if os.path.isabs(candidate) and os.access(candidate, os.X_OK):
            return candidate
    if os.environ.get("CI") == "true":
        pytest.fail(f"{name} is not installed; ./dev setup installs it")
    pytest.skip(f"{name} is not installed (./dev setup installs it)")


def venv_tool(name: str) -> str:
    """A console script installed next to this Python (the project's virtual environment)."""
    return require_tool(str(Path(sys.executable).with_name(name)), name)


@pytest.fixture
def fresh_database(postgres_server: PostgresServer) -> str:
    """A new empty PostgreSQL database's SQLAlchemy URL."""
    return postgres_server.create_database()
