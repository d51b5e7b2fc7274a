"""The extension's authoring endpoints (issue 17) against the real judge service:
who may author, Validate (publish's dry run) and Unpublish, for a student and an
instructor (the Hub's admin authors only as a member of the instructors group:
tests/judge/service/test_instructor_api.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import PROBLEM, Users, problem_notebook
from .test_extension import call

pytestmark = pytest.mark.slow


async def test_only_instructors_are_authors(
    jp_fetch: Any, users: Users, as_user: Any, fake_hub: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # outside a Hub nobody is
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    assert await call(jp_fetch, "authoring") == (200, {"instructor": False})
    monkeypatch.setenv("JUPYTERHUB_API_URL", fake_hub.api_url)
    as_user(users.instructor)
    assert await call(jp_fetch, "authoring") == (200, {"instructor": True})
    as_user(users.alice)
    assert await call(jp_fetch, "authoring") == (200, {"instructor": False})


async def test_validate_shows_expected_values_for_instructors_only(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    draft = problem_notebook()
    draft["metadata"]["codetutor"]["id"] = "leap-year-draft"
    (jp_root_dir / "draft.ipynb").write_text(json.dumps(draft))
    status, body = await call(jp_fetch, "validate", method="POST", body={"path": "draft.ipynb"})
    assert status == 403 and "custom:problems:write" in body["message"]
    as_user(users.instructor)
    status, body = await call(jp_fetch, "validate", method="POST", body={"path": "draft.ipynb"})
    assert status == 200, body
    assert body["id"] == "leap-year-draft" and body["cases"]
    assert {c["visibility"] for c in body["cases"]} == {"public", "hidden"}
    assert all(c["expected"] in ("True", "False", None) for c in body["cases"]), body
    # nothing was published
    status, problems = await call(jp_fetch, "problems")
    assert "leap-year-draft" not in [p["id"] for p in problems["problems"]]

    nb = problem_notebook()
    broken = next(i for i, c in enumerate(nb["cells"]) if "hidden-tests" in c["metadata"]["tags"])
    nb["cells"][broken]["source"] = "is_leap(2000)\nis_leap(\n"
    (jp_root_dir / "broken.ipynb").write_text(json.dumps(nb))
    status, body = await call(jp_fetch, "validate", method="POST", body={"path": "broken.ipynb"})
    assert status == 422 and body["cell"] == broken, body
    assert body["message"].startswith(f"cell {broken + 1}, line ")
    for bad in ({}, {"path": "nowhere.ipynb"}, {"path": 3}):
        status, body = await call(jp_fetch, "validate", method="POST", body=bad)
        assert status in (400, 404) and body["message"], bad


async def test_unpublish_for_instructors_only(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    (jp_root_dir / "p.ipynb").write_text(json.dumps(problem_notebook()))
    as_user(users.instructor)
    status, body = await call(jp_fetch, "publish", method="POST", body={"path": "p.ipynb"})
    assert status in (200, 201), body
    as_user(users.alice)
    hide = {"published": False}
    status, body = await call(jp_fetch, "problems", PROBLEM, "visibility", method="POST", body=hide)
    assert status == 403, body
    as_user(users.instructor)
    status, body = await call(jp_fetch, "problems", PROBLEM, "visibility", method="POST", body=hide)
    assert status == 200 and body["published"] is False, body
    as_user(users.alice)
    status, problems = await call(jp_fetch, "problems")
    assert PROBLEM not in [p["id"] for p in problems["problems"]]
    as_user(users.instructor)
    show = {"published": True}
    status, body = await call(jp_fetch, "problems", PROBLEM, "visibility", method="POST", body=show)
    assert status == 200 and body["published"] is True
    for bad in ({}, {"published": "yes"}):
        status, body = await call(
            jp_fetch, "problems", PROBLEM, "visibility", method="POST", body=bad
        )
        assert status == 400, body
