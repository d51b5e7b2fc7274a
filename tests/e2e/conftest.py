"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .helpers import Up


@pytest.fixture
def up_factory(tmp_path: Path) -> Iterator[Any]:
    """Start ``codetutor up`` instances; every one still running is stopped afterwards."""
    started: list[Up] = []

    def make(**kwargs: Any) -> Up:
        up = Up(tmp_path / "data", **kwargs)
        started.append(up)
        up.start()
        return up

    yield make
    for up in started:
        up.stop()
