"""LTI 1.3 (IMS LTI Advantage), the judge's half: launches recorded, grades sent back.

The Hub logs users in from the LMS (:mod:`codetutor.hub.lti`) and, at each launch,
records here what later service calls need: the resource link with its AGS line
item (:class:`~codetutor.judge.models.LTILink`) and the user's LMS identity
(:class:`~codetutor.judge.models.LTIAccount`), in the judge's database.

After a verdict is stored, :class:`GradePassback` (started by the judge worker)
sends the student's grade for every link that opens the judged problem to the
LMS's Assignment and Grade Services: the best score within the late policy
(:func:`codetutor.judge.policy.grade`), never the last one, so that a worse
resubmission cannot lower a grade. Each attempt is recorded
(:class:`~codetutor.judge.models.LTIScore`).

Service calls (OAuth 2 client credentials signed with the tool's key, AGS, NRPS)
are pylti1p3's; the platform registration is its JSON tool configuration file
(``ToolConfJsonFile``: issuer, client id, login / token / key set URLs, the tool's
key files, deployment ids), shared by the Hub and the judge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pylti1p3.assignments_grades import AssignmentsGradesService
from pylti1p3.grade import Grade
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.registration import Registration
from pylti1p3.service_connector import ServiceConnector
from pylti1p3.tool_config import ToolConfJsonFile
from sqlalchemy import select

from .exceptions import JudgeException
from .models import (
    LTIAccount,
    LTIContext,
    LTILink,
    utcnow,
)
from .store import Store

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
MESSAGE_TYPE = CLAIM + "message_type"
DEPLOYMENT_ID = CLAIM + "deployment_id"
CONTEXT = CLAIM + "context"
RESOURCE_LINK = CLAIM + "resource_link"
ROLES = CLAIM + "roles"
CUSTOM = CLAIM + "custom"
AGS_ENDPOINT = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
NRPS_SERVICE = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
DEEP_LINKING_SETTINGS = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"

RESOURCE_LINK_REQUEST = "LtiResourceLinkRequest"
DEEP_LINKING_REQUEST = "LtiDeepLinkingRequest"

#: LIS roles (context roles, short or full) that make a user a course's instructor
INSTRUCTOR_ROLES = frozenset({"Instructor", "ContentDeveloper", "Administrator"})
STUDENT_ROLES = frozenset({"Learner", "Member"})

_COURSE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


class LTIError(JudgeException):
    """A launch or an LMS service call that cannot go on (the message says why)."""


def course_role(roles: Sequence[str]) -> str | None:
    """``"instructors"``, ``"students"`` or ``None`` for LIS role URIs (context roles only).

    Institution and system roles (``…/institution/person#Administrator``) say
    nothing about a course; a TA (``…membership/Instructor#TeachingAssistant``)
    is an instructor.
    """
    names = set()
    for role in roles:
        if "/institution/" in role or "/system/" in role:
            continue
        tail = role.rsplit("#", 1)[-1] if "#" in role else role.rsplit("/", 1)[-1]
        head = role.split("membership/", 1)[-1].split("#", 1)[0] if "membership/" in role else ""
        names.update({tail, head})
    if names & INSTRUCTOR_ROLES or "TeachingAssistant" in names:
        return "instructors"
    if names & STUDENT_ROLES:
        return "students"
    return None


def course_id(custom: Mapping[str, Any], context_id: str, course_param: str = "course") -> str:
    """The Code Tutor course of a launch: the custom parameter, else the LMS context id.

    Raises :class:`LTIError` if neither gives a usable id.
    """
    chosen = str(custom.get(course_param) or context_id)
    course = _COURSE_ID.sub("-", chosen).strip("-.")[:64]
    if not course:
        raise LTIError("the launch names no course (no context and no course parameter)")
    return course


@dataclass
class Launch:
    """What a validated LTI 1.3 launch (an ``id_token``'s claims) says, for Code Tutor."""

    issuer: str
    client_id: str
    deployment_id: str
    subject: str
    message_type: str
    context_id: str
    course: str
    role: str | None
    resource_link_id: str | None = None
    problem: str | None = None
    assignment: str | None = None
    lineitem_url: str | None = None
    lineitems_url: str | None = None
    ags_scopes: list[str] = field(default_factory=list)
    memberships_url: str | None = None
    deep_linking: dict[str, Any] | None = None

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any], course_param: str = "course") -> Launch:
        """Read a validated ``id_token``; raises :class:`LTIError` on a claim that is missing."""
        audience = claims.get("aud")
        client_id = claims.get("azp") or (
            audience[0] if isinstance(audience, list) and audience else audience
        )
        context = claims.get(CONTEXT) or {}
        custom = claims.get(CUSTOM) or {}
        if not isinstance(context, Mapping) or not isinstance(custom, Mapping):
            raise LTIError("malformed context or custom claim")
        for name, value in (("iss", claims.get("iss")), ("sub", claims.get("sub"))):
            if not value or not isinstance(value, str):
                raise LTIError(f"the launch has no {name}")
        if not context.get("id"):
            raise LTIError("the launch has no course context")
        ags = claims.get(AGS_ENDPOINT) or {}
        nrps = claims.get(NRPS_SERVICE) or {}
        link = claims.get(RESOURCE_LINK) or {}
        return cls(
            issuer=claims["iss"],
            client_id=str(client_id or ""),
            deployment_id=str(claims.get(DEPLOYMENT_ID) or ""),
            subject=claims["sub"],
            message_type=str(claims.get(MESSAGE_TYPE) or RESOURCE_LINK_REQUEST),
            context_id=str(context["id"]),
            course=course_id(custom, str(context["id"]), course_param),
            role=course_role(list(claims.get(ROLES) or [])),
            resource_link_id=str(link["id"]) if link.get("id") else None,
            problem=str(custom["problem"]) if custom.get("problem") else None,
            assignment=str(custom["assignment"]) if custom.get("assignment") else None,
            lineitem_url=ags.get("lineitem"),
            lineitems_url=ags.get("lineitems"),
            ags_scopes=list(ags.get("scope") or []),
            memberships_url=nrps.get("context_memberships_url"),
            deep_linking=claims.get(DEEP_LINKING_SETTINGS),
        )


def load_tool_config(path: str) -> ToolConfJsonFile:
    """pylti1p3's tool configuration from ``path``; raises :class:`LTIError` if unreadable."""
    if not Path(path).is_file():
        raise LTIError(f"LTI tool configuration {path} not found")
    try:
        return ToolConfJsonFile(path)
    except Exception as e:
        raise LTIError(f"LTI tool configuration {path}: {e}") from e


def find_registration(config: ToolConfJsonFile, issuer: str, client_id: str) -> Registration:
    """The registration of ``issuer`` and ``client_id``; raises :class:`LTIError` if unknown."""
    try:
        registration = config.find_registration_by_params(issuer, client_id)
    except Exception:
        registration = None
    if registration is None:
        raise LTIError(f"no LTI registration for {issuer} (client {client_id})")
    return registration


# -- records (written at launch, read by roster sync and passback) -------------


async def record_launch(store: Store, launch: Launch, user: str) -> None:
    """Coroutine: keep the user's LMS identity and the launch's resource link."""
    async with store.session() as s:
        await _remember_account(s, launch.issuer, launch.subject, user, launch.context_id)
        context = await s.scalar(
            select(LTIContext).where(
                LTIContext.issuer == launch.issuer, LTIContext.context_id == launch.context_id
            )
        )
        if context is None:
            context = LTIContext(issuer=launch.issuer, context_id=launch.context_id)
            s.add(context)
        context.client_id = launch.client_id
        context.course = launch.course
        context.memberships_url = launch.memberships_url or context.memberships_url
        context.updated_at = utcnow()
        if launch.resource_link_id and launch.message_type == RESOURCE_LINK_REQUEST:
            link = await s.scalar(
                select(LTILink).where(
                    LTILink.issuer == launch.issuer,
                    LTILink.resource_link_id == launch.resource_link_id,
                )
            )
            if link is None:
                link = LTILink(issuer=launch.issuer, resource_link_id=launch.resource_link_id)
                s.add(link)
            link.client_id = launch.client_id
            link.deployment_id = launch.deployment_id
            link.context_id = launch.context_id
            link.course = launch.course
            link.problem = launch.problem
            link.assignment = launch.assignment
            link.lineitem_url = launch.lineitem_url
            link.lineitems_url = launch.lineitems_url
            link.ags_scopes = launch.ags_scopes
            link.memberships_url = launch.memberships_url
            link.updated_at = utcnow()


async def remember_members(
    store: Store, issuer: str, context_id: str, members: Mapping[str, str]
) -> None:
    """Coroutine: record roster members (``{subject: hub user name}``) in ``context_id``."""
    async with store.session() as s:
        for subject, user in members.items():
            await _remember_account(s, issuer, subject, user, context_id)


async def _remember_account(s: Any, issuer: str, subject: str, user: str, context: str) -> None:
    account = await s.scalar(
        select(LTIAccount).where(LTIAccount.issuer == issuer, LTIAccount.subject == subject)
    )
    if account is None:
        account = LTIAccount(issuer=issuer, subject=subject, user=user, contexts=[])
        s.add(account)
    account.user = user
    if context not in account.contexts:
        account.contexts = [*account.contexts, context]
    account.updated_at = utcnow()


async def known_users(store: Store, issuer: str) -> dict[str, str]:
    """Coroutine: ``{subject: hub user name}`` of every account at ``issuer``."""
    async with store.session() as s:
        rows = await s.execute(
            select(LTIAccount.subject, LTIAccount.user).where(LTIAccount.issuer == issuer)
        )
        return {subject: user for subject, user in rows}


async def course_roster(store: Store, course: str) -> LTIContext | None:
    """Coroutine: the most recently launched LMS course of ``course`` that has a roster URL."""
    async with store.session() as s:
        return await s.scalar(
            select(LTIContext)
            .where(LTIContext.course == course, LTIContext.memberships_url.is_not(None))
            .order_by(LTIContext.updated_at.desc())
            .limit(1)
        )


# -- LMS services (blocking: pylti1p3 uses requests; call them in an executor) ---


def fetch_members(registration: Registration, memberships_url: str) -> list[dict[str, Any]]:
    """The course roster from NRPS, every page. Blocking; raises pylti1p3's errors."""
    service = NamesRolesProvisioningService(
        ServiceConnector(registration), {"context_memberships_url": memberships_url}
    )
    return [dict(member) for member in service.get_members()]


def put_score(
    registration: Registration,
    link: LTILink,
    subject: str,
    score_given: float,
    score_maximum: float,
    timestamp: datetime,
) -> None:
    """Post one score to the link's AGS line item. Blocking; raises pylti1p3's errors."""
    # the launch's AGS claim as pylti1p3 reads it (scopes are whatever the LMS granted)
    service_data: Any = {
        "scope": list(link.ags_scopes),
        "lineitem": link.lineitem_url or "",
        "lineitems": link.lineitems_url or "",
    }
    service = AssignmentsGradesService(ServiceConnector(registration), service_data)
    score = (
        Grade()
        .set_score_given(score_given)
        .set_score_maximum(score_maximum)
        .set_timestamp(timestamp.astimezone(UTC).isoformat(timespec="milliseconds"))
        .set_activity_progress("Completed")
        .set_grading_progress("FullyGraded")
        .set_user_id(subject)
    )
    service.put_grade(score)
