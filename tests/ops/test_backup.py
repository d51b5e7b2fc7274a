"""deploy/scripts/backup.sh and restore.sh for real: a PostgreSQL database of the
judge (its own migrations, users, problems, submissions, verdicts, case results) and
a Redis holding queue state are backed up, the database dropped, both restored, and
every row compared."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import sqlalchemy

from codetutor.judge.models import Base
from codetutor.judge.store import Store

from .conftest import DEPLOY, require_tool
from .nginx_helpers import free_port

SCRIPTS = DEPLOY / "scripts"


def run_script(name: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["bash", str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        stdin=subprocess.DEVNULL,
        **kwargs,
    )


async def fill_judge_database(url: str) -> None:
    """The judge's schema (Alembic migrations) with problems, submissions and verdicts."""
    store = Store(url=url)
    await store.upgrade()
    try:
        teacher = await store.ensure_user("teacher")
        published = await store.publish(
            user=teacher,
            slug="two-sum",
            title={"en": "Two sum", "ko": "두 수의 합"},
            difficulty=2,
            tags=["hashing", "arrays"],
            mode="function",
            public={"cases": [{"name": "small", "source": "two_sum([1, 2], 3)"}]},
            student_notebook='{"cells": [], "nbformat": 4, "nbformat_minor": 5}',
            bundle='{"hidden": [{"name": "big", "expected": [0, 1]}]}',
            case_count=2,
            sha256="a" * 64,
        )
        problem = published.problem
        for n in range(12):
            student = await store.ensure_user(f"학생{n % 4}")
            await store.add_submission(
                user=student,
                problem=problem,
                code=f"def two_sum(xs, t):\n    # 시도 {n}\n    return [0, {n}]\n",
                notebook=None if n % 2 else '{"cells": []}',
            )
        for n in range(8):
            lease = await store.claim(f"worker-{n}", lease_s=60)
            assert lease is not None
            await store.finish(
                lease,
                {
                    "verdict": "accepted" if n % 3 else "wrong_answer",
                    "score": 1.0 if n % 3 else 0.5,
                    "time_ms": 12.5 + n,
                    "cases": [
                        {
                            "name": "small",
                            "visibility": "public",
                            "status": "passed",
                            "time_ms": 3.0,
                        },
                        {"name": "big", "visibility": "hidden", "status": "failed", "time_ms": 4.0},
                    ],
                },
            )
        # one left running with a lease, the rest queued
        assert await store.claim("worker-late", lease_s=600) is not None
    finally:
        await store.close()


def every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the judge's schema (and Alembic's), in key order."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = {}
            for table in Base.metadata.sorted_tables:
                order = [c for c in table.primary_key.columns]
                rows[table.name] = [tuple(r) for r in conn.execute(table.select().order_by(*order))]
            rows["alembic_version"] = [
                tuple(r) for r in conn.execute(sqlalchemy.text("SELECT * FROM alembic_version"))
            ]
            return rows
    finally:
        engine.dispose()


def drop_database(admin_port: int, name: str) -> None:
    with psycopg.connect(
        f"host=127.0.0.1 port={admin_port} user=postgres dbname=postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        assert (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None
        )


class PersistentRedis:
    """A redis-server with a data folder and the Compose stack's AOF setting."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.proc = subprocess.Popen(
            [
                require_tool("redis-server"),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(data_dir),
                "--appendonly",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.client = redis.Redis(host="127.0.0.1", port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(10)


@pytest.fixture
def judge_database(fresh_database: str) -> str:
    asyncio.run(fill_judge_database(fresh_database))
    return fresh_database


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    models = tmp_path / "models"
    models.mkdir()
    (models / "tiny.gguf").write_bytes(os.urandom(4096))
    return models


@pytest.fixture
def queue_state(redis_server: Any) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server.url)
    client.xadd("codetutor:judge:queue", {"submission": "7"})
    client.hset("codetutor:ratelimit:alice", mapping={"tokens": "3.5", "at": "1700000000"})
    client.set("codetutor:greeting", "안녕하세요")
    client.close()
    yield redis_server.url


def test_backup_drop_restore_compares_every_row(
    judge_database: str,
    queue_state: str,
    models_dir: Path,
    postgres_server: Any,
    tmp_path: Path,
) -> None:
    before = every_row(judge_database)
    assert len(before["submissions"]) == 12 and len(before["case_results"]) == 16
    backups = tmp_path / "backups"

    made = run_script(
        "backup.sh",
        "--dest",
        str(backups),
        "--database-url",
        judge_database,
        "--redis-url",
        queue_state,
        "--models",
        str(models_dir),
    )
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    assert backup.parent == backups
    name = judge_database.rsplit("/", 1)[1]
    assert sorted(p.name for p in backup.iterdir()) == sorted(
        ["INFO", "MANIFEST", f"postgres-{name}.dump", "models.tar.gz", "redis.rdb"]
    )
    assert not list(backups.glob(".partial-*"))

    drop_database(postgres_server.port, name)
    redis_dir = tmp_path / "redis-restored"
    redis_dir.mkdir()
    restored = run_script(
        "restore.sh",
        "--yes",
        "--database-url",
        judge_database,
        "--redis-data-dir",
        str(redis_dir),
        str(backup),
    )
    assert restored.returncode == 0, restored.stderr

    assert every_row(judge_database) == before

    # the restored database keeps working: sequences continue after the last id
    async def submit_again() -> int:
        store = Store(url=judge_database)
        await store.connect()
        try:
            problem = await store.get_problem("two-sum")
            assert problem is not None
            user = await store.ensure_user("teacher")
            sub = await store.add_submission(user=user, problem=problem, code="x", notebook=None)
            return sub.id
        finally:
            await store.close()

    assert asyncio.run(submit_again()) == max(r[0] for r in before["submissions"]) + 1

    # Redis, started on the restored folder with append-only on, has the snapshot
    server = PersistentRedis(redis_dir, free_port())
    try:
        assert server.client.get("codetutor:greeting") == "안녕하세요".encode()
        assert server.client.hgetall("codetutor:ratelimit:alice") == {
            b"tokens": b"3.5",
            b"at": b"1700000000",
        }
        assert server.client.xlen("codetutor:judge:queue") == 1
    finally:
        server.stop()

    # the models archive holds the models
    listing = subprocess.run(
        ["tar", "-tzf", str(backup / "models.tar.gz")], capture_output=True, text=True, check=True
    )
    assert "./tiny.gguf" in listing.stdout.split()


def test_damaged_backup_is_refused_before_anything_changes(
    judge_database: str, tmp_path: Path
) -> None:
    made = run_script(
        "backup.sh", "--dest", str(tmp_path), "--database-url", judge_database, "--no-redis"
    )
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip().splitlines()[-1])
    dump = next(backup.glob("postgres-*.dump"))
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0xFF
    dump.write_bytes(bytes(data))
    before = every_row(judge_database)
    result = run_script("restore.sh", "--yes", "--database-url", judge_database, str(backup))
    assert result.returncode == 1
    assert "checksums do not match" in result.stderr
    assert every_row(judge_database) == before


def test_restore_asks_before_overwriting(judge_database: str, tmp_path: Path) -> None:
    made = run_script(
        "backup.sh", "--dest", str(tmp_path), "--database-url", judge_database, "--no-redis"
    )
    backup = Path(made.stdout.strip().splitlines()[-1])
    result = run_script("restore.sh", "--database-url", judge_database, str(backup))
    assert result.returncode == 1
    assert "without --yes" in result.stderr


def test_retention_removes_only_old_backups(judge_database: str, tmp_path: Path) -> None:
    old = tmp_path / "20200101T000000Z"
    recent = tmp_path / "20990101T000000Z"
    unrelated = tmp_path / "keep-me"
    for folder in (old, recent, unrelated):
        folder.mkdir()
    ten_days_ago = time.time() - 10 * 86400
    for folder in (old, unrelated):
        os.utime(folder, (ten_days_ago, ten_days_ago))
    made = run_script(
        "backup.sh",
        "--dest",
        str(tmp_path),
        "--database-url",
        judge_database,
        "--no-redis",
        "--keep-days",
        "7",
    )
    assert made.returncode == 0, made.stderr
    assert not old.exists()
    assert recent.exists() and unrelated.exists()
    assert Path(made.stdout.strip().splitlines()[-1]).exists()


@pytest.mark.parametrize(
    ("script", "args", "message"),
    [
        ("backup.sh", ["--keep-days", "soon"], "--keep-days must be a whole number"),
        ("backup.sh", ["--upload", "ftp://x"], "--upload takes s3://"),
        ("backup.sh", ["--bogus"], "unknown argument: --bogus"),
        ("backup.sh", ["--dest"], "--dest needs a value"),
        ("restore.sh", [], "BACKUP_DIR is required"),
        ("restore.sh", ["/nonexistent/backup"], "not a folder"),
    ],
)
def test_bad_usage_exits_2_with_one_line(script: str, args: list[str], message: str) -> None:
    result = run_script(script, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("script", ["backup.sh", "restore.sh", "rollback.sh"])
def test_scripts_are_strict_and_documented(script: str) -> None:
    text = (SCRIPTS / script).read_text()
    assert "set -euo pipefail" in text
    assert os.access(SCRIPTS / script, os.X_OK)
    result = run_script(script, "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {script}")


def test_shellcheck() -> None:
    # the deploy scripts, the image scripts, and the README's own two commands
    root = SCRIPTS.parents[1]
    scripts = [
        *sorted(SCRIPTS.glob("*.sh")),
        *sorted((root / "deploy" / "images").glob("*.sh")),
        root / "dev",
        root / ".ci" / "run",
    ]
    result = subprocess.run(
        [require_tool("shellcheck"), "-x", *map(str, scripts)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=SCRIPTS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
