"""The CI/CD workflow file: valid for GitHub Actions (its published JSON schema, as
vendored by check-jsonschema), every shell step parses, it mirrors .ci/run, and every
job's steps would run.

"Would run" is checked against the repository (:func:`reasons_not_to_run`): every
``hashFiles(...)`` pattern matches a file, every ``working-directory`` and ``cd`` is a
folder, every repository path a ``run:`` names exists, ``./dev`` and ``codetutor`` are
called with subcommands they have, npm finds its lock file and the scripts and
packages a step asks for, a ``node`` script gets every variable it reads, and the
images matrix names Dockerfiles that exist. A gate on a missing file makes a step
pass without running; these checks fail instead.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from codetutor.cli import CodeTutorApp

from .conftest import ROOT, venv_tool

WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
#: GitHub's expression syntax, ``${{ ... }}``
EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.S)
HASH_FILES = re.compile(r"hashFiles\(([^)]*)\)")
QUOTED = re.compile(r"'([^']*)'")
#: a relative path of two or more parts, standing alone as a shell word
PATH_WORD = re.compile(
    r"(?:^|(?<=[\s\"'(=<>|;]))(\.{0,2}/?[\w.@+-]+(?:/[\w.@+-]+)+/?)(?=$|[\s\"');|&>])"
)
#: where the deploy jobs' hosts keep this repository's deploy/ and monitoring/
DEPLOY_HOST_CHECKOUT = "/opt/codetutor"
NODE_ENV = re.compile(r"\benv\('([A-Z_]+)'\)")
NODE_REQUIRE = re.compile(r"require\('(\./[^']+)'\)")


@pytest.fixture(scope="module")
def workflow() -> dict[str, Any]:
    return load(WORKFLOW)


def load(path: Path) -> dict[str, Any]:
    parsed: dict[str, Any] = yaml.safe_load(path.read_text())
    # YAML 1.1 reads the key `on` as True
    if True in parsed:
        parsed["on"] = parsed.pop(True)
    return parsed


def steps(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


# -- the checker -------------------------------------------------------------------------


def strings(value: Any) -> Iterator[str]:
    """Every string in a parsed YAML value (keys and values), depth first."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def matrix_values(job: dict[str, Any]) -> list[dict[str, str]]:
    """The job's matrix combinations (one empty one without a matrix)."""
    matrix = job.get("strategy", {}).get("matrix", {})
    combos: list[dict[str, str]] = [{}]
    for key, values in matrix.items():
        if key in ("include", "exclude") or not isinstance(values, list):
            continue
        combos = [dict(c, **{key: str(v)}) for c in combos for v in values]
    return combos


def expand(text: str, combo: dict[str, str]) -> str:
    """``text`` with ``${{ matrix.X }}`` replaced by the combination's values."""
    return re.sub(
        r"\$\{\{\s*matrix\.(\w+)\s*\}\}", lambda m: combo.get(m.group(1), m.group(0)), text
    )


def dev_subcommands(root: Path) -> set[str]:
    """The subcommands ``./dev`` accepts (its final ``case``)."""
    text = (root / "dev").read_text()
    case = text[text.rindex('case "$cmd" in') :]
    return set(re.findall(r"^\s+([\w-]+)\)", case, re.M))


def node_variables(script: Path) -> set[str]:
    """The environment variables a node script and the local modules it requires read."""
    seen: set[Path] = set()
    names: set[str] = set()
    todo = [script]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        text = path.read_text()
        names.update(NODE_ENV.findall(text))
        for module in NODE_REQUIRE.findall(text):
            found = (path.parent / module).resolve()
            todo.append(found if found.suffix else found.with_suffix(".js"))
    return names


def check_npm(line: str, cwd: Path, where: str) -> Iterator[str]:
    """What stops an npm/npx command on ``line``, run in ``cwd``, from doing its work."""
    words = line.split()
    if not words or words[0] not in ("npm", "npx"):
        return
    package = cwd / "package.json"
    if not package.is_file():
        yield f"{where}: {words[0]} runs in {rel(cwd)}, which has no package.json"
        return
    manifest = json.loads(package.read_text())
    scripts = manifest.get("scripts", {})
    installed = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    if "--if-present" in words:
        yield f"{where}: `{line}` does nothing when the script is missing"
    if words[0] == "npx":
        tool = next((w for w in words[1:] if not w.startswith("-")), "")
        if tool not in installed:
            yield f"{where}: npx {tool} is not a dependency in {rel(package)} (npx would download it)"
        return
    command = words[1] if len(words) > 1 else ""
    if command in ("ci", "audit") and not (cwd / "package-lock.json").is_file():
        yield f"{where}: npm {command} needs {rel(cwd / 'package-lock.json')}"
    if command in ("test", "start") and command not in scripts:
        yield f"{where}: npm {command}: {rel(package)} has no {command!r} script"
    if command in ("run", "run-script"):
        script = next((w for w in words[2:] if not w.startswith("-")), "")
        if script not in scripts:
            yield f"{where}: npm run {script}: {rel(package)} has no such script"


def rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def check_run(script: str, cwd: Path, root: Path, where: str, env: dict[str, Any]) -> Iterator[str]:
    """What in one ``run:`` script names something the repository lacks."""
    script = EXPRESSION.sub("EXPR", script)
    dev = dev_subcommands(root)
    codetutor = set(CodeTutorApp.subcommands)
    provided = set(env)
    for line in script.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        provided.update(re.findall(r"(?:^|\s)(?:export\s+)?([A-Z_]+)=", line))
        provided.update(
            name
            for exported in re.findall(r"^export\s+(.*)$", line)
            for name in re.findall(r"(?:^|\s)([A-Z_]+)(?==|\s|$)", exported)
        )
        moved = re.match(r"cd\s+(\S+)", line)
        if moved:
            target = moved.group(1).strip("\"'")
            if target.startswith(DEPLOY_HOST_CHECKOUT):
                cwd = root / target[len(DEPLOY_HOST_CHECKOUT) :].lstrip("/")
            elif not target.startswith(("/", "$", "~")):
                cwd = cwd / target
            else:
                continue
            if not cwd.is_dir():
                yield f"{where}: cd {target}: {rel(cwd)} is not a folder"
            continue
        for word in PATH_WORD.findall(line):
            if word.startswith((".venv/", "./.venv/")):
                continue  # made by an earlier step
            if word.startswith("/"):
                if not word.startswith(DEPLOY_HOST_CHECKOUT + "/"):
                    continue  # the runner's or a host's own files
                path = root / word[len(DEPLOY_HOST_CHECKOUT) + 1 :]
            else:
                path = cwd / word
            if not path.exists():
                yield f"{where}: {word} (from {rel(cwd)}) does not exist"
        for sub in re.findall(r"(?:^|[\s;&|])(?:bash\s+)?\./dev\s+([\w-]+)", line):
            if sub not in dev:
                yield f"{where}: ./dev has no subcommand {sub!r} (it has {sorted(dev)})"
        for sub in re.findall(r"(?:^|[\s/])codetutor\s+([\w-]+)", line):
            if sub not in codetutor:
                yield f"{where}: codetutor has no subcommand {sub!r}"
        yield from check_npm(line, cwd, where)
        for node_script in re.findall(r"(?:^|\s)node\s+([\w./-]+\.js)", line):
            missing = node_variables(cwd / node_script) - provided
            if missing:
                yield f"{where}: node {node_script} reads {sorted(missing)}, never set"


def reasons_not_to_run(workflow: dict[str, Any], root: Path = ROOT) -> list[str]:
    """Why some step of ``workflow`` would not run (or run and do nothing) in ``root``."""
    found: list[str] = []
    jobs: dict[str, Any] = workflow["jobs"]
    top_dir = workflow.get("defaults", {}).get("run", {}).get("working-directory")
    for name, job in jobs.items():
        needs = job.get("needs", [])
        for need in [needs] if isinstance(needs, str) else needs:
            if need not in jobs:
                found.append(f"{name}: needs {need!r}, no such job")
        for text in strings(job):
            for args in HASH_FILES.findall(text):
                for pattern in QUOTED.findall(args):
                    if not any(root.glob(pattern)):
                        found.append(f"{name}: hashFiles({pattern!r}) matches no file")
        job_dir = job.get("defaults", {}).get("run", {}).get("working-directory", top_dir)
        for combo in matrix_values(job):
            for i, step in enumerate(job.get("steps", [])):
                where = f"{name}: step {i + 1} ({step.get('name') or step.get('uses')})"
                directory = step.get("working-directory", job_dir)
                cwd = root / expand(directory, combo) if directory else root
                if directory and not cwd.is_dir():
                    found.append(f"{where}: working-directory {directory} is not a folder")
                    continue
                uses = str(step.get("uses", ""))
                if uses.startswith("./") and not (root / uses).exists():
                    found.append(f"{where}: uses {uses}, which does not exist")
                if uses.startswith("docker/build-push-action"):
                    options = step.get("with", {})
                    for key in ("context", "file"):
                        if key in options and not (root / expand(options[key], combo)).exists():
                            found.append(
                                f"{where}: {key} {expand(options[key], combo)} does not exist"
                            )
                if "run" in step:
                    env = {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}
                    found.extend(check_run(expand(step["run"], combo), cwd, root, where, env))
    return sorted(set(found))


# -- the workflow ----------------------------------------------------------------------


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
            script = EXPRESSION.sub("EXPR", step["run"])
            result = subprocess.run(
                ["bash", "-n"], input=script, capture_output=True, text=True, timeout=30
            )
            assert result.returncode == 0, f"{name}: {step.get('name')}: {result.stderr}"


def test_every_step_would_run(workflow: dict[str, Any]) -> None:
    assert reasons_not_to_run(workflow) == []


def test_no_step_is_skipped_by_a_file_gate(workflow: dict[str, Any]) -> None:
    """A step or job that runs only if some file exists passes silently without it."""
    for name, job in workflow["jobs"].items():
        assert "hashFiles" not in str(job.get("if", "")), name
        for step in job["steps"]:
            assert "hashFiles" not in str(step.get("if", "")), (name, step.get("name"))


BROKEN = """
jobs:
  frontend:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@v4
      - name: Install, lint, test, build
        if: hashFiles('extensions/package.json') != ''
        working-directory: extensions
        run: |
          npm ci
          npm run lint --if-present
          npm test
  browser-tests:
    needs: deploy-staging
    runs-on: ubuntu-24.04
    steps:
      - name: Playwright against staging
        if: hashFiles('tests/e2e/package.json') != ''
        working-directory: tests/e2e
        run: |
          npm ci
          npx playwright test
      - run: ./dev tests && node tests/browser/student_flow.js && bash deploy/scripts/nothing.sh
"""


def test_the_checker_finds_gates_and_steps_that_would_not_run() -> None:
    """What the workflow used to do: gates on files that did not exist, and more."""
    found = "\n".join(reasons_not_to_run(yaml.safe_load(BROKEN)))
    for expected in (
        "hashFiles('extensions/package.json') matches no file",
        "hashFiles('tests/e2e/package.json') matches no file",
        "npm runs in extensions, which has no package.json",
        "npm runs in tests/e2e, which has no package.json",
        "needs 'deploy-staging', no such job",
        "./dev has no subcommand 'tests'",
        "node tests/browser/student_flow.js reads",
        "deploy/scripts/nothing.sh (from .) does not exist",
    ):
        assert expected in found, found


def test_the_checker_reads_npm_and_the_deploy_hosts_checkout(tmp_path: Path) -> None:
    (tmp_path / "dev").write_text('case "$cmd" in\n    test) run ;;\nesac\n')
    front = tmp_path / "front"
    front.mkdir()
    (front / "package.json").write_text(json.dumps({"scripts": {"test": "jest"}}))
    (tmp_path / "deploy" / "scripts").mkdir(parents=True)
    (tmp_path / "deploy" / "scripts" / "backup.sh").write_text("")
    workflow = {
        "jobs": {
            "a": {
                "steps": [
                    {"working-directory": "front", "run": "npm ci\nnpm run build\nnpx tsc"},
                    {"run": "cd /opt/codetutor/deploy\n./scripts/backup.sh\n./scripts/gone.sh"},
                ]
            }
        }
    }
    found = "\n".join(reasons_not_to_run(workflow, tmp_path))
    assert "npm ci needs" in found and "package-lock.json" in found
    assert "npm run build" in found and "npx tsc" in found
    assert "./scripts/gone.sh" in found and "backup.sh" not in found


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


def test_the_front_end_job_tests_the_labextension(workflow: dict[str, Any]) -> None:
    job = workflow["jobs"]["frontend"]
    run = [s for s in job["steps"] if "run" in s]
    assert run and all(s["working-directory"] == "extensions/labextension" for s in run)
    assert "npm test" in steps(job)


def test_audits_fail_the_build(workflow: dict[str, Any]) -> None:
    script = steps(workflow["jobs"]["security"])
    assert "pip-audit" in script and "npm audit" in script
    assert "|| true" not in WORKFLOW.read_text()
    audit = next(
        s for s in workflow["jobs"]["security"]["steps"] if "npm audit" in s.get("run", "")
    )
    assert (ROOT / audit["working-directory"] / "package-lock.json").is_file()


def test_pipeline_order_and_gates(workflow: dict[str, Any]) -> None:
    jobs = workflow["jobs"]
    assert set(jobs["images"]["needs"]) == {"lint", "test", "integration", "frontend", "security"}
    assert jobs["deploy-staging"]["needs"] == "images"
    assert jobs["browser-tests"]["needs"] == "deploy-staging"
    assert jobs["deploy-production"]["needs"] == "browser-tests"
    assert "refs/heads/main" in jobs["deploy-staging"]["if"]
    assert jobs["deploy-production"]["environment"] == "production"
    images = jobs["images"]["strategy"]["matrix"]["image"]
    built = {p.parent.name for p in (ROOT / "deploy" / "images").glob("*/Dockerfile")}
    # every image but the wheel stage, which build.sh builds first and nothing runs
    assert set(images) == built - {"wheel"}
    assert "deploy/images/build.sh ${{ matrix.image }}" in steps(jobs["images"])
    assert "node tests/browser/student_flow.js" in steps(jobs["browser-tests"])


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
