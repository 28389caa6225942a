"""The FastAPI app factory: ``create_app(settings) -> FastAPI``.

One SearchEngine per app, created in the lifespan (models load once); routes are plain ``def`` functions,
so model and store calls run in the thread pool and never block the event loop. Routers are listed in
``MOUNTS``: a new part of the service (the web page, jobs) is one more entry.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import sqlalchemy.exc
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from figvault import __version__
from figvault.access import Principal
from figvault.errors import (
    FigvaultError,
    ModelUnavailableError,
    StoreError,
    UnsafeFileError,
    UnsupportedFileError,
    disk_full,
    one_line,
    public_line,
    typed_line,
)
from figvault.pipeline import audit as audit_trail
from figvault.pipeline.page_cache import settle_walks
from figvault.pipeline.registry import connect as connect_registry
from figvault.pipeline.users import UserError
from figvault.private_dirs import keep_new_files_private
from figvault.service.admission import Overloaded, SearchGate, render_gate
from figvault.service.api.routes import (
    admin_documents,
    admin_map,
    audit,
    documents,
    health,
    jobs,
    me,
    page,
    pages,
    search,
    units,
)
from figvault.service.audit_writer import AuditWriter
from figvault.service.auth import Authenticator
from figvault.service.cache_headers import NoStoreByDefault
from figvault.service.db import RegistryDB
from figvault.service.metrics import MetricsMiddleware, ServiceMetrics
from figvault.service.redirects import RelativeRedirects
from figvault.service.throttle import RateLimits
from figvault.service.validation_errors import request_validation_error
from figvault.service.warmup import WarmUp, thaw_heap
from figvault.settings import Settings
from figvault.storage import BlobStore

log = logging.getLogger("figvault.service")

MiB = 2**20
WARM_UP_SHUTDOWN_WAIT_S = 120
"""A shutdown waits this long for a running warm-up (a model load, one search) before it goes on."""
PAGE_CACHE_SHUTDOWN_WAIT_S = 30
"""... and this long for the page cache's trim walk (a walk of 24,000 entries took 0.4-0.9 s on a disk; an
object store's deletes are slower), so its deletes are not cut off at exit."""
JSON_BODY_LIMIT = 1 * MiB
"""JSON bodies are small; refusing big ones before parsing keeps a client from tying up a worker."""
MULTIPART_OVERHEAD = 1 * MiB
"""Room for form fields and boundaries beside the file itself."""


@dataclass(frozen=True)
class Mount:
    router: APIRouter
    body_limit: Callable[[Settings], int] = lambda _settings: JSON_BODY_LIMIT
    """Largest request body (bytes) the router's routes accept; larger ones get 413 before parsing."""


def _upload_limit(settings: Settings) -> int:
    return settings.service.max_upload_mb * MiB + MULTIPART_OVERHEAD


def _query_image_limit(settings: Settings) -> int:
    return settings.service.max_query_image_mb * MiB + MULTIPART_OVERHEAD


MOUNTS: list[Mount] = [
    Mount(health.router),
    Mount(search.router),
    Mount(search.image_router, _query_image_limit),
    Mount(units.router),
    Mount(documents.router, _upload_limit),
    Mount(audit.router),
    Mount(jobs.router),
    # The search page (docs/page.md): the page itself, page images, the admin map.
    Mount(me.router),
    Mount(pages.router),
    Mount(admin_map.router),
    Mount(admin_documents.router),
    Mount(page.router),
]

TAGS = [
    {"name": "search", "description": "Questions and example images in, figures out."},
    {"name": "units", "description": "One figure unit and its image."},
    {"name": "documents", "description": "Documents: list, upload (editors), delete and regroup (admins)."},
    {"name": "audit", "description": "Who asked what, and what they got (admins)."},
    {
        "name": "jobs",
        "description": "Ingest and re-encode jobs: progress, events, cancel, retry (docs/jobs.md).",
    },
    {"name": "operations", "description": "Liveness, readiness, Prometheus metrics."},
]

# Errors with a one-line reason for the caller; the status says whose fault it is.
_ERROR_STATUS: list[tuple[type[Exception], int]] = [
    (UnsafeFileError, 413),
    (UnsupportedFileError, 415),
    (UserError, 422),
    (ModelUnavailableError, 503),
    (StoreError, 503),
    (FigvaultError, 400),
]


async def _overloaded(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Overloaded)
    headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse({"detail": str(exc)}, exc.status, headers=headers)


async def _figvault_error(request: Request, exc: Exception) -> JSONResponse:
    code = next(code for kind, code in _ERROR_STATUS if isinstance(exc, kind))
    if code >= 500:  # described in the log, never to the caller (figvault.errors.SERVER_SIDE)
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": public_line(exc)}, code)
    return JSONResponse({"detail": one_line(exc)[:300]}, code)


DISK_FULL_DETAIL = "the server has no space left to store this; try again once an administrator freed some"


async def _disk_full(request: Request, exc: Exception) -> JSONResponse:
    """A write that found the disk full (an upload's file, the registry): 507 with a fixed sentence, and one
    line in the log. It was a plain-text 500 "Internal Server Error" and some 40 lines of tracebacks. Any
    other OSError or database error is raised on: a 500 with its traceback, as before."""
    if not disk_full(exc):
        raise exc
    log.error("%s %s: the disk is full: %s", request.method, request.url.path, typed_line(exc))
    return JSONResponse({"detail": DISK_FULL_DETAIL}, 507)


def _load_engine(settings: Settings) -> Any:
    from figvault.retrieval.search import SearchEngine

    # A service keeps answering through a re-encode: a collection of another version than configured is
    # served with the encoders recorded in it (docs/jobs.md).
    return SearchEngine.from_settings(settings, serve_recorded=True)


def _audit_delete(db: Any, principal: Principal, detail: dict[str, Any]) -> None:
    """A document a server-folder job pruned, in the audit trail as ``DELETE /v1/documents/{id}`` is."""
    audit_trail.record(db, principal, "delete", detail=detail)


def _start_jobs(settings: Settings, engine: Any) -> Any:
    """The job runner (resuming what a dead process left running), and the re-encode on start if asked."""
    from figvault.pipeline.ingest_job import AUDIT_DELETE
    from figvault.pipeline.jobs import JobRunner, JobStore
    from figvault.pipeline.reencode import queue_reencode
    from figvault.retrieval.milvus_store import MilvusUnitStore
    from figvault.retrieval.served_encoders import ensure_recorded

    try:  # a store written before encoder settings were recorded learns them from a matching config
        ensure_recorded(settings, MilvusUnitStore.from_settings(settings))
    except FigvaultError as exc:
        log.warning("%s", exc)
    runner = JobRunner(settings, services={"engine": engine, AUDIT_DELETE: _audit_delete})
    runner.start()
    if settings.service.reencode_on_start:
        try:
            job = queue_reencode(settings, JobStore.open(settings), started_by="reencode_on_start")
        except FigvaultError as exc:  # nothing to do (already the configured version) or no store yet
            log.info("reencode_on_start: %s", exc)
        else:
            log.warning("reencode_on_start: job %s re-encodes the store for the configured encoders", job.id)
            runner.submit(job)
    return runner


def _announce(on_ready: Callable[[FastAPI], None], app: FastAPI) -> None:
    try:
        on_ready(app)
    except Exception:  # a summary that cannot be made must not keep the service from serving
        log.exception("start-up summary failed")


def create_app(
    settings: Settings,
    *,
    engine: Any | None = None,
    mounts: Sequence[Mount] | None = None,
    on_ready: Callable[[FastAPI], None] | None = None,
) -> FastAPI:
    """Build the app. ``engine``: an existing SearchEngine to share (tests, benchmarks); else one is made
    at startup from ``settings``. ``mounts``: routers to serve instead of ``MOUNTS``. ``on_ready``: called
    (in the warm-up thread) once the engine is loaded and warm (or its warm-up failed) and the job runner is
    up; ``figvault serve`` prints its start-up summary there. Its failure is logged, never fatal."""
    keep_new_files_private()  # a server run by another launcher than the CLI writes 0600 files too
    app = FastAPI(
        title="figvault",
        version=__version__,
        summary="Every figure in your PDF reports and PPTX decks, findable by a plain question.",
        description="All /v1 endpoints take `Authorization: Bearer <API key or JWT>`. "
        "A unit or document you may not see is answered 404, exactly like one that does not exist.",
        openapi_tags=TAGS,
        lifespan=_lifespan(settings, on_ready),
        # Off unless asked for: FastAPI's pages load their scripts from a CDN onto this origin (service.md).
        docs_url="/docs" if settings.service.api_docs else None,
        redoc_url="/redoc" if settings.service.api_docs else None,
    )
    _set_state(app, settings, engine)
    for mount in MOUNTS if mounts is None else mounts:
        app.include_router(mount.router, max_body_size=mount.body_limit(settings))
    _add_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RelativeRedirects)  # a slash redirect behind a TLS proxy must not name http://
    app.add_middleware(NoStoreByDefault)  # a caller's answers are not kept by browsers or proxies
    return app


def _lifespan(
    settings: Settings, on_ready: Callable[[FastAPI], None] | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The app's start-up (registry, engine unless given, job runner, warm-up, audit writer) and its
    shutdown (``_shut_down``)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(app.state.db.conn)  # opens the registry: migrates it first
        owned = app.state.engine is None
        if owned:
            app.state.engine = await anyio.to_thread.run_sync(_load_engine, settings)
        app.state.jobs = await anyio.to_thread.run_sync(_start_jobs, settings, app.state.engine)
        # Models and store warmed in the background: /healthz answers at once, /readyz once warm; the
        # start-up summary comes when the warm-up ends, so the address it prints is ready to use.
        then = None if on_ready is None else functools.partial(_announce, on_ready, app)
        app.state.warm_up = WarmUp(app.state.engine).start(then=then)
        app.state.audit.start()
        try:
            yield
        finally:
            await _shut_down(app, owned)

    return lifespan


async def _shut_down(app: FastAPI, owned_engine: bool) -> None:
    """Stop what the lifespan started, audit rows and jobs first; close the engine if it made it."""
    # Every audit row queued by an answered search is committed before the process goes.
    await anyio.to_thread.run_sync(app.state.audit.close)
    # A running job stops at its next batch and goes back to the queue (it resumes on next start).
    await anyio.to_thread.run_sync(app.state.jobs.stop)
    if not await anyio.to_thread.run_sync(app.state.warm_up.join, WARM_UP_SHUTDOWN_WAIT_S):
        log.warning("shutting down while the warm-up is still running")
    if not await anyio.to_thread.run_sync(settle_walks, PAGE_CACHE_SHUTDOWN_WAIT_S):
        log.warning("shutting down while the page cache's trim walk is still running")
    thaw_heap()  # tests build many apps in one process: none keeps the others' cycles
    if owned_engine and callable(getattr(app.state.engine, "close", None)):
        app.state.engine.close()
    app.state.db.close()


def _add_error_handlers(app: FastAPI) -> None:
    """figvault's errors, an overload, a full disk and a bad request body answered as the API documents."""
    for kind, _code in _ERROR_STATUS:
        app.add_exception_handler(kind, _figvault_error)
    app.add_exception_handler(Overloaded, _overloaded)
    for kind in (OSError, sqlalchemy.exc.OperationalError):
        app.add_exception_handler(kind, _disk_full)
    app.add_exception_handler(RequestValidationError, request_validation_error)


def _set_state(app: FastAPI, settings: Settings, engine: Any | None) -> None:
    """What the routes' dependencies read from ``app.state`` (``service/deps.py``); the engine (when not
    given), the job runner and the warm-up come at startup (``create_app``'s lifespan)."""
    app.state.settings = settings
    app.state.engine = engine
    app.state.jobs = None
    app.state.db = RegistryDB(lambda: connect_registry(settings))
    app.state.auth = Authenticator(settings.service, lambda: app.state.db.conn())
    app.state.rate_limits = RateLimits(settings.service)
    app.state.metrics = ServiceMetrics(per_tenant=settings.service.tenant_admin_metrics)
    app.state.metrics.watch(app.state)
    app.state.blobs = BlobStore.from_settings(settings)
    app.state.search_gate = SearchGate.from_settings(settings.service)
    app.state.render_gate = render_gate()
    app.state.audit = AuditWriter(lambda: app.state.db.conn(), settings.service.audit_queue)
    app.state.warm_up = None
