"""Fixtures of the class-insight tests: the judge tests' throwaway PostgreSQL and fake Hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.judge.service.judge_service_helpers import FakeHub, PostgresServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()
