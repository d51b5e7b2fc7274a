"""The judge on the Docker backend: the example verdicts, the whole hostile list, and
how each sandbox container is locked down.

The hostile tests are tests/judge/test_hostile.py's own (imported, not copied): here
their ``judge`` fixture is a judge whose sandboxes are containers, and ``clean_host``
checks that no container or sandbox directory is left.
"""

from __future__ import annotations

import asyncio
import inspect
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from codetutor.judge.docker import LABEL, DockerProvisioner, reap_stale_containers
from codetutor.judge.judge import Judge
from codetutor.judge.pool import SandboxPool
from codetutor.judge.submission import Submission
from tests.judge import test_hostile
from tests.judge.conftest import EXAMPLES, judge_code, published
from tests.judge.test_examples import EXPECTED, submission_path
from tests.judge.test_hostile import HOSTILE, PROBE, assert_still_serving, public_actual

from .conftest import RUNTIME_DIR, docker_judge_config, leftover_containers

pytestmark = pytest.mark.usefixtures("clean_host")

# Every test of tests/judge/test_hostile.py that takes a `judge` runs here too, with this
# directory's `judge` (sandboxes in containers) and `clean_host` (no container left).
for _name, _test in vars(test_hostile).items():
    if _name.startswith("test_") and "judge" in inspect.signature(_test).parameters:
        globals()[_name] = _test


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_submission_on_docker(name: str, judge: Judge) -> None:
    """The judge's whole hostile table, on the Docker backend."""
    code, verdict = HOSTILE[name]
    result = await judge_code(judge, PROBE, code)
    allowed = verdict if isinstance(verdict, tuple) else (verdict,)
    allowed += LIMIT_RACES.get(name, ())
    assert result.verdict.value in allowed, result.to_dict("instructor")
    await assert_still_serving(judge)


#: Submissions that may reach the time limit before they crash, whichever comes first on
#: a loaded machine: repr() of deeply nested lists spends quadratic time in CPython's
#: recursion guard (seconds at the depth that overflows an 8 MiB stack) before the crash.
LIMIT_RACES = {"c_stack_overflow": ("time_limit_exceeded",)}


@pytest.mark.parametrize("key", sorted(EXPECTED))
async def test_example_verdict_on_docker(key: str, judge: Judge) -> None:
    problem = await published(EXAMPLES / key.split("/")[0] / "problem.ipynb")
    result = await judge.judge(problem, Submission.from_path(submission_path(key)))
    assert result.verdict.value == EXPECTED[key], result.to_dict("instructor")


async def test_sandbox_container_is_locked_down(judge_kernel_image: str, engine: Any) -> None:
    pool = SandboxPool(config=docker_judge_config(judge_kernel_image))
    pool.size = 0
    sandbox = await pool.acquire(128, 1 << 20)
    try:
        prov = sandbox.provisioner
        assert isinstance(prov, DockerProvisioner)
        assert prov.container_id is not None
        info = engine.api.inspect_container(prov.container_id)
        host = info["HostConfig"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert any(opt.startswith("seccomp=") for opt in host["SecurityOpt"])
        assert host["Memory"] == 128 << 20  # the pool's per-problem limit took effect
        assert host["MemorySwap"] == 128 << 20
        assert host["PidsLimit"] == prov.pids_limit
        assert host["NanoCpus"] == int(prov.cpus * 1e9)
        assert host["Init"] is True
        assert "/tmp" in host["Tmpfs"]
        binds = host["Binds"]
        assert binds == [f"{prov.sandbox_dir}:{prov.sandbox_dir}:rw"]
        assert info["Config"]["User"] not in ("", "0", "root") and not info["Config"][
            "User"
        ].startswith("0:")
        assert info["Config"]["Labels"][LABEL] == RUNTIME_DIR
        # The kernel talks ZMQ over IPC sockets in the mounted directory, nothing else.
        assert sandbox.km is not None and sandbox.km.transport == "ipc"
        assert any(p.is_socket() for p in Path(str(prov.sandbox_dir)).iterdir())
        assert prov.cpu_seconds() > 0  # measured from the container's cgroup
    finally:
        await pool.release(sandbox)
        await pool.close()


async def test_seccomp_and_capabilities_refuse_namespaces_and_mounts(judge: Judge) -> None:
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "def probe():\n"
        "    out = []\n"
        "    for call in (lambda: libc.unshare(0x10000000), lambda: libc.unshare(0x20000),\n"
        "                 lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None),\n"
        "                 lambda: libc.ptrace(0, 0, None, None)):\n"
        "        rc = call()\n"
        "        out.append((rc, ctypes.get_errno()))\n"
        "    return out\n"
    )
    result = await judge_code(judge, PROBE, code)
    assert public_actual(result) == "[(-1, 1), (-1, 1), (-1, 1), (-1, 1)]"


async def test_memory_kill_comes_from_the_container_state(judge: Judge) -> None:
    result = await judge_code(judge, PROBE, "x = bytearray(512 * 2**20)")
    assert result.verdict.value == "memory_limit_exceeded"


def running_sandboxes(engine: Any) -> list[str]:
    return [
        c["Names"][0]
        for c in engine.api.containers(filters={"label": f"{LABEL}={RUNTIME_DIR}"})
        if c.get("State") == "running"
    ]


def test_containers_of_a_killed_judge_are_reaped(judge_kernel_image: str, engine: Any) -> None:
    """SIGKILL a judge holding ready containers: they stop at once on their own (their
    watcher sees the judge's lock go), and the next judge removes them."""
    script = (
        "import asyncio\n"
        "from codetutor.judge.judge import Judge\n"
        "from tests.docker.conftest import docker_judge_config\n"
        "async def main():\n"
        f"    config = docker_judge_config({judge_kernel_image!r})\n"
        f"    config.DockerProvisioner.runtime_dir = {RUNTIME_DIR!r}\n"
        "    judge = Judge(config=config)\n"
        "    await judge.provider.prefill()\n"
        "    print('ready', flush=True)\n"
        "    await asyncio.sleep(600)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # Its containers carry the runtime dir of this test process (the config is shared).
        assert len(leftover_containers(engine)) >= 2
        assert len(running_sandboxes(engine)) >= 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 30
        while running_sandboxes(engine) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert running_sandboxes(engine) == []
        assert reap_stale_containers(engine, RUNTIME_DIR) >= 2
        assert leftover_containers(engine) == []
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def test_still_serves_after_hostile_burst(judge: Judge) -> None:
    codes = [HOSTILE[name][0] for name in ("os_exit", "huge_allocation", "segfault")]
    results = await asyncio.gather(*(judge_code(judge, PROBE, c) for c in codes))
    assert [r.verdict.value for r in results] == [
        "runtime_error",
        "memory_limit_exceeded",
        "runtime_error",
    ]
