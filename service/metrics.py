"""Prometheus metrics: requests and latency per route, and latency per search step.

Each app owns its registry (tests build many apps in one process; a global registry would refuse the
second set of metric names). Labels are route templates (``/v1/units/{unit_id}``), standard methods,
status codes and search steps, never raw paths, ids, tenants or query text: metrics carry no data a caller
might not be allowed to see, and stay low-cardinality.

Two views: the service's (every request, the encoders' and audit writer's counts: the scrape token's), and
one per tenant with the same request and search series counting only the requests made with that tenant's
credentials (``TENANT_STATE``): what a tenant's admin reads with ``service.tenant_admin_metrics``. A tenant
view is never the service's, which would tell one tenant the others' requests, uploads and searches.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from figvault.pipeline.page_cache import PageCache
from figvault.search_models import SEARCH_TIMING_KEYS

HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods with a label value of their own; any other (a client may send any token) is ``other``, so no
client adds series to an open /metrics."""
_LATENCY_BUCKETS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


TENANT_STATE = "figvault_tenant"
"""The request state's entry (``request.state``, i.e. ``scope["state"]``) where ``deps.get_current_principal``
leaves the caller's tenant: the tenant view the middleware also counts the request in."""
MAX_TENANT_VIEWS = 1000
"""Tenant views kept; past it the least recently used is dropped (its counts restart: a counter reset)."""


class _RequestMetrics:
    """Requests and latency per route, and latency per search step, in a registry of their own."""

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

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method=method, route=route, status=str(status)).inc()
        self.latency.labels(method=method, route=route).observe(seconds)

    def observe_search(self, timings_ms: Mapping[str, float], n_results: int) -> None:
        for step in SEARCH_TIMING_KEYS:
            if step in timings_ms:
                self.search_steps.labels(step=step).observe(timings_ms[step] / 1000.0)
        self.search_results.observe(n_results)


class ServiceMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self, per_tenant: bool = True) -> None:
        """``per_tenant``: keep the tenant views (``service.tenant_admin_metrics``); off, nobody can read
        them, so no request pays for one and no tenant's registry is held."""
        self._service = _RequestMetrics()
        self.registry = self._service.registry
        self._state = _StateCollector()
        self.registry.register(self._state)
        self.per_tenant = per_tenant
        self._tenants: OrderedDict[str, _RequestMetrics] = OrderedDict()
        self._lock = threading.Lock()

    def watch(self, app_state: Any) -> None:
        """Also report, at each scrape, the question encoders' batching and cache and the audit writer of
        ``app_state`` (the app's ``state``: its engine is set at startup)."""
        self._state.app_state = app_state

    def _tenant(self, tenant: str, *, create: bool) -> _RequestMetrics | None:
        with self._lock:
            view = self._tenants.get(tenant)
            if view is None and create:
                view = self._tenants[tenant] = _RequestMetrics()
                while len(self._tenants) > MAX_TENANT_VIEWS:
                    self._tenants.popitem(last=False)
            if view is not None:
                self._tenants.move_to_end(tenant)
            return view

    def _counting(self, tenant: str | None) -> _RequestMetrics | None:
        """The view a request of ``tenant`` is also counted in; None without a tenant or tenant views."""
        return self._tenant(tenant, create=True) if tenant is not None and self.per_tenant else None

    def observe_request(
        self, method: str, route: str, status: int, seconds: float, tenant: str | None
    ) -> None:
        self._service.observe_request(method, route, status, seconds)
        if (view := self._counting(tenant)) is not None:
            view.observe_request(method, route, status, seconds)

    def observe_search(
        self, timings_ms: Mapping[str, float], n_results: int, tenant: str | None = None
    ) -> None:
        self._service.observe_search(timings_ms, n_results)
        if (view := self._counting(tenant)) is not None:
            view.observe_search(timings_ms, n_results)

    def render(self, tenant: str | None = None) -> bytes:
        """The service's view, or ``tenant``'s (empty before its first request)."""
        if tenant is None:
            return generate_latest(self.registry)
        view = self._tenant(tenant, create=True)
        assert view is not None
        return generate_latest(view.registry)


QUESTION_COUNTS = (
    ("figvault_question_passes", "Question encoder forward passes.", "passes"),
    (
        "figvault_question_encoded",
        "Questions encoded, all passes (encoded / passes: the mean batch).",
        "questions",
    ),
)
CACHE_COUNTS = (
    ("figvault_question_cache_hits", "Question vectors answered by the cache.", "hits"),
    ("figvault_question_cache_misses", "Question vectors not in the cache.", "misses"),
)
AUDIT_COUNTS = (
    ("figvault_audit_batches", "Audit writer transactions committed.", "batches"),
    (
        "figvault_audit_direct_rows",
        "Audit rows written by their request (queue full, writer failing, off).",
        "direct",
    ),
)


class _StateCollector:
    """Counts kept by the engine's question encoders and the audit writer, read when scraped."""

    def __init__(self) -> None:
        self.app_state: Any = None

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        questions = getattr(getattr(self.app_state, "engine", None), "questions", None)
        if questions is not None:
            yield from _counters(QUESTION_COUNTS, questions.counted())
            yield from _counters(CACHE_COUNTS, [questions.cache])
        writer = getattr(self.app_state, "audit", None)
        if writer is not None:
            yield from _counters(AUDIT_COUNTS, [writer])
            pending = GaugeMetricFamily("figvault_audit_pending_rows", "Audit rows waiting for the writer.")
            pending.add_metric([], writer.pending())
            yield pending
        settings = getattr(self.app_state, "settings", None)
        if settings is not None:
            yield from _page_cache(PageCache.from_settings(settings))


def _page_cache(cache: PageCache) -> Iterator[Metric]:
    """The page viewer's cache: every tenant's and caller's renders in one number, so the service's view
    only (a tenant's admin never reads it: ``ServiceMetrics.render``)."""
    size = GaugeMetricFamily("figvault_page_cache_bytes", "Bytes of page renders and deck conversions kept.")
    size.add_metric([], cache.size())
    yield size
    bound = GaugeMetricFamily("figvault_page_cache_limit_bytes", "storage.page_cache_mb in bytes (0: none).")
    bound.add_metric([], cache.limit)
    yield bound
    evicted = CounterMetricFamily("figvault_page_cache_evictions", "Cache entries this process evicted.")
    evicted.add_metric([], cache.evicted())
    yield evicted


def _counters(table: tuple[tuple[str, str, str], ...], sources: list[Any]) -> Iterator[Metric]:
    for name, text, attr in table:
        family = CounterMetricFamily(name, text)
        family.add_metric([], float(sum(getattr(source, attr) for source in sources)))
        yield family


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
            method = method if method in HTTP_METHODS else "other"
            tenant = (scope.get("state") or {}).get(TENANT_STATE)  # set once the caller is authenticated
            seconds = time.perf_counter() - start
            self.metrics.observe_request(method, template, status, seconds, tenant)
