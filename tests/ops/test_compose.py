"""deploy/docker-compose.yml and .env.example, checked by the Compose CLI itself."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import DEPLOY, MONITORING, venv_tool

COMPOSE_FILE = DEPLOY / "docker-compose.yml"
ENV_EXAMPLE = DEPLOY / ".env.example"

#: The services the issue asks for, by role.
EXPECTED_SERVICES = {
    "nginx",
    "hub",
    "judge-worker",
    "llm",
    "db",
    "redis",
    "prometheus",
    "grafana",
    "loki",
    "vector",
    "node-exporter",
    "postgres-exporter",
    "redis-exporter",
    "nginx-exporter",
    "dcgm-exporter",
}

#: Scratch images without any program to run a check with (watched by TargetDown).
NO_HEALTHCHECK = {"nginx-exporter"}


def env_values() -> dict[str, str]:
    """A complete env file as an operator would write it (every secret distinct)."""
    values: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    for key, value in values.items():
        if value == "change-me":
            values[key] = f"secret-{key.lower()}-0123456789"
    return values


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [venv_tool("docker-compose"), "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=DEPLOY,
        env={"PATH": "/usr/bin:/bin", "HOME": str(env_file.parent)},
    )


def write_env(path: Path, values: dict[str, str]) -> Path:
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    env = write_env(tmp_path_factory.mktemp("compose") / "test.env", env_values())
    result = compose(env, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def test_every_service_is_there(config: dict[str, Any]) -> None:
    assert set(config["services"]) == EXPECTED_SERVICES


def test_restart_health_logging_and_network(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        assert service.get("restart") == "unless-stopped", name
        assert service["logging"]["options"]["max-size"], name
        assert "codetutor" in service["networks"], name
        if name not in NO_HEALTHCHECK:
            check = service.get("healthcheck", {})
            assert check.get("test") and not check.get("disable"), name
            assert check.get("interval") and check.get("retries"), name


def test_volumes_are_named_and_networks_declared(config: dict[str, Any]) -> None:
    assert set(config["volumes"]) >= {
        "postgres_data",
        "redis_data",
        "hub_data",
        "prometheus_data",
        "grafana_data",
        "loki_data",
    }
    assert config["networks"]["codetutor"]["name"] == "codetutor"
    # user servers live on an internal network that only the Hub shares
    assert config["networks"]["users"]["internal"] is True
    on_users = {n for n, s in config["services"].items() if "users" in s["networks"]}
    assert on_users == {"hub"}
    hub_env = config["services"]["hub"]["environment"]
    assert hub_env["CODETUTOR_DOCKER_NETWORK"] == config["networks"]["users"]["name"]


def test_database_and_cache_as_in_the_original(config: dict[str, Any]) -> None:
    db = config["services"]["db"]
    assert db["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v["target"].startswith("/docker-entrypoint-initdb.d/") for v in db["volumes"])
    redis = config["services"]["redis"]
    assert redis["image"].startswith("redis:7")
    command = redis["command"]
    pairs = dict(zip(command[1::2], command[2::2], strict=False))
    assert pairs["--appendonly"] == "yes"
    assert pairs["--maxmemory"] == "256mb"
    assert pairs["--maxmemory-policy"] == "allkeys-lru"


def test_llm_reserves_the_gpu(config: dict[str, Any]) -> None:
    devices = config["services"]["llm"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]


def test_hub_spawns_with_docker_and_waits_for_state(config: dict[str, Any]) -> None:
    hub = config["services"]["hub"]
    assert any(v.get("source") == "/var/run/docker.sock" for v in hub["volumes"])
    assert hub["environment"]["CODETUTOR_MODE"] == "production"
    assert hub["depends_on"]["db"]["condition"] == "service_healthy"
    assert hub["depends_on"]["redis"]["condition"] == "service_healthy"
    assert config["services"]["nginx"]["depends_on"]["hub"]["condition"] == "service_healthy"
    # only the Hub (which spawns user containers) and the log shipper (read-only)
    # see the Docker socket; never what runs students' code
    with_socket = {
        name
        for name, service in config["services"].items()
        if any(v.get("source") == "/var/run/docker.sock" for v in service.get("volumes", []))
    }
    assert with_socket == {"hub", "vector"}


def test_secrets_only_come_from_the_env_file(config: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text()
    values = env_values()
    for key in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "LLM_API_KEY", "JUPYTERHUB_CRYPT_KEY"):
        assert values[key] not in text
        assert values[key] in json.dumps(config), key


def test_env_example_documents_every_variable() -> None:
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text())) - {"VAR"}
    documented = set(env_values())
    assert used - documented == set()
    # each documented variable is explained by a comment above it or its group
    assert "REQUIRED" in ENV_EXAMPLE.read_text()


def test_env_example_itself_is_a_valid_env_file() -> None:
    result = compose(ENV_EXAMPLE, "config", "--quiet")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("missing", ["POSTGRES_PASSWORD", "REDIS_PASSWORD", "CODETUTOR_DOMAIN"])
def test_a_missing_secret_is_refused(tmp_path: Path, missing: str) -> None:
    values = env_values()
    del values[missing]
    result = compose(write_env(tmp_path / "partial.env", values), "config", "--quiet")
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_the_pieces_point_at_each_other(config: dict[str, Any]) -> None:
    """Prometheus, Grafana, Vector and nginx name services and ports the stack has."""
    services = config["services"]
    hub_env = services["hub"]["environment"]
    hub_ports = {
        hub_env["CODETUTOR_PORT"],
        hub_env["CODETUTOR_HUB_PORT"],
        hub_env.get("CODETUTOR_JUDGE_PORT", "10101"),
        hub_env.get("CODETUTOR_TUTOR_PORT", "10102"),
        hub_env.get("CODETUTOR_DASHBOARD_PORT", "10103"),
    }
    prometheus = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    for job in prometheus["scrape_configs"]:
        for target in job["static_configs"][0]["targets"]:
            host, port = target.rsplit(":", 1)
            assert host == "localhost" or host in services, (job["job_name"], target)
            if host == "hub":
                assert port in hub_ports, (job["job_name"], target)
    mounts = {v["target"]: v["source"] for v in services["prometheus"]["volumes"]}
    assert mounts["/etc/prometheus/prometheus.yml"].endswith("monitoring/prometheus.yml")
    assert mounts["/etc/prometheus/rules"].endswith("monitoring/rules")

    sources = yaml.safe_load(
        (MONITORING / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    )
    for source in sources["datasources"]:
        host = source["url"].split("//", 1)[1].split(":", 1)[0]
        assert host in services, source["url"]
    vector = yaml.safe_load((MONITORING / "vector" / "vector.yaml").read_text())
    assert vector["sinks"]["loki"]["endpoint"].split("//", 1)[1].split(":", 1)[0] in services
    assert any(v["source"] == "/var/run/docker.sock" for v in services["vector"]["volumes"]), (
        "the shipper reads container logs from the Docker socket"
    )

    nginx_env = services["nginx"]["environment"]
    assert nginx_env["CODETUTOR_UPSTREAM"] == f"hub:{hub_env['CODETUTOR_PORT']}"
    exporter = " ".join(services["nginx-exporter"]["command"])
    assert f"nginx:{nginx_env['CODETUTOR_STATUS_PORT']}/stub_status" in exporter


def test_judge_worker_may_run_bubblewrap_but_not_reach_docker(config: dict[str, Any]) -> None:
    # What bubblewrap needs inside a container (tests/docker runs the judge-worker image
    # with exactly these options): user namespaces, and a /proc it may mount.
    worker = config["services"]["judge-worker"]
    assert set(worker["security_opt"]) == {
        "seccomp=unconfined",
        "apparmor=unconfined",
        "systempaths=unconfined",
    }
    assert not worker.get("privileged")
    assert not any("docker.sock" in str(v.get("source")) for v in worker.get("volumes", []))


def test_cpu_llm_profile_serves_the_llm_under_the_same_name(tmp_path: Path) -> None:
    values = {**env_values(), "COMPOSE_PROFILES": "cpu-llm"}
    result = compose(write_env(tmp_path / "cpu.env", values), "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert "llm" not in services and "dcgm-exporter" not in services
    llm = services["llm-cpu"]
    assert llm["image"] == "codetutor/llm:latest"
    assert "llm" in llm["networks"]["codetutor"]["aliases"]
    assert "--gpu-layers=-1" not in llm["command"]
    assert llm["environment"]["CODETUTOR_LLM_API_KEYS"] == values["LLM_API_KEY"]
    assert "devices" not in llm.get("deploy", {}).get("resources", {}).get("reservations", {})
    # the tutor's default address reaches it
    assert services["hub"]["environment"]["CODETUTOR_LLM_URL"] == "http://llm:8765/v1"
