"""``/v1/jobs``: ingest and re-encode jobs (list, show, progress stream, cancel, start), and ``/v1/status``.

Who sees what (``job_visible``): an editor sees the jobs they started and those whose documents they may see
(a group of the job's is theirs); an admin every job of their tenant. Re-encode jobs concern the whole store:
admins of every tenant see them, without the counts, errors, result counts and message, which describe every
tenant's units (``JobOut.withheld``). A job the caller may not see is answered 404, like one that does not
exist. Editors may cancel the jobs they started; admins any job they see, except that starting or
cancelling a re-encode over HTTP is refused (403) unless ``service.tenant_admin_reencode`` is set: it
changes every tenant's store, and no HTTP role spans tenants (the operator runs ``figvault reencode`` or
sets ``service.reencode_on_start``). ``/v1/status`` counts the units of the caller's tenant, never the
store's.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import weakref
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from figvault.access import Action, Principal
from figvault.errors import FigvaultError
from figvault.pipeline import audit
from figvault.pipeline.jobs import (
    AWAITING_RETRY,
    GLOBAL_TENANT,
    Job,
    JobRunner,
    JobState,
    JobStore,
    JobType,
    cancel_and_discard,
    is_starter,
    job_visible,
    remove_kept_inputs,
)
from figvault.pipeline.registry import DocumentRegistry
from figvault.pipeline.store_status import tenant_store_status
from figvault.service.api.job_schemas import FolderIngestBody, JobListOut, JobOut, StatusOut
from figvault.service.api.schemas import API_PREFIX, AUTH_RESPONSES, ErrorOut
from figvault.service.auth import AuthError
from figvault.service.deps import DbDep, EngineDep, JobIdPath, SettingsDep, bearer_scheme, require
from figvault.service.pending_ingests import pending_ingest_slot
from figvault.service.throttle import too_many_requests
from figvault.settings import Settings
from figvault.text_checks import check_optional_text

router = APIRouter(
    prefix="/v1",
    tags=["jobs"],
    responses={**AUTH_RESPONSES, 404: {"model": ErrorOut, "description": "No such job (or not yours)."}},
)

JOB_NOT_FOUND = "job not found"
EVENT_POLL_S = 0.5
REAUTH_S = 5.0
"""How often an open event stream checks its caller's credential again."""
STREAM_REFUSED = (
    "no longer shown to you: your credential is not accepted any more (an expired token, a revoked key) or"
    " you may no longer see this job; sign in again to see how it ends"
)
"""The message of an event stream's ``unauthorized`` end (the page shows it under the job)."""
KEEPALIVE_S = 10.0
MAX_EVENT_STREAMS = 8
"""Job event streams one caller (tenant and user) may hold open at once: each reads its job every
``EVENT_POLL_S`` in the thread pool and lives as long as the job, past any per-second rate limit."""
Editor = Annotated[Principal, Depends(require(Action.INGEST))]
JobReader = Annotated[Principal, Depends(require(Action.INGEST, "reading jobs (editors and admins)"))]
Admin = Annotated[Principal, Depends(require(Action.REENCODE))]
StatusReader = Annotated[Principal, Depends(require(Action.REENCODE, "reading the store's status (admins)"))]


STORE_WIDE_REFUSED = (
    "a re-encode changes every tenant's store: the operator runs it on the server (`figvault reencode`, or"
    " service.reencode_on_start); service.tenant_admin_reencode lets tenant admins start and cancel it here"
)


def _check_store_wide_allowed(settings: Settings) -> None:
    """403 unless tenant admins may start and cancel store-wide jobs over HTTP."""
    if not settings.service.tenant_admin_reencode:
        raise HTTPException(status.HTTP_403_FORBIDDEN, STORE_WIDE_REFUSED)


def _store(request: Request) -> JobStore:
    return JobStore(request.app.state.db.conn())


def _registry(request: Request) -> DocumentRegistry:
    return DocumentRegistry(request.app.state.db.conn())


def _runner(request: Request) -> JobRunner:
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the job runner is not running")
    return runner


def _visible_job(store: JobStore, principal: Principal, job_id: str) -> Job:
    job = store.get(job_id)
    if job is None or not job_visible(job, principal):
        raise HTTPException(status.HTTP_404_NOT_FOUND, JOB_NOT_FOUND)
    return job


@router.get("/jobs", summary="Jobs you may see, newest first (editors, admins)", response_model=JobListOut)
def list_jobs(
    request: Request,
    principal: JobReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[
        str | None,
        Query(
            max_length=64,
            description="Only jobs older than this one (a job you may see: else 404 as for any job id): the"
            " `next_before` of a page lists the next page.",
        ),
        AfterValidator(check_optional_text),
    ] = None,
) -> JobListOut:
    store = _store(request)
    older_than = None if before is None else _visible_job(store, principal, before)
    jobs = store.list(limit=limit, visible_to=principal, older_than=older_than)
    registry = _registry(request)
    more = jobs[-1].id if len(jobs) == limit else None
    return JobListOut(jobs=JobOut.page(jobs, principal, registry), next_before=more)


@router.get("/jobs/{job_id}", summary="One job with its progress", response_model=JobOut)
def get_job(job_id: JobIdPath, request: Request, principal: JobReader) -> JobOut:
    return JobOut.of(_visible_job(_store(request), principal, job_id), principal, _registry(request))


def _caller_now(request: Request, token: str, job: Job) -> Principal | None:
    """The caller ``token`` names now, if still an editor who may see ``job``; None ends its event stream
    (a revoked key, an expired JWT, a demoted user or one that left the job's groups). The stream shows the
    job as this caller may see it now: a caller still in one of the job's groups who left another is no
    longer named the gone documents of that one. (In a thread: a key this process has not verified yet
    costs one scrypt check.)"""
    try:
        caller = request.app.state.auth.authenticate(token)
    except AuthError:
        return None
    return caller if caller.can(Action.INGEST) and job_visible(job, caller) else None


def _sse(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"


class _OpenStreams:
    """The event streams each caller holds open, by weak reference: a stream counts while its generator is
    alive (a response that never started is collected and stops counting)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_caller: dict[str, weakref.WeakSet[Any]] = {}

    def admit(self, principal: Principal, stream: Any) -> bool:
        """Count ``stream`` for ``principal``; False (not counted) when it already holds the most."""
        with self._lock:
            self._by_caller = {k: v for k, v in self._by_caller.items() if len(v)}
            live = self._by_caller.setdefault(principal.caller_key, weakref.WeakSet())
            if len(live) >= MAX_EVENT_STREAMS:
                return False
            live.add(stream)
            return True


_open_streams_guard = threading.Lock()


def _open_streams(request: Request) -> _OpenStreams:
    with _open_streams_guard:  # one per app, made by its first stream
        streams = getattr(request.app.state, "job_event_streams", None)
        if streams is None:
            streams = request.app.state.job_event_streams = _OpenStreams()
        return streams


@router.get(
    "/jobs/{job_id}/events",
    summary="Progress as server-sent events until the job ends",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}},
        429: {"model": ErrorOut, "description": "MAX_EVENT_STREAMS streams of yours are open already."},
    },
)
def job_events(
    job_id: JobIdPath,
    request: Request,
    principal: JobReader,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> StreamingResponse:
    """``event: progress`` with the job (JSON) whenever it changes, then one ``event: end``; the caller's
    credential is checked again every ``REAUTH_S`` (``end`` with state ``unauthorized`` once it fails)."""
    _visible_job(_store(request), principal, job_id)
    db = request.app.state.db
    token = credentials.credentials if credentials is not None else ""

    def read() -> Job | None:
        return JobStore(db.conn()).get(job_id)

    def shown(job: Job, viewer: Principal) -> str:
        return JobOut.of(job, viewer, DocumentRegistry(db.conn())).model_dump_json()

    async def stream() -> Any:
        last, viewer = "", principal
        quiet_since = checked = time.monotonic()
        while True:
            job = await run_in_threadpool(read)
            if job is None:  # deleted meanwhile
                yield _sse("end", json.dumps({"id": job_id, "state": "gone"}))
                return
            payload = await run_in_threadpool(shown, job, viewer)  # gone documents: a registry read
            if payload != last:
                last, quiet_since = payload, time.monotonic()
                yield _sse("progress", payload)
            elif time.monotonic() - quiet_since > KEEPALIVE_S:
                quiet_since = time.monotonic()
                yield ": keepalive\n\n"  # a comment line: keeps proxies from closing an idle stream
            if job.finished:
                yield _sse("end", payload)
                return
            if time.monotonic() - checked > REAUTH_S:
                checked = time.monotonic()
                now = await run_in_threadpool(_caller_now, request, token, job)
                if now is None:
                    yield _sse(
                        "end", json.dumps({"id": job_id, "state": "unauthorized", "message": STREAM_REFUSED})
                    )
                    return
                viewer = now
            if await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_POLL_S)

    events = stream()
    if not _open_streams(request).admit(principal, events):
        raise too_many_requests(f"{MAX_EVENT_STREAMS} job event streams are open for you", KEEPALIVE_S)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post(
    "/jobs/{job_id}/cancel", summary="Cancel a job (its starter, or an admin)", response_model=JobOut
)
def cancel_job(
    job_id: JobIdPath, request: Request, principal: Editor, db: DbDep, settings: SettingsDep
) -> JobOut:
    store = _store(request)
    job = _visible_job(store, principal, job_id)
    if job.store_wide:
        _check_store_wide_allowed(settings)
    if not is_starter(job, principal) and not principal.can(Action.REENCODE):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "only the user who started a job, or an admin, may cancel it"
        )
    if job.phase == AWAITING_RETRY and remove_kept_inputs(settings, store, job):
        # Not retried after all: its kept files go now rather than after jobs.keep_for_retry_h.
        audit.record(db.conn(), principal, "job-cancel", detail={"job": job_id, "type": str(job.type)})
        return JobOut.of(store.require(job_id))
    if job.finished:
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job.id} already {job.state}")
    job = cancel_and_discard(settings, store, job_id)  # a queued upload's placeholders and files go with it
    audit.record(db.conn(), principal, "job-cancel", detail={"job": job_id, "type": str(job.type)})
    return JobOut.of(job)


@router.post(
    "/jobs/{job_id}/retry",
    summary="Run again an upload its lapsed credential stopped, with yours (its starter, signed in again)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={409: {"model": ErrorOut, "description": "The job is not waiting for a retry."}},
)
def retry_job(job_id: JobIdPath, request: Request, principal: Editor, db: DbDep) -> JSONResponse:
    """An upload job stopped because the credential that queued it lapsed (a token that expired while it
    waited) keeps its files for ``jobs.keep_for_retry_h``: its starter retries it with the credential of
    this request, which must still allow its groups. It resumes where it stopped."""
    from figvault.pipeline.ingest_job import retry_upload_job
    from figvault.service.upload_jobs import upload_groups

    runner = _runner(request)
    job = _visible_job(_store(request), principal, job_id)
    if not is_starter(job, principal):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the user who started a job may retry it")
    upload_groups(principal, ",".join(job.groups))  # 403 when a group of the job is no longer theirs
    try:
        job = retry_upload_job(_store(request), job, principal)
    except FigvaultError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    runner.submit(job)
    audit.record(db.conn(), principal, "job-retry", detail={"job": job.id})
    return _accepted(request, job)


def _accepted(request: Request, job: Job) -> JSONResponse:
    # Behind a proxy at ``service.root_path`` the job lives under that prefix; the path comes from the
    # server's own setting (the scope's root path), never from a Host or X-Forwarded-* header.
    where = f"{request.scope.get('root_path', '')}{API_PREFIX}/jobs/{job.id}"
    return JSONResponse(
        JobOut.of(job).model_dump(mode="json"),
        status_code=status.HTTP_202_ACCEPTED,
        headers={"Location": where},
    )


@router.post(
    "/jobs/reencode",
    summary="Re-encode every unit for the configured encoders, then switch the alias (admins, when allowed)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={
        403: {"model": ErrorOut, "description": "Not an admin, or service.tenant_admin_reencode is off."},
        409: {"model": ErrorOut, "description": "The alias already serves the configured version."},
    },
)
def start_reencode(request: Request, principal: Admin, settings: SettingsDep, db: DbDep) -> JSONResponse:
    from figvault.pipeline.reencode import queue_reencode

    _check_store_wide_allowed(settings)
    runner = _runner(request)
    try:
        job = queue_reencode(settings, JobStore(db.conn()), started_by=principal.user, principal=principal)
    except FigvaultError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    runner.submit(job)
    audit.record(db.conn(), principal, "reencode", detail={"job": job.id})
    return _accepted(request, job)


@router.post(
    "/jobs/ingest",
    summary="Ingest files or folders on the server, inside the allowed folders (editors)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobOut,
    responses={
        403: {"model": ErrorOut, "description": "A path is outside the allowed folders."},
        422: {
            "model": ErrorOut,
            "description": "A path is not absolute, does not exist, or holds no PDF/PPTX.",
        },
    },
)
def start_folder_ingest(
    body: FolderIngestBody, request: Request, principal: Editor, settings: SettingsDep, db: DbDep
) -> JSONResponse:
    from figvault.ingest.extract import no_documents_reason
    from figvault.pipeline.ingest_job import allowed_roots, check_allowed, principal_params, seen_in_folders
    from figvault.pipeline.registry import SEEN
    from figvault.service.upload_jobs import upload_groups

    runner = _runner(request)
    if body.prune and not principal.can(Action.DELETE):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "prune deletes documents: admins only")
    groups = upload_groups(principal, ",".join(body.groups))
    try:
        paths = check_allowed(settings, body.paths, principal.tenant)
    except PermissionError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except FigvaultError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    nothing = no_documents_reason([Path(p) for p in paths])  # else a job that "succeeds" with nothing
    if nothing is not None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, nothing)
    params = {
        "paths": paths,
        "groups": groups,
        "tenant": principal.tenant,
        "allowed_roots": [str(r) for r in allowed_roots(settings, principal.tenant)],
        "principal": principal_params(principal),  # which existing documents its files may replace
        SEEN: seen_in_folders(db.conn(), principal, paths),  # a change made after it, judged as shown
    }
    if body.prune:
        params["prune"] = True
    if body.retry_failed:
        params["retry_failed"] = True
    store = JobStore(db.conn())
    with pending_ingest_slot(settings, store, principal):
        job = store.create(
            JobType.INGEST,
            params,
            started_by=principal.user,
            started_by_id=principal.identity,
            tenant=principal.tenant,
        )
    runner.submit(job)
    detail = {"job": job.id, "paths": paths, "groups": groups} | ({"prune": True} if body.prune else {})
    audit.record(db.conn(), principal, "ingest-job", detail=detail)
    return _accepted(request, job)


@router.get(
    "/status", summary="Alias, collection, served and configured version, units (admins)", tags=["operations"]
)
def get_status(
    request: Request, principal: StatusReader, settings: SettingsDep, engine: EngineDep
) -> StatusOut:
    info = tenant_store_status(settings, engine, principal.tenant)
    active = _store(request).list(
        states=[JobState.QUEUED, JobState.RUNNING],
        job_type=JobType.REENCODE,
        tenants=[GLOBAL_TENANT],
        limit=1,
    )
    return StatusOut(**info, reencode_job=JobOut.of(active[0]) if active else None)
