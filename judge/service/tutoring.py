"""The tutor's one door into the judge: problems, last verdicts and guard jobs.

Only a caller holding :data:`SCOPE_TUTOR` gets past :meth:`TutoringHandler.prepare`
(the tutor service, through its Hub API token; a student's token gets 403):

=============================================  ==============================================
``GET  api/tutor/problems/SLUG``               the tutor's view of a problem (``version``
                                               optional; with ``user``, 403 while that
                                               student is inside an exam, as for verdicts):
                                               statement, starter, public cases,
                                               and the reference solution for the guard's
                                               similarity check — never hidden tests
``GET  api/tutor/verdicts/SLUG?user=NAME``     ``NAME``'s latest judged result on the
                                               problem as the student sees it, and their
                                               failed attempts; 403 ``{"message", "exam"}``
                                               while ``NAME`` is inside an exam (the tutor
                                               and review are off then)
``POST api/tutor/guard-jobs``                  ``{"problem", "version"?, "programs": [...]}``:
                                               202 ``{"id", "status"}``; the programs are
                                               judged by a worker as an internal job (never a
                                               submission, never in the gradebook)
``GET  api/tutor/guard-jobs/ID?wait=S``        ``{"id", "status", "results"?}``, waiting up
                                               to ``S`` seconds (at most 60) for the result
=============================================  ==============================================
"""

from __future__ import annotations

import json

from ..local import tutor_problem_view
from ..models import SubmissionStatus
from ..problem import Problem
from ..queue import Job, JobKind, JobState, valid_job_id
from .base import APIError, JudgeHandler
from .coursework import CourseManager
from .manager import SubmissionManager
from .views import result_view

SCOPE_TUTOR = "custom:judge:tutor"

SLUG = r"([a-z0-9][a-z0-9_-]*)"
#: most candidate programs in one guard job, and most characters in one program
MAX_PROGRAMS = 32
MAX_PROGRAM_CHARS = 20000
MAX_WAIT_S = 60.0


class TutoringHandler(JudgeHandler):
    """Base of the tutor's endpoints: every one needs :data:`SCOPE_TUTOR`."""

    async def prepare(self) -> None:
        await super().prepare()
        if self.user_model is not None:
            self.require_scope(SCOPE_TUTOR)

    async def refuse_during_exam(self, user: str | None) -> None:
        """403 ``{"message", "exam"}`` while ``user`` is inside an exam: no tutor, no review."""
        if user:
            courses: CourseManager = self.settings["courses"]
            await courses.refuse_during_exam(user, "the tutor")


class TutorProblemHandler(TutoringHandler):
    """``GET api/tutor/problems/SLUG``: :func:`~..local.tutor_problem_view` of a version."""

    query_parameters = frozenset({"version", "user"})

    async def get(self, slug: str) -> None:
        await self.refuse_during_exam(self.get_query_argument("user", None))
        row = await self.find_problem(slug, self.get_query_argument("version", None))
        problem = Problem.from_bundle(json.loads(await self.store.get_bundle(row.id)))
        self.write_json(tutor_problem_view(problem, row.version))


class TutorVerdictHandler(TutoringHandler):
    """``GET api/tutor/verdicts/SLUG?user=NAME``: the student's last verdict on a problem.

    ``{"problem", "user", "submission", "verdict", "attempts"}``: ``verdict`` is the
    latest judged result as the student sees it (hidden cases reduced to name,
    status and time) or ``null``; ``attempts`` counts their judged, not accepted
    submissions of any version (the last 50).
    """

    query_parameters = frozenset({"user"})

    async def get(self, slug: str) -> None:
        name = self.get_query_argument("user", None)
        if not name or len(name) > 255:
            raise APIError(400, "'user' (the student's Hub name) is required")
        await self.refuse_during_exam(name)
        manager: SubmissionManager = self.settings["submissions"]
        listed = await manager.list(name, problem=slug, limit=50, before_id=None, instructor=False)
        judged = [r.row for r in listed if r.row.status == SubmissionStatus.JUDGED]
        last = judged[0] if judged else None
        self.write_json(
            {
                "problem": slug,
                "user": name,
                "submission": last.id if last else None,
                "verdict": result_view(last.result, instructor=False) if last else None,
                "attempts": sum(1 for s in judged if s.verdict != "accepted"),
            }
        )


class GuardJobsHandler(TutoringHandler):
    """``POST api/tutor/guard-jobs``: queue the judging of a reply's candidate programs."""

    async def post(self) -> None:
        body = self.read_json_body(MAX_PROGRAMS * MAX_PROGRAM_CHARS * 4 + 4096, "the job")
        if not isinstance(body, dict):
            raise APIError(400, "the body must be a JSON object")
        unknown = sorted(set(body) - {"problem", "version", "programs"})
        if unknown:
            raise APIError(400, f"unknown field(s): {', '.join(unknown)}")
        slug, programs, version = body.get("problem"), body.get("programs"), body.get("version")
        if not isinstance(slug, str) or not slug:
            raise APIError(400, "'problem' (the problem id) is required")
        if (
            not isinstance(programs, list)
            or not 1 <= len(programs) <= MAX_PROGRAMS
            or not all(isinstance(p, str) and len(p) <= MAX_PROGRAM_CHARS for p in programs)
        ):
            raise APIError(
                400,
                f"'programs' must be a list of 1 to {MAX_PROGRAMS} source texts "
                f"of at most {MAX_PROGRAM_CHARS} characters",
            )
        row = await self.find_problem(slug, version)
        job = Job(
            JobKind.GUARD, {"problem": row.slug, "version": row.version, "programs": programs}
        )
        await self.queue.put_job(job)
        self.set_header("Location", self.reverse_url("guard-job", job.id))
        self.write_json({"id": job.id, "status": JobState.QUEUED.value}, 202)


class GuardJobHandler(TutoringHandler):
    """``GET api/tutor/guard-jobs/ID``: a guard job's state, with its results once done."""

    query_parameters = frozenset({"wait"})

    async def get(self, job_id: str) -> None:
        if not valid_job_id(job_id):
            raise APIError(404, f"no guard job {job_id}")
        try:
            wait = float(self.get_query_argument("wait", "0"))
        except ValueError:
            raise APIError(400, "wait must be a number of seconds") from None
        if not 0 <= wait <= MAX_WAIT_S:
            raise APIError(400, f"wait must be between 0 and {MAX_WAIT_S:g} seconds")
        found = await self.queue.wait_job(job_id, wait)
        if found is None:
            raise APIError(404, f"no guard job {job_id}")
        state, result = found
        self.write_json({"id": job_id, "status": state.value, **(result or {})})


ROUTES: list[tuple[str, type[JudgeHandler], str | None]] = [
    (rf"api/tutor/problems/{SLUG}", TutorProblemHandler, None),
    (rf"api/tutor/verdicts/{SLUG}", TutorVerdictHandler, None),
    ("api/tutor/guard-jobs", GuardJobsHandler, None),
    (r"api/tutor/guard-jobs/([0-9]{20}-[0-9a-f]{12})", GuardJobHandler, "guard-job"),
]
