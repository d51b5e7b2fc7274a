"""End to end, with real processes on loopback: ``codetutor up``, users, extension, services.

An instructor publishes a problem through the server extension, a student opens
it, submits a wrong and then a right answer and follows both verdicts live, asks
the tutor and gets streamed tokens; another student cannot read the first one's
submissions; stopping ``up`` leaves no process behind.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from tornado.httpclient import HTTPRequest
from tornado.websocket import websocket_connect

from .helpers import REPO

pytestmark = pytest.mark.slow

PROBLEM = "leap-year"
NOTEBOOKS = REPO / "notebooks"


class UserServer:
    """A user's single-user server through the proxy, with that user's Hub token."""

    def __init__(self, base: str, name: str, token: str) -> None:
        self.base = f"{base}/user/{name}/"
        self.token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {token}"

    def api(self, method: str, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.session.request(
            method,
            self.base + "codetutor/api/" + path,
            data=json.dumps(body) if body is not None else None,
            timeout=180,
            **kwargs,
        )

    def put_notebook(self, path: str, nb: dict[str, Any]) -> None:
        r = self.session.put(
            self.base + "api/contents/" + path,
            data=json.dumps({"type": "notebook", "format": "json", "content": nb}),
            timeout=60,
        )
        assert r.status_code in (200, 201), r.text

    def get_notebook(self, path: str) -> dict[str, Any]:
        r = self.session.get(self.base + "api/contents/" + path, timeout=60)
        assert r.status_code == 200, r.text
        return dict(r.json()["content"])


def verdict_events(body: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in body.split("\n\n"):
        name = re.search(r"^event: (.+)$", block, re.M)
        data = re.search(r"^data: (.+)$", block, re.M)
        if name and data:
            found.append((name.group(1), json.loads(data.group(1))))
    return found


async def ask_tutor(server: UserServer, path: str) -> list[dict[str, Any]]:
    url = server.base.replace("http://", "ws://") + "codetutor/api/tutor/chat"
    ws = await websocket_connect(
        HTTPRequest(url, headers={"Authorization": f"token {server.token}"}, connect_timeout=60)
    )
    try:
        ws.write_message(
            json.dumps({"type": "ask", "message": "Where do I start?", "path": path, "lang": "en"})
        )
        events: list[dict[str, Any]] = []
        while not events or events[-1]["type"] not in ("done", "error"):
            message = await ws.read_message()
            assert message is not None, events
            events.append(json.loads(message))
        return events
    finally:
        ws.close()


async def test_a_class_end_to_end(up_factory: Any, tmp_path: Path) -> None:
    began = time.monotonic()
    up = up_factory()
    started_in = time.monotonic() - began

    # The admin creates an instructor and two students through the Hub's REST API.
    r = up.api("POST", "users", {"usernames": ["teacher", "alice", "bob"]})
    assert r.status_code == 201, r.text
    r = up.api("POST", "groups/instructors/users", {"users": ["teacher"]})
    assert r.status_code == 200, r.text
    spawn_s = {name: up.start_server(name) for name in ("teacher", "alice", "bob")}
    teacher, alice, bob = (
        UserServer(up.url, name, up.user_token(name)) for name in ("teacher", "alice", "bob")
    )

    # The instructor publishes the problem from a notebook in their workspace.
    problem_nb = json.loads((NOTEBOOKS / PROBLEM / "problem.ipynb").read_text())
    teacher.put_notebook("leap.ipynb", problem_nb)
    alice.put_notebook("leap-copy.ipynb", problem_nb)
    r = alice.api("POST", "publish", {"path": "leap-copy.ipynb"})
    assert r.status_code == 403, r.text
    r = teacher.api("POST", "publish", {"path": "leap.ipynb"})
    assert r.status_code in (200, 201), r.text
    assert PROBLEM in [p["id"] for p in alice.api("GET", "problems").json()["problems"]]

    # Alice opens it, submits a wrong and then a right answer, following each live.
    r = alice.api("POST", f"problems/{PROBLEM}/open")
    assert r.status_code == 201, r.text
    path = r.json()["path"]
    r = alice.api("POST", f"problems/{PROBLEM}/open")
    assert r.status_code == 409, r.text
    verdicts = []
    submission_ids = []
    for name in ("wrong_forgets_400.py", "accepted.py"):
        nb = alice.get_notebook(path)
        starter = next(c for c in nb["cells"] if "starter" in c["metadata"].get("tags", []))
        starter["source"] = (NOTEBOOKS / PROBLEM / "submissions" / name).read_text()
        alice.put_notebook(path, nb)
        r = alice.api("POST", "submissions", {"path": path})
        assert r.status_code == 202, r.text
        submission_ids.append(r.json()["id"])
        r = alice.api("GET", f"submissions/{submission_ids[-1]}/events")
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
        events = verdict_events(r.text)
        assert events[-1][0] == "verdict", r.text
        verdicts.append(events[-1][1]["verdict"])
    assert verdicts == ["wrong_answer", "accepted"]

    # Alice asks the tutor and receives streamed tokens.
    events = await ask_tutor(alice, path)
    assert events[-1]["type"] == "done", events
    assert [e for e in events if e["type"] == "token"], events

    # Bob cannot read Alice's submissions; the instructor can.
    r = bob.api("GET", "submissions", params={"user": "alice"})
    assert r.status_code == 403, r.text
    r = bob.api("GET", f"submissions/{submission_ids[0]}")
    assert r.status_code in (403, 404), r.text
    judge = f"{up.url}/services/judge/api/submissions"
    r = bob.session.get(judge, params={"user": "alice"}, timeout=60)
    assert r.status_code == 403, r.text
    r = teacher.api("GET", "submissions", params={"user": "alice"})
    assert r.status_code == 200 and len(r.json()["submissions"]) == 2, r.text

    # Ctrl-C stops everything up started.
    up.remember_descendants()
    assert len(up.descendants) >= 6, up.descendants
    stop_began = time.monotonic()
    assert up.stop() == 0, up.log()[-3000:]
    stopped_in = time.monotonic() - stop_began
    assert up.left_behind() == []
    print(
        f"\ne2e timings: up ready {started_in:.1f}s, spawn "
        + ", ".join(f"{n} {s:.1f}s" for n, s in spawn_s.items())
        + f", stop {stopped_in:.1f}s, total {time.monotonic() - began:.1f}s"
    )
