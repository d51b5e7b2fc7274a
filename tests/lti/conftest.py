"""A real JupyterHub with the LTI authenticator, and the FakeLMS platform it trusts.

The Hub runs as its own process (``python -m jupyterhub``, with
configurable-http-proxy), reached through its proxy on loopback; the platform
runs in a thread of the test process (``fake_lms.py``). Each has its own RSA
keys; each fetches the other's key set over HTTP. The judge's database is a
database both the Hub and the tests use, SQLite or PostgreSQL (every test runs on both).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from codetutor.hub.config import find_proxy
from codetutor.judge.store import Store
from tests.e2e.helpers import free_port
from tests.judge.service.judge_service_helpers import PostgresServer
from tests.lti.fake_lms import FakeLMS, rsa_key_pair

ADMIN_TOKEN = "lti-test-admin-token-0123456789abcdef"


@dataclass
class LTIHub:
    url: str
    judge_db_url: str
    tool_config_file: str
    log_path: Path

    def api(self, path: str) -> requests.Response:
        return requests.get(
            f"{self.url}/hub/api/{path}",
            headers={"Authorization": f"token {ADMIN_TOKEN}"},
            timeout=30,
        )

    def group(self, name: str) -> list[str]:
        response = self.api(f"groups/{name}")
        return sorted(response.json()["users"]) if response.status_code == 200 else []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _hub_config(tmp: Path, public_port: int, tool_config: Path, judge_db_url: str) -> str:
    return "\n".join(
        [
            f"c.JupyterHub.bind_url = 'http://127.0.0.1:{public_port}'",
            f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{free_port()}'",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'",
            f"c.JupyterHub.db_url = 'sqlite:///{tmp / 'jupyterhub.sqlite'}'",
            f"c.JupyterHub.cookie_secret_file = '{tmp / 'cookie_secret'}'",
            f"c.ConfigurableHTTPProxy.pid_file = '{tmp / 'proxy.pid'}'",
            f"c.ConfigurableHTTPProxy.command = ['{find_proxy()}']",
            "c.JupyterHub.authenticator_class = 'codetutor.hub.lti.LTIAuthenticator'",
            f"c.LTIAuthenticator.tool_config_file = '{tool_config}'",
            f"c.LTIAuthenticator.judge_db_url = '{judge_db_url}'",
            "c.LTIAuthenticator.uri_scheme = 'http'",
            f"c.JupyterHub.services = [{{'name': 'lti-test', 'api_token': '{ADMIN_TOKEN}'}}]",
            "c.JupyterHub.load_roles = [{'name': 'lti-test', 'services': ['lti-test'],"
            " 'scopes': ['admin:users', 'admin:groups', 'list:users', 'read:users', 'tokens']}]",
        ]
    )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def judge_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The judge's database, once on SQLite and once on PostgreSQL (a throwaway cluster)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('lti-judge') / 'judge.sqlite'}"
        return
    server = PostgresServer()
    server.start()
    try:
        yield server.create_database()
    finally:
        server.destroy()


@pytest.fixture(scope="module")
def lms(judge_db_url: str) -> Iterator[FakeLMS]:
    """A fresh platform for each database (its course starts empty)."""
    platform = FakeLMS()
    platform.start()
    yield platform
    platform.stop()


@pytest.fixture(scope="module")
def lti_hub(
    lms: FakeLMS, judge_db_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LTIHub]:
    tmp = tmp_path_factory.mktemp("lti-hub")
    private, public = rsa_key_pair()
    (tmp / "tool.key").write_text(private)
    (tmp / "tool.pub").write_text(public)
    tool_config = tmp / "lti.json"
    tool_config.write_text(json.dumps(lms.tool_configuration("tool.key", "tool.pub")))

    async def migrate() -> None:
        store = Store(url=judge_db_url)
        await store.upgrade()
        await store.close()

    asyncio.run(migrate())
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    lms.tool_login_url = f"{base}/hub/lti13/oauth_login"
    lms.tool_redirect_url = f"{base}/hub/lti13/oauth_callback"
    lms.tool_keys_url = f"{base}/hub/lti13/jwks"
    lms.tool_launch_url = f"{base}/hub/user-redirect/lab"
    (tmp / "jupyterhub_config.py").write_text(_hub_config(tmp, port, tool_config, judge_db_url))
    log_path = tmp / "hub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(tmp / "jupyterhub_config.py")],
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JUPYTERHUB_CRYPT_KEY": ""},
        )
    hub = LTIHub(base, judge_db_url, str(tool_config), log_path)
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the Hub exited:\n{hub.log()[-3000:]}")
            try:
                if requests.get(f"{base}/hub/api/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Hub did not start:\n{hub.log()[-3000:]}")
            time.sleep(0.3)
        yield hub
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
