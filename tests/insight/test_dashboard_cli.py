"""``codetutor dashboard``: bad input exits 2 with one line on stderr."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port=0"], "--port must be between 1 and 65535"),
        (["--port=70000"], "--port must be between 1 and 65535"),
        (["extra"], "unexpected argument 'extra'"),
        (["--bogus"], "unknown option --bogus"),
        (["--port=x"], "port"),
    ],
)
def test_bad_input(args: list[str], message: str) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "codetutor", "dashboard", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr
