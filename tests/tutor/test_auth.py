"""Hub authentication of the services, against a fake Hub API that knows three tokens."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado import httpserver, web
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from codetutor.tutor.service import LLMService

from .conftest import Running, ScriptedEngine, free_port, scripted_config

SCOPE = "access:services!service=tutor"
MODELS = {
    "alice-token": {"name": "alice", "kind": "user", "groups": [], "scopes": [SCOPE]},
    "ext-token": {"name": "codetutor-extension", "kind": "service", "scopes": [SCOPE]},
    "mallory-token": {"name": "mallory", "kind": "user", "groups": [], "scopes": ["read:users"]},
}


class FakeHubUserHandler(web.RequestHandler):
    """``GET /hub/api/user``: the model of the token in the Authorization header."""

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        if token not in MODELS:
            raise web.HTTPError(403)
        self.finish(json.dumps(MODELS[token]))


@pytest.fixture
async def hub_api() -> AsyncIterator[str]:
    port = free_port()
    server = httpserver.HTTPServer(web.Application([("/hub/api/user", FakeHubUserHandler)]))
    server.listen(port, "127.0.0.1")
    yield f"http://127.0.0.1:{port}/hub/api"
    server.stop()


@pytest.fixture
async def hub_service(start_service: Any, hub_api: str) -> Running:
    config = scripted_config(token_delay=0)
    config.ServiceAuth.hub = True
    config.HubAuth.api_url = hub_api
    config.HubAuth.api_token = "tutor-service-token"
    config.HubAuth.access_scopes = {SCOPE}
    config.HubAuth.cache_max_age = 0
    running: Running = await start_service(LLMService, config)
    return running


async def chat(url: str, token: str | None, user: str = "") -> HTTPResponse:
    headers = {"Authorization": f"token {token}"} if token else {}
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "user": user}
    return await AsyncHTTPClient().fetch(
        url + "/v1/chat/completions",
        method="POST",
        body=json.dumps(body),
        headers=headers,
        raise_error=False,
    )


async def test_hub_tokens_are_checked(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    missing = await chat(hub_service.url, None)
    assert missing.code == 401 and json.loads(missing.body)["message"]
    assert (await chat(hub_service.url, "forged-token")).code == 401
    assert (await chat(hub_service.url, "mallory-token")).code == 403
    assert engine.requests == []


async def test_a_student_cannot_act_for_another(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    response = await chat(hub_service.url, "alice-token", user="bob")
    assert response.code == 200
    assert engine.requests[-1].user == "alice"


async def test_a_service_acts_for_the_named_student(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    response = await chat(hub_service.url, "ext-token", user="carol")
    assert response.code == 200
    assert engine.requests[-1].user == "carol"


async def test_health_and_metrics_need_no_token(hub_service: Running) -> None:
    for path in ("/health", "/metrics"):
        response = await AsyncHTTPClient().fetch(hub_service.url + path, raise_error=False)
        assert response.code == 200, path
