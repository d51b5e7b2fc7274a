"""The dashboard's per-course views: a course's gradebook as a download.

``GET courses/C/gradebook.csv|json?mode=deadline|best``: the same rows as the judge
API's ``api/courses/C/gradebook`` (:func:`~.gradebook.load_course_gradebook`, scored
by :mod:`codetutor.judge.policy`), for the course's instructors (Hub group
``course:C:instructors``, or admins).
"""

from __future__ import annotations

from datetime import datetime

from tornado import web

from codetutor.errors import CodeTutorError
from codetutor.judge.courses import CourseBook, Member, Role
from codetutor.judge.policy import GradeMode
from codetutor.judge.store import Store
from codetutor.judge.verdict import dumps
from codetutor.web import Route

from .gradebook import course_gradebook_csv, course_gradebook_json, load_course_gradebook
from .handlers import DashboardBaseHandler
from .metrics import Endpoint

#: the scope that makes a user an admin of every course (as in the judge API)
SCOPE_PUBLISH = "custom:problems:write"


class CourseGradebookFileHandler(DashboardBaseHandler):
    """``GET courses/C/gradebook.(csv|json)?mode=deadline|best``: a course's gradebook."""

    endpoint = Endpoint.GRADEBOOK
    query_parameters = frozenset({"mode"})

    @web.authenticated
    async def get(self, slug: str, form: str) -> None:
        model = self.current_user
        member = Member(
            str(model["name"]),
            frozenset(str(g) for g in model.get("groups") or []),
            bool(model.get("admin")) or bool(self.hub_auth.check_scopes({SCOPE_PUBLISH}, model)),
        )
        if member.role(slug) is not Role.INSTRUCTOR:
            raise CodeTutorError(f"no course {slug!r} of yours", status=404)
        try:
            mode = GradeMode(self.get_query_argument("mode", GradeMode.BEST_WITHIN_POLICY.value))
        except ValueError:
            raise CodeTutorError("mode must be deadline or best", status=400) from None
        store: Store = self.settings["store"]
        book = CourseBook(store)
        course = await book.course(slug)
        rows = await load_course_gradebook(book, course, mode)
        stamp = datetime.now().strftime("%Y%m%d")
        name = f"gradebook-{slug}-{mode.value}-{stamp}.{form}"
        self.set_header("Content-Disposition", f'attachment; filename="{name}"')
        if form == "csv":
            self.set_header("Content-Type", "text/csv; charset=UTF-8")
            self.finish(course_gradebook_csv(rows))
        else:
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(dumps(course_gradebook_json(slug, mode, rows), ensure_ascii=False))


ROUTES: list[Route] = [
    (r"courses/([a-z0-9][a-z0-9_-]{0,63})/gradebook\.(csv|json)", CourseGradebookFileHandler, None),
]
