"""The students' daily workflow through the server extension (issue 17).

Opening a problem in the student's language, resetting it to the starter while
keeping the old copy, and submitting a notebook whose saved outputs alone are
over the judge's size limit. The reset is tried by a student, an instructor and
an admin (each in their own server's workspace).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codetutor.extensions.notebooks import language_of_text, localize, strip_outputs
from codetutor.hub.roles import INSTRUCTOR_SCOPES

from .conftest import PROBLEM, Users, problem_notebook, submission_source
from .test_extension import call, events, publish, solve

PATH = f"{PROBLEM}.ipynb"


def source(cell: dict[str, Any]) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else str(text)


def tagged(nb: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    return [c for c in nb["cells"] if tag in c["metadata"].get("tags", [])]


# -- the notebook steps alone (fast) -----------------------------------------------


def test_localize_puts_the_language_first_and_keeps_everything() -> None:
    nb = problem_notebook()
    assert language_of_text(source(tagged(nb, "statement")[0])) == "ko"
    english = localize(nb, "en")
    korean = localize(nb, "ko")
    assert [language_of_text(source(c)) for c in tagged(english, "statement")] == ["en", "ko"]
    assert [language_of_text(source(c)) for c in tagged(korean, "statement")] == ["ko", "en"]
    assert "# write your code here / 여기에 코드를 작성하세요" in source(
        tagged(english, "starter")[0]
    )
    assert "# 여기에 코드를 작성하세요 / write your code here" in source(
        tagged(korean, "starter")[0]
    )
    # the same cells, only moved: nothing lost, nothing added, the original untouched
    assert sorted(c["id"] for c in english["cells"]) == sorted(c["id"] for c in nb["cells"])
    assert source(tagged(nb, "statement")[0]).startswith("# 윤년")
    with pytest.raises(ValueError):
        localize(nb, "fr")


def test_strip_outputs_counts_what_it_removed() -> None:
    nb = problem_notebook()
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x\n"}] * 3
    code["execution_count"] = 7
    stripped, removed = strip_outputs(nb)
    assert removed == 3
    assert all(not c.get("outputs") for c in stripped["cells"] if c["cell_type"] == "code")
    assert code["execution_count"] == 7, "the caller's notebook is not changed"


# -- through the extension, against the real judge ------------------------------------

slow = pytest.mark.slow


@slow
async def test_open_in_the_students_language(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    for lang, first in (("en", "# Leap year"), ("ko", "# 윤년 판별")):
        status, body = await call(
            jp_fetch,
            "problems",
            PROBLEM,
            "open",
            method="POST",
            body={"path": f"{lang}.ipynb", "lang": lang},
        )
        assert status == 201, body
        opened = json.loads((jp_root_dir / f"{lang}.ipynb").read_text())
        assert source(tagged(opened, "statement")[0]).startswith(first)
        assert "solution" not in {t for c in opened["cells"] for t in c["metadata"]["tags"]}
    status, body = await call(
        jp_fetch, "problems", PROBLEM, "open", method="POST", body={"lang": "fr"}
    )
    assert status == 400 and "lang" in body["message"]


async def reset_keeps_a_copy(jp_fetch: Any, root: Path) -> None:
    """Open, change, reset twice: each old copy is kept beside the fresh starter."""
    status, _ = await call(
        jp_fetch, "problems", PROBLEM, "open", method="POST", body={"overwrite": True}
    )
    assert status == 201
    backups = []
    for work in ("# first try\n", "# second try\n"):
        solve(root, PATH, work)
        status, body = await call(
            jp_fetch, "problems", PROBLEM, "reset", method="POST", body={"path": PATH, "lang": "ko"}
        )
        assert status == 201, body
        assert body["path"] == PATH and body["problem"] == PROBLEM
        backups.append(body["backup"])
        kept = json.loads((root / body["backup"]).read_text())
        assert source(tagged(kept, "starter")[0]) == work
        fresh = json.loads((root / PATH).read_text())
        assert "pass" in source(tagged(fresh, "starter")[0])
        assert source(tagged(fresh, "statement")[0]).startswith("# 윤년")
    assert backups == [
        f"{PROBLEM} (before reset 1).ipynb",
        f"{PROBLEM} (before reset 2).ipynb",
    ]
    for path in backups:
        (root / path).unlink()


@slow
async def test_reset_to_starter_by_students_instructors_and_admins(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any, fake_hub: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    admin = fake_hub.add_user("root", "admin:users", "admin:servers", *INSTRUCTOR_SCOPES)
    for token in (users.alice, users.instructor, admin):
        as_user(token)
        await reset_keeps_a_copy(jp_fetch, jp_root_dir)
    as_user(users.alice)


@slow
async def test_reset_refuses_what_it_cannot_do(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    status, body = await call(
        jp_fetch, "problems", PROBLEM, "reset", method="POST", body={"path": "none.ipynb"}
    )
    assert status == 404 and "none.ipynb" in body["message"]
    status, body = await call(jp_fetch, "problems", PROBLEM, "reset", method="POST", body={})
    assert status == 400 and "path" in body["message"]
    other = problem_notebook()
    other["metadata"]["codetutor"]["id"] = "two-sum"
    (jp_root_dir / "other.ipynb").write_text(json.dumps(other))
    status, body = await call(
        jp_fetch, "problems", PROBLEM, "reset", method="POST", body={"path": "other.ipynb"}
    )
    assert status == 400 and "two-sum" in body["message"]
    assert json.loads((jp_root_dir / "other.ipynb").read_text()) == other
    status, body = await call(
        jp_fetch,
        "problems",
        "no-such-problem",
        "reset",
        method="POST",
        body={"path": "other.ipynb"},
    )
    assert status in (400, 404)
    assert not list(jp_root_dir.glob("*before reset*"))


@slow
async def test_a_notebook_with_huge_outputs_is_submitted_without_them(
    jp_fetch: Any, jp_root_dir: Path, users: Users, as_user: Any
) -> None:
    await publish(jp_fetch, as_user, users, jp_root_dir)
    await call(jp_fetch, "problems", PROBLEM, "open", method="POST", body={"overwrite": True})
    solve(jp_root_dir, PATH, submission_source("accepted.py"))
    nb = json.loads((jp_root_dir / PATH).read_text())
    starter = tagged(nb, "starter")[0]
    # a debug loop's saved output: 3 MB, over the judge's 2 MiB submission limit
    starter["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "debug line\n" * 300_000}
    ]
    (jp_root_dir / PATH).write_text(json.dumps(nb))
    status, queued = await call(jp_fetch, "submissions", method="POST", body={"path": PATH})
    assert status == 202, queued
    status, stream = await call(jp_fetch, "submissions", str(queued["id"]), "events")
    assert events(stream)[-1][1]["verdict"] == "accepted"
    # code that is itself too large: 413 saying what to do
    starter["outputs"] = []
    starter["source"] = submission_source("accepted.py") + "#" + "x" * (3 << 20) + "\n"
    (jp_root_dir / PATH).write_text(json.dumps(nb))
    status, body = await call(jp_fetch, "submissions", method="POST", body={"path": PATH})
    assert status == 413
    assert "even without its outputs" in body["message"] and "shorten" in body["message"]
