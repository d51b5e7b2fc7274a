"""Our images, built from the registry-free base: non-root, health-checked, and working.

The judge-worker image judges a real submission with bubblewrap inside, under the
security options a Compose deployment gives it; the hub image holds JupyterHub with
DockerSpawner, the proxy and the Code Tutor configuration.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from .conftest import IMAGE_FIXTURES, REPO, build_images

pytestmark = pytest.mark.slow

#: what bubblewrap needs inside a container: user namespaces (refused by Docker's default
#: seccomp and AppArmor profiles) and a /proc it may mount (Docker masks parts of its own)
BUBBLEWRAP_SECURITY_OPT = [
    "seccomp=unconfined",
    "apparmor=unconfined",
    "systempaths=unconfined",
]


@pytest.fixture(scope="session")
def worker_and_hub_images(engine: Any) -> dict[str, str]:
    build_images("judge-worker", "hub")
    IMAGE_FIXTURES["worker_and_hub_images"] = True
    return {name: f"codetutor/{name}:latest" for name in ("judge-worker", "hub")}


def run(engine: Any, image: str, command: list[str], **kwargs: Any) -> str:
    """Run ``command`` in a fresh container of ``image``; its output (it must succeed)."""
    container = engine.containers.run(image, command, detach=True, **kwargs)
    try:
        status = container.wait(timeout=600)
        output = container.logs().decode(errors="replace")
        assert status["StatusCode"] == 0, output[-3000:]
        return str(output)
    finally:
        container.remove(force=True)


@pytest.mark.parametrize("name", ["judge-worker", "hub"])
def test_image_runs_as_non_root_with_a_health_check(
    name: str, worker_and_hub_images: dict[str, str], engine: Any
) -> None:
    config = engine.images.get(worker_and_hub_images[name]).attrs["Config"]
    assert config["User"] not in ("", "0", "root")
    assert config["Healthcheck"]["Test"][0] == "CMD"


def test_judge_worker_image_judges_with_bubblewrap_inside(
    worker_and_hub_images: dict[str, str],
) -> None:
    # The CLI: the engine API has no "systempaths" option (the CLI turns it into empty
    # masked and read-only path lists).
    problem = REPO / "notebooks" / "leap-year"
    argv = ["docker", "run", "--rm", "--network", "none", "-v", f"{problem}:/nb:ro"]
    for opt in BUBBLEWRAP_SECURITY_OPT:
        argv += ["--security-opt", opt]
    argv += [worker_and_hub_images["judge-worker"], "codetutor", "judge"]
    argv += ["/nb/problem.ipynb", "/nb/submissions/accepted.py", "--json"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["verdict"] == "accepted", proc.stdout[-3000:]


def test_hub_image_has_dockerspawner_the_proxy_and_our_config(
    worker_and_hub_images: dict[str, str], engine: Any
) -> None:
    output = run(
        engine,
        worker_and_hub_images["hub"],
        [
            "sh",
            "-c",
            "jupyterhub --version && configurable-http-proxy --version && "
            "python -c 'import dockerspawner, oauthenticator, codetutor.hub.config, "
            'codetutor.judge.service, codetutor.tutor.app; print("imports ok")\' && '
            "test -f /etc/codetutor/jupyterhub_config.py",
        ],
        network_mode="none",
    )
    assert "imports ok" in output
