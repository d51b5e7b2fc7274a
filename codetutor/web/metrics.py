"""The HTTP request metrics every Code Tutor service exports (SPEC.md section 8).

``http_requests_total{method,endpoint,status}`` and
``http_request_duration_seconds{method,endpoint}`` are defined here once.
Each service creates one :class:`HTTPMetrics` in its own registry (the names
would clash in one process: the judge's, the tutor's and Jupyter Server's own),
and :class:`~codetutor.web.handlers.JSONHandler` records every request in it.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram

#: Buckets of a service that answers in milliseconds to seconds.
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class HTTPMetrics:
    """The request counter and duration histogram of one service, in ``registry``.

    ``service`` names the service in the metrics' help text. Every
    ``(method, endpoint)`` pair of ``methods`` and ``endpoints`` gets its duration
    series at once, so that it exists (at 0) before the first request.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        service: str,
        endpoints: Iterable[str] = (),
        methods: Iterable[str] = ("GET",),
        buckets: tuple[float, ...] = DEFAULT_BUCKETS,
    ) -> None:
        self.registry = registry
        self.requests = Counter(
            "http_requests_total",
            f"HTTP requests answered by the {service}, by method, endpoint and status.",
            ["method", "endpoint", "status"],
            registry=registry,
        )
        self.duration = Histogram(
            "http_request_duration_seconds",
            f"Time to answer an HTTP request of the {service} (a whole stream for streams).",
            ["method", "endpoint"],
            buckets=buckets,
            registry=registry,
        )
        methods = list(methods)
        for endpoint in endpoints:
            for method in methods:
                self.duration.labels(method=str(method), endpoint=str(endpoint))

    def observe(self, method: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        self.requests.labels(method=method, endpoint=endpoint, status=str(status)).inc()
        self.duration.labels(method=method, endpoint=endpoint).observe(seconds)
