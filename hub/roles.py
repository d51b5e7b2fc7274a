"""Who may do what: the Hub's groups, roles and custom scopes.

Every user is a **student** by default: JupyterHub gives every user the ``user``
role, which we redefine to carry the student's scopes. Membership of the
``instructors`` group adds the instructor's scopes. The Hub's own ``admin`` role
(the control panel) cannot be redefined, so ``codetutor up`` also puts its admin
in the ``instructors`` group.

The custom scopes are exactly the ones the services check
(:mod:`codetutor.judge.service`; the tutor checks only access to itself):

========================  ===========================================================
``custom:judge:submit``   submit, and read one's own submissions
``custom:judge:read-all`` read every submission of the class, hidden-case details too
``custom:problems:write`` publish problems
``custom:judge:tutor``    the tutor service only: problems for the tutor, students'
                          last verdicts, guard jobs (:mod:`codetutor.judge.service.tutoring`)
========================  ===========================================================

The tutor service's own Hub API token gets the ``tutor-service`` role
(:data:`TUTOR_SERVICE_SCOPES`): access to the judge service and ``custom:judge:tutor``.
No user role and no server token carries ``custom:judge:tutor``.

A single-user server's token (``JUPYTERHUB_API_TOKEN``, what the server extension
calls the services with) gets :func:`server_token_scopes`: the subset of these
that its owner holds (JupyterHub intersects them). The services take the caller's
identity from the token, so a student's server can submit and chat only as that
student.
"""

from __future__ import annotations

from typing import Any

# The names the judge service checks (codetutor.judge.service; a test keeps them equal).
# Not imported from there: that module registers Prometheus metrics whose names clash
# with Jupyter Server's in one process.
SCOPE_SUBMIT = "custom:judge:submit"
SCOPE_READ_ALL = "custom:judge:read-all"
SCOPE_PUBLISH = "custom:problems:write"
SCOPE_TUTOR = "custom:judge:tutor"

JUDGE_SERVICE = "judge"
TUTOR_SERVICE = "tutor"
CULLER_SERVICE = "idle-culler"
#: the instructors' class dashboard (codetutor.insight); only instructors may open it
DASHBOARD_SERVICE = "dashboard"
#: the service holding CODETUTOR_ADMIN_TOKEN (automation: codetutor up, tests, scripts)
ADMIN_SERVICE = "codetutor-admin"
#: the service holding Prometheus' token for /hub/metrics (production)
METRICS_SERVICE = "prometheus"

STUDENTS = "students"
INSTRUCTORS = "instructors"

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    SCOPE_SUBMIT: {
        "description": "Submit solutions to the judge and read one's own submissions.",
    },
    SCOPE_READ_ALL: {
        "description": "Read every submission of the class, with hidden-case details.",
    },
    SCOPE_PUBLISH: {
        "description": "Publish problem notebooks to the judge.",
    },
    SCOPE_TUTOR: {
        "description": "The tutor service: read problems and students' last verdicts "
        "from the judge, and run guard jobs on its workers.",
    },
}

#: reaching the judge and tutor services at all (their OAuth access scopes)
SERVICE_ACCESS = [
    f"access:services!service={JUDGE_SERVICE}",
    f"access:services!service={TUTOR_SERVICE}",
]

STUDENT_SCOPES = ["self", *SERVICE_ACCESS, SCOPE_SUBMIT]
DASHBOARD_ACCESS = f"access:services!service={DASHBOARD_SERVICE}"
INSTRUCTOR_SCOPES = [
    *SERVICE_ACCESS,
    DASHBOARD_ACCESS,
    SCOPE_SUBMIT,
    SCOPE_READ_ALL,
    SCOPE_PUBLISH,
]

#: what the tutor service's own token may do at the judge (and nothing else)
TUTOR_SERVICE_SCOPES = [f"access:services!service={JUDGE_SERVICE}", SCOPE_TUTOR]

#: what JupyterHub's own ``server`` role grants a single-user server
SERVER_BASE_SCOPES = ["users:activity!user", "access:servers!server"]


def load_roles(admin_service: bool = False, metrics_service: bool = False) -> list[dict[str, Any]]:
    """``c.JupyterHub.load_roles``: the student (default) and instructor roles, the tutor
    service's and the culler's.

    With ``admin_service``, the :data:`ADMIN_SERVICE` (holding the admin API token)
    gets the admin role and the instructor's scopes; with ``metrics_service``, the
    :data:`METRICS_SERVICE` may read ``/hub/metrics``.
    """
    admin_services = [ADMIN_SERVICE] if admin_service else []
    found = [
        {
            "name": "user",
            "description": "Every user: a student (submit, chat, read own submissions).",
            "scopes": STUDENT_SCOPES,
        },
        {
            "name": "instructor",
            "description": "Instructors: publish problems, read all submissions of the class.",
            "scopes": INSTRUCTOR_SCOPES,
            "groups": [INSTRUCTORS],
            "services": admin_services,
        },
        {
            "name": "tutor-service",
            "description": "The tutor service: its one door into the judge.",
            "scopes": TUTOR_SERVICE_SCOPES,
            "services": [TUTOR_SERVICE],
        },
        {
            "name": "idle-culler",
            "description": "Stops idle single-user servers.",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": [CULLER_SERVICE],
        },
    ]
    if admin_service:
        found.append({"name": "admin", "services": admin_services})
    if metrics_service:
        found.append(
            {
                "name": "metrics",
                "description": "Prometheus: read the Hub's metrics.",
                "scopes": ["read:metrics"],
                "services": [METRICS_SERVICE],
            }
        )
    return found


def load_groups() -> dict[str, dict[str, Any]]:
    """``c.JupyterHub.load_groups``: the two class groups (membership is managed in the Hub)."""
    return {
        STUDENTS: {"users": [], "properties": {"description": "Students of the class."}},
        INSTRUCTORS: {"users": [], "properties": {"description": "Instructors of the class."}},
    }


def server_token_scopes() -> list[str]:
    """``c.Spawner.server_token_scopes``: what a user's own server may do on their behalf.

    JupyterHub grants the subset of these its owner holds: a student's server can
    submit and chat; an instructor's can also publish and read the class's work.
    """
    return [
        *SERVER_BASE_SCOPES,
        *SERVICE_ACCESS,
        DASHBOARD_ACCESS,
        SCOPE_SUBMIT,
        SCOPE_READ_ALL,
        SCOPE_PUBLISH,
    ]
