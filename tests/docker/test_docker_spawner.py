"""The Hub with DockerSpawner: a student's server is a container of our single-user image.

JupyterHub runs from the repository's jupyterhub_config.py (embedded settings, so no
OAuth provider or PostgreSQL is needed) with DockerSpawner as on a production host:
user containers join an internal Docker network, whose gateway is this machine,
where the Hub, the judge and the tutor listen. An instructor publishes a problem and
a student submits through the Code Tutor server extension in their container and gets
the verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from codetutor.hub.config import find_proxy
from tests.e2e.helpers import REPO, free_port
from tests.e2e.test_e2e import UserServer, verdict_events

from .conftest import IMAGE_FIXTURES, build_images

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
NOTEBOOKS = REPO / "notebooks"
IMAGE = "codetutor/singleuser:latest"


@pytest.fixture(scope="session")
def singleuser_image(engine: Any) -> str:
    build_images("singleuser")
    IMAGE_FIXTURES["singleuser_image"] = True
    return IMAGE


@pytest.fixture
def users_network(engine: Any) -> Iterator[tuple[str, str]]:
    """An internal Docker network (no route out) and its gateway address (this host)."""
    name = f"codetutor-test-users-{os.getpid()}"
    network = engine.networks.create(name, driver="bridge", internal=True)
    try:
        network.reload()
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        yield name, gateway
    finally:
        for container in engine.containers.list(all=True, filters={"network": name}):
            container.remove(force=True)
        network.remove()


class DockerHub:
    """JupyterHub from jupyterhub_config.py with DockerSpawner, as a real process."""

    def __init__(self, data_dir: Path, network: str, gateway: str, image: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = os.urandom(16).hex()
        self.log_path = data_dir / "hub.log"
        hub_port, judge_port, tutor_port, dashboard_port, api_port = (free_port() for _ in range(5))
        # As `codetutor up` sets the Hub's environment (codetutor.hub.app), with DockerSpawner's
        # choices: user containers reach the Hub and the services at the network's gateway.
        self.env = dict(
            {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")},
            PYTHONUNBUFFERED="1",
            CODETUTOR_MODE="embedded",
            CODETUTOR_IP="127.0.0.1",
            CODETUTOR_DASHBOARD_PORT=str(dashboard_port),
            CODETUTOR_PROXY_COMMAND=find_proxy(),
            CONFIGPROXY_AUTH_TOKEN=os.urandom(16).hex(),
            CODETUTOR_DATA_DIR=str(data_dir),
            CODETUTOR_PORT=str(self.port),
            CODETUTOR_HUB_PORT=str(hub_port),
            CODETUTOR_PROXY_API_PORT=str(api_port),
            CODETUTOR_JUDGE_PORT=str(judge_port),
            CODETUTOR_TUTOR_PORT=str(tutor_port),
            CODETUTOR_JUDGE_WORKERS="1",
            CODETUTOR_SERVICES_HOST=gateway,
            CODETUTOR_HUB_CONNECT_IP=gateway,
            CODETUTOR_ADMIN_TOKEN=self.admin_token,
            CODETUTOR_USER_IMAGE=image,
            CODETUTOR_DOCKER_NETWORK=network,
        )
        self.argv = [
            sys.executable,
            "-m",
            "jupyterhub",
            "-f",
            str(REPO / "jupyterhub_config.py"),
            "--JupyterHub.spawner_class=dockerspawner.DockerSpawner",
            f"--JupyterHub.hub_bind_url=http://{gateway}:{hub_port}",
        ]
        self.proc: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {self.admin_token}"

    def start(self, timeout_s: float = 300.0) -> None:
        for sub in ("hub", "judge", "tutor", "users"):
            (self.data_dir / sub).mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=log, stderr=log, cwd=self.data_dir / "hub"
            )
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, self.log()[-4000:]
            assert time.monotonic() < deadline, self.log()[-4000:]
            try:
                if self.api("GET", "services").status_code == 200 and self.services_up():
                    return
            except requests.RequestException:
                pass
            time.sleep(1)

    def services_up(self) -> bool:
        for service in ("judge", "tutor"):
            try:
                r = requests.get(f"{self.url}/services/{service}/health", timeout=5)
            except requests.RequestException:
                return False
            if r.status_code >= 500:
                return False
        return True

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def api(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.session.request(
            method,
            f"{self.url}/hub/api/{path}",
            data=json.dumps(body) if body is not None else None,
            timeout=120,
        )

    def start_server(self, name: str, timeout_s: float = 180.0) -> float:
        """Start ``name``'s server; return the seconds until the Hub reports it ready."""
        started = time.monotonic()
        r = self.api("POST", f"users/{name}/server")
        assert r.status_code in (201, 202), r.text
        while True:
            model = self.api("GET", f"users/{name}").json()
            if model["servers"].get("", {}).get("ready"):
                return time.monotonic() - started
            assert time.monotonic() - started < timeout_s, self.log()[-4000:]
            time.sleep(0.25)

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"users/{name}/tokens", {"note": "docker test"})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])


def test_student_container_submits_and_gets_a_verdict(
    engine: Any, singleuser_image: str, users_network: tuple[str, str], tmp_path: Path
) -> None:
    network, gateway = users_network
    hub = DockerHub(tmp_path / "data", network, gateway, singleuser_image)
    volumes = ["codetutor-user-teacher", "codetutor-user-alice"]
    try:
        hub.start()
        r = hub.api("POST", "users", {"usernames": ["teacher", "alice"]})
        assert r.status_code == 201, r.text
        r = hub.api("POST", "groups/instructors/users", {"users": ["teacher"]})
        assert r.status_code == 200, r.text
        spawn_s = {name: hub.start_server(name) for name in ("teacher", "alice")}

        # Each server is a container of our image, limited, on the internal network only.
        container = engine.containers.get("jupyter-alice")
        assert singleuser_image in container.image.tags
        host = container.attrs["HostConfig"]
        assert host["Memory"] == 2 << 30
        assert host["CpuQuota"] == host["CpuPeriod"] == 100_000  # one core
        assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
        assert host["PidsLimit"] == 1024
        assert list(container.attrs["NetworkSettings"]["Networks"]) == [network]
        assert engine.networks.get(network).attrs["Internal"] is True
        assert container.attrs["Config"]["User"] in ("", "jovyan", "1000")
        assert any(m.get("Name") == "codetutor-user-alice" for m in container.attrs["Mounts"])

        teacher, alice = (
            UserServer(hub.url, name, hub.user_token(name)) for name in ("teacher", "alice")
        )
        problem_nb = json.loads((NOTEBOOKS / PROBLEM / "problem.ipynb").read_text())
        teacher.put_notebook("leap.ipynb", problem_nb)
        r = teacher.api("POST", "publish", {"path": "leap.ipynb"})
        assert r.status_code in (200, 201), r.text

        r = alice.api("POST", f"problems/{PROBLEM}/open")
        assert r.status_code == 201, r.text
        path = r.json()["path"]
        nb = alice.get_notebook(path)
        starter = next(c for c in nb["cells"] if "starter" in c["metadata"].get("tags", []))
        starter["source"] = (NOTEBOOKS / PROBLEM / "submissions" / "accepted.py").read_text()
        alice.put_notebook(path, nb)
        submitted = time.monotonic()
        r = alice.api("POST", "submissions", {"path": path})
        assert r.status_code == 202, r.text
        r = alice.api("GET", f"submissions/{r.json()['id']}/events")
        events = verdict_events(r.text)
        verdict_s = time.monotonic() - submitted
        assert events[-1][0] == "verdict", r.text
        assert events[-1][1]["verdict"] == "accepted", events[-1]

        # Stopping a server removes its container (DockerSpawner.remove); the volume stays.
        r = hub.api("DELETE", "users/alice/server")
        assert r.status_code in (202, 204), r.text
        deadline = time.monotonic() + 60
        while engine.api.containers(all=True, filters={"name": "jupyter-alice"}):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert engine.volumes.get("codetutor-user-alice") is not None
        print(
            f"\nDockerSpawner: spawn {', '.join(f'{k} {v:.1f} s' for k, v in spawn_s.items())}; "
            f"submit to verdict {verdict_s:.2f} s"
        )
    finally:
        hub.stop()
        for container in engine.containers.list(all=True, filters={"name": "jupyter-"}):
            if container.name in ("jupyter-teacher", "jupyter-alice"):
                container.remove(force=True)
        for volume in volumes:
            try:
                engine.volumes.get(volume).remove(force=True)
            except Exception:
                pass
