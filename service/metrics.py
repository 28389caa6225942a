"""Prometheus metrics: requests and latency per route, and latency per search step.

Each app owns its registry (tests build many apps in one process; a global registry would refuse the
second set of metric names). Labels are route templates (``/v1/units/{unit_id}``), never raw paths, ids,
tenants or query text: metrics carry no data a caller might not be allowed to see, and stay low-cardinality.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SEARCH_STEPS = ("lookup", "encode", "recall", "rerank", "fetch", "total")
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "figvault_http_requests",
            "HTTP requests by route template, method and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "figvault_http_request_duration_seconds",
            "HTTP request latency by route template (until the response is complete).",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_steps = Histogram(
            "figvault_search_step_duration_seconds",
            "Search latency per step, from SearchResponse.timings.",
            ["step"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.search_results = Histogram(
            "figvault_search_results",
            "Results returned per search.",
            buckets=(0, 1, 5, 10, 20, 50, 100, 200),
            registry=self.registry,
        )

    def observe_search(self, timings_ms: Mapping[str, float], n_results: int) -> None:
        for step in SEARCH_STEPS:
            if step in timings_ms:
                self.search_steps.labels(step=step).observe(timings_ms[step] / 1000.0)
        self.search_results.observe(n_results)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware (no BaseHTTPMiddleware: it costs latency and breaks streaming)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            # The router writes the matched route into the scope; unmatched paths share one label.
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method=method, route=template, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=template).observe(time.perf_counter() - start)
