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
    # As deploy/docker-compose.yml runs it: no cgroups in the container, said explicitly.
    argv += ["-e", "CODETUTOR_CGROUPS=none"]
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


@pytest.fixture(scope="session")
def llm_image(engine: Any) -> str:
    build_images("llm")
    IMAGE_FIXTURES["llm_image"] = True
    return "codetutor/llm:latest"


def http_json(url: str, body: dict[str, Any] | None = None, key: str = "") -> tuple[int, Any]:
    """(status, decoded JSON body) of a GET (or a POST of ``body``) from this host."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def test_llm_image_serves_a_model_from_its_volume(llm_image: str, engine: Any) -> None:
    """The CPU LLM image as Compose runs it (profile cpu-llm): non-root, health-checked,
    listening on all addresses with an API key, the model from a volume; answers
    completions to the key holder and refuses everyone else."""
    import time

    from codetutor.tutor.engine import bundled_model_path

    config = engine.images.get(llm_image).attrs["Config"]
    assert config["User"] not in ("", "0", "root")
    assert config["Healthcheck"]["Test"][0] == "CMD"
    key = "test-llm-key-0123456789"
    container = engine.containers.run(
        llm_image,
        detach=True,
        environment={"CODETUTOR_LLM_API_KEYS": key},
        volumes={str(bundled_model_path()): {"bind": "/models/model.gguf", "mode": "ro"}},
        mem_limit="2g",
    )
    try:
        container.reload()
        base = f"http://{container.attrs['NetworkSettings']['IPAddress']}:8765"
        deadline = time.monotonic() + 240
        while True:
            try:
                status, health = http_json(base + "/health")
                break
            except OSError:
                container.reload()
                logs = container.logs().decode(errors="replace")[-3000:]
                assert container.status == "running", logs
                assert time.monotonic() < deadline, logs
                time.sleep(0.5)
        assert status == 200 and health["status"] == "ok" and health["model"] == "model"
        body = {"prompt": "def add(a, b):\n", "max_tokens": 12, "temperature": 0, "seed": 7}
        assert http_json(base + "/v1/completions", body)[0] == 403  # no key: refused
        assert http_json(base + "/v1/completions", body, key="wrong")[0] == 403
        status, reply = http_json(base + "/v1/completions", body, key=key)
        assert status == 200, reply
        choice = reply["choices"][0]
        assert choice["text"] and choice["finish_reason"] == "length"
        assert reply["usage"]["completion_tokens"] == 12
    finally:
        container.remove(force=True)
