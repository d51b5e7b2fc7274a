"""The Hub's pages with Code Tutor's additions (hub/templates): the admin page and the
navigation bar link admins to pending sign-ups where NativeAuthenticator takes them; and
the judge's OAuth tokens carry the judge scopes (an instructor's browser reads the API)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader

from codetutor.hub import roles
from tests.hub.test_config import load_hub_config, service


def hub_templates(paths: list[str]) -> Environment:
    """Templates as JupyterHub loads them (``templates/`` names its own pages)."""
    base = Path(sys.prefix, "share", "jupyterhub", "templates")
    loader = ChoiceLoader(
        [
            PrefixLoader({"templates": FileSystemLoader([str(base)])}, "/"),
            FileSystemLoader([*paths, str(base)]),
        ]
    )
    return Environment(loader=loader, autoescape=True)


def render(env: Environment, page: str, scopes: set[str], signups: str) -> str:
    context: dict[str, Any] = {
        "base_url": "/hub/",
        "prefix": "/",
        "user": {"name": "admin", "admin": "admin:users" in scopes},
        "parsed_scopes": scopes,
        "services": [],
        "static_url": lambda path, **_: f"/hub/static/{path}",
        "codetutor_signups_url": signups,
        "api_page_limit": 50,
        "server_version": "5",
        "xsrf": "x",
        "announcement": None,
        "no_spawner_check": True,
    }
    return env.get_template(page).render(**context)


@pytest.mark.parametrize("mode", ["embedded", "production"])
def test_admins_find_pending_signups(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, mode: str
) -> None:
    config = load_hub_config(monkeypatch, CODETUTOR_DATA_DIR=str(tmp_path), CODETUTOR_MODE=mode)
    hub = config.JupyterHub
    signups = hub.template_vars["codetutor_signups_url"]
    assert signups == ("authorize" if mode == "embedded" else "")
    env = hub_templates(list(hub.template_paths))
    admin = {"admin-ui", "admin:users", "admin:servers"}
    page = render(env, "admin.html", admin, signups)
    assert 'id="react-admin-hook"' in page  # JupyterHub's own admin page is all there
    if mode == "embedded":
        assert 'id="codetutor-signups" href="/hub/authorize"' in page
        assert 'id="codetutor-signups-nav" href="/hub/authorize"' in page
        home = render(env, "page.html", admin, signups)
        assert 'id="codetutor-signups-nav"' in home  # on every page of the Hub
    else:
        # production's identity provider has no sign-ups to approve here
        assert "codetutor-signups" not in page
    # nobody else sees the link (an instructor or a student)
    for scopes in ({"self"}, {"self", roles.SCOPE_READ_ALL}):
        assert "codetutor-signups" not in render(env, "page.html", scopes, signups)


def test_the_judges_oauth_tokens_carry_the_judge_scopes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = load_hub_config(monkeypatch, CODETUTOR_DATA_DIR=str(tmp_path))
    judge = service(config, roles.JUDGE_SERVICE)
    assert set(judge["oauth_client_allowed_scopes"]) == {
        roles.SCOPE_SUBMIT,
        roles.SCOPE_READ_ALL,
        roles.SCOPE_PUBLISH,
    }
    assert roles.SCOPE_TUTOR not in judge["oauth_client_allowed_scopes"]
