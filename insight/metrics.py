"""Prometheus metrics of the dashboard service (SPEC.md section 8 names).

The service's own registry (its ``http_*`` names would clash with the judge's or
Jupyter Server's in one process); every labelled series exists from import.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry

from codetutor.web.metrics import HTTPMetrics


class Endpoint(StrEnum):
    """The ``endpoint`` label: one value per route, never a raw path."""

    DASHBOARD = "dashboard"
    STUDENT = "student"
    GRADEBOOK = "gradebook"
    SIMILARITY = "similarity"
    HEALTH = "health"
    METRICS = "metrics"
    OAUTH_CALLBACK = "oauth_callback"
    OTHER = "other"


REGISTRY = CollectorRegistry()

HTTP = HTTPMetrics(REGISTRY, service="dashboard service", endpoints=Endpoint)
