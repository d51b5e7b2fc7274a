"""Prometheus metrics of the dashboard service (SPEC.md section 8 names).

The service's own registry (its ``http_*`` names would clash with the judge's or
Jupyter Server's in one process); every labelled series exists from import.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Histogram


class Endpoint(StrEnum):
    """The ``endpoint`` label: one value per route, never a raw path."""

    DASHBOARD = "dashboard"
    STUDENT = "student"
    GRADEBOOK = "gradebook"
    HEALTH = "health"
    METRICS = "metrics"
    OAUTH_CALLBACK = "oauth_callback"
    OTHER = "other"


REGISTRY = CollectorRegistry()

HTTP_REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered by the dashboard service.",
    ["method", "endpoint", "status"],
    registry=REGISTRY,
)

HTTP_DURATION = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request of the dashboard service.",
    ["method", "endpoint"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)

for _endpoint in Endpoint:
    HTTP_DURATION.labels(method="GET", endpoint=_endpoint.value)
