"""The dashboard's course gradebook page (``courses/C/gradebook``): per assignment, by policy.

The class and the dashboard are those of ``test_courses_dashboard.py`` (alice on
time, bob an hour late on an assignment worth 80 % for two days late).
"""

from __future__ import annotations

import re

from tests.insight.test_courses_dashboard import dashboard, instructor
from tests.insight.test_dashboard import Dashboard
from tests.judge.service.judge_service_helpers import FakeHub

__all__ = ["dashboard"]


def totals(html: str) -> dict[str, str]:
    """Each student's total in the page."""
    found = re.findall(
        r'<tr data-user="([^"]+)">.*?<td class="num total"><strong>([^<]+)</strong>', html, re.S
    )
    return dict(found)


def test_the_course_gradebook_page(dashboard: Dashboard, hub: FakeHub) -> None:
    teacher = instructor(hub, "teacher", "course:cs101:instructors")
    r = dashboard.get("courses/cs101/gradebook", teacher)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    assert "Course gradebook" in r.text and 'id="assignment-hw1"' in r.text
    assert totals(r.text) == {"alice": "10", "bob": "8"}
    assert "gradebook.csv?mode=best" in r.text
    r = dashboard.get("courses/cs101/gradebook?mode=deadline&lang=ko", teacher)
    assert r.status_code == 200 and "과목 성적부" in r.text
    assert totals(r.text) == {"alice": "10", "bob": "0"}
    other = instructor(hub, "stranger", "course:cs999:instructors")
    assert dashboard.get("courses/cs101/gradebook", other).status_code == 404
    assert dashboard.get("courses/cs101/gradebook?mode=never", teacher).status_code == 400
