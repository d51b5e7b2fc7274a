"""The judge API's submission manager: what the submission handlers do, without HTTP.

:class:`SubmissionManager` validates a submission request, parses the student's
notebook once (the store keeps its parsed form, :meth:`Submission.to_stored`,
which the worker reads back with :meth:`Submission.from_stored`), queues it, and
reads submissions back with the reader's rights (students see only their own,
redacted once by :func:`~..views.result_view`). It raises
:class:`~.base.APIError`; the handlers only parse, call it and write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import structlog
from traitlets import Instance, Int
from traitlets.config import LoggingConfigurable

from .. import metrics
from ..exceptions import SubmissionError
from ..metrics import Endpoint
from ..models import Problem as ProblemRow
from ..models import Submission as SubmissionRow
from ..queue import Queue
from ..store import Store
from ..submission import Submission
from .base import MAX_INT32, APIError
from .views import submission_view

log = logging.getLogger("codetutor.judge.service")

#: the fields of a submission request
FIELDS = frozenset({"problem", "version", "code", "notebook"})


@dataclass(frozen=True)
class SubmissionRequest:
    """A validated ``POST api/submissions`` body: the problem and the parsed submission."""

    problem: str
    version: Any
    submission: Submission
    #: whether the student sent a notebook (its parsed form is stored), not bare code
    from_notebook: bool


@dataclass(frozen=True)
class Readable:
    """A submission a reader may see, with its problem, owner and the reader's rights."""

    row: SubmissionRow
    problem: ProblemRow
    owner: str
    instructor: bool

    def view(self, *, brief: bool = False) -> dict[str, Any]:
        """Its JSON as this reader may see it (see :func:`~.views.submission_view`)."""
        return submission_view(
            self.row, self.problem, self.owner, instructor=self.instructor, brief=brief
        )


def parse_request(body: Any) -> SubmissionRequest:
    """Validate a submission request body and parse its code or notebook (once).

    Raises :class:`APIError` 400 naming what is wrong.
    """
    if not isinstance(body, dict):
        raise APIError(400, "the body must be a JSON object")
    unknown = sorted(set(body) - FIELDS)
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
            submission = Submission.from_notebook(notebook)
        else:
            if not isinstance(code, str):
                raise SubmissionError("'code' must be text")
            submission = Submission.from_source(code)
    except SubmissionError as e:
        raise APIError(400, e.message) from None
    except (TypeError, ValueError, AttributeError) as e:
        # a notebook with JSON shaped unlike nbformat's (e.g. a tag that is an object)
        log.info("malformed notebook submission: %r", e)
        raise APIError(400, "'notebook' is not a well-formed Jupyter notebook") from None
    return SubmissionRequest(slug, body.get("version"), submission, notebook is not None)


def parse_version(version: Any) -> int | None:
    """A requested problem version: None (the latest) or 1..2³¹-1, else :class:`APIError` 400."""
    if version is None:
        return None
    try:
        if isinstance(version, bool) or not isinstance(version, int | str):
            raise ValueError(version)
        wanted = int(version)
    except ValueError:
        raise APIError(400, "version must be a whole number") from None
    if not 1 <= wanted <= MAX_INT32:
        raise APIError(400, f"version must be a whole number from 1 to {MAX_INT32}")
    return wanted


class SubmissionManager(LoggingConfigurable):
    """Submits, lists and reads submissions for the API's handlers (coroutines)."""

    store = Instance(Store)
    queue = Instance(Queue)

    queue_full_retry_s = Int(5, help="Retry-After (seconds) sent when the queue is full.")

    async def find_problem(self, slug: str, version: Any = None) -> ProblemRow:
        """The problem version (the latest without ``version``); 404 if there is none."""
        wanted = parse_version(version)
        problem = await self.store.get_problem(slug, wanted)
        if problem is None:
            which = f" version {wanted}" if wanted is not None else ""
            raise APIError(404, f"no problem {slug!r}{which}")
        return problem

    async def submit(
        self,
        user_name: str,
        request: SubmissionRequest,
        *,
        attach: Callable[[SubmissionRow], Iterable[Any]] | None = None,
    ) -> Readable:
        """Store ``request`` as ``user_name``'s submission and queue it; 429 when the queue is full.

        ``attach``: rows stored in the submission's transaction (see ``Store.add_submission``).
        """
        problem = await self.find_problem(request.problem, request.version)
        if await self.queue.is_full():
            metrics.RATE_LIMITED.labels(
                endpoint=Endpoint.SUBMISSIONS.value,
                reason=metrics.RateLimitReason.QUEUE_FULL.value,
            ).inc()
            raise APIError(
                429,
                "the judge queue is full; try again shortly",
                headers={"Retry-After": str(self.queue_full_retry_s)},
            )
        user = await self.store.ensure_user(user_name)
        parsed = request.submission
        row = await self.store.add_submission(
            user=user,
            problem=problem,
            code=parsed.source,
            notebook=parsed.to_stored() if request.from_notebook else None,
            attach=attach,
        )
        await self.queue.put(row.id)
        structlog.contextvars.bind_contextvars(submission_id=row.id)
        log.info("submission %s queued for %s v%s", row.id, problem.slug, problem.version)
        return Readable(row, problem, user_name, instructor=False)

    async def list(
        self,
        user_name: str,
        *,
        problem: str | None,
        limit: int,
        before_id: int | None,
        instructor: bool,
    ) -> list[Readable]:
        """``user_name``'s submissions, newest first (of every version of ``problem``)."""
        user = await self.store.ensure_user(user_name)
        problem_ids: list[int] | None = None
        problems: dict[int, ProblemRow] = {}
        if problem is not None:
            versions = [await self.find_problem(problem)]
            for number in range(1, versions[0].version):
                older = await self.store.get_problem(problem, number)
                if older is not None:
                    versions.append(older)
            problems = {p.id: p for p in versions}
            problem_ids = list(problems)
        rows = await self.store.list_submissions(
            user_id=user.id, problem_ids=problem_ids, limit=limit, before_id=before_id
        )
        for row in rows:
            if row.problem_id not in problems:
                found = await self.store.get_problem_by_id(row.problem_id)
                assert found is not None
                problems[found.id] = found
        return [Readable(r, problems[r.problem_id], user_name, instructor) for r in rows]

    async def get(self, submission_id: int, reader: str, *, instructor: bool) -> Readable:
        """The submission if ``reader`` may read it (else 404, not to reveal that it exists)."""
        row = await self.store.get_submission(submission_id)
        if row is None:
            raise APIError(404, f"no submission {submission_id}")
        owner = (await self.store.user_names([row.user_id])).get(row.user_id, "")
        if owner != reader and not instructor:
            raise APIError(404, f"no submission {submission_id}")
        problem = await self.store.get_problem_by_id(row.problem_id)
        assert problem is not None
        return Readable(row, problem, owner, instructor)

    async def refresh(self, readable: Readable) -> Readable:
        """``readable`` with its submission read again from the store."""
        row = await self.store.get_submission(readable.row.id)
        assert row is not None
        return Readable(row, readable.problem, readable.owner, readable.instructor)
