"""The instructors' judge API of issue 17: validate (publish's dry run) and unpublish.

Each new endpoint is tried by a student, an instructor and an admin: the Hub's admin
holds the instructor's scopes only through the ``instructors`` group
(:mod:`codetutor.hub.roles`), so an admin outside it is refused like a student. The
service runs against :class:`FakeHub`, once on SQLite and once on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from judge_service_helpers import ACCEPTED, Client, FakeHub, ServiceProcess, problem_notebook

SUBMIT = "custom:judge:submit"
READ_ALL = "custom:judge:read-all"
PUBLISH = "custom:problems:write"
#: what JupyterHub's admin role gives that matters here (no custom scope)
ADMIN = ("admin:users", "admin:servers", "admin-ui", "list:users")


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.start()
    yield hub
    hub.stop()


class Class:
    """A running judge service with a student, an instructor and two admins."""

    def __init__(self, service: ServiceProcess, hub: FakeHub) -> None:
        self.student = Client(service, hub.add_user("sora", SUBMIT))
        self.instructor = Client(service, hub.add_user("prof", SUBMIT, READ_ALL, PUBLISH))
        # the Hub's admin in the instructors group (as `codetutor up` makes it) ...
        self.admin = Client(service, hub.add_user("root", *ADMIN, SUBMIT, READ_ALL, PUBLISH))
        # ... and an admin who is not an instructor
        self.operator = Client(service, hub.add_user("ops", *ADMIN, SUBMIT))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def klass(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Class]:
    workdir = tmp_path_factory.mktemp("service")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    service = ServiceProcess(hub=hub, db_url=db_url, workdir=workdir, workers=1)
    service.start()
    try:
        yield Class(service, hub)
    finally:
        service.stop()


def ids(client: Client) -> dict[str, bool | None]:
    """The problem list as ``client`` sees it: id -> its ``published`` flag (if shown)."""
    r = client.get("api/problems")
    assert r.status_code == 200, r.text
    return {p["id"]: p.get("published") for p in r.json()["problems"]}


def test_validate_shows_expected_values_and_stores_nothing(klass: Class) -> None:
    nb = problem_notebook("drafted")
    for client in (klass.instructor, klass.admin):
        r = client.post("api/validate", json=nb)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["id"] == "drafted" and body["mode"] == "function"
        cases = {c["name"]: c for c in body["cases"]}
        assert [c["name"] for c in body["cases"]] == ["small", "zero", "big", "negative"]
        assert cases["small"]["expected"] == "3" and cases["small"]["visibility"] == "public"
        assert cases["big"]["expected"] == "1000001" and cases["big"]["visibility"] == "hidden"
        assert (cases["negative"]["cell"], cases["negative"]["line"]) == (4, 4)
        assert cases["negative"]["source"] == "add(-5, 2)"
    assert "drafted" not in ids(klass.instructor)

    for client in (klass.student, klass.operator):
        r = client.post("api/validate", json=nb)
        assert r.status_code == 403, r.text
        assert r.json()["message"] == f"this needs the Hub scope {PUBLISH}"


def test_validate_refuses_bad_input_as_publish_does(klass: Class) -> None:
    nb = problem_notebook("broken")
    nb["cells"][3]["source"] = "# case: small\nadd(1, 2)\nadd(0, 0"
    r = klass.instructor.post("api/validate", json=nb)
    assert r.status_code == 422, r.text
    # the cell counted from 1 in the message, as JupyterLab shows it; from 0 in "cell"
    assert r.json()["message"].startswith("cell 4, line 3: ")
    assert (r.json()["cell"], r.json()["line"]) == (3, 3)

    wrong = problem_notebook("wrong")
    wrong["cells"][2]["source"] = "def add(a, b):\n    return a + b\n\ndef add(a, b) return 0"
    r = klass.instructor.post("api/validate", json=wrong)
    assert r.status_code == 422, r.text
    assert r.json()["cell"] == 2 and r.json()["message"].startswith("cell 3, line 4: ")

    assert klass.instructor.post("api/validate", json={"cells": "no"}).status_code == 400
    assert klass.instructor.post("api/validate", data=b"{").status_code == 400
    r = klass.instructor.get("api/validate")
    assert r.status_code == 405 and r.headers["Allow"] == "POST", r.headers


def test_unpublish_hides_a_problem_from_students_and_keeps_its_submissions(
    klass: Class,
) -> None:
    notebook = problem_notebook("retired")
    r = klass.instructor.post("api/problems", json=notebook)
    assert r.status_code == 201, r.text
    r = klass.student.post("api/submissions", json={"problem": "retired", "code": ACCEPTED})
    assert r.status_code == 202, r.text
    submission = r.json()["id"]
    assert klass.student.wait_judged(submission)["verdict"] == "accepted"

    # neither a student nor an admin outside the instructors may unpublish
    for client in (klass.student, klass.operator):
        r = client.post("api/problems/retired/visibility", json={"published": False})
        assert r.status_code == 403, r.text
    r = klass.instructor.post("api/problems/retired/visibility", json={"published": False})
    assert r.status_code == 200, r.text
    assert r.json()["id"] == "retired" and r.json()["published"] is False

    # students no longer see it, open it, submit to it or get it recommended
    assert "retired" not in ids(klass.student)
    r = klass.operator.get("api/recommendations", params={"limit": 20})
    assert r.status_code == 200, r.text
    assert "retired" not in [p["problem"] for p in r.json()["recommendations"]]
    assert "retired" not in ids(klass.operator)
    assert klass.student.get("api/problems/retired").status_code == 404
    assert klass.student.get("api/problems/retired/notebook").status_code == 404
    r = klass.student.post("api/submissions", json={"problem": "retired", "code": ACCEPTED})
    assert r.status_code == 404 and r.json()["message"] == "no problem 'retired'"
    # ... but their submission is kept, for them and for the instructors
    assert klass.student.get(f"api/submissions/{submission}").json()["verdict"] == "accepted"
    for client in (klass.instructor, klass.admin):
        assert ids(client)["retired"] is False
        assert client.get("api/problems/retired").status_code == 200
        r = client.get("api/submissions", params={"user": "sora", "problem": "retired"})
        assert [s["id"] for s in r.json()["submissions"]] == [submission]

    # shown again by the admin (an instructor), then hidden and published anew
    r = klass.admin.post("api/problems/retired/visibility", json={"published": True})
    assert r.status_code == 200 and r.json()["published"] is True
    assert "retired" in ids(klass.student)
    r = klass.operator.get("api/recommendations", params={"limit": 20})
    assert "retired" in [p["problem"] for p in r.json()["recommendations"]]
    klass.instructor.post("api/problems/retired/visibility", json={"published": False})
    assert "retired" not in ids(klass.student)
    # the same notebook again: no new version, and shown again
    r = klass.instructor.post("api/problems", json=notebook)
    assert r.status_code == 200 and r.json()["created"] is False, r.text
    assert "retired" in ids(klass.student)


def test_unpublish_refuses_bad_input(klass: Class) -> None:
    for body in ({}, {"published": "no"}, {"published": 0}, []):
        r = klass.instructor.post("api/problems/drafted/visibility", json=body)
        assert r.status_code == 400, r.text
    r = klass.instructor.post("api/problems/nowhere/visibility", json={"published": False})
    assert r.status_code == 404 and r.json()["message"] == "no problem 'nowhere'"
    r = klass.instructor.post("api/problems/nowhere/visibility", json={"published": "no"})
    assert r.status_code == 400 and "published" in r.json()["message"]
    r = klass.instructor.post("api/problems/nowhere/visibility", data=b"not json")
    assert r.status_code == 400


def test_a_browser_is_sent_to_log_in_and_a_client_gets_401(klass: Class) -> None:
    url = klass.student.service.url("api/submissions?user=sora")
    browser = requests.get(
        url,
        headers={"Accept": "text/html,application/xhtml+xml"},
        allow_redirects=False,
        timeout=30,
    )
    assert browser.status_code == 302, browser.text
    assert "/hub/api/oauth2/authorize" in browser.headers["Location"]
    assert "client_id=service-judge" in browser.headers["Location"]
    client = requests.get(url, headers={"Accept": "application/json"}, timeout=30)
    assert client.status_code == 401 and "token" in client.json()["message"]
    posted = requests.post(
        klass.student.service.url("api/validate"), headers={"Accept": "text/html"}, timeout=30
    )
    assert posted.status_code == 401
