"""LTI in the Hub's configuration: one setting turns on LMS login and grade passback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codetutor.hub.config import HubSettings

REPO = Path(__file__).resolve().parents[2]


def test_an_lti_registration_switches_login_to_the_lms_and_passback_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODETUTOR_LTI_CONFIG", raising=False)
    plain = HubSettings(data_dir=str(tmp_path))
    assert plain.authenticator_class == "codetutor.hub.auth.CodeTutorAuthenticator"
    (judge,) = [s for s in plain.services() if s["name"] == "judge"]
    assert not any("GradePassback" in arg for arg in judge["command"])

    monkeypatch.setenv("CODETUTOR_LTI_CONFIG", str(tmp_path / "lti.json"))
    for mode in ("embedded", "production"):
        settings = HubSettings(data_dir=str(tmp_path), mode=mode)
        assert settings.authenticator_class == "codetutor.hub.lti.LTIAuthenticator"
        (judge,) = [s for s in settings.services() if s["name"] == "judge"]
        assert f"--GradePassback.tool_config_file={tmp_path / 'lti.json'}" in judge["command"]


def test_jupyterhub_config_hands_the_registration_to_the_authenticator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from traitlets.config import PyFileConfigLoader

    for name in [n for n in os.environ if n.startswith("CODETUTOR_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CODETUTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CODETUTOR_LTI_CONFIG", str(tmp_path / "lti.json"))
    config = PyFileConfigLoader("jupyterhub_config.py", path=str(REPO)).load_config()
    assert config.JupyterHub.authenticator_class == "codetutor.hub.lti.LTIAuthenticator"
    assert config.LTIAuthenticator.tool_config_file == str(tmp_path / "lti.json")
    assert config.LTIAuthenticator.judge_db_url == f"sqlite:///{tmp_path}/judge/judge.sqlite"
    (judge,) = [s for s in config.JupyterHub.services if s["name"] == "judge"]
    assert f"--GradePassback.tool_config_file={tmp_path / 'lti.json'}" in judge["command"]


def test_a_judge_worker_apart_from_the_hub_finds_the_registration_in_its_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codetutor.judge.store import Store
    from codetutor.judge.worker import Worker

    store = Store(url=f"sqlite:///{tmp_path / 'judge.sqlite'}")
    monkeypatch.delenv("CODETUTOR_LTI_CONFIG", raising=False)
    assert not Worker(store=store).passback.enabled
    monkeypatch.setenv("CODETUTOR_LTI_CONFIG", str(tmp_path / "lti.json"))
    passback = Worker(store=store).passback
    assert passback.enabled and passback.tool_config_file == str(tmp_path / "lti.json")
