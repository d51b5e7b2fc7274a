"""FakeLMS: an LTI 1.3 platform for the tests, on lti1p3platform, served over HTTP on loopback.

Only the course data is made up (one course, its members, its links); the LTI part
is a real platform implementation: its own RSA key set at ``/jwks``, the OIDC
authorization endpoint that signs launches (``id_token``) after checking the
tool's request, an OAuth 2 token endpoint that checks the tool's signed client
assertion against the tool's key set fetched over HTTP, NRPS memberships, AGS
line items and scores (bearer tokens checked), and a deep linking return
endpoint that checks the tool's signed response. It runs in its own thread with
its own event loop, so the tests drive it as a browser would, with ``requests``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request, TRequest
from tornado import httpserver, netutil, web

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
SCORE_SCOPE = "https://purl.imsglobal.org/spec/lti-ags/scope/score"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def rsa_key_pair() -> tuple[str, str]:
    """A fresh RSA key pair as PEM text: (private, public)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


@dataclass
class Member:
    sub: str
    name: str
    email: str
    role: str
    status: str = "Active"


@dataclass
class Course:
    context_id: str = "ctx-101"
    label: str = "CS101"
    title: str = "Introduction to Programming"
    members: dict[str, Member] = field(default_factory=dict)
    #: resource link id -> {"title", "url", "custom", "lineitem"}
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: line item id -> line item JSON; scores per line item id
    lineitems: dict[str, dict[str, Any]] = field(default_factory=dict)
    scores: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class PlatformConfig(LTI1P3PlatformConfAbstract):
    """lti1p3platform's platform configuration: one registered tool."""

    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        return self._registration  # type: ignore[return-value]


class TornadoRequest(Request):
    def build_metadata(self, request: Any) -> TRequest:
        args = {k: v[-1].decode() for k, v in request.arguments.items()}
        return {
            "method": request.method,
            "form_data": args if request.method == "POST" else {},
            "get_data": args if request.method == "GET" else {},
            "headers": request.headers,
            "content_type": request.headers.get("Content-Type"),
            "path": request.path,
            "json": None,
        }


class Launch(LTIAdvantageMessageLaunchAbstract):
    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> str:
        inputs = "".join(
            f'<input type="hidden" name="{k}" value="{launch_data[k]}">'
            for k in ("id_token", "state")
        )
        return f'<form method="post" action="{launch_data["launch_url"]}">{inputs}</form>'


class FakeLMS:
    """The platform; :meth:`start` serves it on a free loopback port (see the module)."""

    issuer = "https://lms.example.edu"
    client_id = "codetutor-client"
    deployment_id = "deployment-1"

    def __init__(self) -> None:
        self.private_key, self.public_key = rsa_key_pair()
        self.course = Course()
        self.tool_login_url = ""
        self.tool_redirect_url = ""
        self.tool_keys_url = ""
        self.tool_launch_url = ""
        self.errors: list[str] = []
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        self.port = sockets[0].getsockname()[1]
        self._sockets = sockets
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def registration(self) -> Registration:
        return (
            Registration()
            .set_iss(self.issuer)
            .set_client_id(self.client_id)
            .set_deployment_id(self.deployment_id)
            .set_oidc_login_url(self.tool_login_url)
            .set_launch_url(self.tool_launch_url)
            .set_deeplink_launch_url(self.tool_launch_url)
            .set_platform_public_key(self.public_key)
            .set_platform_private_key(self.private_key)
            .set_tool_key_set_url(self.tool_keys_url)
        )

    def config(self) -> PlatformConfig:
        return PlatformConfig(registration=self.registration())

    def tool_configuration(self, private_key_file: str, public_key_file: str) -> dict[str, Any]:
        """The tool's pylti1p3 configuration for this platform (what an admin copies)."""
        return {
            self.issuer: {
                "default": True,
                "client_id": self.client_id,
                "auth_login_url": f"{self.url}/auth",
                "auth_token_url": f"{self.url}/token",
                "key_set_url": f"{self.url}/jwks",
                "private_key_file": private_key_file,
                "public_key_file": public_key_file,
                "deployment_ids": [self.deployment_id],
            }
        }

    # -- what a person does in the LMS ----------------------------------------------

    def login_initiation(self, member: str, message: str) -> str:
        """The URL the LMS sends the browser to when ``member`` opens ``message``.

        ``message`` is a resource link id, or ``"deep-link"`` for placing content.
        """
        from urllib.parse import urlencode

        query = {
            "iss": self.issuer,
            "login_hint": member,
            "lti_message_hint": message,
            "target_link_uri": self.tool_launch_url,
            "client_id": self.client_id,
            "lti_deployment_id": self.deployment_id,
        }
        return f"{self.tool_login_url}?{urlencode(query)}"

    # -- serving -------------------------------------------------------------------

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            app = web.Application(
                [
                    (r"/jwks", JWKSHandler, {"lms": self}),
                    (r"/auth", AuthHandler, {"lms": self}),
                    (r"/token", TokenHandler, {"lms": self}),
                    (r"/contexts/([^/]+)/memberships", MembershipsHandler, {"lms": self}),
                    (r"/contexts/([^/]+)/lineitems", LineItemsHandler, {"lms": self}),
                    (r"/lineitems/([^/]+)", LineItemHandler, {"lms": self}),
                    (r"/lineitems/([^/]+)/scores", ScoresHandler, {"lms": self}),
                    (r"/deep_link_return", DeepLinkReturnHandler, {"lms": self}),
                ]
            )
            server = httpserver.HTTPServer(app)
            server.add_sockets(self._sockets)
            loop.call_soon(ready.set)
            loop.run_forever()
            server.stop()
            loop.close()

        self._thread = threading.Thread(target=serve, name="fake-lms", daemon=True)
        self._thread.start()
        ready.wait(10)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


class LMSHandler(web.RequestHandler):
    def initialize(self, lms: FakeLMS) -> None:
        self.lms = lms

    def check_xsrf_cookie(self) -> None:
        return

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.lms.errors.append(f"{status_code} {self.request.path}: {self._reason}")
        self.finish({"error": self._reason})

    def bearer(self, scope: str) -> None:
        header = self.request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise web.HTTPError(401, reason="no bearer token")
        try:
            ok = self.lms.config().validate_token(header[7:], allowed_scopes=[scope])
        except Exception as e:
            raise web.HTTPError(401, reason=f"bad token: {e}") from e
        if not ok:
            raise web.HTTPError(403, reason=f"token lacks {scope}")


class JWKSHandler(LMSHandler):
    def get(self) -> None:
        self.finish({"keys": self.lms.registration().get_jwks()})


class AuthHandler(LMSHandler):
    """The OIDC authorization endpoint: the tool's auth request in, a signed launch out."""

    def get(self) -> None:
        lms, course = self.lms, self.lms.course
        args = {k: self.get_argument(k, "") for k in ("redirect_uri", "login_hint", "scope")}
        if args["redirect_uri"] != lms.tool_redirect_url:
            raise web.HTTPError(400, reason="redirect_uri is not the registered one")
        if self.get_argument("response_type", "") != "id_token" or args["scope"] != "openid":
            raise web.HTTPError(400, reason="not an OIDC implicit id_token request")
        member = course.members.get(args["login_hint"])
        if member is None:
            raise web.HTTPError(403, reason="unknown login_hint")
        message = self.get_argument("lti_message_hint", "")
        launch = Launch(TornadoRequest(self.request), lms.config())
        launch.set_user_data(member.sub, [member.role], member.name, member.email)
        launch.set_launch_context_claim(
            course.context_id, context_title=course.title, context_label=course.label
        )
        launch.set_nrps(f"{lms.url}/contexts/{course.context_id}/memberships")
        launch.set_launch_presentation_claim(document_target="window")
        launch.set_extra_claims(
            {
                CLAIM + "tool_platform": {
                    "guid": "fake-lms-guid",
                    "name": "FakeLMS",
                    "product_family_code": "fake-lms",
                    "version": "1",
                }
            }
        )
        if message == "deep-link":
            launch.set_dl(f"{lms.url}/deep_link_return", accept_types={"ltiResourceLink"})
        else:
            link = course.links.get(message)
            if link is None:
                raise web.HTTPError(404, reason="unknown resource link")
            launch.set_resource_link_claim(message, title=link["title"])
            launch.set_custom_parameters_claim(link["custom"])
            launch.set_ags(
                f"{lms.url}/contexts/{course.context_id}/lineitems",
                f"{lms.url}/lineitems/{link['lineitem']}",
            )
        try:
            self.finish(launch.lti_launch())
        except Exception as e:
            raise web.HTTPError(400, reason=f"{type(e).__name__}: {e}") from e


class TokenHandler(LMSHandler):
    """OAuth 2 client credentials with a JWT client assertion (IMS Security Framework)."""

    def post(self) -> None:
        data = {k: self.get_body_argument(k) for k in self.request.body_arguments}
        try:
            self.finish(dict(self.lms.config().get_access_token(data)))
        except Exception as e:
            raise web.HTTPError(400, reason=f"{type(e).__name__}: {e}") from e


class MembershipsHandler(LMSHandler):
    def get(self, context_id: str) -> None:
        self.bearer(NRPS_SCOPE)
        course = self.lms.course
        if context_id != course.context_id:
            raise web.HTTPError(404, reason="no such context")
        self.set_header("Content-Type", "application/vnd.ims.lti-nrps.v2.membershipcontainer+json")
        self.finish(
            json.dumps(
                {
                    "id": self.request.full_url(),
                    "context": {"id": course.context_id, "label": course.label},
                    "members": [
                        {
                            "status": m.status,
                            "user_id": m.sub,
                            "name": m.name,
                            "email": m.email,
                            "roles": [m.role],
                        }
                        for m in course.members.values()
                    ],
                }
            )
        )


class LineItemsHandler(LMSHandler):
    def get(self, context_id: str) -> None:
        self.bearer(SCORE_SCOPE)
        self.finish(json.dumps(list(self.lms.course.lineitems.values())))


class LineItemHandler(LMSHandler):
    def get(self, lineitem_id: str) -> None:
        self.bearer(SCORE_SCOPE)
        item = self.lms.course.lineitems.get(lineitem_id)
        if item is None:
            raise web.HTTPError(404, reason="no such line item")
        self.finish(item)


class ScoresHandler(LMSHandler):
    def post(self, lineitem_id: str) -> None:
        self.bearer(SCORE_SCOPE)
        course = self.lms.course
        if lineitem_id not in course.lineitems:
            raise web.HTTPError(404, reason="no such line item")
        if self.request.headers.get("Content-Type") != "application/vnd.ims.lis.v1.score+json":
            raise web.HTTPError(415, reason="not a score")
        score = json.loads(self.request.body)
        subs = {m.sub for m in course.members.values()}
        if score.get("userId") not in subs:
            raise web.HTTPError(422, reason="user not in course")
        course.scores.setdefault(lineitem_id, []).append(score)
        self.set_status(204)
        self.finish()


class DeepLinkReturnHandler(LMSHandler):
    """Where the tool's signed deep linking response lands: links and line items are made."""

    def post(self) -> None:
        lms, course = self.lms, self.lms.course
        try:
            items = lms.config().validate_deeplinking_resp({"JWT": self.get_body_argument("JWT")})
        except Exception as e:
            raise web.HTTPError(400, reason=f"{type(e).__name__}: {e}") from e
        made = []
        for item in items:
            link_id = f"link-{uuid.uuid4().hex[:8]}"
            lineitem_id = f"li-{uuid.uuid4().hex[:8]}"
            spec = item.get("lineItem") or {}
            course.lineitems[lineitem_id] = {
                "id": f"{lms.url}/lineitems/{lineitem_id}",
                "scoreMaximum": spec.get("scoreMaximum", 100),
                "label": spec.get("label", item.get("title", "")),
                "resourceId": spec.get("resourceId", ""),
                "tag": spec.get("tag", ""),
                "resourceLinkId": link_id,
            }
            course.links[link_id] = {
                "title": item.get("title", ""),
                "url": item.get("url", ""),
                "custom": item.get("custom", {}),
                "lineitem": lineitem_id,
            }
            made.append(link_id)
        self.finish({"links": made})
