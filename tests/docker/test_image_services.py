"""Every service of the production configuration starts from the image that runs it.

The services are read from the deployment files, so a new one cannot be forgotten:
each service of ``deploy/docker-compose.yml`` (all profiles) and each container of
``deploy/kubernetes/codetutor.yaml`` whose image is one of ours, and each service
the production Hub starts itself (``HubSettings.services()``, asked inside the hub
image). Each runs in its image with its command and arguments as written there, its
environment (secrets: test values) and its security options, on a Docker network
where ``db``/``postgres`` and ``redis`` are a throwaway PostgreSQL and Redis on this
host (the network's gateway) and ``llm`` is an LLM container. It must then pass the
probe its file declares (a Compose health check run in the container, a Kubernetes
readiness probe asked over HTTP) or, without one, its image's ``HEALTHCHECK``, and
keep passing it; the Hub's own services must each answer ``/health`` (or, without a
URL, be running); a judge worker must log that it started, and judge a submission in
its image under the security options its file gives it. Zero to JupyterHub's Hub runs
our extraConfig (values.yaml) from the hub image.

What cannot be reproduced here is said where it is left out: the Docker socket (no
user server is spawned: tests/docker/test_docker_spawner.py does that), GPUs (the
``llm-cuda`` image, built only where NVIDIA's images can be pulled, is stood in for
by the CPU ``llm`` image when absent: same distribution, same requirements, same
command; ``--gpu-layers`` is a no-op there).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.ops.test_compose import compose, env_values, write_env

from .conftest import REPO, GatewayServers

pytestmark = pytest.mark.slow

DEPLOY = REPO / "deploy"
KUBERNETES = DEPLOY / "kubernetes" / "codetutor.yaml"
#: an image deploy/images builds, under any registry prefix: …codetutor/<name>:<tag>
OUR_IMAGE = re.compile(r"(?:^|/)codetutor/(?P<name>[a-z0-9-]+):[\w.-]+$")
#: images built only where a registry is reachable -> the local image that stands in
STAND_INS = {"llm-cuda": "llm"}
#: what an image's process logs once it is ready, where it serves no HTTP
READY_LOG = {"judge-worker": re.compile(r"worker \S+ started")}
#: seconds every service has, from the start of all of them, to become ready
READY_TIMEOUT_S = 240
#: seconds a service's current run must have lasted for its probe to count
STABLE_S = 15
#: restarts (of a service started before what it needs) after which it is failing
MAX_RESTARTS = 5
#: Kubernetes pods' securityContext -> docker run options
K8S_CAPABILITIES = {"drop": "--cap-drop", "add": "--cap-add"}


@dataclass
class Service:
    """One container to start: where it comes from and how it is run and probed."""

    origin: str  # "compose/hub", "kubernetes/judge", ...
    image: str  # deploy/images/<image>
    entrypoint: list[str] | None = None  # replaces the image's ENTRYPOINT
    command: list[str] | None = None  # replaces its CMD
    environment: dict[str, str] = field(default_factory=dict)
    options: list[str] = field(default_factory=list)  # further docker run options
    models: list[str] = field(default_factory=list)  # model files it reads (mount targets)
    exec_probe: list[str] | None = None  # a health check command run in the container
    http_probe: tuple[str, int] | None = None  # (path, port) asked from this host
    hostname: str = ""
    aliases: list[str] = field(default_factory=list)  # further names on the network
    restart: str = "no"  # docker run's restart policy
    container: str = ""  # its name, once started


def compose_services(env: dict[str, str], tmp_path: Path) -> list[Service]:
    """The Compose file's services that run our images, with every profile."""
    raw = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    profiles = sorted({p for s in raw.values() for p in s.get("profiles", [])})
    result = compose(
        write_env(tmp_path / "test.env", env),
        *(a for p in profiles for a in ("--profile", p)),
        "config",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    services = []
    for name, spec in json.loads(result.stdout)["services"].items():
        match = OUR_IMAGE.search(spec.get("image", ""))
        if not match:
            continue
        options = [a for opt in spec.get("security_opt", []) for a in ("--security-opt", opt)]
        test = spec.get("healthcheck", {}).get("test")
        probe = None
        if test:
            probe = test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]
        services.append(
            Service(
                origin=f"compose/{name}",
                image=match["name"],
                entrypoint=spec.get("entrypoint"),
                command=spec.get("command"),
                environment={k: str(v) for k, v in (spec.get("environment") or {}).items()},
                options=options,
                models=[v["target"] for v in spec.get("volumes", []) if v["target"] == "/models"],
                exec_probe=probe,
                hostname=name,
                aliases=[
                    alias
                    for net in (spec.get("networks") or {}).values()
                    for alias in (net or {}).get("aliases", [])
                ],
                restart=spec.get("restart", "no"),
            )
        )
    return services


def kubernetes_services(secrets: dict[str, str]) -> list[Service]:
    """codetutor.yaml's Deployments' containers that run our images."""
    services = []
    for doc in yaml.safe_load_all(KUBERNETES.read_text()):
        if not doc or doc["kind"] != "Deployment":
            continue
        pod = doc["spec"]["template"]["spec"]
        for container in pod["containers"]:
            match = OUR_IMAGE.search(container["image"])
            if not match:
                continue
            environment = {}
            for var in container.get("env", []):
                if "value" in var:
                    environment[var["name"]] = str(var["value"])
                else:
                    key = var["valueFrom"]["secretKeyRef"]["key"]
                    assert key in secrets, f"no test value for the secret {key}"
                    environment[var["name"]] = secrets[key]
            security = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
            options = []
            if "runAsUser" in security:
                options += ["--user", str(security["runAsUser"])]
            if security.get("allowPrivilegeEscalation") is False:
                options += ["--security-opt", "no-new-privileges"]
            # seccomp: Kubernetes' default is Unconfined (the kubelet's SeccompDefault off)
            if security.get("seccompProfile", {}).get("type", "Unconfined") == "Unconfined":
                options += ["--security-opt", "seccomp=unconfined"]
            if security.get("appArmorProfile", {}).get("type") == "Unconfined":
                options += ["--security-opt", "apparmor=unconfined"]
            if security.get("procMount") == "Unmasked":
                options += ["--security-opt", "systempaths=unconfined"]
            for verb, flag in K8S_CAPABILITIES.items():
                for cap in security.get("capabilities", {}).get(verb, []):
                    options += [flag, cap]
            ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
            probe = container.get("readinessProbe", {}).get("httpGet")
            mounts = {v["name"]: v["mountPath"] for v in container.get("volumeMounts", [])}
            services.append(
                Service(
                    origin=f"kubernetes/{doc['metadata']['name']}",
                    image=match["name"],
                    entrypoint=container.get("command"),
                    command=container.get("args"),
                    environment=environment,
                    options=options,
                    models=[path for name, path in mounts.items() if name == "models"],
                    http_probe=(probe["path"], ports.get(probe["port"], probe["port"]))
                    if probe
                    else None,
                    hostname=doc["metadata"]["name"],
                    # a pod's containers are restarted (restartPolicy: Always)
                    restart=pod.get("restartPolicy", "Always").lower(),
                )
            )
    return services


def docker(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *argv], capture_output=True, text=True, timeout=timeout)


class Deployment:
    """The services, started together on one network, and what they answer."""

    def __init__(self, network: str, servers: GatewayServers, model: Path) -> None:
        self.network = network
        self.servers = servers
        self.model = model
        self.services: dict[str, Service] = {}
        self.started = time.monotonic()

    def image_of(self, service: Service) -> str:
        name = service.image
        if name in STAND_INS and docker("image", "inspect", f"codetutor/{name}:latest").returncode:
            name = STAND_INS[name]
        return f"codetutor/{name}:latest"

    def start(self, service: Service) -> None:
        service.container = f"{self.network}-{service.origin.replace('/', '-')}"
        argv = ["run", "-d", "--name", service.container, "--network", self.network]
        argv += ["--hostname", service.hostname, "--restart", service.restart]
        for alias in [service.hostname, *service.aliases]:
            argv += ["--network-alias", alias]
        argv += ["--memory", "2g"]
        for host in self.servers.hosts:
            argv += ["--add-host", f"{host}:{self.servers.gateway}"]
        for key, value in service.environment.items():
            argv += ["-e", f"{key}={value}"]
        for target in service.models:
            # the model file the command names, from the bundled test model
            for arg in (service.command or []) + (service.entrypoint or []):
                if arg.startswith(f"--model={target}/"):
                    mount = arg.removeprefix("--model=")
                    argv += ["-v", f"{self.model}:{mount}:ro"]
        argv += service.options
        command = list(service.command or [])
        if service.entrypoint:
            argv += ["--entrypoint", service.entrypoint[0]]
            command = service.entrypoint[1:] + command
        proc = docker(*argv, self.image_of(service), *command)
        assert proc.returncode == 0, proc.stderr
        self.services[service.origin] = service

    def logs(self, service: Service, tail: int = 4000) -> str:
        """The container's output: its last ``tail`` characters (0: all of it)."""
        proc = docker("logs", service.container)
        return (proc.stdout + proc.stderr)[-tail:]

    def state(self, service: Service) -> dict[str, Any]:
        proc = docker("inspect", service.container)
        info: dict[str, Any] = json.loads(proc.stdout)[0]
        return info

    def exec(self, service: Service, *argv: str) -> subprocess.CompletedProcess[str]:
        return docker("exec", service.container, *argv, timeout=60)

    def healthcheck_of_image(self, service: Service) -> list[str]:
        test = self.state(service)["Config"]["Healthcheck"]["Test"]
        return test[1:] if test[0] == "CMD" else ["sh", "-c", test[1]]

    def wait_ready(self, service: Service) -> None:
        """Return once ``service`` passes its probe; fail if it stops or times out."""
        deadline = self.started + READY_TIMEOUT_S
        probe = service.exec_probe
        if probe is None and service.http_probe is None:
            probe = self.healthcheck_of_image(service)
        ready_log = READY_LOG.get(service.image)
        while True:
            info = self.state(service)
            assert info["State"]["Status"] != "exited" and info["RestartCount"] < MAX_RESTARTS, (
                f"{service.origin} exited:\n{self.logs(service)}"
            )
            # ready, in a run that has lasted STABLE_S (a Hub whose service fails answers
            # /health until it exits, and is then restarted)
            if (
                self.uptime(info) >= STABLE_S
                and self.probe(service, probe)
                and (ready_log is None or ready_log.search(self.logs(service, tail=0)))
            ):
                return
            assert time.monotonic() < deadline, (
                f"{service.origin} not ready after {READY_TIMEOUT_S} s:\n{self.logs(service)}"
            )
            time.sleep(2)

    @staticmethod
    def uptime(info: dict[str, Any]) -> float:
        """Seconds the container's current run has lasted."""
        started = info["State"]["StartedAt"]  # RFC 3339 in UTC, with nanoseconds
        seconds, _, fraction = started.rstrip("Z").partition(".")
        start = datetime.fromisoformat(seconds).replace(tzinfo=UTC)
        return (datetime.now(UTC) - start).total_seconds() - float(f"0.{fraction or 0}")

    def probe(self, service: Service, exec_probe: list[str] | None) -> bool:
        if exec_probe and self.exec(service, *exec_probe).returncode != 0:
            return False
        if service.http_probe:
            path, port = service.http_probe
            ip = self.state(service)["NetworkSettings"]["Networks"][self.network]["IPAddress"]
            try:
                with urllib.request.urlopen(f"http://{ip}:{port}{path}", timeout=5) as response:
                    return bool(response.status == 200)
            except OSError:
                return False
        return True


#: run in the hub container: each service the Hub starts, and whether it answers
HUB_SERVICES_PROBE = """
import json, os, urllib.request
from codetutor.hub.config import HubSettings

def running(command):
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode().split("\\0")[:-1]
        except OSError:
            continue
        if argv[1:] == command[1:]:  # the interpreter's name may differ
            return True
    return False

report = {}
for service in HubSettings().services():
    name = service["name"]
    if "command" not in service:
        continue  # a token holder (admin, metrics), nothing to run
    state = {"running": running(service["command"])}
    if "url" in service:
        try:
            url = f"{service['url']}/services/{name}/health"
            with urllib.request.urlopen(url, timeout=5) as response:
                state["health"] = response.status
        except OSError as e:
            state["health"] = str(e)
    report[name] = state
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def services(
    service_images: list[str],
    gateway_servers: GatewayServers,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Service]:
    """Every service that runs our images, by id, as its file runs it (not started)."""
    env = env_values()
    env.update(
        JUPYTERHUB_CRYPT_KEY=os.urandom(32).hex(),
        POSTGRES_PASSWORD=gateway_servers.password,
        REDIS_PASSWORD=gateway_servers.password,
    )
    redis_url = f"redis://:{gateway_servers.password}@redis:6379/0"
    secrets = {
        "postgres-password": gateway_servers.password,
        "redis-url": redis_url,
        "llm-api-key": env["LLM_API_KEY"],
    }
    for name in ("judge", "tutor", "dashboard"):
        secrets[f"hub.services.{name}.apiToken"] = os.urandom(16).hex()
    services = compose_services(env, tmp_path_factory.mktemp("compose"))
    services += kubernetes_services(secrets)
    assert sorted(s.origin for s in services) == sorted(declared())
    return {s.origin: s for s in services}


@pytest.fixture(scope="module")
def deployment(
    services: dict[str, Service], gateway_servers: GatewayServers
) -> Iterator[Deployment]:
    """Every service that runs our images, started; removed afterwards."""
    from codetutor.tutor.engine import bundled_model_path

    deployment = Deployment(gateway_servers.network, gateway_servers, bundled_model_path())
    try:
        # the LLM first: the tutor asks it for its models as it starts (and is
        # restarted, as Compose and Kubernetes restart it, until it answers)
        for service in sorted(services.values(), key=lambda s: s.image not in ("llm", "llm-cuda")):
            deployment.start(service)
        yield deployment
    finally:
        for service in deployment.services.values():
            docker("rm", "-f", service.container)


def declared() -> dict[str, str]:
    """Each service's id and image name, read from the files as the fixture reads them
    (without Compose's CLI: image defaults filled in)."""
    ids = {}
    for name, spec in yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())[
        "services"
    ].items():
        match = OUR_IMAGE.search(_expand(spec["image"]))
        if match:
            ids[f"compose/{name}"] = match["name"]
    for doc in yaml.safe_load_all(KUBERNETES.read_text()):
        if doc and doc["kind"] == "Deployment":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                match = OUR_IMAGE.search(container["image"])
                if match:
                    ids[f"kubernetes/{doc['metadata']['name']}"] = match["name"]
    return ids


def _expand(image: str) -> str:
    """An image reference with Compose's ``${VAR:-default}`` defaults filled in."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", image)


@pytest.mark.parametrize("origin", list(declared()))
def test_service_starts_from_its_image(origin: str, deployment: Deployment) -> None:
    service = deployment.services[origin]
    deployment.wait_ready(service)


def test_the_production_hub_starts_each_of_its_services(deployment: Deployment) -> None:
    hub = deployment.services["compose/hub"]
    deployment.wait_ready(hub)
    deadline = time.monotonic() + 120
    while True:
        proc = deployment.exec(hub, "python", "-c", HUB_SERVICES_PROBE)
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)
        if all(s["running"] and s.get("health", 200) == 200 for s in report.values()):
            break
        assert time.monotonic() < deadline, f"{report}\n{deployment.logs(hub)}"
        time.sleep(2)
    # the services the issue names: the judge API, the tutor, the dashboard, the culler
    assert {"judge", "tutor", "dashboard"} <= set(report), report


def test_the_wheel_holds_every_package_of_the_source_tree() -> None:
    """pyproject.toml lists the packages the wheel (so every image) carries: each folder
    with an ``__init__.py`` below the folders its package-dir maps is one of them."""
    import tomllib

    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = set()
    for package, folder in setuptools["package-dir"].items():
        for init in (REPO / folder).rglob("__init__.py"):
            if "node_modules" not in init.parts:
                relative = init.parent.relative_to(REPO / folder).parts
                found.add(".".join((package, *relative)))
    assert sorted(found) == sorted(setuptools["packages"])


def test_every_deployment_file_names_a_service_here() -> None:
    """Both files run the Hub's services from our images (the list above is not empty
    because a regular expression stopped matching)."""
    ids = declared()
    assert {"compose/hub", "compose/judge-worker"} <= set(ids), ids
    assert {"kubernetes/judge", "kubernetes/tutor", "kubernetes/dashboard"} <= set(ids), ids
    assert any(i.startswith("compose/llm") for i in ids), ids


@pytest.mark.parametrize(
    "origin", [o for o, image in declared().items() if image == "judge-worker"]
)
def test_each_judge_worker_judges_under_its_security_options(
    origin: str, services: dict[str, Service]
) -> None:
    """A worker that starts but cannot start a sandbox is no worker: judge a submission
    in its image with the options and environment its file gives it."""
    worker = services[origin]
    problem = REPO / "notebooks" / "leap-year"
    argv = ["run", "--rm", "--network", "none", "-v", f"{problem}:/nb:ro", *worker.options]
    for key, value in worker.environment.items():
        argv += ["-e", f"{key}={value}"]
    argv += ["codetutor/judge-worker:latest", "codetutor", "judge"]
    argv += ["/nb/problem.ipynb", "/nb/submissions/accepted.py", "--json"]
    proc = docker(*argv, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["verdict"] == "accepted", proc.stderr[-3000:]


def test_the_kubernetes_hub_runs_its_extra_config_from_the_hub_image(
    service_images: list[str],
) -> None:
    """Zero to JupyterHub runs the Hub from our hub image (values.yaml) with its own
    jupyterhub_config.py and our extraConfig: every module that names is in the image."""
    values = yaml.safe_load((DEPLOY / "kubernetes" / "values.yaml").read_text())["hub"]
    image = f"{values['image']['name']}:{values['image']['tag']}"
    match = OUR_IMAGE.search(image)
    assert match, image
    script = "from traitlets.config import Config\nc = Config()\n"
    script += "\n".join(values["extraConfig"].values()) + "\nprint(sorted(c))\n"
    proc = docker(
        "run", "--rm", "--network", "none", f"codetutor/{match['name']}:latest",
        "python", "-c", script,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "JupyterHub" in proc.stdout and "Spawner" in proc.stdout, proc.stdout
