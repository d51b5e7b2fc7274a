"""The LTI 1.3 pages and API of the Hub (:mod:`codetutor.hub.lti` has the authenticator).

- ``GET /hub/lti13/jwks``: the tool's public keys;
- ``GET|POST /hub/lti13/deep-link``: an instructor places an assignment or a problem;
- ``POST /hub/api/lti13/courses/<id>/roster``: sync the course groups with NRPS now;
- ``POST /hub/api/lti13/courses/<id>/grades``: send the course's grades again.

Thin handlers: each checks who asks and calls one method of the authenticator.
"""

from __future__ import annotations

import html
import json
from typing import Any

from jupyterhub.apihandlers.base import APIHandler
from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import url_path_join
from tornado import web

from codetutor.judge import lti

DEEP_LINK_COOKIE = "codetutor-lti-deep-link"


def course_group(course: str, role: str) -> str:
    """The Hub group of a course role: ``course:<id>:students`` / ``course:<id>:instructors``."""
    return f"course:{course}:{role}"


class ToolKeysHandler(BaseHandler):
    """``GET /hub/lti13/jwks``: the tool's public key set (the platform checks our JWTs with it)."""

    def check_xsrf_cookie(self) -> None:
        return

    async def get(self) -> None:
        auth = self.authenticator
        client = next(iter(auth.client_id), None)
        try:
            keys = auth.tool_config().get_jwks(auth.issuer, client)
        except lti.LTIError as e:
            raise web.HTTPError(500, reason=str(e)) from e
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(keys))


class DeepLinkHandler(BaseHandler):
    """``/hub/lti13/deep-link``: an instructor picks a problem to place in the LMS course.

    GET: the form (the course's assignments, the published problems). POST
    ``item=assignment:SLUG`` or ``item=problem:SLUG``:
    an auto-submitting form carrying the signed response to the LMS. Only after
    a deep linking launch (its settings are in a signed cookie); errors are JSON.
    """

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": status_code, "message": self._reason}))

    def _state(self) -> dict[str, Any]:
        raw = self.get_secure_cookie(DEEP_LINK_COOKIE)
        state = json.loads(raw) if raw else None
        user = self.current_user
        if not state or user is None or state.get("user") != user.name:
            raise web.HTTPError(400, reason="no deep linking request: start it from the LMS")
        return dict(state)

    @web.authenticated
    async def get(self) -> None:
        state = self._state()
        items = "".join(
            f'<li><label><input type="radio" name="item" value="{html.escape(c.key)}" required> '
            f"{html.escape(c.kind)}: {html.escape(c.title)} <code>{html.escape(c.slug)}</code>"
            f" ({c.points:g} points)</label></li>"
            for c in await self.authenticator.placements(state["course"])
        )
        self.finish(
            "<!doctype html><html><head><title>Code Tutor: place a problem</title></head><body>"
            f"<h1>Place a problem in course {html.escape(state['course'])}</h1>"
            f'<form method="post">{self.xsrf_form_html()}<ul>{items}</ul>'
            '<button type="submit">Place it</button></form></body></html>'
        )

    @web.authenticated
    async def post(self) -> None:
        state = self._state()
        key = self.get_body_argument("item", "")
        choices = await self.authenticator.placements(state["course"])
        choice = next((c for c in choices if c.key == key), None)
        if choice is None:
            raise web.HTTPError(400, reason=f"nothing to place is called {key!r}")
        target = f"{self.request.protocol}://{self.request.host}" + url_path_join(
            self.hub.base_url, "user-redirect/lab"
        )
        try:
            token = self.authenticator.deep_link_response(state, choice, target)
        except lti.LTIError as e:
            raise web.HTTPError(400, reason=str(e)) from e
        self.clear_cookie(DEEP_LINK_COOKIE, path=self.base_url)
        action = html.escape(state["settings"]["deep_link_return_url"], quote=True)
        self.finish(
            "<!doctype html><html><body>"
            f'<form id="deep-link" method="post" action="{action}">'
            f'<input type="hidden" name="JWT" value="{html.escape(token, quote=True)}"></form>'
            "<script>document.getElementById('deep-link').submit()</script></body></html>"
        )


class CourseLMSHandler(APIHandler):
    """Base of the course's LMS actions: admins (``admin:groups``) and its instructors only."""

    def check_course(self, course: str) -> None:
        groups = {g.name for g in getattr(self.current_user, "groups", [])}
        if "admin:groups" not in self.parsed_scopes and (
            course_group(course, "instructors") not in groups
        ):
            raise web.HTTPError(403, reason=f"only instructors of {course} do this")


class GradesHandler(CourseLMSHandler):
    """``POST /hub/api/lti13/courses/<id>/grades``: send the course's grades to the LMS again.

    After an extension or a late policy changed, or the LMS was down. 200 with
    ``{"course", "sent", "failed"}`` (each score is recorded in ``lti_scores``).
    """

    @web.authenticated
    async def post(self, course: str) -> None:
        self.check_course(course)
        self.finish(json.dumps(await self.authenticator.resend_grades(course)))


class RosterHandler(CourseLMSHandler):
    """``POST /hub/api/lti13/courses/<id>/roster``: sync the course groups with NRPS now.

    Admins (``admin:groups``) and the course's instructors only. 200 with the summary of
    :meth:`LTIAuthenticator.sync_roster`; 404 for a course without an LMS roster;
    502 when the LMS refuses.
    """

    @web.authenticated
    async def post(self, course: str) -> None:
        self.check_course(course)
        try:
            summary = await self.authenticator.sync_roster(self.db, course)
        except lti.LTIError as e:
            status = 404 if "no LMS roster" in str(e) else 502
            raise web.HTTPError(status, reason=str(e)) from e
        self.finish(json.dumps(summary))
