"""Prometheus metrics of the judge service (names and labels of SPEC.md section 8).

Label values come from Enums, and every labelled series is created at import
so that it exists, at 0, before its first event. Verdict metrics are fed by
:class:`codetutor.judge.events.SubmissionWatcher` from the database, so the
service's ``/metrics`` counts the work of every worker process.
"""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from codetutor.web.metrics import HTTPMetrics

from .models import SubmissionStatus
from .verdict import Verdict


class Endpoint(StrEnum):
    """The ``endpoint`` label: one value per route, never a raw path."""

    PROBLEMS = "problems"
    PROBLEM = "problem"
    PROBLEM_NOTEBOOK = "problem_notebook"
    PROBLEM_VISIBILITY = "problem_visibility"
    VALIDATE = "validate"
    SUBMISSIONS = "submissions"
    SUBMISSION = "submission"
    SUBMISSION_EVENTS = "submission_events"
    HEALTH = "health"
    METRICS = "metrics"
    OAUTH_CALLBACK = "oauth_callback"
    OPENAPI = "openapi"
    RECOMMENDATIONS = "recommendations"
    GRADEBOOK = "gradebook"
    CLASS_INSIGHT = "class_insight"
    COURSES = "courses"
    COURSE = "course"
    ASSIGNMENTS = "assignments"
    ASSIGNMENT = "assignment"
    EXAM_START = "exam_start"
    EXTENSIONS = "extensions"
    COURSE_GRADEBOOK = "course_gradebook"
    OTHER = "other"


class Method(StrEnum):
    GET = "GET"
    POST = "POST"


#: The judge's own registry: its http_* names would clash in the default registry with
#: Jupyter Server's in one process (the Hub's single-user servers, the test suite).
REGISTRY = CollectorRegistry()

HTTP = HTTPMetrics(REGISTRY, service="judge service", endpoints=Endpoint, methods=Method)

CODE_EXECUTION = Histogram(
    "code_execution_duration_seconds",
    "Judge time of one submission (its cases and setup), by verdict.",
    ["verdict"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
    registry=REGISTRY,
)

ACTIVE_SANDBOXES = Gauge(
    "active_sandboxes",
    "Sandboxes judging right now (submissions held by a worker).",
    registry=REGISTRY,
)

SUBMISSIONS = Counter(
    "submissions_total",
    "Submissions judged, by verdict.",
    ["verdict"],
    registry=REGISTRY,
)

ACTIVE_USERS = Gauge(
    "active_users",
    "Users who made a request to the judge service in the last few minutes.",
    registry=REGISTRY,
)

QUEUE_DEPTH = Gauge(
    "judge_queue_depth",
    "Submissions waiting or being judged, by status.",
    ["status"],
    registry=REGISTRY,
)

QUEUE_WAIT = Histogram(
    "judge_queue_wait_seconds",
    "Time from a submission's commit to a worker taking it.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
    registry=REGISTRY,
)

RATE_LIMITED = Counter(
    "judge_rate_limited_total",
    "Requests refused with 429 by the rate limiter or a full queue, by endpoint.",
    ["endpoint", "reason"],
    registry=REGISTRY,
)


class RateLimitReason(StrEnum):
    RATE = "rate"
    QUEUE_FULL = "queue_full"


def verdict_label(value: str) -> str:
    """The ``verdict`` label of a stored verdict (unknown ones count as internal errors)."""
    try:
        return Verdict(value).value
    except ValueError:
        return Verdict.INTERNAL_ERROR.value


for _verdict in Verdict:
    CODE_EXECUTION.labels(verdict=_verdict.value)
    SUBMISSIONS.labels(verdict=_verdict.value)
for _status in (SubmissionStatus.QUEUED, SubmissionStatus.RUNNING):
    QUEUE_DEPTH.labels(status=_status.value)
for _endpoint in Endpoint:
    for _reason in RateLimitReason:
        RATE_LIMITED.labels(endpoint=_endpoint.value, reason=_reason.value)
