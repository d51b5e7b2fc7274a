"""Fixtures of the Docker tests: a running engine, our images, and a judge on the Docker backend.

Under CI=true a missing Docker engine is an error (``./dev test`` installs and
starts one); elsewhere these tests are skipped without it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from codetutor.judge.docker import LABEL, reap_stale_containers
from codetutor.judge.judge import Judge

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "deploy" / "images" / "build.sh"
#: this test process's sandbox directories (and the label value of its containers)
RUNTIME_DIR = f"/dev/shm/codetutor-docker-test-{os.getpid()}"


def docker_client() -> Any:
    import docker

    return docker.from_env()


@pytest.fixture(scope="session")
def engine() -> Any:
    """A Docker client whose engine answers."""
    try:
        client = docker_client()
        client.ping()
    except Exception as e:
        if os.environ.get("CI") == "true":
            pytest.fail(f"no Docker engine under CI ({e}); ./dev test starts one")
        pytest.skip(f"no Docker engine: {e}")
    # Sandboxes of earlier test runs that died before cleaning up (each run has its own
    # runtime directory, so no later judge would reap them).
    for info in client.api.containers(all=True, filters={"label": LABEL}):
        runtime = (info.get("Labels") or {}).get(LABEL, "")
        if runtime.startswith("/dev/shm/codetutor-docker-test-") and runtime != RUNTIME_DIR:
            reap_stale_containers(client, runtime)
    return client


#: fixture that builds an image -> whether it has run in this session
IMAGE_FIXTURES = {
    "judge_kernel_image": False,
    "singleuser_image": False,
    "worker_and_hub_images": False,
    "llm_image": False,
}
#: seconds the first test needing an image may take: the build (minutes on a fresh machine)
BUILD_TIMEOUT_S = 2400


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Give the first test that needs a not yet built image the time to build it
    (outermost, so pytest-timeout sees the mark)."""
    names = set(getattr(item, "fixturenames", ()))
    if any(not built and name in names for name, built in IMAGE_FIXTURES.items()):
        item.add_marker(pytest.mark.timeout(BUILD_TIMEOUT_S))
    yield


def build_images(*names: str) -> None:
    """deploy/images/build.sh NAMES (cached: quick when nothing changed)."""
    proc = subprocess.run(
        [str(BUILD), *names], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, cwd=REPO
    )
    assert proc.returncode == 0, proc.stderr[-4000:]


@pytest.fixture(scope="session")
def judge_kernel_image(engine: Any) -> str:
    build_images("judge-kernel")
    IMAGE_FIXTURES["judge_kernel_image"] = True
    return "codetutor/judge-kernel:latest"


def docker_judge_config(image: str) -> Config:
    c = Config()
    c.JudgeKernelSpecManager.provisioner_name = "codetutor-docker"
    c.DockerProvisioner.image = image
    c.DockerProvisioner.runtime_dir = RUNTIME_DIR
    c.SandboxPool.size = 2
    return c


@pytest.fixture
async def judge(judge_kernel_image: str) -> AsyncIterator[Judge]:
    """A judge whose sandboxes are Docker containers."""
    j = Judge(config=docker_judge_config(judge_kernel_image))
    yield j
    await j.close()


def leftover_containers(engine: Any) -> list[str]:
    return [
        c["Names"][0]
        for c in engine.api.containers(all=True, filters={"label": f"{LABEL}={RUNTIME_DIR}"})
    ]


def leftover_sandbox_dirs() -> list[str]:
    runtime = Path(RUNTIME_DIR)
    return [str(p) for p in runtime.iterdir()] if runtime.is_dir() else []


@pytest.fixture
def clean_host(engine: Any) -> Iterator[None]:
    """Assert that the test leaves no sandbox container or directory behind."""
    yield
    assert leftover_containers(engine) == []
    assert leftover_sandbox_dirs() == []
