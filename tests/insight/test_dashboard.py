"""The class dashboard service: Hub auth (instructors only), the page, downloads, Chromium.

``codetutor dashboard`` runs as a real process against a judge database filled
through :class:`~codetutor.judge.store.Store` (a class of students over ten
days, on SQLite and PostgreSQL), authenticating callers against the fake Hub.
Headless Chromium (Debian's ``chromium``) loads the page from the service;
its DOM must hold the charts and tables, and its screenshots (kept in the
test's temporary folder) must show the charts' colours.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import update

from codetutor.insight.gradebook import GRADEBOOK_COLUMNS
from codetutor.judge.models import Submission, utcnow
from codetutor.judge.store import Store
from tests.judge.service.judge_service_helpers import FakeHub, free_port

pytestmark = pytest.mark.slow

ACCESS = "access:services!service=dashboard"
STUDENTS = ["minji", "jisoo", "alex", "sam", "yuna", "theo"]
PROBLEMS = [
    ("hello", {"en": "Hello", "ko": "안녕하세요"}, 1, ["io"]),
    ("sum-list", {"en": "Sum of a list", "ko": "리스트의 합"}, 2, ["lists", "loops"]),
    ("fib", {"en": "Fibonacci", "ko": "피보나치"}, 3, ["recursion"]),
    ("paths", {"en": "Grid paths", "ko": "격자 경로"}, 4, ["dp", "recursion"]),
]
VERDICTS = ["wrong_answer", "runtime_error", "time_limit_exceeded", "syntax_error"]


async def fill(db_url: str) -> None:
    """A class: six students, four problems, ~70 judged submissions over ten days."""
    rng = random.Random(3)
    store = Store(url=db_url)
    await store.upgrade()
    teacher = await store.ensure_user("teacher")
    rows = {}
    for slug, title, difficulty, tags in PROBLEMS:
        published = await store.publish(
            user=teacher,
            slug=slug,
            title=title,
            difficulty=difficulty,
            tags=tags,
            mode="function",
            public={"title": title, "difficulty": difficulty, "tags": tags},
            student_notebook="{}",
            bundle="{}",
            case_count=4,
            sha256=slug * 4,
        )
        rows[slug] = published.problem
    now = utcnow()
    for s, name in enumerate(STUDENTS):
        user = await store.ensure_user(name)
        for p, (slug, *_rest) in enumerate(PROBLEMS):
            tries = 1 + (s + p) % 4
            # theo keeps failing "fib" without getting better: struggling
            solves = not (name == "theo" and slug == "fib") and (s + 2 * p) % 5 != 4
            if name == "theo" and slug == "fib":
                tries = 4
            for t in range(tries):
                last = t == tries - 1
                sub = await store.add_submission(
                    user=user, problem=rows[slug], code="x", notebook=None
                )
                lease = await store.claim("test", 60, submission_id=sub.id)
                assert lease is not None
                accepted = solves and last
                score = (
                    1.0 if accepted else (0.25 if name == "theo" else rng.choice([0, 0.25, 0.5]))
                )
                verdict = "accepted" if accepted else rng.choice(VERDICTS)
                await store.finish(
                    lease, {"verdict": verdict, "score": score, "time_ms": 5.0, "cases": []}
                )
                when = now - timedelta(days=9 - (s + p + t) % 10, minutes=60 - t)
                async with store.session() as session:
                    await session.execute(
                        update(Submission).where(Submission.id == sub.id).values(created_at=when)
                    )
    await store.close()


class Dashboard:
    """``codetutor dashboard`` as a process, as the Hub would run it."""

    def __init__(self, hub: FakeHub, db_url: str, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/services/dashboard/"
        self.log_path = workdir / "dashboard.log"
        env = dict(os.environ)
        env.update(
            {
                "JUPYTERHUB_API_URL": hub.api_url,
                "JUPYTERHUB_API_TOKEN": "dashboard-service-token",
                "JUPYTERHUB_CLIENT_ID": "service-dashboard",
                "JUPYTERHUB_SERVICE_NAME": "dashboard",
                "JUPYTERHUB_SERVICE_PREFIX": "/services/dashboard/",
                "JUPYTERHUB_OAUTH_CALLBACK_URL": "/services/dashboard/oauth_callback",
                "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps([ACCESS]),
                # headless Chromium cannot send an Authorization header: a token in the URL
                "JUPYTERHUB_ALLOW_TOKEN_IN_URL": "1",
            }
        )
        argv = [sys.executable, "-m", "codetutor", "dashboard", f"--port={self.port}"]
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [*argv, f"--db-url={db_url}"], env=env, stdout=log, stderr=log
            )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dashboard exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                if requests.get(self.base + "health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dashboard did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    def get(
        self, path: str, token: str | None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {**(headers or {}), **({"Authorization": f"token {token}"} if token else {})}
        return requests.get(self.base + path, headers=headers, timeout=30, **kwargs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Running:
    def __init__(self, dashboard: Dashboard, instructor: str, student: str) -> None:
        self.dashboard = dashboard
        self.instructor = instructor
        self.student = student


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def running(
    request: pytest.FixtureRequest, hub: FakeHub, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    workdir = tmp_path_factory.mktemp("dashboard")
    if request.param == "sqlite":
        db_url = f"sqlite:///{workdir / 'judge.sqlite'}"
    else:
        db_url = request.getfixturevalue("postgres_server").create_database()
    asyncio.run(fill(db_url))
    dashboard = Dashboard(hub, db_url, workdir)
    try:
        yield Running(
            dashboard,
            instructor=hub.add_user("teacher", ACCESS, "custom:judge:read-all", access=False),
            student=hub.add_user("minji", "custom:judge:submit"),
        )
    finally:
        dashboard.stop()


def test_only_instructors_get_in(running: Running) -> None:
    browser = running.dashboard.get("", None, allow_redirects=False)
    assert browser.status_code == 302
    assert "/hub/api/oauth2/authorize" in browser.headers["Location"]
    assert "client_id=service-dashboard" in browser.headers["Location"]
    student = running.dashboard.get("", running.student)
    assert student.status_code == 403 and "instructors" in student.text
    assert running.dashboard.get("gradebook.csv", running.student).status_code == 403
    page = running.dashboard.get("", running.instructor)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")


def test_the_page_in_english_and_korean(running: Running) -> None:
    en = running.dashboard.get("?lang=en", running.instructor).text
    assert "Class dashboard" in en and "Grid paths" in en and "Wrong answer" in en
    ko = running.dashboard.get(
        "", running.instructor, headers={"Accept-Language": "ko-KR,ko;q=0.9"}
    )
    assert ko.headers["Content-Language"] == "ko"
    assert "학급 대시보드" in ko.text and "격자 경로" in ko.text and "오답" in ko.text
    # struggling students come first, marked
    assert ko.text.index('data-user="theo"') < ko.text.index('data-user="alex"')
    assert 'class="struggling" data-user="theo"' in ko.text


def test_a_students_page(running: Running) -> None:
    page = running.dashboard.get("students/theo?lang=en", running.instructor)
    assert page.status_code == 200, page.text
    html = page.text
    start = html.index('data-chart="mastery"')
    assert html.count('class="bar"', start, html.index("</svg>", start)) >= 4
    table = html[html.index('id="table-recommendations"') :]
    table = table[: table.index("</table>")]
    # theo has not solved fib: it is recommended again, with the retry reason
    assert 'data-problem="fib"' in table and "You tried this 4 time(s)" in table
    assert 'class="struggling" data-problem="fib"' in html
    ko = running.dashboard.get("students/theo?lang=ko", running.instructor).text
    assert "추천 문제" in ko and "4번 시도했지만" in ko and "피보나치" in ko
    assert (
        'href="/services/dashboard/students/theo?lang=en"'
        in running.dashboard.get("?lang=en", running.instructor).text
    )
    assert running.dashboard.get("students/nobody", running.instructor).status_code == 404
    assert running.dashboard.get("students/theo", running.student).status_code == 403


def test_gradebook_downloads(running: Running) -> None:
    r = running.dashboard.get("gradebook.csv", running.instructor)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in r.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert table[0] == list(GRADEBOOK_COLUMNS)
    assert len(table) == 1 + len(STUDENTS) * len(PROBLEMS)
    theo_fib = next(row for row in table if row[:2] == ["theo", "fib"])
    assert theo_fib[2:5] == ["0.25", "4", "false"] and theo_fib[5] == ""
    r = running.dashboard.get("gradebook.json", running.instructor)
    book = r.json()
    assert book["students"] == sorted(STUDENTS)
    assert sum(row["accepted"] for row in book["rows"]) == sum(row[4] == "true" for row in table)


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) bytes of an 8-bit, non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and color in (2, 6), (depth, color)
    channels = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + pred) & 0xFF
        rows.append(bytes(line if channels == 3 else _drop_alpha(line)))
        previous = line
    return width, height, rows


def _drop_alpha(line: bytearray) -> bytes:
    return bytes(b for i, b in enumerate(line) if i % 4 != 3)


def _count_color(rows: list[bytes], rgb: str) -> int:
    target = bytes.fromhex(rgb.lstrip("#"))
    return sum(row[i : i + 3] == target for row in rows for i in range(0, len(row), 3))


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; ./dev setup installs it")
        pytest.skip("chromium is not installed (./dev setup installs it)")
    return found


def _browse(url: str, *extra: str, profile: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            "--window-size=1280,2400",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_chromium_renders_charts_and_tables(running: Running, tmp_path: Path, lang: str) -> None:
    url = f"{running.dashboard.base}?lang={lang}&token={running.instructor}"
    dom = _browse(url, "--dump-dom", profile=tmp_path / "profile").stdout
    for chart in ("activity", "acceptance", "verdicts", "tags"):
        start = dom.index(f'data-chart="{chart}"')
        end = dom.index("</svg>", start)
        assert dom.count('class="bar"', start, end) >= 3, chart
    for table, rows in (
        ("table-students", len(STUDENTS)),
        ("table-problems", len(PROBLEMS)),
        ("table-recent", 20),
    ):
        start = dom.index(f'id="{table}"')
        body = dom[start : dom.index("</table>", start)]
        assert body.count("<tr") == rows + 1, table
    assert ("격자 경로" if lang == "ko" else "Grid paths") in dom

    shot = tmp_path / f"dashboard-{lang}.png"
    _browse(url, f"--screenshot={shot}", profile=tmp_path / "profile")
    width, height, pixels = _png_pixels(shot)
    assert (width, height) == (1280, 2400)
    # the charts' colours on screen: submitted/acceptance bars (blue), accepted (green),
    # topic mastery (purple), wrong answers (red)
    for color in ("#1565c0", "#2e7d32", "#6a1b9a", "#c62828"):
        assert _count_color(pixels, color) > 200, color
    # the tables' header background
    assert _count_color(pixels, "#f5f5f5") > 2000
    print(f"screenshot: {shot}")

    student = f"{running.dashboard.base}students/theo?lang={lang}&token={running.instructor}"
    dom = _browse(student, "--dump-dom", profile=tmp_path / "profile").stdout
    assert 'data-chart="mastery"' in dom and 'id="table-recommendations"' in dom
    shot = tmp_path / f"student-{lang}.png"
    _browse(student, f"--screenshot={shot}", profile=tmp_path / "profile")
    _, _, pixels = _png_pixels(shot)
    assert _count_color(pixels, "#6a1b9a") > 200
