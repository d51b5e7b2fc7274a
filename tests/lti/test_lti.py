"""LTI 1.3 end to end: deep linking, launch, roster (NRPS), grade passback (AGS).

Against FakeLMS (``fake_lms.py``: lti1p3platform with its own keys over HTTP)
and a real JupyterHub running ``LTIAuthenticator``; nothing on either side is
stubbed. The browser is a ``requests`` session that follows the LMS's and the
Hub's redirects and auto-submitting forms as a browser would.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from sqlalchemy import select

from codetutor.judge.lti_passback import GradePassback
from codetutor.judge.models import LTIAccount, LTILink, LTIScore
from codetutor.judge.queue import DatabaseQueue
from codetutor.judge.store import Store
from codetutor.judge.worker import Worker
from tests.lti.conftest import ADMIN_TOKEN, LTIHub
from tests.lti.fake_lms import INSTRUCTOR, LEARNER, FakeLMS, Member

pytestmark = pytest.mark.slow

COURSE = "ctx-101"
ACCEPTED = {"verdict": "accepted", "score": 1.0, "time_ms": 3.0, "cases": []}
HALF = {"verdict": "wrong_answer", "score": 0.5, "time_ms": 3.0, "cases": []}


class FormParser(HTMLParser):
    """The first form of a page: its action and its hidden fields."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form" and not self.action:
            self.action = found.get("action") or ""
        if tag == "input" and found.get("type") == "hidden" and found.get("name"):
            self.fields[str(found["name"])] = found.get("value") or ""


def form_of(html: str) -> FormParser:
    parser = FormParser()
    parser.feed(html)
    return parser


def launch(lms: FakeLMS, member: str, message: str, browser: requests.Session) -> requests.Response:
    """What a click in the LMS does: login initiation, authorization, the launch form post."""
    initiation = browser.get(lms.login_initiation(member, message), allow_redirects=False)
    assert initiation.status_code == 302, initiation.text
    authorization = browser.get(initiation.headers["Location"], timeout=30)
    assert authorization.status_code == 200, (authorization.text, lms.errors)
    form = form_of(authorization.text)
    return browser.post(form.action, data=form.fields, allow_redirects=False, timeout=30)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


async def publish_problem(db_url: str, slug: str) -> None:
    store = Store(url=db_url)
    await store.connect()
    teacher = await store.ensure_user("author")
    await store.publish(
        user=teacher,
        slug=slug,
        title={"en": "Add two numbers"},
        difficulty=1,
        tags=[],
        mode="function",
        public={"id": slug},
        student_notebook="{}",
        bundle=json.dumps({"hidden": True}),
        case_count=1,
        sha256="c" * 64,
    )
    await store.close()


async def judged_submission(db_url: str, user: str, slug: str, result: dict[str, Any]) -> int:
    """A submission of ``user`` with ``result`` stored as its verdict, as a worker stores it."""
    store = Store(url=db_url)
    await store.connect()
    student = await store.ensure_user(user)
    problem = await store.get_problem(slug)
    assert problem is not None
    sub = await store.add_submission(user=student, problem=problem, code="x", notebook=None)
    queue = DatabaseQueue(store=store)
    lease = await queue.take("test", timeout_s=5)
    assert lease is not None and lease.submission_id == sub.id
    assert await store.finish(lease, result)
    await queue.done(lease)
    await store.close()
    return sub.id


def wait_for(condition: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@pytest.fixture(scope="module")
def course(lms: FakeLMS, lti_hub: LTIHub) -> FakeLMS:
    """The course's members; the instructor has placed problem ``add`` (deep linking)."""
    members = lms.course.members
    members["teacher"] = Member("u-t", "Terry Teacher", "teacher@example.edu", INSTRUCTOR)
    members["alice"] = Member("u-a", "Alice", "alice@example.edu", LEARNER)
    members["bob"] = Member("u-b", "Bob", "bob@example.edu", LEARNER)
    members["carol"] = Member("u-c", "Carol", "carol@example.edu", LEARNER, status="Inactive")
    run(publish_problem(lti_hub.judge_db_url, "add"))
    return lms


def test_instructor_places_a_problem_by_deep_linking(course: FakeLMS, lti_hub: LTIHub) -> None:
    browser = requests.Session()
    landed = launch(course, "teacher", "deep-link", browser)
    assert landed.status_code == 302, landed.text
    assert landed.headers["Location"].endswith("/hub/lti13/deep-link")
    picker = browser.get(f"{lti_hub.url}/hub/lti13/deep-link", timeout=30)
    assert picker.status_code == 200 and 'value="problem:add"' in picker.text
    xsrf = form_of(picker.text).fields["_xsrf"]

    wrong = browser.post(
        f"{lti_hub.url}/hub/lti13/deep-link",
        data={"item": "problem:nope", "_xsrf": xsrf},
        timeout=30,
    )
    assert wrong.status_code == 400
    assert "nothing to place" in wrong.json()["message"]

    chosen = browser.post(
        f"{lti_hub.url}/hub/lti13/deep-link",
        data={"item": "problem:add", "_xsrf": xsrf},
        timeout=30,
    )
    assert chosen.status_code == 200
    response = form_of(chosen.text)
    assert response.action == f"{course.url}/deep_link_return"
    # the LMS checks the tool's signature against the tool's key set, fetched over HTTP
    placed = requests.post(response.action, data=response.fields, timeout=30)
    assert placed.status_code == 200, (placed.text, course.errors)
    (link_id,) = placed.json()["links"]
    link = course.course.links[link_id]
    assert link["custom"] == {"course": COURSE, "problem": "add"}
    lineitem = course.course.lineitems[link["lineitem"]]
    assert lineitem["resourceId"] == "problem:add" and lineitem["scoreMaximum"] == 100

    # the instructor's launch synced the roster (NRPS) into the course's Hub groups
    students = wait_for(lambda: lti_hub.group(f"course:{COURSE}:students"))
    assert students == ["alice@example.edu", "bob@example.edu"]  # carol is inactive
    assert lti_hub.group(f"course:{COURSE}:instructors") == ["teacher@example.edu"]


def test_student_launch_and_grade_passback(course: FakeLMS, lti_hub: LTIHub) -> None:
    if not course.course.links:
        test_instructor_places_a_problem_by_deep_linking(course, lti_hub)
    link_id = next(iter(course.course.links))
    lineitem_id = course.course.links[link_id]["lineitem"]
    browser = requests.Session()
    landed = launch(course, "alice", link_id, browser)
    assert landed.status_code == 302, landed.text
    assert landed.headers["Location"].endswith("/hub/user-redirect/lab")
    me = browser.get(f"{lti_hub.url}/hub/api/user", timeout=30)
    assert me.json()["name"] == "alice@example.edu"
    assert "alice@example.edu" in lti_hub.group(f"course:{COURSE}:students")
    # placing content needs an instructor's deep linking launch; alice has none
    refused = browser.get(f"{lti_hub.url}/hub/lti13/deep-link", timeout=30)
    assert refused.status_code == 400 and "start it from the LMS" in refused.json()["message"]
    student_dl = launch(course, "alice", "deep-link", requests.Session())
    assert student_dl.status_code == 403

    async def records() -> tuple[list[LTILink], list[LTIAccount]]:
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        async with store.session() as s:
            links = list(await s.scalars(select(LTILink)))
            accounts = list(await s.scalars(select(LTIAccount)))
        await store.close()
        return links, accounts

    links, accounts = run(records())
    (link,) = links
    assert (link.course, link.problem, link.resource_link_id) == (COURSE, "add", link_id)
    assert link.lineitem_url == f"{course.url}/lineitems/{lineitem_id}"
    alice = next(a for a in accounts if a.user == "alice@example.edu")
    assert (alice.subject, alice.contexts) == ("u-a", [COURSE])

    # a half-right submission, then an accepted one: the LMS gets 50, then 100
    async def pass_back(result: dict[str, Any]) -> list[LTIScore]:
        sub_id = await judged_submission(lti_hub.judge_db_url, "alice@example.edu", "add", result)
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        passback = GradePassback(store=store, tool_config_file=lti_hub.tool_config_file)
        started = time.monotonic()
        rows = await passback.submission_judged(sub_id)
        assert time.monotonic() - started < 5  # "within seconds of a verdict"
        await store.close()
        return rows

    (first,) = run(pass_back(HALF))
    assert (first.status, first.score_given, first.error) == ("sent", 50.0, None)
    (second,) = run(pass_back(ACCEPTED))
    assert second.status == "sent" and second.score_given == 100.0
    scores = course.course.scores[lineitem_id]
    assert [(s["userId"], s["scoreGiven"], s["scoreMaximum"]) for s in scores] == [
        ("u-a", 50.0, 100.0),
        ("u-a", 100.0, 100.0),
    ]
    assert scores[-1]["activityProgress"] == "Completed"
    assert scores[-1]["gradingProgress"] == "FullyGraded"

    # a worse verdict after the best one, through a worker: the best is sent again
    async def through_worker() -> None:
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        student = await store.ensure_user("alice@example.edu")
        problem = await store.get_problem("add")
        assert problem is not None
        await store.add_submission(user=student, problem=problem, code="x", notebook=None)
        queue = DatabaseQueue(store=store)
        worker = Worker(store=store, queue=queue, max_attempts=0)
        worker.passback.tool_config_file = lti_hub.tool_config_file
        lease = await queue.take("worker", timeout_s=5)
        assert lease is not None
        await worker.process(lease)  # past max_attempts: stored as internal_error
        await worker.close()  # waits for the grades being sent
        await store.close()

    run(through_worker())
    assert [s["scoreGiven"] for s in course.course.scores[lineitem_id]] == [50.0, 100.0, 100.0]

    # the LMS refuses (alice has left the course there): tried again, then recorded as failed
    alice_there = course.course.members.pop("alice")
    try:

        async def refused() -> list[LTIScore]:
            sub_id = await judged_submission(
                lti_hub.judge_db_url, "alice@example.edu", "add", ACCEPTED
            )
            store = Store(url=lti_hub.judge_db_url)
            await store.connect()
            passback = GradePassback(
                store=store,
                tool_config_file=lti_hub.tool_config_file,
                attempts=2,
                retry_delay_s=0.05,
            )
            rows = await passback.submission_judged(sub_id)
            await store.close()
            return rows

        (failed,) = run(refused())
    finally:
        course.course.members["alice"] = alice_there
    assert failed.status == "failed" and failed.error and "422" in failed.error
    assert len(course.course.scores[lineitem_id]) == 3
    assert sum("user not in course" in e for e in course.errors) == 2


def test_a_forged_launch_logs_no_one_in(course: FakeLMS, lti_hub: LTIHub) -> None:
    if not course.course.links:
        test_instructor_places_a_problem_by_deep_linking(course, lti_hub)
    link_id = next(iter(course.course.links))
    browser = requests.Session()
    initiation = browser.get(course.login_initiation("bob", link_id), allow_redirects=False)
    authorization = browser.get(initiation.headers["Location"], timeout=30)
    form = form_of(authorization.text)
    header, payload, signature = form.fields["id_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "u-t"  # bob pretends to be the teacher
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [INSTRUCTOR]
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    form.fields["id_token"] = f"{header}.{forged}.{signature}"
    answer = browser.post(form.action, data=form.fields, allow_redirects=False, timeout=30)
    assert answer.status_code in (400, 401), answer.text
    assert browser.get(f"{lti_hub.url}/hub/api/user", timeout=30).status_code in (401, 403)

    # without the login initiation's state cookie, a replayed launch is refused too
    replay = requests.post(
        form.action, data={**form.fields, "id_token": form.fields["id_token"]}, timeout=30
    )
    assert replay.status_code == 400


def test_roster_endpoint_checks_who_asks(course: FakeLMS, lti_hub: LTIHub) -> None:
    if not course.course.links:
        test_instructor_places_a_problem_by_deep_linking(course, lti_hub)
    url = f"{lti_hub.url}/hub/api/lti13/courses/{COURSE}/roster"
    course.course.members["dan"] = Member("u-d", "Dan", "dan@example.edu", LEARNER)
    admin = {"Authorization": f"token {ADMIN_TOKEN}"}
    synced = requests.post(url, headers=admin, timeout=30)
    assert synced.status_code == 200, synced.text
    summary = synced.json()
    assert summary["students"] == ["alice@example.edu", "bob@example.edu", "dan@example.edu"]
    assert summary["instructors"] == ["teacher@example.edu"] and summary["unmatched"] == []
    assert "dan@example.edu" in lti_hub.group(f"course:{COURSE}:students")
    assert lti_hub.api("users/dan@example.edu").json()["roles"] == ["user"]
    # a student the roster created is a full Hub user at their first launch
    dan = requests.Session()
    assert launch(course, "dan", next(iter(course.course.links)), dan).status_code == 302
    assert dan.get(f"{lti_hub.url}/hub/api/user", timeout=30).json()["name"] == "dan@example.edu"

    token = requests.post(
        f"{lti_hub.url}/hub/api/users/bob@example.edu/tokens", headers=admin, json={}, timeout=30
    ).json()["token"]
    refused = requests.post(url, headers={"Authorization": f"token {token}"}, timeout=30)
    assert refused.status_code == 403
    assert "only instructors of" in refused.json()["message"]
    unknown = requests.post(
        f"{lti_hub.url}/hub/api/lti13/courses/no-such-course/roster", headers=admin, timeout=30
    )
    assert unknown.status_code == 404 and "no LMS roster" in unknown.json()["message"]


def test_lti_tables_match_their_migration(judge_db_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from codetutor.judge.models import Base

    async def diff() -> list[Any]:
        store = Store(url=judge_db_url)
        await store.upgrade()
        assert store.engine is not None
        async with store.engine.connect() as conn:
            found = await conn.run_sync(
                lambda c: list(compare_metadata(MigrationContext.configure(c), Base.metadata))
            )
        await store.close()
        return found

    assert [d for d in run(diff()) if "lti_" in repr(d)] == []


def test_an_assignment_placed_in_the_lms_gets_points_within_the_late_policy(
    course: FakeLMS, lti_hub: LTIHub
) -> None:
    """Points out of the assignment's, as the course gradebook counts them (time injected)."""
    from datetime import UTC, datetime, timedelta

    from codetutor.judge.courses import AssignmentSpec, CourseBook, CourseSpec
    from codetutor.judge.models import AssignmentSubmission
    from codetutor.judge.policy import Extension, LatePolicy, credit

    due = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    late = LatePolicy.from_dict({"kind": "by_date", "steps": [{"hours": 48, "credit": 0.8}]})
    spec = AssignmentSpec(
        slug="hw1",
        title="Homework 1",
        opens_at=due - timedelta(days=7),
        due_at=due,
        policy=late,
        after_close="practice",
        exam_minutes=None,
        problems=(("add", 10.0), ("sub", 30.0)),
    )

    async def set_up() -> None:
        await publish_problem(lti_hub.judge_db_url, "sub")
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        book = CourseBook(store)
        row, _ = await book.put_course(CourseSpec(COURSE, "CS101", ("add", "sub")))
        await book.put_assignment(row, spec)
        await store.close()

    run(set_up())
    teacher = requests.Session()
    assert launch(course, "teacher", "deep-link", teacher).status_code == 302
    picker = teacher.get(f"{lti_hub.url}/hub/lti13/deep-link", timeout=30)
    assert 'value="assignment:hw1"' in picker.text and "40 points" in picker.text
    chosen = teacher.post(
        f"{lti_hub.url}/hub/lti13/deep-link",
        data={"item": "assignment:hw1", "_xsrf": form_of(picker.text).fields["_xsrf"]},
        timeout=30,
    )
    response = form_of(chosen.text)
    (link_id,) = requests.post(response.action, data=response.fields, timeout=30).json()["links"]
    lineitem_id = course.course.links[link_id]["lineitem"]
    assert course.course.lineitems[lineitem_id]["scoreMaximum"] == 40.0
    assert launch(course, "alice", link_id, requests.Session()).status_code == 302

    async def submit(problem: str, at: datetime, result: dict[str, Any]) -> float:
        """Alice submits ``problem`` at ``at`` (the course clock); returns the points sent."""
        sub_id = await judged_submission(lti_hub.judge_db_url, "alice@example.edu", problem, result)
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        book = CourseBook(store)
        hw1 = await book.assignment(await book.course(COURSE), "hw1")
        student = await store.ensure_user("alice@example.edu")
        passback = GradePassback(store=store, tool_config_file=lti_hub.tool_config_file)
        # the verdict comes before the submit path records what the submission counts for
        sending = asyncio.create_task(passback.submission_judged(sub_id))
        await asyncio.sleep(0.5)
        await book.record(
            AssignmentSubmission(
                submission_id=sub_id,
                assignment_id=hw1.id,
                user_id=student.id,
                problem=problem,
                submitted_at=at,
                credit=credit(hw1, at),
                practice=False,
                receipt=None,
            )
        )
        rows = [r for r in await sending if r.score_maximum == 40.0]
        await store.close()
        (row,) = rows
        assert row.status == "sent", row.error
        return row.score_given

    # the due instant itself is on time: 10 of add's 10 points
    assert run(submit("add", due, ACCEPTED)) == 10.0
    # one second past the 48-hour step: no credit, the points stay
    assert run(submit("sub", due + timedelta(hours=48, seconds=1), ACCEPTED)) == 10.0
    # at the step's end, 80 %: half of sub's 30 points, times 0.8
    assert run(submit("sub", due + timedelta(hours=48), HALF)) == 10.0 + 12.0
    sent = [
        (s["userId"], s["scoreGiven"], s["scoreMaximum"]) for s in course.course.scores[lineitem_id]
    ]
    assert sent == [("u-a", 10.0, 40.0), ("u-a", 10.0, 40.0), ("u-a", 22.0, 40.0)]

    # an extension afterwards: the instructor sends the course's grades again, and the
    # submission made 48 h + 1 s late is now on time (30 of sub's 30 points)
    async def extend() -> None:
        store = Store(url=lti_hub.judge_db_url)
        await store.connect()
        book = CourseBook(store)
        hw1 = await book.assignment(await book.course(COURSE), "hw1")
        student = await store.ensure_user("alice@example.edu")
        await book.put_extension(hw1, student, Extension(due_at=due + timedelta(days=3)))
        await store.close()

    run(extend())
    resend = requests.post(
        f"{lti_hub.url}/hub/api/lti13/courses/{COURSE}/grades",
        headers={"Authorization": f"token {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert resend.status_code == 200, resend.text
    # alice's two links (hw1 and the problem add); no grade for those who never tried
    assert resend.json() == {"course": COURSE, "sent": 2, "failed": 0}
    assert course.course.scores[lineitem_id][-1]["scoreGiven"] == 40.0
