"""A course clock that a test sets from outside the service process.

``c.CourseManager.clock_class = "course_clock.FileClock"`` in a service's config
(this folder is on the service's ``PYTHONPATH``): the course manager reads the
time from the file named by ``CODETUTOR_TEST_CLOCK`` (ISO 8601) on every call.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from codetutor.judge.service.coursework import Clock


class FileClock(Clock):
    """The time written in the file ``$CODETUTOR_TEST_CLOCK``."""

    def now(self) -> datetime:
        return datetime.fromisoformat(Path(os.environ["CODETUTOR_TEST_CLOCK"]).read_text().strip())


def set_clock(path: Path, moment: datetime) -> None:
    """Set the time every :class:`FileClock` reading ``path`` answers."""
    path.write_text(moment.isoformat())
