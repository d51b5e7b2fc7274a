"""CODETUTOR_CGROUPS: which confinement a judge uses, and that it refuses to start without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from traitlets.config import Config

from codetutor.cgroups import NoCgroup, V1Cgroup, V2Cgroup, confinement_class, read_keyed
from codetutor.judge.exceptions import SandboxError
from codetutor.judge.pool import SandboxPool
from codetutor.judge.provisioners import BubblewrapProvisioner

from .conftest import FILES, judge_config


def test_mode_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETUTOR_CGROUPS", "none")
    assert BubblewrapProvisioner().cgroups == "none"
    monkeypatch.delenv("CODETUTOR_CGROUPS")
    assert BubblewrapProvisioner().cgroups == "auto"


def test_auto_never_falls_back_to_none(tmp_path: Path) -> None:
    with pytest.raises(SandboxError) as raised:
        confinement_class("auto", str(tmp_path))
    assert "CODETUTOR_CGROUPS=none" in raised.value.log_message
    assert confinement_class("none", str(tmp_path)) is NoCgroup
    with pytest.raises(SandboxError):
        confinement_class("v1", str(tmp_path))


def test_auto_prefers_a_usable_unified_hierarchy(tmp_path: Path) -> None:
    own = next(
        line[3:].strip()
        for line in Path("/proc/self/cgroup").read_text().splitlines()
        if line.startswith("0::")
    )
    base = tmp_path / own.lstrip("/")
    base.mkdir(parents=True, exist_ok=True)
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    (base / "cgroup.controllers").write_text("cpu memory pids\n")
    assert V2Cgroup.base(str(tmp_path)) == base
    assert confinement_class("auto", str(tmp_path)) is V2Cgroup
    (base / "cgroup.controllers").write_text("cpu\n")  # memory not delegated to us
    with pytest.raises(SandboxError):
        confinement_class("v2", str(tmp_path))


def test_keyed_files() -> None:
    text = "usage_usec 1500000\nuser_usec 1000000\n"
    assert read_keyed(text, "usage_usec") == 1500000
    assert read_keyed("low 0\noom 1\noom_kill 2\n", "oom_kill") == 2
    assert read_keyed("", "oom_kill") is None


def test_none_bounds_memory_by_rlimits() -> None:
    limits = NoCgroup.memory_rlimits(128)
    assert 128 << 20 < limits["data"] < limits["as"] < 4 * 10**9


def test_pool_refuses_to_start_without_confinement() -> None:
    config = judge_config()
    config.BubblewrapProvisioner.cgroup_root = "/nonexistent"
    # auto, whatever CODETUTOR_CGROUPS says (./dev test runs this file again with none)
    config.BubblewrapProvisioner.cgroups = "auto"
    with pytest.raises(SandboxError):
        SandboxPool(config=config)
    config.BubblewrapProvisioner.cgroups = "none"
    assert SandboxPool(config=config).confinement == "none"


def test_cli_refuses_to_start_without_confinement(tmp_path: Path) -> None:
    mode = "v2" if V1Cgroup.usable("/sys/fs/cgroup") else "v1"
    submission = tmp_path / "s.py"
    submission.write_text("def probe():\n    return 'ok'\n")
    proc = subprocess.run(
        [sys.executable, "-m", "codetutor", "judge", str(FILES / "probe.ipynb"), str(submission)],
        env={**os.environ, "CODETUTOR_CGROUPS": mode},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if confinement_class("auto", "/sys/fs/cgroup").mode == mode:
        pytest.skip(f"{mode} is usable here")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1
    assert "cannot confine" in proc.stderr


def test_the_confinement_in_use_is_the_one_asked_for() -> None:
    mode = os.environ.get("CODETUTOR_CGROUPS", "auto")
    kind = BubblewrapProvisioner(config=Config()).confinement_class()
    assert mode in ("auto", kind.mode)
