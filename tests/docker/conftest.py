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


@pytest.fixture(scope="session")
def service_images(engine: Any) -> list[str]:
    """The images that run the production configuration's services."""
    names = ["hub", "judge-worker", "llm"]
    build_images(*names)
    IMAGE_FIXTURES["service_images"] = True
    return [f"codetutor/{name}:latest" for name in names]


IMAGE_FIXTURES["service_images"] = False


class GatewayServers:
    """A Docker network whose gateway (this host) serves a throwaway PostgreSQL on 5432
    and Redis on 6379 (password :attr:`password`), as the deployment files' ``db``,
    ``postgres`` and ``redis``: containers on the network name them with
    ``--add-host NAME:GATEWAY``. PostgreSQL has the ``codetutor`` role and databases
    of deploy/postgres (trust authentication: any password is accepted)."""

    hosts = ("db", "postgres", "redis")

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.network = f"codetutor-test-services-{os.getpid()}"
        self.password = os.urandom(12).hex()
        self.postgres: Any = None
        self.redis: subprocess.Popen[bytes] | None = None
        self.created: Any = None

    def start(self) -> None:
        from tests.judge.service.judge_service_helpers import PostgresServer

        network = self.created = self.engine.networks.create(self.network, driver="bridge")
        network.reload()
        config = network.attrs["IPAM"]["Config"][0]
        self.gateway = config["Gateway"]
        self.postgres = PostgresServer()
        with open(self.postgres.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {config['Subnet']} trust\n")
        self.postgres.port = 5432
        options = f"-p 5432 -c listen_addresses={self.gateway} -k {self.postgres.root} -c fsync=off"
        self.postgres._run(
            self.postgres.pg_ctl, "-D", str(self.postgres.data), "-l", str(self.postgres.log),
            "-o", options, "-w", "start",
        )  # fmt: skip
        self.psql("CREATE ROLE codetutor LOGIN", "CREATE DATABASE codetutor OWNER codetutor")
        self.psql((REPO / "deploy" / "postgres" / "init.sql").read_text())
        self.redis = subprocess.Popen(
            ["redis-server", "--bind", self.gateway, "--port", "6379", "--save", "",
             "--appendonly", "no", "--requirepass", self.password],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def psql(self, *statements: str) -> None:
        import psycopg

        dsn = f"host={self.postgres.root} port=5432 user=postgres dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def stop(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
        if self.postgres is not None:
            self.postgres.destroy()
        if self.created is not None:
            for container in self.engine.containers.list(
                all=True, filters={"network": self.network}
            ):
                container.remove(force=True)
            self.created.remove()


@pytest.fixture(scope="module")
def gateway_servers(engine: Any) -> Iterator[GatewayServers]:
    servers = GatewayServers(engine)
    try:
        servers.start()
        yield servers
    finally:
        servers.stop()
