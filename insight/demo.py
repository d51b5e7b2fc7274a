"""Demo history for ``codetutor up --demo``: a few classmates' real submissions.

So that recommendations, the class dashboard and the gradebook have something to
show on a fresh demo, a few demo classmates (Hub users who never log in; the demo
student's own history stays empty) submit the problem set's example submissions
(``notebooks/<slug>/submissions/*.py``, whose verdicts ``expected.json``
records) through the judge service, like students would: the easiest problems
wrong first and then right, a couple of harder ones only wrong. The judge's
workers judge them as usual, and the ratings of the problems learn from them.
"""

from __future__ import annotations

import json
import logging
import urllib.error
from pathlib import Path
from typing import Any

log = logging.getLogger("codetutor.insight")

JUDGE = "/services/judge/"


def demo_plan(
    problems_dir: Path, solved: int = 5, struggled: int = 2, skip: int = 0
) -> list[tuple[str, str]]:
    """``(problem id, source)`` pairs to submit, in order.

    The ``solved`` easiest problems (by difficulty, then id; the first ``skip``
    left out) that have an accepted example get their failing examples and then
    the accepted one; ``struggled`` problems of difficulty 3 or more (also from
    the ``skip``-th on) get their failing examples only.
    """
    found = []
    for path in sorted(problems_dir.glob("*/problem.ipynb")):
        expected_path = path.parent / "expected.json"
        if not expected_path.is_file():
            continue
        meta = json.loads(path.read_text())["metadata"]["codetutor"]
        expected: dict[str, str] = json.loads(expected_path.read_text())
        files = {
            name: verdict
            for name, verdict in sorted(expected.items())
            if name.endswith(".py") and (path.parent / "submissions" / name).is_file()
        }
        found.append((int(meta.get("difficulty", 1)), str(meta["id"]), path.parent, files))
    found.sort(key=lambda item: (item[0], item[1]))
    plan: list[tuple[str, str]] = []
    easy = [f for f in found if "accepted" in f[3].values()][skip : skip + solved]
    taken = {f[1] for f in easy}
    hard = [
        f
        for f in found
        if f[0] >= 3 and f[1] not in taken and any(v != "accepted" for v in f[3].values())
    ][skip : skip + struggled]
    for _, slug, folder, files in easy:
        failing = [n for n, v in files.items() if v != "accepted"][:2]
        accepted = next(n for n, v in files.items() if v == "accepted")
        for name in [*failing, accepted]:
            plan.append((slug, (folder / "submissions" / name).read_text()))
    for _, slug, folder, files in hard:
        for name in [n for n, v in files.items() if v != "accepted"][:2]:
            plan.append((slug, (folder / "submissions" / name).read_text()))
    return plan


#: the demo student's classmates: (name, problems solved, struggled with, easiest skipped)
CLASSMATES = (
    ("demo-minji", 6, 1, 0),
    ("demo-jisoo", 4, 2, 2),
    ("demo-alex", 2, 2, 1),
    ("demo-sam", 5, 0, 3),
)


def seed_demo_submissions(api: Any, problems_dir: Path) -> int:
    """Create the demo classmates and submit their :func:`demo_plan`; returns how many.

    ``api`` is a Hub API client holding an admin token (``codetutor up``'s
    ``HubAPI``: ``.base_url``, ``.call(method, path, body)``). The classmates are
    Hub users without a password (they never log in); each submits with a
    short-lived token of their own. A classmate who already has submissions
    submits nothing (a restarted demo keeps its history).
    """
    existing = {u["name"] for u in api.call("GET", "/hub/api/users") or []}
    missing = [name for name, *_ in CLASSMATES if name not in existing]
    if missing:
        api.call("POST", "/hub/api/users", {"usernames": missing})
    queued = 0
    for name, solved, struggled, skip in CLASSMATES:
        made = api.call(
            "POST",
            f"/hub/api/users/{name}/tokens",
            {"note": "codetutor up --demo: demo submissions", "expires_in": 600},
        )
        classmate = type(api)(api.base_url, made["token"])
        mine = classmate.call("GET", JUDGE + "api/submissions?limit=1")
        if mine and mine.get("submissions"):
            continue
        for slug, source in demo_plan(problems_dir, solved, struggled, skip):
            try:
                classmate.call("POST", JUDGE + "api/submissions", {"problem": slug, "code": source})
                queued += 1
            except urllib.error.HTTPError as e:
                log.warning("demo submission to %s refused: %s", slug, e.code)
    return queued
