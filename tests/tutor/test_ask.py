"""``codetutor tutor ask``: the chat's path offline, and its exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LEAP = ROOT / "notebooks" / "leap-year"


def ask(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codetutor", "tutor", "ask", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


@pytest.mark.parametrize("lang, words", [("en", "expected"), ("ko", "기대값")])
def test_ask_grounds_the_reply_in_the_failing_public_case(lang: str, words: str) -> None:
    done = ask(
        str(LEAP / "problem.ipynb"),
        str(LEAP / "submissions" / "wrong_only_four.py"),
        "why is it wrong?",
        "--hint",
        f"--lang={lang}",
        "--json",
        "--mode=off",
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert set(out) == {"reply", "hint_level", "sources", "withheld", "reason"}
    assert "is_leap(1900)" in out["reply"] and words in out["reply"]
    assert out["sources"][0] == "grounded" and "instructor" in out["sources"]
    assert out["hint_level"] == 1 and out["withheld"] is False


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing.ipynb", "x.py", "why?"], "missing.ipynb"),
        ([str(LEAP / "problem.ipynb"), str(LEAP / "nothing.py"), "why?"], "nothing.py"),
        ([str(LEAP / "problem.ipynb"), str(LEAP / "expected.json"), "why?"], ".py"),
        (
            [
                str(LEAP / "problem.ipynb"),
                str(LEAP / "submissions" / "accepted.py"),
                "q",
                "--lang=fr",
            ],
            "--lang",
        ),
    ],
)
def test_ask_bad_input_exits_2_with_one_line(args: list[str], message: str) -> None:
    done = ask(*args, "--mode=off")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
