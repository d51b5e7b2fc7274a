"""The judge service: a JupyterHub service with a JSON API, and its workers.

``codetutor judge-service`` (:class:`~.app.JudgeServiceApp`) runs the tornado
app plus a :class:`~codetutor.judge.worker.WorkerPool`. Handlers are thin
(STYLE.md 4): authenticate with the Hub, authorize with Hub scopes, rate-limit,
parse, call the :class:`~.manager.SubmissionManager` or the store, write JSON.
Every error is ``{"message": ...}`` with a 4xx/5xx status, never a traceback.

- :mod:`.base`: the handler base (:class:`JudgeHandler`), scopes, /health, /metrics;
- :mod:`.problems`, :mod:`.submissions`, :mod:`.reports`: handlers per resource,
  each with its ``ROUTES``;
- :mod:`.views`: the JSON views of problems and submissions;
- :mod:`.app`: the application and its route list.

Scopes (custom scopes defined in the Hub's config):

- ``custom:judge:submit``: submit, and read one's own submissions;
- ``custom:judge:read-all``: read everyone's submissions, with hidden-case details;
- ``custom:problems:write``: publish problems; the class's gradebook and overview
  need ``custom:judge:read-all``, recommendations only access to the service.

Routes, under the service prefix (``/services/judge/``), are described in
``openapi.yaml`` (:data:`OPENAPI`).
"""

from __future__ import annotations

from .app import JudgeServiceApp
from .base import OPENAPI, SCOPE_PUBLISH, SCOPE_READ_ALL, SCOPE_SUBMIT, APIError, JudgeHandler

__all__ = [
    "OPENAPI",
    "SCOPE_PUBLISH",
    "SCOPE_READ_ALL",
    "SCOPE_SUBMIT",
    "APIError",
    "JudgeHandler",
    "JudgeServiceApp",
]
