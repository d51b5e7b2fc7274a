"""LTI 1.3 grade passback (AGS): after a verdict, the student's grade goes to the LMS.

:class:`GradePassback` is started by the judge worker after it stores a verdict
(:meth:`GradePassback.schedule`). It sends a grade for every LMS resource link
(:class:`~codetutor.judge.models.LTILink`, recorded at launch by the Hub) that
the verdict may change, to that link's AGS line item, as the student's LMS
identity (:class:`~codetutor.judge.models.LTIAccount`):

- a link placing an **assignment** (custom parameter ``assignment``): the
  student's points for the assignment, computed exactly as the course gradebook
  computes them (:func:`codetutor.insight.gradebook.course_gradebook`, "best
  within policy": late policy, extension and exam window through
  :mod:`codetutor.judge.policy`), out of the assignment's points;
- a link placing one **problem** (custom parameter ``problem``): the best score
  of the student's attempts at it, out of :attr:`GradePassback.score_maximum`.

The grade sent is always recomputed from every attempt, never the last verdict's
score, so a worse resubmission cannot lower it; each score carries the time it
was computed, and the LMS keeps the newest (AGS). Each post is recorded
(:class:`~codetutor.judge.models.LTIScore`); the LMS's failures are retried, then
recorded, never raised.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from pylti1p3.tool_config import ToolConfJsonFile
from sqlalchemy import func, select
from traitlets import Float, Instance, Int, Unicode, default
from traitlets.config import LoggingConfigurable

from codetutor.insight.gradebook import course_gradebook

from . import policy
from .courses import CourseBook, as_extension, problem_points
from .lti import find_registration, load_tool_config, put_score
from .models import (
    Assignment,
    AssignmentSubmission,
    Course,
    LTIAccount,
    LTILink,
    LTIScore,
    Problem,
    Submission,
    SubmissionStatus,
    User,
    utcnow,
)
from .store import Store


@dataclass(frozen=True)
class Target:
    """One grade to send: to ``link``, for ``user`` (``subject`` at the LMS)."""

    link: LTILink
    user: str
    subject: str
    given: float
    maximum: float


class GradePassback(LoggingConfigurable):
    """Sends a student's grades to the LMS after each verdict (see the module docstring).

    Disabled (every call returns ``[]``) while :attr:`tool_config_file` is empty.
    """

    store = Instance(Store, allow_none=True)

    tool_config_file = Unicode(
        "",
        help="""pylti1p3 tool configuration (JSON) of the LMS this deployment is an LTI 1.3
        tool of: the same file as LTIAuthenticator.tool_config_file. Env: CODETUTOR_LTI_CONFIG
        (what a judge-worker container is given); empty: no passback.""",
    ).tag(config=True)

    @default("tool_config_file")
    def _default_tool_config_file(self) -> str:
        return os.environ.get("CODETUTOR_LTI_CONFIG", "")

    score_maximum = Float(
        100.0,
        help="The maximum sent with a problem link's score (the LMS scales it to its line item).",
    ).tag(config=True)

    attempts = Int(3, help="Tries of one score post before it is recorded as failed.").tag(
        config=True
    )

    retry_delay_s = Float(1.0, help="Wait before the second try; doubles after each.").tag(
        config=True
    )

    record_wait_s = Float(
        2.0,
        help="How long a new submission's verdict waits for the submit path to record "
        "which assignment it counts for (it is written just after the submission is queued).",
    ).tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._config: ToolConfJsonFile | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def enabled(self) -> bool:
        return bool(self.tool_config_file)

    def tool_config(self) -> ToolConfJsonFile:
        if self._config is None:
            self._config = load_tool_config(self.tool_config_file)
        return self._config

    def schedule(self, submission_id: int) -> None:
        """Send ``submission_id``'s grades in the background (the worker goes on judging)."""
        if not self.enabled:
            return
        task = asyncio.create_task(self.submission_judged(submission_id))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("grade passback failed: %s", task.exception())

    async def drain(self, timeout_s: float = 30.0) -> None:
        """Coroutine: wait (at most ``timeout_s``) for the grades being sent."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)

    async def submission_judged(self, submission_id: int) -> list[LTIScore]:
        """Coroutine: send the grades that ``submission_id``'s verdict may change.

        Returns the :class:`LTIScore` rows recorded (one per link reached);
        errors of the LMS are recorded there, never raised.
        """
        if not self.enabled or self.store is None:
            return []
        # taken before the attempts are read: a grade computed from fewer attempts is
        # older, and the LMS keeps the newest (AGS ignores an older timestamp)
        timestamp = utcnow()
        targets = await self.targets(submission_id)
        return [await self._send(target, submission_id, timestamp) for target in targets]

    async def course_grades(self, course: str) -> list[LTIScore]:
        """Coroutine: send again every grade of ``course``'s LMS links.

        For after an extension or a late policy changed, or the LMS was down: each
        student with attempts gets their grade recomputed from all of them. Returns
        the :class:`LTIScore` rows recorded.
        """
        if not self.enabled or self.store is None:
            return []
        timestamp = utcnow()
        async with self.store.session() as s:
            links = list(
                await s.scalars(
                    select(LTILink).where(
                        LTILink.course == course, LTILink.lineitem_url.is_not(None)
                    )
                )
            )
            issuers = {link.issuer for link in links}
            accounts = list(
                await s.scalars(select(LTIAccount).where(LTIAccount.issuer.in_(issuers)))
            )
        targets = []
        for link in links:
            for account in accounts:
                if account.issuer != link.issuer or link.context_id not in account.contexts:
                    continue
                found = await self.link_grade(link, account.user)
                if found is not None:
                    targets.append(Target(link, account.user, account.subject, *found))
        return [await self._send(target, None, timestamp) for target in targets]

    async def link_grade(self, link: LTILink, name: str) -> tuple[float, float] | None:
        """Coroutine: ``(given, maximum)`` of user ``name`` on ``link``; ``None`` before
        any attempt (an LMS shows no grade rather than a zero then)."""
        assert self.store is not None
        async with self.store.session() as s:
            user = await s.scalar(select(User).where(User.name == name))
            if user is None:
                return None
            if link.problem is not None:
                versions = select(Problem.id).where(Problem.slug == link.problem)
                best = await s.scalar(
                    select(func.max(Submission.score)).where(
                        Submission.user_id == user.id,
                        Submission.problem_id.in_(versions),
                        Submission.status == SubmissionStatus.JUDGED.value,
                    )
                )
                if best is None:
                    return None
                return round(float(best) * self.score_maximum, 4), self.score_maximum
            course = await s.scalar(select(Course).where(Course.slug == link.course))
            assignment = (
                await s.scalar(
                    select(Assignment).where(
                        Assignment.course_id == course.id, Assignment.slug == link.assignment
                    )
                )
                if course is not None and link.assignment is not None
                else None
            )
            tried = (
                await s.scalar(
                    select(AssignmentSubmission.submission_id)
                    .where(
                        AssignmentSubmission.assignment_id == assignment.id,
                        AssignmentSubmission.user_id == user.id,
                    )
                    .limit(1)
                )
                if assignment is not None
                else None
            )
        if assignment is None or tried is None:
            return None
        return await self.assignment_points(assignment, user)

    async def targets(self, submission_id: int) -> list[Target]:
        """Coroutine: the grades a stored verdict of ``submission_id`` calls for."""
        assert self.store is not None
        async with self.store.session() as s:
            sub = await s.get(Submission, submission_id)
            if sub is None or sub.status != SubmissionStatus.JUDGED.value:
                return []
            user = await s.get(User, sub.user_id)
            problem = await s.get(Problem, sub.problem_id)
            assert user is not None and problem is not None
            accounts = list(await s.scalars(select(LTIAccount).where(LTIAccount.user == user.name)))
            contexts = {c for account in accounts for c in account.contexts}
            linked = select(LTILink).where(
                LTILink.lineitem_url.is_not(None), LTILink.context_id.in_(contexts)
            )
            problem_links = list(await s.scalars(linked.where(LTILink.problem == problem.slug)))
            any_assignment_link = await s.scalar(
                linked.where(LTILink.assignment.is_not(None)).limit(1)
            )
            versions = select(Problem.id).where(Problem.slug == problem.slug)
            rows = await s.execute(
                select(Submission.created_at, Submission.score).where(
                    Submission.user_id == user.id,
                    Submission.problem_id.in_(versions),
                    Submission.status == SubmissionStatus.JUDGED.value,
                )
            )
            attempts = [policy.Attempt(at, float(score or 0.0)) for at, score in rows]
        grades: list[tuple[LTILink, float, float]] = []
        if problem_links:
            best = max((a.score for a in attempts), default=0.0)
            given = round(best * self.score_maximum, 4)
            grades += [(link, given, self.score_maximum) for link in problem_links]
        if any_assignment_link is not None:
            grades += await self._assignment_grades(sub, user, linked)
        targets = []
        for link, given, maximum in grades:
            for account in accounts:
                if account.issuer == link.issuer and link.context_id in account.contexts:
                    targets.append(Target(link, user.name, account.subject, given, maximum))
        return targets

    async def _assignment_grades(
        self, sub: Submission, user: User, linked: Any
    ) -> list[tuple[LTILink, float, float]]:
        """The assignment links ``sub`` counts for, each with ``(earned, points)``."""
        assert self.store is not None
        counted = await self._counted_for(sub)
        if counted is None:
            return []
        async with self.store.session() as s:
            assignment = await s.get(Assignment, counted.assignment_id)
            course = await s.get(Course, assignment.course_id) if assignment else None
            if assignment is None or course is None:
                return []
            links = list(
                await s.scalars(
                    linked.where(
                        LTILink.assignment == assignment.slug, LTILink.course == course.slug
                    )
                )
            )
        if not links:
            return []
        earned, points = await self.assignment_points(assignment, user)
        return [(link, earned, points) for link in links]

    async def _counted_for(self, sub: Submission) -> AssignmentSubmission | None:
        """Coroutine: what assignment ``sub`` counts for, if any.

        The submit path records that just after queueing the submission, so the
        verdict of a new submission may come first: it waits for the record (at
        most :attr:`record_wait_s`, outside any transaction).
        """
        assert self.store is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.record_wait_s
        query = select(AssignmentSubmission).where(AssignmentSubmission.submission_id == sub.id)
        while True:
            async with self.store.session() as s:
                counted = await s.scalar(query)
            recent = utcnow() - sub.created_at < timedelta(seconds=60)
            if counted is not None or not recent or loop.time() >= deadline:
                return counted
            await asyncio.sleep(0.2)

    async def assignment_points(self, assignment: Assignment, user: User) -> tuple[float, float]:
        """Coroutine: ``(earned, points)`` of ``user`` on ``assignment``, as the gradebook has it."""
        assert self.store is not None
        book = CourseBook(self.store)
        attempts: dict[tuple[str, str], list[policy.Attempt]] = defaultdict(list)
        for graded in await book.graded_attempts(assignment):
            if graded.user == user.name:
                attempts[graded.user, graded.problem].append(graded.attempt)
        extension = as_extension(await book.extension(assignment, user))
        started = await book.exam_start(assignment, user) if assignment.exam_minutes else None
        rows = course_gradebook(
            assignment,
            problem_points(assignment),
            attempts,
            {user.name: extension} if extension is not None else {},
            {user.name: started} if started is not None else {},
            policy.GradeMode.BEST_WITHIN_POLICY,
        )
        mine = [row for row in rows if row.student == user.name]
        points = sum(points for _, points in problem_points(assignment))
        return round(sum(row.earned for row in mine), 4), points

    async def _send(
        self, target: Target, submission_id: int | None, timestamp: datetime
    ) -> LTIScore:
        assert self.store is not None
        link = target.link
        error: str | None = None
        delay = self.retry_delay_s
        for attempt in range(1, self.attempts + 1):
            try:
                registration = find_registration(self.tool_config(), link.issuer, link.client_id)
                post = partial(
                    put_score,
                    registration,
                    link,
                    target.subject,
                    target.given,
                    target.maximum,
                    timestamp.astimezone(UTC),
                )
                await asyncio.get_running_loop().run_in_executor(None, post)
                error = None
                break
            except Exception as e:
                error = f"{type(e).__name__}: {e}"[:2000]
                self.log.warning(
                    "grade passback to %s failed (try %s of %s): %s",
                    link.issuer,
                    attempt,
                    self.attempts,
                    error,
                )
                if attempt < self.attempts:
                    await asyncio.sleep(delay)
                    delay *= 2
        row = LTIScore(
            link_id=link.id,
            user=target.user,
            submission_id=submission_id,
            score_given=target.given,
            score_maximum=target.maximum,
            status="failed" if error else "sent",
            error=error,
        )
        async with self.store.session() as s:
            s.add(row)
        self.log.info(
            "grade passback: %s %s/%s to %s (%s)",
            target.user,
            target.given,
            target.maximum,
            link.lineitem_url,
            row.status,
        )
        return row
