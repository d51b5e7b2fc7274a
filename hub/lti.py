"""LTI 1.3 (IMS LTI Advantage), the Hub's half: log in from the LMS, roster, deep linking.

:class:`LTIAuthenticator` is jupyterhub-ltiauthenticator's ``LTI13Authenticator``
(OIDC third-party login initiation at ``/hub/lti13/oauth_login``, the launch at
``/hub/lti13/oauth_callback``: the ``id_token`` checked against the platform's key
set, state and nonce) plus what a course needs:

- **course groups**: a launch puts the user in the Hub group
  ``course:<id>:students`` or ``course:<id>:instructors`` (by the launch's LIS
  context role); ``<id>`` is the link's custom parameter ``course``, else the LMS
  context id. Nothing is removed at a launch: a user keeps their other courses.
- **records for grade passback**: the resource link with its AGS line item and
  the user's LMS identity go to the judge's database
  (:func:`codetutor.judge.lti.record_launch`); the judge sends grades from there.
- **roster (NRPS)**: an instructor's launch, and ``POST
  /hub/api/lti13/courses/<id>/roster``, make the course groups exactly the LMS
  roster's active members (users who never logged in are created).
- **deep linking**: an instructor's ``LtiDeepLinkingRequest`` lands on
  ``/hub/lti13/deep-link``, picks one of the course's assignments (or a single
  problem), and the signed response (pylti1p3's
  ``DeepLink``) goes back to the LMS, which creates the link and its line item.
- ``/hub/lti13/jwks``: the tool's public keys, for the platform;
  ``POST /hub/api/lti13/courses/<id>/grades`` sends the course's grades again
  (after an extension or a policy changed). The handlers: :mod:`.lti_handlers`.

The platform registration is one pylti1p3 tool configuration file
(:attr:`LTIAuthenticator.tool_config_file`), shared with the judge's
:class:`~codetutor.judge.lti.GradePassback`. Setting up Moodle and Canvas:
``docs/lti.md``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from jupyterhub import orm
from jupyterhub import roles as hub_roles
from jupyterhub.handlers import BaseHandler
from jupyterhub.utils import url_path_join
from ltiauthenticator.lti13.auth import LTI13Authenticator
from ltiauthenticator.lti13.handlers import LTI13CallbackHandler
from pylti1p3.deep_link import DeepLink
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.lineitem import LineItem
from pylti1p3.tool_config import ToolConfJsonFile
from sqlalchemy import func, select
from tornado import web
from traitlets import Bool, Unicode, default

from codetutor.judge import lti
from codetutor.judge.courses import CourseBook, CourseError, problem_points
from codetutor.judge.lti_passback import GradePassback
from codetutor.judge.models import Problem
from codetutor.judge.store import Store

from .lti_handlers import (
    DEEP_LINK_COOKIE,
    DeepLinkHandler,
    GradesHandler,
    RosterHandler,
    ToolKeysHandler,
    course_group,
)


@dataclass(frozen=True)
class Placement:
    """Something an instructor can place in the LMS: an assignment or a problem."""

    kind: str
    slug: str
    title: str
    points: float

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.slug}"


class LTILaunchHandler(LTI13CallbackHandler):
    """``POST /hub/lti13/oauth_callback``: the library's launch, then :meth:`after_launch`."""

    _launch: lti.Launch | None = None

    async def login_user(self, data: Any = None) -> Any:
        user = await super().login_user(data)
        if user is not None and data:
            self._launch = await self.authenticator.after_launch(self, user, data)
        return user

    def get_next_url(self, user: Any = None, default: Any = None) -> str:
        if self._launch is not None and self._launch.message_type == lti.DEEP_LINKING_REQUEST:
            return url_path_join(self.hub.base_url, "lti13/deep-link")
        return str(super().get_next_url(user))


class LTIAuthenticator(LTI13Authenticator):
    """LTI 1.3 login with course groups, roster, deep linking (module docstring)."""

    login_service = "your LMS"
    callback_handler = LTILaunchHandler

    tool_config_file = Unicode(
        "",
        help="""pylti1p3 tool configuration (JSON): {issuer: {client_id, auth_login_url,
        auth_token_url, key_set_url, private_key_file, public_key_file, deployment_ids}}.
        issuer, client_id, authorize_url and jwks_endpoint default to its (first) issuer's.""",
    ).tag(config=True)

    judge_db_url = Unicode(
        "",
        help="The judge's database, where launches are recorded for grade passback.",
    ).tag(config=True)

    course_parameter = Unicode(
        "course",
        help="The custom launch parameter naming the Code Tutor course (else the LMS context id).",
    ).tag(config=True)

    sync_roster_on_launch = Bool(
        True, help="Whether an instructor's launch brings the course groups in line with NRPS."
    ).tag(config=True)

    @default("issuer")
    def _default_issuer(self) -> str:
        return self._issuer_settings()[0]

    @default("client_id")
    def _default_client_id(self) -> set[str]:
        client = self._issuer_settings()[1].get("client_id")
        return {client} if client else set()

    @default("authorize_url")
    def _default_authorize_url(self) -> str:
        return str(self._issuer_settings()[1].get("auth_login_url") or "")

    @default("jwks_endpoint")
    def _default_jwks_endpoint(self) -> str:
        return str(self._issuer_settings()[1].get("key_set_url") or "")

    @default("allow_all")
    def _default_allow_all(self) -> bool:
        # the LMS decides who launches; a launch is the admission
        return True

    @default("username_key")
    def _default_username_key(self) -> str:
        return "email"

    def _issuer_settings(self) -> tuple[str, dict[str, Any]]:
        if not self.tool_config_file:
            return "", {}
        data = json.loads(Path(self.tool_config_file).read_text())
        issuer, settings = next(iter(data.items()))
        if isinstance(settings, list):
            settings = next((s for s in settings if s.get("default")), settings[0])
        return str(issuer), dict(settings)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._store: Store | None = None
        self._tool_config: ToolConfJsonFile | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def tool_config(self) -> ToolConfJsonFile:
        if self._tool_config is None:
            self._tool_config = lti.load_tool_config(self.tool_config_file)
        return self._tool_config

    async def store(self) -> Store:
        """Coroutine: the judge's store, its schema brought up to date once."""
        if self._store is None:
            store = Store(url=self.judge_db_url) if self.judge_db_url else Store()
            await store.upgrade()
            self._store = store
        return self._store

    def get_handlers(self, app: Any) -> list[tuple[str, Any]]:
        return [
            *super().get_handlers(app),
            (r"/lti13/jwks", ToolKeysHandler),
            (r"/lti13/deep-link", DeepLinkHandler),
            (r"/api/lti13/courses/([^/]+)/roster", RosterHandler),
            (r"/api/lti13/courses/([^/]+)/grades", GradesHandler),
        ]

    # -- a launch -----------------------------------------------------------------

    async def after_launch(
        self, handler: BaseHandler, user: Any, claims: dict[str, Any]
    ) -> lti.Launch:
        """Coroutine: groups, records, roster and deep linking state after a launch.

        Raises ``web.HTTPError(400)`` for a launch Code Tutor cannot use.
        """
        try:
            launch = lti.Launch.from_claims(claims, self.course_parameter)
        except lti.LTIError as e:
            raise web.HTTPError(400, reason=str(e)) from e
        if launch.role is not None:
            join_group(handler.db, user.orm_user, course_group(launch.course, launch.role))
        store = await self.store()
        await lti.record_launch(store, launch, user.name)
        self.log.info(
            "LTI launch of %s (%s) in course %s from %s",
            user.name,
            launch.role,
            launch.course,
            launch.issuer,
        )
        if launch.message_type == lti.DEEP_LINKING_REQUEST:
            if launch.role != "instructors" or not launch.deep_linking:
                raise web.HTTPError(
                    403, reason="only a course's instructors place Code Tutor links"
                )
            state = {
                "user": user.name,
                "issuer": launch.issuer,
                "client_id": launch.client_id,
                "deployment_id": launch.deployment_id,
                "course": launch.course,
                "settings": launch.deep_linking,
            }
            handler._set_cookie(DEEP_LINK_COOKIE, json.dumps(state), httponly=True)
        if launch.role == "instructors" and launch.memberships_url and self.sync_roster_on_launch:
            task = asyncio.create_task(self._sync_quietly(handler.db, launch.course))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return launch

    async def _sync_quietly(self, db: Any, course: str) -> None:
        try:
            await self.sync_roster(db, course)
        except Exception as e:
            self.log.warning("roster of course %s not synced: %s", course, e)

    # -- roster ------------------------------------------------------------------

    async def sync_roster(self, db: Any, course: str) -> dict[str, Any]:
        """Coroutine: make ``course``'s Hub groups the LMS roster's active members.

        Returns ``{"course", "students", "instructors", "unmatched"}`` (user names;
        unmatched: members whose Hub name cannot be known, with their LMS ids).
        Raises :class:`codetutor.judge.lti.LTIError` if no launch has told where
        the course's roster is, or the LMS refuses.
        """
        store = await self.store()
        context = await lti.course_roster(store, course)
        if context is None or not context.memberships_url:
            raise lti.LTIError(f"course {course} has no LMS roster (no launch with NRPS yet)")
        registration = lti.find_registration(self.tool_config(), context.issuer, context.client_id)
        try:
            members = await asyncio.get_running_loop().run_in_executor(
                None, partial(lti.fetch_members, registration, context.memberships_url)
            )
        except Exception as e:
            raise lti.LTIError(f"the LMS roster could not be read: {e}") from e
        known = await lti.known_users(store, context.issuer)
        roles: dict[str, list[str]] = {"students": [], "instructors": []}
        unmatched: list[str] = []
        names: dict[str, str] = {}
        for member in members:
            if member.get("status", "Active") != "Active":
                continue
            role = lti.course_role(list(member.get("roles") or []))
            subject = str(member.get("user_id") or "")
            name = known.get(subject) or self.member_username(member)
            if role is None:
                continue
            if not name:
                unmatched.append(subject)
                continue
            names[subject] = name
            roles[role].append(name)
        for role, users in roles.items():
            set_group_members(db, course_group(course, role), users)
        await lti.remember_members(store, context.issuer, context.context_id, names)
        self.log.info(
            "roster of course %s: %s students, %s instructors, %s unmatched",
            course,
            len(roles["students"]),
            len(roles["instructors"]),
            len(unmatched),
        )
        return {
            "course": course,
            **{k: sorted(v) for k, v in roles.items()},
            "unmatched": unmatched,
        }

    async def resend_grades(self, course: str) -> dict[str, Any]:
        """Coroutine: send every grade of ``course`` to the LMS again (``GradePassback``).

        Returns ``{"course", "sent", "failed"}``: counts of scores posted and refused.
        """
        passback = GradePassback(
            parent=self, store=await self.store(), tool_config_file=self.tool_config_file
        )
        rows = await passback.course_grades(course)
        sent = sum(row.status == "sent" for row in rows)
        return {"course": course, "sent": sent, "failed": len(rows) - sent}

    def member_username(self, member: dict[str, Any]) -> str:
        """The Hub name of an NRPS member by :attr:`username_key` ("" when it cannot be known)."""
        key = self.username_key or "sub"
        if key.startswith("custom_"):
            return ""  # custom launch parameters are not in the roster: known at launch only
        value = member.get("user_id") if key == "sub" else member.get(key)
        return self.normalize_username(str(value)) if value else ""

    # -- deep linking ---------------------------------------------------------------

    def deep_link_response(self, state: dict[str, Any], choice: Placement, url: str) -> str:
        """The signed ``LtiDeepLinkingResponse`` JWT placing ``choice`` (pylti1p3's DeepLink)."""
        registration = lti.find_registration(
            self.tool_config(), state["issuer"], state["client_id"]
        )
        resource = (
            DeepLinkResource()
            .set_url(url)
            .set_title(choice.title)
            .set_custom_params({self.course_parameter: state["course"], choice.kind: choice.slug})
            .set_lineitem(
                LineItem()
                .set_score_maximum(choice.points)
                .set_label(choice.title)
                .set_resource_id(f"{choice.kind}:{choice.slug}")
                .set_tag("codetutor")
            )
        )
        settings = {
            "deep_link_return_url": state["settings"]["deep_link_return_url"],
            "accept_types": state["settings"].get("accept_types", []),
            "accept_presentation_document_targets": state["settings"].get(
                "accept_presentation_document_targets", []
            ),
            "data": state["settings"].get("data"),
        }
        deep_link = DeepLink(registration, state["deployment_id"], settings)  # type: ignore[arg-type]
        return str(deep_link.get_response_jwt([resource]))

    async def placements(self, course: str) -> list[Placement]:
        """Coroutine: what an instructor of ``course`` can place: its assignments, then problems."""
        store = await self.store()
        book = CourseBook(store)
        found: list[Placement] = []
        try:
            row = await book.course(course)
        except CourseError:
            row = None
        if row is not None:
            for assignment in await book.assignments(row):
                points = sum(p for _, p in problem_points(assignment))
                found.append(Placement("assignment", assignment.slug, assignment.title, points))
        async with store.session() as s:
            latest = (
                select(Problem.slug, func.max(Problem.version).label("version"))
                .group_by(Problem.slug)
                .subquery()
            )
            problems = await s.scalars(
                select(Problem)
                .join(
                    latest,
                    (Problem.slug == latest.c.slug) & (Problem.version == latest.c.version),
                )
                .where(Problem.unpublished_at.is_(None))
                .order_by(Problem.slug)
            )
            for p in problems:
                title = p.title.get("en") or next(iter(p.title.values()), p.slug)
                found.append(Placement("problem", p.slug, title, 100.0))
        return found


def join_group(db: Any, user: orm.User, name: str) -> None:
    """Put ``user`` in the Hub group ``name`` (created if missing); keeps other groups."""
    group = orm.Group.find(db, name)
    if group is None:
        group = orm.Group(name=name)
        db.add(group)
    if user not in group.users:
        group.users.append(user)
    db.commit()


def set_group_members(db: Any, name: str, users: list[str]) -> None:
    """Make the Hub group ``name`` exactly ``users`` (missing users are created)."""
    group = orm.Group.find(db, name)
    if group is None:
        group = orm.Group(name=name)
        db.add(group)
    members = []
    for username in users:
        user = orm.User.find(db, username)
        if user is None:
            user = orm.User(name=username)
            db.add(user)
            # as the Hub makes a user: the default 'user' role from the start
            hub_roles.assign_default_roles(db, entity=user)
        members.append(user)
    group.users = members
    db.commit()
