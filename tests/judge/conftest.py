"""Fixtures for judge tests: published problems, a judge, and host-state checks."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from traitlets.config import Config

from codetutor.judge.judge import Judge
from codetutor.judge.problem import Problem
from codetutor.judge.provisioners import BubblewrapProvisioner
from codetutor.judge.publish import Publisher
from codetutor.judge.submission import Submission
from codetutor.judge.verdict import JudgeResult

FILES = Path(__file__).resolve().parents[1] / "files"
# A copy of ../shared/examples (the problems and submissions with known verdicts).
EXAMPLES = FILES / "examples"
# Sandboxes of this test process get their own uids and runtime directory, so the
# host-state checks below see only what these tests started (other judges may run).
FIRST_UID = 440000 + (os.getpid() % 500) * 64
SANDBOX_UIDS = range(FIRST_UID, FIRST_UID + 64)
RUNTIME_DIR = f"/dev/shm/codetutor-test-{os.getpid()}"


def judge_config() -> Config:
    c = Config()
    c.BubblewrapProvisioner.first_uid = FIRST_UID
    c.BubblewrapProvisioner.uid_count = len(SANDBOX_UIDS)
    c.BubblewrapProvisioner.runtime_dir = RUNTIME_DIR
    c.SandboxPool.size = 2
    return c


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which("bwrap") is None:
        raise pytest.UsageError("bubblewrap is not installed: run ./dev test, which installs it")


_published: dict[str, Problem] = {}


async def published(path: Path) -> Problem:
    """The problem at ``path``, published once per test session."""
    key = str(path)
    if key not in _published:
        config = judge_config()
        config.SandboxPool.size = 0
        publisher = Publisher(config=config)
        try:
            _published[key] = await publisher.publish(Problem.load(path))
        finally:
            await publisher.close()
    return _published[key]


@pytest.fixture
async def judge() -> AsyncIterator[Judge]:
    j = Judge(config=judge_config())
    yield j
    await j.close()


async def judge_code(judge: Judge, problem_path: Path, code: str) -> JudgeResult:
    return await judge.judge(await published(problem_path), Submission.from_source(code))


def sandbox_processes() -> list[tuple[int, int, str]]:
    """(pid, uid, command) of every live process running as a sandbox uid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path("/proc", entry, "status").read_text()
            cmd = (
                Path("/proc", entry, "cmdline")
                .read_bytes()
                .replace(b"\0", b" ")
                .decode(errors="replace")
            )
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:"):
                uid = int(line.split()[1])
                if uid in SANDBOX_UIDS and "State:\tZ" not in status:
                    found.append((int(entry), uid, cmd))
    return found


def leftover_cgroups(uids: range = SANDBOX_UIDS) -> list[str]:
    """Sandbox groups of ``uids`` that still exist, asked of the confinement in use
    (CODETUTOR_CGROUPS: v1 or v2 cgroups; none has no groups, only processes)."""
    prov = BubblewrapProvisioner(config=judge_config())
    kind = prov.confinement_class()
    return [
        name
        for name in kind.names(prov.cgroup_root)
        if name.partition("-")[0].isdigit() and int(name.partition("-")[0]) in uids
    ]


def remove_leftover_cgroups(uids: range = SANDBOX_UIDS) -> None:
    """Kill what is left in the sandbox groups of ``uids`` and remove the groups, through
    the confinement in use (v1 or v2 cgroups; none has no groups to remove)."""
    prov = BubblewrapProvisioner(config=judge_config())
    kind = prov.confinement_class()
    for name in leftover_cgroups(uids):
        group = kind.existing(prov.cgroup_root, name)
        if group is not None:
            group.kill_all(timeout=1.0)
            group.remove()


def leftover_sandbox_dirs() -> list[str]:
    runtime = Path(RUNTIME_DIR)
    if not runtime.is_dir():
        return []
    return [str(p) for p in runtime.iterdir() if p.is_dir() and p.name != "uids"]


@pytest.fixture
def clean_host() -> Iterator[None]:
    """Assert that the test leaves no sandbox process, cgroup or directory behind."""
    yield
    assert sandbox_processes() == []
    assert leftover_cgroups() == []
    assert leftover_sandbox_dirs() == []
