"""The CI/CD workflow file: valid for GitHub Actions (its published JSON schema, as
vendored by check-jsonschema), every shell step parses, and it mirrors .ci/run."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from .conftest import ROOT, venv_tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return parsed


def steps(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_schema() -> None:
    result = subprocess.run(
        [
            venv_tool("check-jsonschema"),
            "--builtin-schema",
            "vendor.github-workflows",
            str(WORKFLOW),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_shell_step_parses(workflow: dict[str, Any]) -> None:
    for name, job in workflow["jobs"].items():
        for step in job["steps"]:
            if "run" not in step:
                continue
            script = re.sub(r"\$\{\{.*?\}\}", "EXPR", step["run"])
            result = subprocess.run(
                ["bash", "-n"], input=script, capture_output=True, text=True, timeout=30
            )
            assert result.returncode == 0, f"{name}: {step.get('name')}: {result.stderr}"


def test_the_test_job_runs_what_ci_runs_here(workflow: dict[str, Any]) -> None:
    ci_run = (ROOT / ".ci" / "run").read_text()
    assert "./dev test" in ci_run
    test = workflow["jobs"]["test"]
    assert ".ci/run" in steps(test)
    assert any(step.get("env", {}).get("CI") == "true" for step in test["steps"])
    assert "ruff check" in steps(workflow["jobs"]["lint"])


def test_integration_uses_the_production_database_and_cache(workflow: dict[str, Any]) -> None:
    services = workflow["jobs"]["integration"]["services"]
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    script = steps(workflow["jobs"]["integration"])
    assert "judge-service" in script and "backup.sh" in script and "restore.sh" in script


def test_audits_fail_the_build(workflow: dict[str, Any]) -> None:
    script = steps(workflow["jobs"]["security"])
    assert "pip-audit" in script and "npm audit" in script
    assert "|| true" not in WORKFLOW.read_text()


def test_pipeline_order_and_gates(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert set(jobs["images"]["needs"]) == {"lint", "test", "integration", "frontend", "security"}
    assert jobs["deploy-staging"]["needs"] == "images"
    assert jobs["browser-tests"]["needs"] == "deploy-staging"
    assert jobs["deploy-production"]["needs"] == "browser-tests"
    assert "refs/heads/main" in jobs["deploy-staging"]["if"]
    assert jobs["deploy-production"]["environment"] == "production"
    images = jobs["images"]["strategy"]["matrix"]["image"]
    assert set(images) == {"hub", "singleuser", "judge-worker", "judge-kernel", "llm", "llm-cuda"}
    assert "playwright test" in steps(jobs["browser-tests"])


def test_production_deploy_backs_up_checks_health_and_rolls_back(
    workflow: dict[str, Any],
) -> None:
    script = steps(workflow["jobs"]["deploy-production"])
    backup = script.index("./scripts/backup.sh")
    up = script.index("docker compose up -d")
    health = script.index("/hub/health")
    rollback = script.index("./scripts/rollback.sh")
    assert backup < up < health < rollback
    assert "releases.log" in script
