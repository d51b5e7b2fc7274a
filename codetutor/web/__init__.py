"""The skeleton every Code Tutor service shares (judge, tutor, LLM, dashboard).

- :mod:`.app`: :class:`HubServiceApp` (config file, JSON logs, SIGTERM/SIGINT),
  :class:`WebServiceApp` (listens with its own tornado app), :class:`ServiceAddress`
  and :func:`service_application` (routes, /health, /metrics, JSON 404, request log);
- :mod:`.handlers`: :class:`JSONHandler`, the base of every JSON handler, and the
  /health, /metrics, 404 and Hub OAuth callback handlers;
- :mod:`.metrics`: :class:`HTTPMetrics`, the HTTP request metrics, defined once.

Errors are :class:`codetutor.errors.CodeTutorError`; only :class:`JSONHandler`
turns them into HTTP answers.
"""

from __future__ import annotations

from .app import (
    HubServiceApp,
    Route,
    ServiceAddress,
    WebServiceApp,
    load_config,
    service_application,
)
from .handlers import (
    HealthHandler,
    HubCallbackHandler,
    JSONHandler,
    MetricsHandler,
    NotFoundHandler,
    log_request,
)
from .metrics import HTTPMetrics

__all__ = [
    "HTTPMetrics",
    "HealthHandler",
    "HubCallbackHandler",
    "HubServiceApp",
    "JSONHandler",
    "MetricsHandler",
    "NotFoundHandler",
    "Route",
    "ServiceAddress",
    "WebServiceApp",
    "load_config",
    "log_request",
    "service_application",
]
