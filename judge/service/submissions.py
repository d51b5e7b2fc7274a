"""Submissions: submit and list, one submission, its live events.

Thin handlers over :class:`~.manager.SubmissionManager` (``settings["submissions"]``):
parse the request, call the manager, write its answer.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tornado.iostream import StreamClosedError

from ..events import SubmissionWatcher
from ..metrics import Endpoint
from ..models import SubmissionStatus
from .base import (
    MAX_INT32,
    SCOPE_PUBLISH,
    SCOPE_READ_ALL,
    SCOPE_SUBMIT,
    APIError,
    JudgeHandler,
)
from .courses import member_of, pop_target
from .coursework import CourseManager
from .manager import Readable, SubmissionManager, parse_request


class SubmissionHandlerBase(JudgeHandler):
    """What the submission handlers share: the manager."""

    @property
    def submissions(self) -> SubmissionManager:
        manager: SubmissionManager = self.settings["submissions"]
        return manager


class SubmissionsHandler(SubmissionHandlerBase):
    """``POST api/submissions`` (submit, 202) and ``GET`` (a user's list, newest first)."""

    endpoint = Endpoint.SUBMISSIONS
    query_parameters = frozenset({"user", "problem", "limit", "before"})

    async def post(self) -> None:
        self.require_scope(SCOPE_SUBMIT)
        body = self.read_json_body(self.settings["max_submission_bytes"], "the submission")
        target = pop_target(body)
        request = parse_request(body)
        if not self.has_scope(SCOPE_PUBLISH):
            # an unpublished problem takes no more submissions from students
            problem = await self.find_problem(request.problem, request.version)
            if problem.unpublished_at is not None:
                raise APIError(404, f"no problem {request.problem!r}")
        # an assignment's schedule and late policy, or an exam in progress, may refuse it
        courses: CourseManager = self.settings["courses"]
        admission = await courses.admit(member_of(self), request.problem, target)
        attach, counted = courses.counts_for(admission, body) if admission else (None, None)
        submitted = await self.submissions.submit(self.user_name, request, attach=attach)
        view = submitted.view()
        if counted is not None:
            view["assignment"] = counted
        self.set_header("Location", self.reverse_url("submission", str(submitted.row.id)))
        self.write_json(view, 202)

    async def get(self) -> None:
        name = self.get_query_argument("user", None) or self.user_name
        if name != self.user_name:
            self.require_scope(SCOPE_READ_ALL)
        try:
            limit = int(self.get_query_argument("limit", "50"))
            before = self.get_query_argument("before", None)
            before_id = int(before) if before is not None else None
        except ValueError:
            raise APIError(400, "limit and before must be whole numbers") from None
        if not 1 <= limit <= 500:
            raise APIError(400, "limit must be between 1 and 500")
        if before_id is not None and not 0 <= before_id <= MAX_INT32:
            raise APIError(400, f"before must be a submission id from 0 to {MAX_INT32}")
        found = await self.submissions.list(
            name,
            problem=self.get_query_argument("problem", None),
            limit=limit,
            before_id=before_id,
            instructor=self.has_scope(SCOPE_READ_ALL),
        )
        self.write_json({"submissions": [s.view(brief=True) for s in found]})


class SubmissionHandler(SubmissionHandlerBase):
    """``GET api/submissions/ID``: one submission (the owner's, or anyone's for instructors)."""

    endpoint = Endpoint.SUBMISSION

    async def load(self, submission_id: str) -> Readable:
        """The submission if this user may read it (else 404, not to reveal it exists)."""
        return await self.submissions.get(
            int(submission_id), self.user_name, instructor=self.has_scope(SCOPE_READ_ALL)
        )

    async def get(self, submission_id: str) -> None:
        self.write_json((await self.load(submission_id)).view())


class SubmissionEventsHandler(SubmissionHandler):
    """Server-sent events: ``status`` on every change, then ``verdict``, then the end."""

    endpoint = Endpoint.SUBMISSION_EVENTS

    def on_connection_close(self) -> None:
        self._closed.set()

    async def get(self, submission_id: str) -> None:
        self._closed = asyncio.Event()
        sub = await self.load(submission_id)
        watcher: SubmissionWatcher = self.settings["watcher"]
        self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        deadline = time.monotonic() + self.settings["stream_max_s"]
        last: tuple[str, int] | None = None
        try:
            while True:
                change = watcher.watch(sub.row.id)
                try:
                    state = (sub.row.status, sub.row.attempts)
                    if state != last:
                        last = state
                        final = sub.row.status == SubmissionStatus.JUDGED
                        await self._send(
                            "verdict" if final else "status", sub.view(brief=not final)
                        )
                        if final:
                            return
                    if time.monotonic() > deadline or self._closed.is_set():
                        return
                    if not await self._wait(change):
                        self.write(": ping\n\n")
                        await self.flush()
                finally:
                    watcher.unwatch(sub.row.id, change)
                sub = await self.submissions.refresh(sub)
        except StreamClosedError:
            return
        finally:
            if not self._finished:
                self.finish()

    async def _wait(self, change: asyncio.Event) -> bool:
        """Coroutine: wait for ``change`` or the client leaving; False after a ping interval."""
        waits = [
            asyncio.ensure_future(change.wait()),
            asyncio.ensure_future(self._closed.wait()),
        ]
        done, pending = await asyncio.wait(
            waits, timeout=self.settings["stream_ping_s"], return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        return bool(done)

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        self.write(f"event: {event}\ndata: {self.dump_json(data)}\n\n")
        await self.flush()


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/submissions", SubmissionsHandler, None),
    (r"api/submissions/(\d{1,9})", SubmissionHandler, "submission"),
    (r"api/submissions/(\d{1,9})/events", SubmissionEventsHandler, None),
]
