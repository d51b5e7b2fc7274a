"""deploy/kubernetes: Code Tutor's own manifests against the Kubernetes API schemas
(kubernetes-validate, strict: unknown fields fail), and the Zero to JupyterHub
values against our transcription of the chart's documented keys, with the embedded
Kubernetes objects and the Hub's extraConfig checked for real.

Not run here: helm lint / helm template with the chart itself, and a cluster."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from traitlets.config import Config

from .conftest import DEPLOY, ROOT, venv_tool

K8S = DEPLOY / "kubernetes"
SCHEMA = Path(__file__).parent / "files" / "z2jh-values-subset.schema.yaml"
KUBERNETES_VERSION = "1.30.0"


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((K8S / "values.yaml").read_text())
    return loaded


def manifests() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all((K8S / "codetutor.yaml").read_text()) if doc]


def test_manifests_pass_strict_kubernetes_schemas() -> None:
    result = subprocess.run(
        [
            venv_tool("kubernetes-validate"),
            "--strict",
            "-k",
            KUBERNETES_VERSION,
            str(K8S / "codetutor.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed for resource") == len(manifests())


def test_strict_validation_catches_a_misplaced_field() -> None:
    deployment = next(m for m in manifests() if m["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["replica"] = 3
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_services_and_policies_fit_together() -> None:
    docs = manifests()
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    assert set(deployments) == {"judge", "judge-worker", "tutor", "dashboard", "llm"}
    for name, service in services.items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items(), name
    llm = deployments["llm"]["spec"]["template"]["spec"]["containers"][0]
    assert llm["resources"]["limits"]["nvidia.com/gpu"] == 1
    policies = {d["metadata"]["name"]: d for d in docs if d["kind"] == "NetworkPolicy"}
    worker = policies["codetutor-judge-worker"]["spec"]
    assert worker["ingress"] == [] and set(worker["policyTypes"]) == {"Ingress", "Egress"}
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "judge-worker"


def test_values_use_only_documented_chart_keys(values: dict[str, Any]) -> None:
    schema = yaml.safe_load(SCHEMA.read_text())
    jsonschema.validate(values, schema)
    misspelt = {**values, "singleuser": {**values["singleuser"], "networkPolicys": {}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, schema)


def test_values_embed_valid_kubernetes_objects(values: dict[str, Any]) -> None:
    egress = values["singleuser"]["networkPolicy"]["egress"]
    policy = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "singleuser"},
        "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": egress},
    }
    kubernetes_validate.validate(policy, KUBERNETES_VERSION, strict=True)
    env = [{"name": k, **v} for k, v in values["hub"]["extraEnv"].items()]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hub"},
        "spec": {"containers": [{"name": "hub", "image": "x", "env": env}]},
    }
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    # student servers reach exactly the judge and tutor ports
    ports = sorted(p["port"] for rule in egress for p in rule["ports"])
    assert ports == [10101, 10102]
    assert not any(
        values["singleuser"]["networkPolicy"]["egressAllowRules"][k]
        for k in ("nonPrivateIPs", "privateIPs", "cloudMetadataServer")
    )


def test_hub_extra_config_runs_against_our_code(values: dict[str, Any]) -> None:
    from codetutor.hub import roles

    c = Config()
    for name, source in values["hub"]["extraConfig"].items():
        exec(compile(source, f"extraConfig.{name}", "exec"), {"c": c})
    assert c.JupyterHub.custom_scopes == roles.CUSTOM_SCOPES
    assert c.JupyterHub.load_roles == roles.load_roles()
    assert c.JupyterHub.logging_config["handlers"]["console"]["formatter"] == "json"
    environment = c.KubeSpawner.environment.get_value({})
    assert environment["CODETUTOR_JUDGE_URL"].startswith("http://judge:10101/")
    services = values["hub"]["services"]
    judge = next(
        m for m in manifests() if m["metadata"]["name"] == "judge" and m["kind"] == "Deployment"
    )
    assert services["judge"]["url"] == "http://judge:10101"
    tokens = [
        e["valueFrom"]["secretKeyRef"]["key"]
        for e in judge["spec"]["template"]["spec"]["containers"][0]["env"]
        if e["name"] == "JUPYTERHUB_API_TOKEN"
    ]
    assert tokens == ["hub.services.judge.apiToken"]
    # every Deployment that is a Hub service is declared in the chart's values, under
    # the name its token and OAuth client use
    for name in ("judge", "tutor", "dashboard"):
        deployment = next(
            m for m in manifests() if m["metadata"]["name"] == name and m["kind"] == "Deployment"
        )
        env = {e["name"]: e for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["JUPYTERHUB_SERVICE_NAME"]["value"] == name
        key = env["JUPYTERHUB_API_TOKEN"]["valueFrom"]["secretKeyRef"]["key"]
        assert key == f"hub.services.{name}.apiToken"
        assert services[name]["url"].startswith(f"http://{name}:")
    assert services["dashboard"]["display"] is True


def test_yaml_lint_of_every_operations_file() -> None:
    files = [
        DEPLOY / "docker-compose.yml",
        K8S / "values.yaml",
        K8S / "codetutor.yaml",
        ROOT / ".github" / "workflows" / "ci.yml",
        *sorted((ROOT / "monitoring").rglob("*.yml")),
        *sorted((ROOT / "monitoring").rglob("*.yaml")),
    ]
    config = (
        "{extends: default, rules: {line-length: {max: 200}, document-start: disable, "
        "truthy: {check-keys: false}, comments: {min-spaces-from-content: 1}, "
        "braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}}}"
    )
    result = subprocess.run(
        [venv_tool("yamllint"), "-f", "parsable", "-d", config, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
