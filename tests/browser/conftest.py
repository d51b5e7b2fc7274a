"""What the browser tests share: a ``codetutor up --demo`` per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.helpers import Up


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Up]:
    """One ``codetutor up --demo`` for the module, its own (demo student, instructor, admin)."""
    instance = Up(tmp_path_factory.mktemp("up") / "data", demo=True)
    try:
        instance.start()
        yield instance
    finally:
        instance.stop()
