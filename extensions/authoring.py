"""The extension's instructor endpoints for authoring problems, under ``/codetutor/api/``.

=============================================  ====================================================
``GET  authoring``                             ``{"instructor": bool}``: whether this server's
                                               owner may publish (the Hub's scope
                                               ``custom:problems:write`` on this server's token);
                                               JupyterLab shows the authoring tools only then
``POST validate``                              ``{"path"}``: the judge's dry run of publishing
                                               that notebook: every case with its expected value,
                                               or 422 ``{"message", "cell", "line"}``
``POST problems/ID/visibility``                ``{"published": false}`` unpublishes (hidden from
                                               students, submissions kept); ``true`` shows again
=============================================  ====================================================

Thin, as :mod:`.handlers`: the judge checks the scopes and answers; 403 for students.
"""

from __future__ import annotations

import os

from tornado import web

from .client import ServiceClient
from .exceptions import ExtensionError, ServiceError
from .handlers import API, PROBLEM_ID, CodeTutorHandler

#: the Hub's scope for publishing (codetutor.hub.roles.SCOPE_PUBLISH)
SCOPE_PUBLISH = "custom:problems:write"


class AuthoringRoleHandler(CodeTutorHandler):
    """``GET /codetutor/api/authoring``: may this server's owner author problems?

    Asks the Hub (``GET /hub/api/user``) with this server's token: the Hub grants the
    token the owner's share of :func:`codetutor.hub.roles.server_token_scopes`, so it
    holds ``custom:problems:write`` exactly when the owner is an instructor. Outside a
    Hub (no ``JUPYTERHUB_API_URL``) nobody is.
    """

    @web.authenticated
    async def get(self) -> None:
        api_url = os.environ.get("JUPYTERHUB_API_URL", "")
        if not api_url:
            self.write_json({"instructor": False})
            return
        hub = ServiceClient(
            parent=self.judge,
            service="hub",
            base_url=api_url.rstrip("/") + "/",
            token=self.judge.token,
        )
        try:
            status, model = await hub.request("GET", "user")
        except ServiceError as e:
            raise ExtensionError(502, f"cannot ask the Hub who you are: {e.message}") from None
        scopes = model.get("scopes", []) if isinstance(model, dict) else []
        self.write_json({"instructor": SCOPE_PUBLISH in scopes}, status)


class ValidateHandler(CodeTutorHandler):
    """``POST /codetutor/api/validate``: ``{"path"}``, the judge's dry run of publishing it."""

    @web.authenticated
    async def post(self) -> None:
        body = self.json_body("path")
        nb = await self.read_notebook(self.path_field(body))
        status, answer = await self.judge.request("POST", "api/validate", nb)
        self.write_json(answer, status)


class VisibilityHandler(CodeTutorHandler):
    """``POST /codetutor/api/problems/ID/visibility``: ``{"published": bool}``, relayed."""

    @web.authenticated
    async def post(self, problem_id: str) -> None:
        body = self.json_body("published")
        if not isinstance(body["published"], bool):
            raise ExtensionError(400, "'published' must be true or false")
        status, answer = await self.judge.request(
            "POST", f"api/problems/{problem_id}/visibility", {"published": body["published"]}
        )
        self.write_json(answer, status)


def handlers() -> list[tuple[str, type[web.RequestHandler]]]:
    """The authoring routes (Jupyter Server prefixes its base URL)."""
    return [
        (rf"{API}/authoring", AuthoringRoleHandler),
        (rf"{API}/validate", ValidateHandler),
        (rf"{API}/problems/{PROBLEM_ID}/visibility", VisibilityHandler),
    ]
