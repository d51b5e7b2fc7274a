"""``codetutor similarity``: the report once, as JSON or CSV, with an archive of earlier terms."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_similarity_dashboard import SET, fill_class


def similarity(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "codetutor", "similarity", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.fixture(scope="module")
def class_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, Path]:
    workdir = tmp_path_factory.mktemp("similarity-cli")
    db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    transcripts = f"sqlite:///{workdir / 'transcripts.sqlite'}"
    asyncio.run(fill_class(db_url, transcripts))
    archive = workdir / "archive" / "two-sum" / "2025-fall"
    archive.mkdir(parents=True)
    (archive / "old.py").write_text((SET / "copy_loops.py").read_text(), encoding="utf-8")
    return db_url, transcripts, workdir / "archive"


def test_json_with_the_archive(class_db: tuple[str, str, Path]) -> None:
    db_url, transcripts, archive = class_db
    run = similarity(
        f"--db-url={db_url}",
        f"--archive={archive}",
        env={"CODETUTOR_TRANSCRIPTS_URL": transcripts},
    )
    assert run.returncode == 0, run.stderr
    (problem,) = json.loads(run.stdout)["problems"]
    keys = {k for p in problem["pairs"] for k in (p["a"], p["b"])}
    assert keys == {"minji", "joon", "yuna", "archive/two-sum/2025-fall/old"}
    assert problem["clusters"] == [["archive/two-sum/2025-fall/old", "joon", "minji", "yuna"]]
    assert problem["students"]["joon"]["tutor_messages"] == 3


def test_csv(class_db: tuple[str, str, Path]) -> None:
    db_url, _, _ = class_db
    run = similarity(f"--db-url={db_url}", "--csv", "--pick=last")
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert len(rows) == 3 and all(float(r["similarity"]) >= 0.75 for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--archive=/nonexistent/archive"], "not a directory"),
        (["--pick=worst"], "pick"),
        (["--threshold=2"], "threshold"),
        (["extra"], "usage: codetutor similarity"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    class_db: tuple[str, str, Path], args: list[str], message: str
) -> None:
    run = similarity(f"--db-url={class_db[0]}", *args)
    assert run.returncode == 2 and run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr
