"""What Code Tutor reads from a launch: course roles, the course, bad claims."""

from __future__ import annotations

import pytest

from codetutor.judge.lti import (
    AGS_ENDPOINT,
    CONTEXT,
    CUSTOM,
    DEEP_LINKING_REQUEST,
    MESSAGE_TYPE,
    ROLES,
    Launch,
    LTIError,
    course_id,
    course_role,
)

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"


@pytest.mark.parametrize(
    ("roles", "expected"),
    [
        ([LIS + "membership#Instructor"], "instructors"),
        ([LIS + "membership/Instructor#TeachingAssistant"], "instructors"),
        ([LIS + "membership#ContentDeveloper"], "instructors"),
        ([LIS + "membership#Learner"], "students"),
        (["Learner"], "students"),
        ([LIS + "membership#Learner", LIS + "membership#Instructor"], "instructors"),
        # institution and system roles say nothing about the course
        ([LIS + "institution/person#Instructor"], None),
        ([LIS + "system/person#Administrator", LIS + "membership#Learner"], "students"),
        # a mentor (a parent, an advisor) is neither
        ([LIS + "membership#Mentor"], None),
        ([], None),
    ],
)
def test_course_role(roles: list[str], expected: str | None) -> None:
    assert course_role(roles) == expected


def test_course_id_prefers_the_custom_parameter_and_stays_a_slug() -> None:
    assert course_id({"course": "cs101"}, "ctx-9") == "cs101"
    assert course_id({}, "ctx-9") == "ctx-9"
    assert course_id({}, "Fall 2026 / CS 101!") == "Fall-2026-CS-101"
    assert len(course_id({}, "x" * 300)) == 64
    with pytest.raises(LTIError):
        course_id({}, "///")


def claims(**extra: object) -> dict[str, object]:
    return {
        "iss": "https://lms.example.edu",
        "aud": ["client-1"],
        "azp": "client-1",
        "sub": "u-1",
        CONTEXT: {"id": "ctx-1", "label": "CS1"},
        ROLES: [LIS + "membership#Learner"],
        **extra,
    }


def test_a_launch_is_read_from_its_claims() -> None:
    launch = Launch.from_claims(
        claims(
            **{
                CUSTOM: {"course": "cs1", "assignment": "hw1"},
                AGS_ENDPOINT: {"scope": ["s"], "lineitem": "https://l/1", "lineitems": "https://l"},
            }
        )
    )
    assert (launch.client_id, launch.course, launch.role) == ("client-1", "cs1", "students")
    assert (launch.assignment, launch.problem) == ("hw1", None)
    assert (launch.lineitem_url, launch.ags_scopes) == ("https://l/1", ["s"])
    deep = Launch.from_claims(claims(**{MESSAGE_TYPE: DEEP_LINKING_REQUEST}))
    assert deep.message_type == DEEP_LINKING_REQUEST and deep.resource_link_id is None


@pytest.mark.parametrize(
    "broken",
    [{CONTEXT: None}, {CONTEXT: {"label": "no id"}}, {"sub": ""}, {CUSTOM: ["not", "a", "map"]}],
)
def test_a_launch_without_what_code_tutor_needs_is_refused(broken: dict[str, object]) -> None:
    with pytest.raises(LTIError):
        Launch.from_claims(claims(**broken))
