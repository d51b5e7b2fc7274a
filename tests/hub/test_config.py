"""jupyterhub_config.py and the choices behind it (embedded default and production)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config, PyFileConfigLoader

from codetutor.hub import roles
from codetutor.hub.config import HubSettings

REPO = Path(__file__).resolve().parents[2]


def load_hub_config(monkeypatch: pytest.MonkeyPatch, **env: str) -> Config:
    """What the Hub reads from jupyterhub_config.py with ``env`` (CODETUTOR_*) set."""
    for name in [n for n in os.environ if n.startswith("CODETUTOR_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(REPO)).load_config()


def service(config: Config, name: str) -> dict[str, Any]:
    return next(s for s in config.JupyterHub.services if s["name"] == name)


def test_scopes_are_the_ones_the_services_check() -> None:
    from codetutor.judge import service as judge_service
    from codetutor.judge.service import tutoring

    assert roles.SCOPE_SUBMIT == judge_service.SCOPE_SUBMIT
    assert roles.SCOPE_READ_ALL == judge_service.SCOPE_READ_ALL
    assert roles.SCOPE_PUBLISH == judge_service.SCOPE_PUBLISH
    assert roles.SCOPE_TUTOR == tutoring.SCOPE_TUTOR
    assert set(roles.CUSTOM_SCOPES) == {
        judge_service.SCOPE_SUBMIT,
        judge_service.SCOPE_READ_ALL,
        judge_service.SCOPE_PUBLISH,
        tutoring.SCOPE_TUTOR,
    }


def test_students_by_default_and_instructors_by_group() -> None:
    by_name = {r["name"]: r for r in roles.load_roles()}
    student = set(by_name["user"]["scopes"])
    instructor = set(by_name["instructor"]["scopes"])
    assert {roles.SCOPE_SUBMIT, "access:services!service=judge"} <= student
    assert "access:services!service=tutor" in student
    assert not {roles.SCOPE_READ_ALL, roles.SCOPE_PUBLISH} & student
    # the class dashboard is for instructors (the Hub lists it in their Services menu only)
    assert roles.DASHBOARD_ACCESS in instructor and roles.DASHBOARD_ACCESS not in student
    assert {roles.SCOPE_READ_ALL, roles.SCOPE_PUBLISH, roles.SCOPE_SUBMIT} <= instructor
    assert by_name["instructor"]["groups"] == [roles.INSTRUCTORS]
    assert by_name["idle-culler"]["services"] == [roles.CULLER_SERVICE]
    # the tutor service's own token, and nobody else, reaches the judge's tutor endpoints
    assert by_name["tutor-service"]["services"] == [roles.TUTOR_SERVICE]
    assert roles.SCOPE_TUTOR in by_name["tutor-service"]["scopes"]
    assert not any(
        roles.SCOPE_TUTOR in r.get("scopes", [])
        for r in by_name.values()
        if r["name"] != "tutor-service"
    )
    assert roles.SCOPE_TUTOR not in roles.server_token_scopes()
    assert "admin" not in by_name
    with_admin = {r["name"]: r for r in roles.load_roles(admin_service=True)}
    assert with_admin["admin"] == {"name": "admin", "services": [roles.ADMIN_SERVICE]}
    assert with_admin["instructor"]["services"] == [roles.ADMIN_SERVICE]
    # a server may ask for everything; the Hub grants the subset its owner holds
    assert set(roles.server_token_scopes()) >= student - {"self"} | instructor


def test_embedded_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = load_hub_config(
        monkeypatch,
        CODETUTOR_DATA_DIR=str(tmp_path),
        CODETUTOR_PORT="18123",
        CODETUTOR_JUDGE_PORT="18124",
        CODETUTOR_TUTOR_PORT="18125",
        CODETUTOR_ADMIN_TOKEN="secret",
    )
    hub = config.JupyterHub
    assert hub.spawner_class == "codetutor.hub.spawner.BubblewrapSpawner"
    assert hub.authenticator_class == "codetutor.hub.auth.CodeTutorAuthenticator"
    assert hub.bind_url == "http://127.0.0.1:18123"
    assert hub.db_url == f"sqlite:///{tmp_path}/hub/jupyterhub.sqlite"
    assert config.BubblewrapSpawner.homes_dir == str(tmp_path / "users")
    assert hub.authenticate_prometheus is False
    assert set(hub.custom_scopes) == set(roles.CUSTOM_SCOPES)
    assert [s["name"] for s in hub.services] == [
        "judge",
        "tutor",
        roles.DASHBOARD_SERVICE,
        "idle-culler",
        roles.ADMIN_SERVICE,
    ]
    dashboard = service(config, roles.DASHBOARD_SERVICE)
    assert dashboard["display"] is True and dashboard["url"].startswith("http://127.0.0.1:")
    transcripts = f"--Transcripts.url=sqlite:///{tmp_path}/tutor/transcripts.sqlite"
    assert dashboard["command"][-3:] == [
        "dashboard",
        f"--db-url=sqlite:///{tmp_path}/judge/judge.sqlite",
        transcripts,
    ]
    # the tutor records conversations where the dashboard reads them
    assert transcripts in service(config, "tutor")["command"]
    judge = service(config, "judge")
    assert judge["url"] == "http://127.0.0.1:18124"
    assert f"--db-url=sqlite:///{tmp_path}/judge/judge.sqlite" in judge["command"]
    assert not any(a.startswith("--redis-url") for a in judge["command"])
    assert "--port=18125" in service(config, "tutor")["command"]
    tutor = service(config, "tutor")["command"]
    assert "--JudgeClient.url=http://127.0.0.1:18124/services/judge/" in tutor
    assert not any("judge_db_url" in a or "problem_dirs" in a for a in tutor)
    assert service(config, roles.ADMIN_SERVICE)["api_token"] == "secret"
    assert config.Spawner.environment == {
        "CODETUTOR_JUDGE_URL": "http://127.0.0.1:18124/services/judge/",
        "CODETUTOR_TUTOR_URL": "http://127.0.0.1:18125/services/tutor/",
    }
    assert config.NativeAuthenticator.allowed_failed_logins > 0
    assert config.NativeAuthenticator.open_signup is False


def test_production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    metrics_token = tmp_path / "hub_metrics_token"
    metrics_token.write_text("prometheus-secret\n")
    config = load_hub_config(
        monkeypatch,
        CODETUTOR_MODE="production",
        CODETUTOR_DATA_DIR=str(tmp_path),
        CODETUTOR_JUDGE_DB_URL="postgresql://judge@db/judge",
        CODETUTOR_HUB_DB_URL="postgresql://hub@db/hub",
        CODETUTOR_REDIS_URL="redis://redis:6379/0",
        CODETUTOR_SERVICES_HOST="hub",
        CODETUTOR_HUB_CONNECT_IP="hub",
        CODETUTOR_USER_IMAGE="registry.example/codetutor-user:1",
        CODETUTOR_LLM_URL="http://llm:8080/v1",
        CODETUTOR_METRICS_TOKEN_FILE=str(metrics_token),
        CODETUTOR_LLM_API_KEY="llm-key",
    )
    hub = config.JupyterHub
    assert hub.spawner_class == "dockerspawner.DockerSpawner"
    assert hub.authenticator_class == "generic-oauth"
    assert hub.bind_url == "http://0.0.0.0:8000"
    assert hub.hub_connect_ip == "hub"
    assert hub.db_url == "postgresql://hub@db/hub"
    assert hub.authenticate_prometheus is True
    assert config.DockerSpawner.image == "registry.example/codetutor-user:1"
    assert config.DockerSpawner.network_name == "codetutor-internal"
    assert config.DockerSpawner.volumes == {"codetutor-user-{username}": "/home/jovyan/work"}
    assert config.Spawner.mem_limit == "2G" and config.Spawner.cpu_limit == 1.0
    judge = service(config, "judge")
    assert "--db-url=postgresql://judge@db/judge" in judge["command"]
    assert "--redis-url=redis://redis:6379/0" in judge["command"]
    assert "--llm-url=http://llm:8080/v1" in service(config, "tutor")["command"]
    # conversations go to the judge's database server (a table of their own)
    for name in ("tutor", roles.DASHBOARD_SERVICE):
        assert "--Transcripts.url=postgresql://judge@db/judge" in service(config, name)["command"]
    assert service(config, "tutor")["environment"] == {"CODETUTOR_LLM_API_KEY": "llm-key"}
    assert roles.ADMIN_SERVICE not in [s["name"] for s in hub.services]
    assert service(config, roles.METRICS_SERVICE)["api_token"] == "prometheus-secret"
    metrics_role = next(r for r in hub.load_roles if r["name"] == "metrics")
    assert metrics_role["scopes"] == ["read:metrics"]
    assert metrics_role["services"] == [roles.METRICS_SERVICE]
    assert config.Spawner.environment["CODETUTOR_JUDGE_URL"] == "http://hub:10101/services/judge/"


def test_traitlets_config_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODETUTOR_MODE", "production")
    config = Config()
    config.HubSettings.mode = "embedded"
    config.HubSettings.port = 9999
    settings = HubSettings(config=config)
    assert settings.embedded and settings.bind_url == "http://127.0.0.1:9999"
    monkeypatch.setenv("CODETUTOR_MODE", "staging")
    with pytest.raises(Exception, match="staging"):
        HubSettings().mode  # noqa: B018


def test_user_servers_get_every_folder_of_the_package() -> None:
    # An editable install maps judge/, hub/, tutor/, insight/ and extensions/ into the
    # package: a user server that saw only codetutor/ could not load the extension.
    import importlib
    from pathlib import Path

    from codetutor.hub.spawner import package_paths

    paths = [Path(p) for p in package_paths()]
    for name in (
        "codetutor",
        "codetutor.extensions",
        "codetutor.judge",
        "codetutor.tutor",
        "codetutor.hub",
        "codetutor.insight",
        "codetutor.web",
    ):
        module = importlib.import_module(name)
        folder = Path(module.__file__ or "").resolve().parent
        assert any(folder == p or p in folder.parents for p in paths), (name, folder)
    # and nothing of the repository around them: not its notebooks, not its tests
    repo = Path(__file__).resolve().parents[2]
    assert repo not in paths


def test_user_server_cgroups_follow_the_hosts_mode(monkeypatch: Any, tmp_path: Any) -> None:
    from codetutor.cgroups import V1Cgroup, V2Cgroup
    from codetutor.hub.spawner import UserV1Cgroup, UserV2Cgroup, user_cgroup_class

    monkeypatch.setenv("CODETUTOR_CGROUPS", "none")
    assert user_cgroup_class("/sys/fs/cgroup") is None
    monkeypatch.setenv("CODETUTOR_CGROUPS", "auto")
    expected = (
        UserV2Cgroup
        if V2Cgroup.usable("/sys/fs/cgroup")
        else UserV1Cgroup
        if V1Cgroup.usable("/sys/fs/cgroup")
        else None
    )
    assert user_cgroup_class("/sys/fs/cgroup") is expected
    # v2's CPU quota is cpu.max ("QUOTA PERIOD"), and v2 groups need the cpu controller
    group = object.__new__(UserV2Cgroup)
    group.path = tmp_path
    group.set_cpu(1.5)
    assert (tmp_path / "cpu.max").read_text() == "150000 100000"
    assert "cpu" in UserV2Cgroup.CONTROLLERS
