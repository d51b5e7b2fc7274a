"""Hub authentication of the services, against a fake Hub API that knows three tokens."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tornado import httpserver, web
from tornado.httpclient import AsyncHTTPClient, HTTPResponse

from codetutor.tutor.service import TutorService

from .conftest import Running, ScriptedEngine, free_port, local_judge, scripted_config

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
    local_judge(config)
    running: Running = await start_service(TutorService, config)
    return running


async def post(url: str, path: str, token: str | None, body: dict[str, Any]) -> HTTPResponse:
    headers = {"Authorization": f"token {token}"} if token else {}
    return await AsyncHTTPClient().fetch(
        url + path, method="POST", body=json.dumps(body), headers=headers, raise_error=False
    )


def chat_body(user: str = "") -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, "user": user}


def hint_body(user: str = "") -> dict[str, Any]:
    return {"problem_id": "dedupe", "code": "def dedupe(xs):\n    pass\n", "user": user}


async def test_hub_tokens_are_checked(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    missing = await post(hub_service.url, "/api/tutor/hint", None, hint_body())
    assert missing.code == 401 and json.loads(missing.body)["message"]
    assert (await post(hub_service.url, "/api/tutor/hint", "forged-token", hint_body())).code == 401
    assert (
        await post(hub_service.url, "/api/tutor/hint", "mallory-token", hint_body())
    ).code == 403
    assert engine.requests == []


async def test_a_student_cannot_act_for_another(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    response = await post(hub_service.url, "/api/tutor/hint", "alice-token", hint_body("bob"))
    assert response.code == 200, response.body
    assert engine.requests[-1].user == "alice"


async def test_students_cannot_bypass_the_guard_through_the_raw_api(hub_service: Running) -> None:
    response = await post(hub_service.url, "/v1/chat/completions", "alice-token", chat_body())
    assert response.code == 403
    assert "tutor" in json.loads(response.body)["message"]


async def test_a_service_acts_for_the_named_student(hub_service: Running) -> None:
    engine: ScriptedEngine = hub_service.engine
    response = await post(hub_service.url, "/v1/chat/completions", "ext-token", chat_body("carol"))
    assert response.code == 200
    assert engine.requests[-1].user == "carol"
    response = await post(hub_service.url, "/api/tutor/hint", "ext-token", hint_body("dave"))
    assert response.code == 200
    assert engine.requests[-1].user == "dave"


async def test_health_and_metrics_need_no_token(hub_service: Running) -> None:
    for path in ("/health", "/metrics"):
        response = await AsyncHTTPClient().fetch(hub_service.url + path, raise_error=False)
        assert response.code == 200, path
