"""The server extension's API against the real judge and tutor services."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from tornado.httpclient import HTTPClientError

from .conftest import PROBLEM, Users, problem_notebook, submission_source

pytestmark = pytest.mark.slow


async def call(jp_fetch: Any, *parts: str, method: str = "GET", body: Any = None, **kw: Any):
    """``(status, decoded JSON body)`` of a request to the extension, errors included."""
    kwargs: dict[str, Any] = {"method": method, "raise_error": False, "request_timeout": 180}
    if body is not None:
        kwargs["body"] = json.dumps(body)
    elif method == "POST":
        kwargs["body"] = "{}"
    response = await jp_fetch("codetutor", "api", *parts, **kwargs, **kw)
    text = response.body.decode()
    return response.code, (json.loads(text) if text and text.lstrip()[:1] in "{[" else text)


async def publish(jp_fetch: Any, as_user: Any, users: Users, root: Path) -> dict[str, Any]:
    """Publish the problem as the instructor; the server then belongs to alice again."""
    (root / "authoring").mkdir(exist_ok=True)
    (root / "authoring" / f"{PROBLEM}.ipynb").write_text(json.dumps(problem_notebook()))
    as_user(users.instructor)
    status, body = await call(
        jp_fetch, "publish", method="POST", body={"path": f"authoring/{PROBLEM}.ipynb"}
    )
    as_user(users.alice)
    assert status in (200, 201), body
    return dict(body)


def solve(root: Path, path: str, source: str) -> None:
    """Put ``source`` in the starter cell of the notebook at ``path`` (as a student would)."""
    nb = json.loads((root / path).read_text())
    starter = [c for c in nb["cells"] if "starter" in c["metadata"].get("tags", [])]
    starter[0]["source"] = source
    (root / path).write_text(json.dumps(nb))


def events(stream: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``(event, data)`` pairs of a server-sent events body."""
    found = []
    for block in stream.split("\n\n"):
        name = re.search(r"^event: (.+)$", block, re.M)
        data = re.search(r"^data: (.+)$", block, re.M)
        if name and data:
            found.append((name.group(1), json.loads(data.group(1))))
    return found


def test_the_package_enables_the_extension() -> None:
    config = Path(sys.prefix, "etc/jupyter/jupyter_server_config.d/codetutor.json")
    assert config.is_file(), "pip install did not ship the jupyter-config file"
    assert json.loads(config.read_text())["ServerApp"]["jpserver_extensions"] == {
        "codetutor.extensions": True
    }


async def test_publish_needs_an_instructor(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    (jp_root_dir / "mine.ipynb").write_text(json.dumps(problem_notebook()))
    status, body = await call(jp_fetch, "publish", method="POST", body={"path": "mine.ipynb"})
    assert status == 403
    assert "custom:problems:write" in body["message"]
    published = await publish(jp_fetch, as_user, users, jp_root_dir)
    assert published["id"] == PROBLEM
    status, body = await call(jp_fetch, "problems")
    assert status == 200
    assert PROBLEM in [p["id"] for p in body["problems"]]


async def test_publish_reports_the_cell_and_line(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    nb = problem_notebook()
    for cell in nb["cells"]:
        if "hidden-tests" in cell["metadata"].get("tags", []):
            cell["source"] = "is_leap(2000)\nis_leap(\n"
    (jp_root_dir / "broken.ipynb").write_text(json.dumps(nb))
    as_user(users.instructor)
    status, body = await call(jp_fetch, "publish", method="POST", body={"path": "broken.ipynb"})
    assert status == 422, body
    assert body["message"] and "cell" in body


async def test_open_never_overwrites_without_asking(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    status, body = await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    assert (status, body) == (201, {"path": f"{PROBLEM}.ipynb", "problem": PROBLEM})
    opened = json.loads((jp_root_dir / f"{PROBLEM}.ipynb").read_text())
    tags = {t for c in opened["cells"] for t in c["metadata"].get("tags", [])}
    assert "starter" in tags and "solution" not in tags and "hidden-tests" not in tags
    solve(jp_root_dir, f"{PROBLEM}.ipynb", "# my work\n")
    status, body = await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    assert status == 409 and body["path"] == f"{PROBLEM}.ipynb"
    assert "# my work" in (jp_root_dir / f"{PROBLEM}.ipynb").read_text()
    status, body = await call(
        jp_fetch, "problems", PROBLEM, "open", method="POST", body={"overwrite": True}
    )
    assert status == 201
    assert "# my work" not in (jp_root_dir / f"{PROBLEM}.ipynb").read_text()
    status, body = await call(
        jp_fetch, "problems", "no-such-problem", "open", method="POST", body={"path": "x.ipynb"}
    )
    assert status == 404 and "no-such-problem" in body["message"]


async def test_submit_and_follow_live(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    path = f"{PROBLEM}.ipynb"
    seen = []
    for name in ("wrong_forgets_400.py", "accepted.py"):
        solve(jp_root_dir, path, submission_source(name))
        status, queued = await call(jp_fetch, "submissions", method="POST", body={"path": path})
        assert status == 202, queued
        assert queued["problem"] == PROBLEM and queued["user"] == "alice"
        status, stream = await call(jp_fetch, "submissions", str(queued["id"]), "events")
        assert status == 200
        found = events(stream)
        assert found[-1][0] == "verdict"
        verdict = found[-1][1]
        seen.append(verdict["verdict"])
        hidden = [c for c in verdict["result"]["cases"] if c["visibility"] == "hidden"]
        assert hidden and all(set(c) <= {"name", "visibility", "status", "time_ms"} for c in hidden)
    assert seen == ["wrong_answer", "accepted"]
    status, listing = await call(jp_fetch, "submissions", params={"problem": PROBLEM})
    assert status == 200 and len(listing["submissions"]) >= 2
    status, one = await call(jp_fetch, "submissions", str(listing["submissions"][0]["id"]))
    assert status == 200 and one["verdict"] == "accepted" and one["user"] == "alice"


async def test_students_cannot_read_each_other(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    status, queued = await call(
        jp_fetch, "submissions", method="POST", body={"path": f"{PROBLEM}.ipynb"}
    )
    assert status == 202
    as_user(users.bob)
    status, body = await call(jp_fetch, "submissions", params={"user": "alice"})
    assert status == 403
    status, body = await call(jp_fetch, "submissions", str(queued["id"]))
    assert status == 404
    as_user(users.instructor)
    status, body = await call(jp_fetch, "submissions", params={"user": "alice"})
    assert status == 200 and body["submissions"]


async def test_bad_requests_get_json_errors(jp_fetch: Any, jp_root_dir: Path) -> None:
    status, body = await call(jp_fetch, "submissions", method="POST", body={})
    assert status == 400 and "path" in body["message"]
    status, body = await call(
        jp_fetch, "submissions", method="POST", body={"path": "missing.ipynb"}
    )
    assert status == 404 and "missing.ipynb" in body["message"]
    (jp_root_dir / "plain.ipynb").write_text(
        json.dumps(
            problem_notebook()["cells"]
            and {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        )
    )
    status, body = await call(jp_fetch, "submissions", method="POST", body={"path": "plain.ipynb"})
    assert status == 400 and "problem" in body["message"]
    response = await jp_fetch(
        "codetutor", "api", "submissions", method="POST", body="not json", raise_error=False
    )
    assert response.code == 400 and "JSON" in json.loads(response.body)["message"]


async def test_requests_need_authentication(jp_fetch: Any) -> None:
    with pytest.raises(HTTPClientError) as e:
        await jp_fetch("codetutor", "api", "problems", headers={"Authorization": "token wrong"})
    assert e.value.code == 403


async def test_cookie_requests_need_the_xsrf_token(
    jp_fetch: Any, jp_serverapp: Any, jp_root_dir: Path
) -> None:
    """A browser session (cookie) may write only with the XSRF token: no cross-site forgery."""
    login = await jp_fetch("login", headers={"Authorization": ""}, raise_error=False)
    xsrf = re.search(r"_xsrf=([^;]+)", login.headers.get("Set-Cookie", ""))
    assert xsrf is not None
    token = jp_serverapp.identity_provider.token
    logged_in = await jp_fetch(
        "login",
        method="POST",
        body=urlencode({"password": token, "_xsrf": xsrf.group(1)}),
        headers={"Authorization": "", "Cookie": f"_xsrf={xsrf.group(1)}"},
        follow_redirects=False,
        raise_error=False,
    )
    cookies = [c.split(";", 1)[0] for c in logged_in.headers.get_list("Set-Cookie")]
    session = "; ".join([*cookies, f"_xsrf={xsrf.group(1)}"])
    forged = await jp_fetch(
        "codetutor",
        "api",
        "publish",
        method="POST",
        body="{}",
        headers={"Authorization": "", "Cookie": session},
        raise_error=False,
    )
    assert forged.code == 403
    genuine = await jp_fetch(
        "codetutor",
        "api",
        "publish",
        method="POST",
        body="{}",
        headers={"Authorization": "", "Cookie": session, "X-XSRFToken": xsrf.group(1)},
        raise_error=False,
    )
    assert genuine.code == 400, genuine.body


async def test_recommendations_come_from_the_judge(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    status, body = await call(jp_fetch, "recommendations")
    assert status == 200, body
    assert body["user"] == "alice"
    picks = [p["problem"] for p in body["recommendations"]]
    assert (PROBLEM in picks) != (PROBLEM in body["solved"])
    for pick in body["recommendations"]:
        assert pick["reason"]["ko"] and pick["reason"]["en"]
    status, body = await call(jp_fetch, "recommendations", params={"limit": "0"})
    assert status == 400 and "limit" in body["message"]


async def test_review_of_a_notebook(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    solve(
        jp_root_dir, f"{PROBLEM}.ipynb", "import os\ndef is_leap(year):\n    return year % 4 == 0\n"
    )
    status, body = await call(jp_fetch, "review", method="POST", body={"path": f"{PROBLEM}.ipynb"})
    assert status == 200, body
    assert isinstance(body["findings"], list)
    assert any("os" in f["message"] for f in body["findings"]), body
    status, body = await call(
        jp_fetch, "review", method="POST", body={"path": f"{PROBLEM}.ipynb", "cell": 0}
    )
    assert status == 400 and "cell 0" in body["message"]


async def test_tutor_chat_streams_tokens(
    jp_fetch: Any, jp_ws_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST")
    ws = await jp_ws_fetch("codetutor", "api", "tutor", "chat")
    try:
        ws.write_message(
            json.dumps(
                {
                    "type": "ask",
                    "message": "How do I start?",
                    "path": f"{PROBLEM}.ipynb",
                    "lang": "en",
                }
            )
        )
        received: list[dict[str, Any]] = []
        while not received or received[-1]["type"] not in ("done", "error"):
            message = await ws.read_message()
            assert message is not None, received
            received.append(json.loads(message))
        assert received[-1]["type"] == "done", received
        tokens = [e for e in received if e["type"] == "token"]
        # the tutor releases its reply line by line, after its guard looked at each
        assert tokens and "".join(t["text"] for t in tokens).strip()
        ws.write_message("not json")
        error = json.loads(await ws.read_message())
        assert error["type"] == "error"
        ws.write_message(json.dumps({"type": "ask", "message": "hi", "path": "nope.ipynb"}))
        error = json.loads(await ws.read_message())
        assert error == {"type": "error", "message": "no notebook at nope.ipynb", "status": 404}
    finally:
        ws.close()
