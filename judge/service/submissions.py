"""Submissions: submit and list, one submission, its live events."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
from tornado.iostream import StreamClosedError

from .. import metrics
from ..events import SubmissionWatcher
from ..exceptions import SubmissionError
from ..metrics import Endpoint
from ..models import Problem as ProblemRow
from ..models import Submission as SubmissionRow
from ..models import SubmissionStatus
from ..submission import Submission
from ..verdict import dumps
from .base import MAX_INT32, SCOPE_READ_ALL, SCOPE_SUBMIT, APIError, JudgeHandler
from .views import submission_view


class SubmissionsHandler(JudgeHandler):
    endpoint = Endpoint.SUBMISSIONS
    query_parameters = frozenset({"user", "problem", "limit", "before"})

    async def post(self) -> None:
        self.require_scope(SCOPE_SUBMIT)
        body = self.read_json_body(self.settings["max_submission_bytes"], "the submission")
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object")
        unknown = sorted(set(body) - {"problem", "version", "code", "notebook"})
        if unknown:
            raise APIError(400, f"unknown field(s): {', '.join(unknown)}")
        slug = body.get("problem")
        if not isinstance(slug, str) or not slug:
            raise APIError(400, "'problem' (the problem id) is required")
        code, notebook = body.get("code"), body.get("notebook")
        if (code is None) == (notebook is None):
            raise APIError(400, "give exactly one of 'code' (text) or 'notebook' (a notebook)")
        try:
            if notebook is not None:
                if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
                    raise SubmissionError("'notebook' is not a Jupyter notebook")
                parsed = Submission.from_notebook(notebook)
                notebook_text: str | None = json.dumps(notebook, ensure_ascii=False)
            else:
                if not isinstance(code, str):
                    raise SubmissionError("'code' must be text")
                parsed = Submission.from_source(code)
                notebook_text = None
        except SubmissionError as e:
            raise APIError(400, e.message) from None
        except (TypeError, ValueError, AttributeError) as e:
            # a notebook with JSON shaped unlike nbformat's (e.g. a tag that is an object)
            self.log.info("malformed notebook submission: %r", e)
            raise APIError(400, "'notebook' is not a well-formed Jupyter notebook") from None
        problem = await self.find_problem(slug, body.get("version"))
        if await self.queue.is_full():
            metrics.RATE_LIMITED.labels(
                endpoint=self.endpoint.value, reason=metrics.RateLimitReason.QUEUE_FULL.value
            ).inc()
            raise APIError(
                429,
                "the judge queue is full; try again shortly",
                headers={"Retry-After": str(self.settings["queue_full_retry_s"])},
            )
        user = await self.store.ensure_user(self.user_name)
        sub = await self.store.add_submission(
            user=user, problem=problem, code=parsed.source, notebook=notebook_text
        )
        await self.queue.put(sub.id)
        structlog.contextvars.bind_contextvars(submission_id=sub.id)
        self.log.info("submission %s queued for %s v%s", sub.id, problem.slug, problem.version)
        self.set_header("Location", self.reverse_url("submission", str(sub.id)))
        self.write_json(submission_view(sub, problem, self.user_name, instructor=False), 202)

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
        user = await self.store.ensure_user(name)
        problem_ids: list[int] | None = None
        slug = self.get_query_argument("problem", None)
        problems: dict[int, ProblemRow] = {}
        if slug is not None:
            versions = [await self.find_problem(slug)]
            latest = versions[0].version
            for v in range(1, latest):
                older = await self.store.get_problem(slug, v)
                if older is not None:
                    versions.append(older)
            problems = {p.id: p for p in versions}
            problem_ids = list(problems)
        subs = await self.store.list_submissions(
            user_id=user.id, problem_ids=problem_ids, limit=limit, before_id=before_id
        )
        for sub in subs:
            if sub.problem_id not in problems:
                row = await self.store.get_problem_by_id(sub.problem_id)
                assert row is not None
                problems[row.id] = row
        instructor = self.has_scope(SCOPE_READ_ALL)
        self.write_json(
            {
                "submissions": [
                    submission_view(
                        s, problems[s.problem_id], name, instructor=instructor, brief=True
                    )
                    for s in subs
                ]
            }
        )


class SubmissionHandler(JudgeHandler):
    endpoint = Endpoint.SUBMISSION

    async def load(self, submission_id: str) -> tuple[SubmissionRow, ProblemRow, str, bool]:
        """The submission if this user may read it (else 404, not to reveal it exists)."""
        sub = await self.store.get_submission(int(submission_id))
        instructor = self.has_scope(SCOPE_READ_ALL)
        if sub is None:
            raise APIError(404, f"no submission {submission_id}")
        owner = (await self.store.user_names([sub.user_id])).get(sub.user_id, "")
        if owner != self.user_name and not instructor:
            raise APIError(404, f"no submission {submission_id}")
        problem = await self.store.get_problem_by_id(sub.problem_id)
        assert problem is not None
        return sub, problem, owner, instructor

    async def get(self, submission_id: str) -> None:
        sub, problem, owner, instructor = await self.load(submission_id)
        self.write_json(submission_view(sub, problem, owner, instructor=instructor))


class SubmissionEventsHandler(SubmissionHandler):
    """Server-sent events: ``status`` on every change, then ``verdict``, then the end."""

    endpoint = Endpoint.SUBMISSION_EVENTS

    def on_connection_close(self) -> None:
        self._closed.set()

    async def get(self, submission_id: str) -> None:
        self._closed = asyncio.Event()
        sub, problem, owner, instructor = await self.load(submission_id)
        watcher: SubmissionWatcher = self.settings["watcher"]
        self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Accel-Buffering", "no")
        deadline = time.monotonic() + self.settings["stream_max_s"]
        last: tuple[str, int] | None = None
        try:
            while True:
                change = watcher.watch(sub.id)
                try:
                    state = (sub.status, sub.attempts)
                    if state != last:
                        last = state
                        final = sub.status == SubmissionStatus.JUDGED
                        view = submission_view(
                            sub, problem, owner, instructor=instructor, brief=not final
                        )
                        await self._send("verdict" if final else "status", view)
                        if final:
                            return
                    if time.monotonic() > deadline or self._closed.is_set():
                        return
                    waits = [
                        asyncio.ensure_future(change.wait()),
                        asyncio.ensure_future(self._closed.wait()),
                    ]
                    done, pending = await asyncio.wait(
                        waits,
                        timeout=self.settings["stream_ping_s"],
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    for task in pending:
                        task.cancel()
                    if not done:
                        self.write(": ping\n\n")
                        await self.flush()
                finally:
                    watcher.unwatch(sub.id, change)
                fresh = await self.store.get_submission(sub.id)
                assert fresh is not None
                sub = fresh
        except StreamClosedError:
            return
        finally:
            if not self._finished:
                self.finish()

    async def _send(self, event: str, data: dict[str, Any]) -> None:
        self.write(f"event: {event}\ndata: {dumps(data, ensure_ascii=False, default=str)}\n\n")
        await self.flush()


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    ("api/submissions", SubmissionsHandler, None),
    (r"api/submissions/(\d{1,9})", SubmissionHandler, "submission"),
    (r"api/submissions/(\d{1,9})/events", SubmissionEventsHandler, None),
]
