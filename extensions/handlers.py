"""The extension's REST and WebSocket handlers, under ``/codetutor/api/``.

Every handler is thin: Jupyter Server authenticates the request (token or
cookie; cookie-authenticated writes need the XSRF token), the handler validates
the body, reads or writes the notebook through the server's contents manager,
makes one call to a Hub service with this server's Hub token, and writes JSON.
Errors are ``{"message": ...}`` with a 4xx/5xx status (a service's own 4xx
keeps its status and message; a service that is down is 502).

=============================================  ====================================================
``GET  problems``                              the judge's problem list ``{"problems": [...]}``
``POST problems/ID/open``                      write the student notebook to ``path`` (default
                                               ``ID.ipynb``), its ``lang`` (en, ko) first; 409 if
                                               it exists unless ``overwrite: true``; 201
                                               ``{"path", "problem"}``
``POST problems/ID/reset``                     ``{"path", "lang"?}``: keep the notebook as
                                               ``NAME (before reset N).ipynb``, write the starter
                                               at ``path``; 201 ``{"path", "problem", "backup"}``
``POST submissions``                           ``{"path", "assignment"?}``: submit that
                                               notebook's content without its outputs (for the
                                               assignment ``{"course", "id"}`` if named); 202
                                               with the queued submission (credit, receipt)
``GET  submissions``                           own submissions (``problem``, ``user``, ``limit``,
                                               ``before`` passed on)
``GET  submissions/ID``                        one submission with its result
``GET  submissions/ID/events``                 live: the judge's server-sent events
                                               (``status`` … then ``verdict``)
``WS   tutor/chat``                            tutor chat, relayed; ``ask`` may name a ``path``:
                                               its problem id and code are sent
``POST review``                                ``{"path", "cell"?}`` or ``{"code", "problem"?}``
``GET  recommendations``                       the judge's next problems for this user, with
                                               reasons in ko/en (``limit`` passed on)
``POST publish``                               instructors: ``{"path"}`` publish that problem
=============================================  ====================================================
"""

from __future__ import annotations

import json
import re
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from .chat import ChatHandler
from .client import ServiceClient
from .exceptions import ExtensionError, ServiceError
from .notebooks import (
    LANGUAGES,
    backup_path,
    localize,
    problem_id_of,
    strip_outputs,
    student_code,
)

API = r"/codetutor/api"
PROBLEM_ID = r"([a-z0-9][a-z0-9_-]*)"
SUBMISSION_ID = r"(\d{1,18})"
SLUG = r"([a-z0-9][a-z0-9_-]{0,63})"
SLUG_RE = re.compile(SLUG)


def assignment_target(body: dict[str, Any]) -> dict[str, str] | None:
    """A submit body's ``"assignment": {"course", "id"}``, checked; ``None`` without one; 400."""
    target = body.get("assignment")
    if target is None:
        return None
    if (
        not isinstance(target, dict)
        or set(target) != {"course", "id"}
        or not all(isinstance(v, str) and SLUG_RE.fullmatch(v) for v in target.values())
    ):
        raise ExtensionError(400, '\'assignment\' must be {"course": ID, "id": ID}')
    return {"course": target["course"], "id": target["id"]}


class CodeTutorHandler(ExtensionHandlerMixin, APIHandler):
    """Base of the REST handlers: JSON bodies, JSON errors, the service clients."""

    @property
    def judge(self) -> ServiceClient:
        client: ServiceClient = self.settings["codetutor_judge"]
        return client

    @property
    def tutor(self) -> ServiceClient:
        client: ServiceClient = self.settings["codetutor_tutor"]
        return client

    def json_body(self, *required: str) -> dict[str, Any]:
        """The body as a JSON object with ``required`` fields, or 400."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise ExtensionError(400, f"the body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise ExtensionError(400, "the body must be a JSON object")
        missing = [name for name in required if name not in body]
        if missing:
            raise ExtensionError(400, f"missing field(s): {', '.join(missing)}")
        return body

    def path_field(self, body: dict[str, Any]) -> str:
        path = body.get("path")
        if not isinstance(path, str) or not path.strip("/"):
            raise ExtensionError(400, "'path' must be a notebook's path in your workspace")
        return path.strip("/")

    def lang_field(self, body: dict[str, Any]) -> str:
        """The body's ``lang`` (``en`` by default), or 400."""
        lang = body.get("lang", "en")
        if lang not in LANGUAGES:
            raise ExtensionError(400, f"'lang' must be one of {', '.join(LANGUAGES)}")
        return str(lang)

    async def starter_notebook(self, problem_id: str, lang: str) -> Any:
        """Coroutine: the problem's student notebook from the judge, ``lang`` first."""
        text = await self.judge.request_text(f"api/problems/{problem_id}/notebook")
        try:
            nb = nbformat.reads(text, as_version=4)
        except Exception:
            raise ServiceError("judge", 502, "the judge sent an unreadable notebook") from None
        return nbformat.from_dict(localize(nb, lang))

    async def read_notebook(self, path: str) -> dict[str, Any]:
        """Coroutine: the notebook at ``path`` (as saved) as a plain dict; 404/400 if not one."""
        cm = self.contents_manager
        if not await ensure_async(cm.file_exists(path)):
            raise ExtensionError(404, f"no notebook at {path}")
        if not path.endswith(".ipynb"):
            raise ExtensionError(400, f"{path} is not a notebook (.ipynb)")
        try:
            model = await ensure_async(cm.get(path, content=True, type="notebook"))
        except web.HTTPError as e:
            raise ExtensionError(e.status_code, e.log_message or f"cannot read {path}") from None
        return json.loads(json.dumps(model["content"]))

    def write_json(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        self.finish(json.dumps(data, ensure_ascii=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, ExtensionError):
            for name, value in error.headers.items():
                self.set_header(name, value)
            self.set_header("Content-Type", "application/json; charset=UTF-8")
            self.finish(json.dumps({"message": error.message, **error.extra}, ensure_ascii=False))
            return
        super().write_error(status_code, **kwargs)

    def _handle_request_exception(self, e: BaseException) -> None:
        if isinstance(e, ExtensionError):
            if e.status >= 500:
                self.log.warning("Code Tutor: %s", e.log_message)
            if not self._finished:
                self.send_error(e.status, exc_info=(type(e), e, e.__traceback__))
            return
        super()._handle_request_exception(e)


class ProblemsHandler(CodeTutorHandler):
    """``GET /codetutor/api/problems``: the published problems (the judge's list)."""

    @web.authenticated
    async def get(self) -> None:
        status, body = await self.judge.request("GET", "api/problems")
        self.write_json(body, status)


class OpenProblemHandler(CodeTutorHandler):
    """``POST /codetutor/api/problems/ID/open``: put the problem's notebook in the workspace.

    Body (optional): ``{"path": "where.ipynb", "overwrite": false}``. Never
    overwrites an existing file unless ``overwrite`` is true: 409 with the
    ``path`` instead, so the front end can ask.
    """

    @web.authenticated
    async def post(self, problem_id: str) -> None:
        body = self.json_body()
        path = body.get("path", f"{problem_id}.ipynb")
        if not isinstance(path, str) or not path.strip("/").endswith(".ipynb"):
            raise ExtensionError(400, "'path' must end with .ipynb")
        path = path.strip("/")
        overwrite = body.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise ExtensionError(400, "'overwrite' must be true or false")
        cm = self.contents_manager
        if not overwrite and await ensure_async(cm.file_exists(path)):
            raise ExtensionError(
                409,
                f"{path} already exists; open it, or ask again with overwrite: true",
                extra={"path": path},
            )
        nb = await self.starter_notebook(problem_id, self.lang_field(body))
        await ensure_async(cm.save({"type": "notebook", "format": "json", "content": nb}, path))
        self.log.info("Code Tutor: opened problem %s at %s", problem_id, path)
        self.write_json({"path": path, "problem": problem_id}, 201)


class ResetProblemHandler(CodeTutorHandler):
    """``POST /codetutor/api/problems/ID/reset``: start the problem over, keeping the old copy.

    Body: ``{"path", "lang"?}``. The notebook at ``path`` is copied to
    ``NAME (before reset N).ipynb`` beside it (never overwriting), then the
    problem's student notebook is written at ``path``. 404 if there is no
    notebook at ``path``; 400 if it belongs to another problem.
    """

    @web.authenticated
    async def post(self, problem_id: str) -> None:
        body = self.json_body("path")
        path = self.path_field(body)
        old = await self.read_notebook(path)
        if problem_id_of(old) not in (None, problem_id):
            raise ExtensionError(
                400, f"{path} is a notebook of problem {problem_id_of(old)}, not {problem_id}"
            )
        nb = await self.starter_notebook(problem_id, self.lang_field(body))
        cm = self.contents_manager
        backup = await backup_path(path, lambda p: ensure_async(cm.file_exists(p)))
        await ensure_async(cm.copy(path, backup))
        await ensure_async(cm.save({"type": "notebook", "format": "json", "content": nb}, path))
        self.log.info("Code Tutor: reset %s to problem %s (old copy %s)", path, problem_id, backup)
        self.write_json({"path": path, "problem": problem_id, "backup": backup}, 201)


class SubmissionsHandler(CodeTutorHandler):
    """``POST /codetutor/api/submissions`` (submit a notebook) and ``GET`` (list)."""

    @web.authenticated
    async def post(self) -> None:
        body = self.json_body("path")
        path = self.path_field(body)
        nb = await self.read_notebook(path)
        problem = body.get("problem") or problem_id_of(nb)
        if not isinstance(problem, str) or not problem:
            raise ExtensionError(
                400, f"{path} is not a problem notebook (no metadata.codetutor.id); name 'problem'"
            )
        nb, removed = strip_outputs(nb)
        request: dict[str, Any] = {"problem": problem, "notebook": nb}
        target = assignment_target(body)
        if target is not None:
            request["assignment"] = target
        try:
            status, answer = await self.judge.request("POST", "api/submissions", request)
        except ServiceError as e:
            if e.status != 413:
                raise
            raise ExtensionError(
                413,
                f"{path} is too large to submit even without its outputs ({e.message}): "
                "shorten its code cells, or move large data out of the notebook",
                extra={"outputs_removed": removed},
            ) from None
        self.write_json(answer, status)

    @web.authenticated
    async def get(self) -> None:
        query = {
            name: self.get_query_argument(name, None)
            for name in ("problem", "user", "limit", "before")
        }
        status, body = await self.judge.request("GET", "api/submissions", query=query)
        self.write_json(body, status)


class SubmissionHandler(CodeTutorHandler):
    """``GET /codetutor/api/submissions/ID``: one submission, with its result when judged."""

    @web.authenticated
    async def get(self, submission_id: str) -> None:
        status, body = await self.judge.request("GET", f"api/submissions/{submission_id}")
        self.write_json(body, status)


class SubmissionEventsHandler(CodeTutorHandler):
    """``GET /codetutor/api/submissions/ID/events``: the judge's live events, passed on.

    Server-sent events: ``event: status`` (queued, running) then one
    ``event: verdict`` with the judged submission; the stream then ends.
    """

    @web.authenticated
    async def get(self, submission_id: str) -> None:
        started = False

        def forward(chunk: bytes) -> Any:
            nonlocal started
            if not started:
                started = True
                self.set_header("Content-Type", "text/event-stream; charset=UTF-8")
                self.set_header("Cache-Control", "no-cache")
                self.set_header("X-Accel-Buffering", "no")
            self.write(chunk)
            return self.flush()

        try:
            await self.judge.stream(
                f"api/submissions/{submission_id}/events",
                forward,
                self.settings["codetutor_stream_timeout_s"],
            )
        except ServiceError:
            if started:
                self.log.info("Code Tutor: live stream of %s ended early", submission_id)
                self.finish()
                return
            raise
        self.finish()


class ReviewHandler(CodeTutorHandler):
    """``POST /codetutor/api/review``: the tutor's structured code review.

    Body: ``{"path", "cell"?}`` (the notebook's student code, or only code cell
    number ``cell`` counting from 0 among all cells) or ``{"code", "problem"?}``;
    ``lang`` optional. Answers the tutor's ``{"findings": [...], "model_ok", "lang"}``.
    """

    @web.authenticated
    async def post(self) -> None:
        body = self.json_body()
        problem = body.get("problem")
        if "path" in body:
            nb = await self.read_notebook(self.path_field(body))
            problem = problem or problem_id_of(nb)
            cell = body.get("cell")
            if cell is not None:
                if isinstance(cell, bool) or not isinstance(cell, int):
                    raise ExtensionError(400, "'cell' must be a cell number")
                cells = nb.get("cells", [])
                if not 0 <= cell < len(cells) or cells[cell].get("cell_type") != "code":
                    raise ExtensionError(400, f"cell {cell} is not a code cell of the notebook")
                source = cells[cell].get("source", "")
                code = "".join(source) if isinstance(source, list) else str(source)
            else:
                code = student_code(nb)
        elif isinstance(body.get("code"), str):
            code = body["code"]
        else:
            raise ExtensionError(400, "give 'path' (and optionally 'cell') or 'code'")
        request: dict[str, Any] = {"code": code}
        if isinstance(problem, str) and problem:
            request["problem_id"] = problem
        if isinstance(body.get("lang"), str):
            request["lang"] = body["lang"]
        status, answer = await self.tutor.request("POST", "api/tutor/review", request)
        self.write_json(answer, status)


class RecommendationsHandler(CodeTutorHandler):
    """``GET /codetutor/api/recommendations``: next problems, from the judge service.

    The judge service's ``api/recommendations`` endpoint answers them (for the
    owner of this server's token; ``limit`` passed on); a judge without that
    endpoint gets 501 saying so.
    """

    @web.authenticated
    async def get(self) -> None:
        query = {"limit": self.get_query_argument("limit", None)}
        try:
            status, body = await self.judge.request("GET", "api/recommendations", query=query)
        except ServiceError as e:
            if e.status == 404 and "no such endpoint" in e.message:
                raise ExtensionError(
                    501,
                    "recommendations are not available: the judge service has no "
                    "recommendations endpoint (api/recommendations)",
                    extra={"service": "judge", "endpoint": "api/recommendations"},
                ) from None
            raise
        self.write_json(body, status)


class PublishHandler(CodeTutorHandler):
    """``POST /codetutor/api/publish``: publish the problem notebook at ``path`` (instructors).

    Sends the whole authoring notebook (solution and hidden tests included) to
    the judge, which validates it; answers the judge's problem (201 new version,
    200 unchanged) or its 422 ``{"message", "cell", "line"}``; 403 for students.
    """

    @web.authenticated
    async def post(self) -> None:
        body = self.json_body("path")
        nb = await self.read_notebook(self.path_field(body))
        status, answer = await self.judge.request("POST", "api/problems", nb)
        self.write_json(answer, status)


def handlers() -> list[tuple[str, type[web.RequestHandler]]]:
    """The extension's routes (Jupyter Server prefixes its base URL)."""
    from .coursework import coursework_handlers

    return [
        (rf"{API}/problems", ProblemsHandler),
        (rf"{API}/problems/{PROBLEM_ID}/open", OpenProblemHandler),
        (rf"{API}/problems/{PROBLEM_ID}/reset", ResetProblemHandler),
        (rf"{API}/submissions", SubmissionsHandler),
        (rf"{API}/submissions/{SUBMISSION_ID}", SubmissionHandler),
        (rf"{API}/submissions/{SUBMISSION_ID}/events", SubmissionEventsHandler),
        (rf"{API}/tutor/chat", ChatHandler),
        (rf"{API}/review", ReviewHandler),
        (rf"{API}/recommendations", RecommendationsHandler),
        (rf"{API}/publish", PublishHandler),
        *coursework_handlers(),
    ]
