"""Jobs: records in the registry database, and a small in-process runner (one worker thread).

A job record says what runs (type, params), who asked (user, tenant), where it stands (state, phase,
done/total, rate, ETA, a checkpoint to resume from), and what went wrong (one entry per failing document).
The queue *is* the table: a queued job waits in the database, so a service that dies loses nothing, and on
start it requeues the jobs a dead process left ``running`` (their handlers resume from what is already
stored). The CLI runs its jobs in the foreground through the same records (``run_here``), so ``figvault
jobs list`` shows them all.

Handlers are plain functions ``handler(ctx: JobContext) -> dict`` registered per job type; they report
progress through the context and call ``ctx.check_cancel()`` between units of work.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, false, func, insert, or_, select, update

from figvault.access import Action, Principal
from figvault.db import Database, as_database
from figvault.db.models import job_groups, jobs
from figvault.errors import (
    FigvaultError,
    WithheldDetailError,
    disk_full_cause,
    operator_line,
    public_line,
    typed_line,
)
from figvault.pipeline import disk_reserve
from figvault.pipeline.registry import connect
from figvault.settings import JobSettings, Settings
from figvault.text_checks import display_name

log = logging.getLogger(__name__)

MAX_ERRORS_KEPT = 200
"""Per-document errors stored on a job; beyond that only the count grows (a bad folder stays readable)."""
STALE_HEARTBEAT_S: float = JobSettings.model_fields["stale_after_s"].default
"""``jobs.stale_after_s`` by default: a running job of another machine whose heartbeat is older than this is
considered orphaned, and another replica resumes it."""


class JobType(StrEnum):
    INGEST = "ingest"
    REENCODE = "reencode"


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
GLOBAL_TENANT = "*"
"""Tenant of jobs that concern the whole store (re-encode): visible to admins of every tenant."""
IN_FLIGHT = "in_flight"
"""Checkpoint key: the items (documents) a job is working on right now."""
CRASHES = "crashes"
"""Checkpoint key: item -> how many times the job's process died while that item was in flight."""
DEATHS = "deaths"
"""Checkpoint key: how many times the process running the job died (an orderly stop does not count)."""
DETAIL = "detail"
"""Result key of a failed job: its whole reason, for the operator only (``figvault jobs show``, the log): the
job's message is what anyone who may see the job reads (``figvault.errors.public_line``); the HTTP API
never returns this key."""
WORK = "work"
"""Checkpoint key: progress by file size, ``{"done": bytes, "total": bytes}`` (an ingest: one 900-page report
and 50 one-page files were 98 % done, by documents, after the small ones)."""
_KEPT_KEYS = (CRASHES, DEATHS)
"""Checkpoint keys of the job machinery that a handler's own checkpoint never drops."""


class JobError(BaseModel):
    item: str
    """The document (or unit) the error is about."""
    error: str


AWAITING_RETRY = "awaiting retry"
"""The phase of a failed job whose inputs are kept so that its starter can run it again (an upload whose
credential lapsed: pipeline/ingest_job.py ``retry_upload_job``)."""
INPUTS_REMOVED = "inputs removed"
"""The phase of such a job once nobody retried it in time and its kept inputs were removed."""


def _awaiting_retry() -> ColumnElement[bool]:
    return (jobs.c.state == str(JobState.FAILED)) & (jobs.c.phase == AWAITING_RETRY)


def params_groups(params: dict[str, Any]) -> list[str]:
    """The access groups a job's parameters give its documents (``params["groups"]``; none for others)."""
    groups = params.get("groups")
    return [str(g) for g in groups] if isinstance(groups, list) else []


class Job(BaseModel):
    id: str
    type: JobType
    state: JobState
    phase: str = ""
    done: int = 0
    total: int = 0
    rate: float = 0.0
    """Items per second since the job (last) started."""
    eta_s: float | None = None
    errors: list[JobError] = Field(default_factory=list)
    error_count: int = 0
    message: str = ""
    """One line: why it failed, or a summary when it succeeded."""
    started_by: str = ""
    """The starter's name, for people."""
    started_by_id: str = ""
    """The starter's account (``Principal.identity``): whose job it is; a name may be given again."""
    tenant: str = "default"
    params: dict[str, Any] = Field(default_factory=dict)
    checkpoint: dict[str, Any] = Field(default_factory=dict)
    result: dict[str, Any] = Field(default_factory=dict)
    cancel_requested: bool = False
    owner: str = ""
    """host:pid:start-ticks of the process running it."""
    attempts: int = 0
    created_at: float = 0.0
    started_at: float | None = None
    finished_at: float | None = None
    updated_at: float = 0.0
    heartbeat_at: float | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    @property
    def groups(self) -> list[str]:
        """The access groups the job gives its documents (ingest jobs); empty for other jobs."""
        return params_groups(self.params)

    @property
    def store_wide(self) -> bool:
        """A job about every tenant's units (re-encode): its counts and errors describe the whole store."""
        return self.tenant == GLOBAL_TENANT

    @property
    def work_fraction(self) -> float | None:
        """The share of its work done (0-1) by file size (``WORK``); None when the job does not report it."""
        work = self.checkpoint.get(WORK)
        if not isinstance(work, dict) or not work.get("total"):
            return None
        return min(1.0, max(0.0, float(work.get("done") or 0) / float(work["total"])))


def job_visible(job: Job, principal: Principal) -> bool:
    """Whether ``principal`` may see ``job`` (the one rule; docs/jobs.md "Who sees a job").

    A store-wide job: admins of every tenant (what they see of it is limited, ``JobOut``). A tenant's job:
    its admins (who manage every document of the tenant); whoever started it; and the callers who see its
    documents, i.e. share one of the groups the job gives them (``Principal.sees``, as for units).
    """
    if job.store_wide:
        return principal.can(Action.REENCODE)
    if job.tenant != principal.tenant:
        return False
    if principal.can(Action.REGROUP) or is_starter(job, principal):
        return True
    return principal.sees(job.tenant, job.groups)


def is_starter(job: Job, principal: Principal) -> bool:
    """Whether ``principal``'s account started ``job`` (its account, not its name: a user removed and added
    again under the same name is another account, and the old one's jobs are not its own)."""
    return bool(job.started_by_id) and job.started_by_id == principal.identity


def _filters(
    tenants: list[str] | None,
    states: list[JobState] | None,
    job_type: JobType | None,
    started_by_id: str | None,
    phase: str | None,
) -> list[ColumnElement[bool]]:
    """The conditions of ``JobStore.list`` and ``JobStore.count`` (None: any)."""
    where: list[ColumnElement[bool]] = []
    if tenants is not None:
        where.append(jobs.c.tenant.in_(tenants))
    if started_by_id is not None:
        where.append(jobs.c.started_by_id == started_by_id)
    if phase is not None:
        where.append(jobs.c.phase == phase)
    if states is not None:
        where.append(jobs.c.state.in_([str(s) for s in states]))
    if job_type is not None:
        where.append(jobs.c.type == str(job_type))
    return where


def _both(first: Callable[[Job], bool] | None, second: Callable[[Job], bool]) -> Callable[[Job], bool]:
    return second if first is None else (lambda job: first(job) and second(job))


def visible_clause(principal: Principal) -> ColumnElement[bool]:
    """``job_visible`` as a SQL condition on ``jobs`` (the same rule; ``job_visible`` stays the check of
    record and is applied to every row this selects): a caller's jobs are found by the database, not by
    parsing every job row of the tenant."""
    if principal.can(Action.REGROUP) or principal.unrestricted:
        tenant_jobs: ColumnElement[bool] = jobs.c.tenant == principal.tenant
    else:
        shared = select(job_groups.c.job_id).where(job_groups.c.group_name.in_(sorted(principal.groups)))
        tenant_jobs = and_(
            jobs.c.tenant == principal.tenant,
            or_(jobs.c.started_by_id == principal.identity, jobs.c.id.in_(shared)),
        )
    store_wide = jobs.c.tenant == GLOBAL_TENANT if principal.can(Action.REENCODE) else false()
    return or_(tenant_jobs, store_wide)


class JobCancelled(FigvaultError):
    """Raised by ``check_cancel`` when someone asked to cancel the job."""


class JobInterrupted(FigvaultError):
    """Raised by ``check_cancel`` when the runner stops (service shutdown): the job goes back to the queue."""


class JobDiskFullError(WithheldDetailError):
    """A job stopped by a full disk. ``str()``: what anyone who may see the job reads; ``detail`` adds the
    failing write's own reason for the operator. ``keeps_inputs``: its uploads are kept for a retry."""

    def __init__(self, again: str, cause: BaseException, *, keeps_inputs: bool = False) -> None:
        reason = f"{DISK_FULL_STOP}; {again}"
        super().__init__(reason, f"{reason} ({typed_line(cause)})")
        self.keeps_inputs = keeps_inputs


DISK_FULL_STOP = (
    "stopped: the disk is full (free space where the data folder, the store, the registry or storage.url"
    " lives)"
)
RUN_AGAIN = "run it again once there is room: what it stored is kept and skipped"


def as_disk_full(exc: BaseException) -> JobDiskFullError | None:
    """``exc`` as a JobDiskFullError when the disk is full behind it (a handler's own, or any other); else
    None."""
    if isinstance(exc, JobDiskFullError):
        return exc
    cause = disk_full_cause(exc)
    return None if cause is None else JobDiskFullError(RUN_AGAIN, cause)


class JobLost(JobInterrupted):
    """This process no longer owns the job: its heartbeat lapsed and another replica took it over.
    The handler stops and writes nothing more to the record (the new owner does)."""


def _process_start_ticks(pid: int) -> str:
    """The process's start time in clock ticks (Linux), so a reused pid is not mistaken for the owner."""
    try:
        stat = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - tiny procfs read
    except OSError:
        return ""
    # Field 22; the command name (field 2) may hold spaces, so split after its closing parenthesis.
    return stat.rsplit(")", 1)[-1].split()[19]


ORPHAN_CANCELLED = "cancelled (its process had stopped)"
"""The end of a job whose cancel was asked for while no process ran it any more."""


@functools.cache
def _pid_space() -> str:
    """Which pids this process's pids are: the machine's boot and the pid namespace (Linux), "" where
    neither can be read. Two containers with one host name (``--network host``, a fixed ``hostname:``)
    share a name but not their pids: a replica's pid 1 looked dead, or alive as another process, to the
    other, which took its running jobs over again and again until they failed (2026-12-06)."""
    parts = []
    with contextlib.suppress(OSError):
        parts.append(Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8])
    with contextlib.suppress(OSError):
        parts.append(os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]"))
    return "-".join(parts)


def this_owner() -> str:
    """``host:pid:start ticks:pid space``: who runs a job, as ``owner_alive`` reads it."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start_ticks(pid)}:{_pid_space()}"


def owner_alive(
    owner: str,
    heartbeat_at: float | None,
    now: float | None = None,
    stale_after_s: float = STALE_HEARTBEAT_S,
) -> bool:
    """Whether the process named by ``owner`` still runs: checked by its pid where it runs among this
    process's pids (same host name and pid space), else by its heartbeat. (An owner written before the pid
    space was, ``host:pid:ticks``, is taken as one of this host's.)"""
    host, _, rest = owner.partition(":")
    pid_text, _, rest = rest.partition(":")
    ticks, _, space = rest.partition(":")
    if host != socket.gethostname() or (space and space != _pid_space()):
        return heartbeat_at is not None and (now or time.time()) - heartbeat_at < stale_after_s
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return not ticks or _process_start_ticks(pid) == ticks


class JobStore:
    """Job records in the registry database (table ``jobs``)."""

    def __init__(self, conn: Database | Any, *, stale_after_s: float = STALE_HEARTBEAT_S) -> None:
        self.db = as_database(conn)
        self.stale_after_s = stale_after_s

    @property
    def conn(self) -> Database:
        """The database (the name from when this was a sqlite3 connection)."""
        return self.db

    @classmethod
    def open(cls, settings: Settings) -> JobStore:
        return cls(connect(settings), stale_after_s=settings.jobs.stale_after_s)

    @staticmethod
    def _job(row: Any) -> Job:
        data = dict(row._mapping)
        for key in ("errors", "params", "checkpoint", "result"):
            data[key] = json.loads(data.pop(f"{key}_json") or ("[]" if key == "errors" else "{}"))
        data["cancel_requested"] = bool(data["cancel_requested"])
        return Job.model_validate(data)

    def _update(self, job_id: str, where: Any = None, *, fence: str | None = None, **values: Any) -> int:
        """UPDATE one job (``where``: an extra condition; ``fence``: only while that owner runs it);
        returns the rows changed (0 or 1)."""
        stmt = update(jobs).where(jobs.c.id == job_id)
        if where is not None:
            stmt = stmt.where(where)
        if fence is not None:
            stmt = stmt.where(jobs.c.state == "running", jobs.c.owner == fence)
        with self.db.write() as conn:
            return conn.execute(stmt.values(**values)).rowcount

    # ---- reads ------------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        with self.db.read() as conn:
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return self._job(row) if row else None

    def require(self, job_id: str) -> Job:
        job = self.get(job_id)
        if job is None:
            raise FigvaultError(f"no job {job_id!r}: `figvault jobs list` shows the jobs")
        return job

    def list(
        self,
        *,
        tenants: list[str] | None = None,
        states: list[JobState] | None = None,
        job_type: JobType | None = None,
        limit: int = 100,
        keep: Callable[[Job], bool] | None = None,
        visible_to: Principal | None = None,
        started_by_id: str | None = None,
        phase: str | None = None,
        older_than: Job | None = None,
    ) -> list[Job]:
        """Newest first, at most ``limit``; with ``keep``, the newest ``limit`` jobs it keeps (read in pages,
        so a caller's short list is not cut short by others' jobs). ``visible_to``: only the jobs that
        caller may see (``visible_clause`` in SQL, then ``job_visible`` on each); ``started_by_id``: only
        the jobs of that account (``Principal.identity``); ``phase``: only jobs in that phase;
        ``older_than``: only the jobs after that one in this order (the next page of a listing)."""
        query = select(jobs)
        if older_than is not None:
            at = older_than.created_at
            query = query.where(
                or_(jobs.c.created_at < at, and_(jobs.c.created_at == at, jobs.c.id < older_than.id))
            )
        query = query.where(*_filters(tenants, states, job_type, started_by_id, phase))
        if visible_to is not None:
            query = query.where(visible_clause(visible_to))
            keep = _both(keep, lambda job: job_visible(job, visible_to))
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        if keep is None:
            with self.db.read() as conn:
                return [self._job(r) for r in conn.execute(query.limit(max(1, limit)))]
        kept: list[Job] = []
        page = max(100, limit)
        for offset in itertools.count(0, page):
            with self.db.read() as conn:
                batch = [self._job(r) for r in conn.execute(query.limit(page).offset(offset))]
            kept.extend(j for j in batch if keep(j))
            if len(kept) >= limit or len(batch) < page:
                break
        return kept[: max(1, limit)]

    def count(
        self,
        *,
        at_most: int,
        tenants: list[str] | None = None,
        states: list[JobState] | None = None,
        job_type: JobType | None = None,
        started_by_id: str | None = None,
        phase: str | None = None,
    ) -> int:
        """``len(self.list(limit=at_most, ...))`` for these filters, counted without ordering the jobs: in
        ``list``'s order (newest first) SQLite read one caller's jobs through the tenant's creation-time
        index, every job of the tenant, rather than through ``jobs_tenant_starter`` (each upload's
        admission)."""
        found = select(jobs.c.id).where(*_filters(tenants, states, job_type, started_by_id, phase))
        counted = select(func.count()).select_from(found.limit(max(1, at_most)).subquery())
        with self.db.read() as conn:
            return int(conn.execute(counted).scalar_one())

    def next_queued(self) -> Job | None:
        query = select(jobs).where(jobs.c.state == "queued").order_by(jobs.c.created_at, jobs.c.id).limit(1)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return self._job(row) if row else None

    # ---- writes -----------------------------------------------------------------------------------

    def create(
        self,
        job_type: JobType,
        params: dict[str, Any],
        *,
        started_by: str,
        tenant: str,
        job_id: str | None = None,
        started_by_id: str | None = None,
    ) -> Job:
        """Queue a job; ``started_by_id``: the starter's account (``Principal.identity``; default
        ``started_by``, right for code of this process: ``cli``)."""
        now = time.time()
        job_id = job_id or uuid.uuid4().hex[:12]
        with self.db.write() as conn:
            conn.execute(
                insert(jobs).values(
                    id=job_id,
                    type=str(job_type),
                    state="queued",
                    started_by=started_by,
                    started_by_id=started_by if started_by_id is None else started_by_id,
                    tenant=tenant,
                    params_json=json.dumps(params, ensure_ascii=False),
                    created_at=now,
                    updated_at=now,
                )
            )
            groups = params_groups(params)
            if groups:
                rows = [{"job_id": job_id, "group_name": g} for g in sorted(set(groups))]
                conn.execute(insert(job_groups), rows)
        return self.require(job_id)

    @staticmethod
    def _running_for(owner: str) -> dict[str, Any]:
        now = time.time()
        return {
            "state": "running",
            "owner": owner,
            "attempts": jobs.c.attempts + 1,
            "started_at": now,
            "heartbeat_at": now,
            "updated_at": now,
            "message": "",
        }

    def claim(self, job_id: str, owner: str) -> Job | None:
        """queued -> running for ``owner``, atomically; None when someone else got it first."""
        changed = self._update(job_id, jobs.c.state == "queued", **self._running_for(owner))
        return self.get(job_id) if changed == 1 else None

    def claim_next(self, owner: str) -> Job | None:
        """The next queued job, claimed for ``owner`` in one transaction; None when the queue is empty.

        Next: the oldest queued job of the tenant whose last job started the longest ago (one that never
        started one first), so tenants take turns. Taking the oldest job of all let one tenant's queued
        uploads (``service.max_pending_ingests`` per user, of any size) hold every other tenant's ingest
        back until they had all run, and tell those tenants how busy it was.

        Replicas poll the same table: on PostgreSQL the row is locked ``FOR UPDATE SKIP LOCKED`` (a second
        replica skips it and takes the next one instead of waiting); on SQLite the write transaction holds
        the database's write lock from its first statement (BEGIN IMMEDIATE), which serialises claims.
        """
        # A tenant's last start: that of its newest started job (a tenant's jobs start in the order they
        # came), found through the (tenant, created_at) index; max(started_at) read the tenant's whole
        # history, 240 ms a claim with 100,000 past jobs and 30 queued.
        started = jobs.alias("started")
        last_start = (
            select(started.c.started_at)
            .where(started.c.tenant == jobs.c.tenant, started.c.started_at.is_not(None))
            .order_by(started.c.created_at.desc())
            .limit(1)
            .scalar_subquery()
        )
        tenant_turn = func.coalesce(last_start, 0.0)
        oldest = (
            select(jobs.c.id)
            .where(jobs.c.state == "queued")
            .order_by(tenant_turn, jobs.c.created_at, jobs.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self.db.write() as conn:
            job_id = conn.execute(oldest).scalar()
            if job_id is None:
                return None
            conn.execute(update(jobs).where(jobs.c.id == job_id).values(**self._running_for(owner)))
            row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return self._job(row)

    def heartbeat(self, job_id: str, owner: str) -> bool:
        """Mark ``owner`` alive on its running job; False when it no longer owns it (taken over)."""
        now = time.time()
        return self._update(job_id, fence=owner, heartbeat_at=now, updated_at=now) == 1

    def progress(
        self,
        job_id: str,
        *,
        phase: str | None = None,
        done: int | None = None,
        total: int | None = None,
        rate: float | None = None,
        eta_s: float | None = None,
        checkpoint: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> bool:
        """Record progress (and a heartbeat); ``owner``: only while it owns the job. False: not written."""
        now = time.time()
        values: dict[str, Any] = {"updated_at": now, "heartbeat_at": now}
        for column, value in (("phase", phase), ("done", done), ("total", total), ("rate", rate)):
            if value is not None:
                values[column] = value
        if rate is not None or done is not None:
            values["eta_s"] = eta_s
        if checkpoint is not None:
            values["checkpoint_json"] = json.dumps(checkpoint, ensure_ascii=False)
        return self._update(job_id, fence=owner, **values) == 1

    def add_error(self, job_id: str, item: str, error: str) -> None:
        with self.db.write() as conn:
            row = conn.execute(select(jobs.c.errors_json).where(jobs.c.id == job_id)).first()
            errors = json.loads(row[0]) if row else []
            if len(errors) < MAX_ERRORS_KEPT:
                errors.append({"item": item, "error": error})
            conn.execute(
                update(jobs)
                .where(jobs.c.id == job_id)
                .values(
                    errors_json=json.dumps(errors, ensure_ascii=False),
                    error_count=jobs.c.error_count + 1,
                    updated_at=time.time(),
                )
            )

    def finish(
        self,
        job_id: str,
        state: JobState,
        message: str = "",
        result: dict[str, Any] | None = None,
        *,
        owner: str | None = None,
        phase: str | None = None,
    ) -> bool:
        """Record the end state; ``owner``: only while that process still owns the job; ``phase``: its
        phase from now on (``AWAITING_RETRY``), else it keeps the last one."""
        now = time.time()
        phased = {} if phase is None else {"phase": phase}
        return (
            self._update(
                job_id,
                fence=owner,
                **phased,
                state=str(state),
                message=message,
                result_json=json.dumps(result or {}, ensure_ascii=False),
                finished_at=now,
                updated_at=now,
                eta_s=None,
            )
            == 1
        )

    def end_awaiting(self, job_id: str, phase: str) -> bool:
        """A failed job ``AWAITING_RETRY`` -> ``phase`` (kept for a retry, or its kept inputs removed);
        False when it is not awaiting one (any more): of a retry and a clean-up racing, one wins."""
        return self._update(job_id, _awaiting_retry(), phase=phase, updated_at=time.time()) == 1

    def retry(self, job_id: str, params: dict[str, Any]) -> bool:
        """A failed job ``AWAITING_RETRY`` back in the queue with ``params`` (its new caller), its checkpoint
        kept (what it wrote is skipped); False when it is not awaiting a retry (any more)."""
        changed = self._update(
            job_id,
            _awaiting_retry(),
            state="queued",
            phase="",
            message="",
            owner="",
            params_json=json.dumps(params, ensure_ascii=False),
            result_json="{}",
            errors_json="[]",
            error_count=0,
            cancel_requested=0,
            finished_at=None,
            eta_s=None,
            updated_at=time.time(),
        )
        return changed == 1

    def requeue(
        self,
        job_id: str,
        message: str,
        *,
        checkpoint: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> bool:
        """running -> queued (the runner stopped, or its process died): it resumes when picked up again.
        ``owner``: only while that process owns it (two replicas requeueing one orphan requeue it once)."""
        values: dict[str, Any] = {
            "state": "queued",
            "owner": "",
            "message": message,
            "updated_at": time.time(),
        }
        if checkpoint is not None:
            values["checkpoint_json"] = json.dumps(checkpoint, ensure_ascii=False)
        return self._update(job_id, fence=owner, **values) == 1

    def request_cancel(self, job_id: str) -> Job:
        """A queued job is cancelled at once; a running one when its handler next checks."""
        now = time.time()
        with self.db.write() as conn:
            row = conn.execute(select(jobs.c.state).where(jobs.c.id == job_id)).first()
            if row is None:
                raise FigvaultError(f"no job {job_id!r}: `figvault jobs list` shows the jobs")
            stmt = update(jobs).where(jobs.c.id == job_id)
            if row[0] == JobState.QUEUED:
                conn.execute(
                    stmt.values(
                        state="cancelled",
                        cancel_requested=1,
                        message="cancelled before it started",
                        finished_at=now,
                        updated_at=now,
                    )
                )
            elif row[0] == JobState.RUNNING:
                conn.execute(stmt.values(cancel_requested=1, updated_at=now))
        return self.require(job_id)

    def cancel_requested(self, job_id: str) -> bool:
        with self.db.read() as conn:
            row = conn.execute(select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).first()
        return bool(row and row[0])

    def orphans(self) -> list[Job]:
        """Jobs marked running whose process is gone."""
        return [
            j
            for j in self.list(states=[JobState.RUNNING], limit=10_000)
            if not owner_alive(j.owner, j.heartbeat_at, stale_after_s=self.stale_after_s)
        ]

    def _end_orphan(
        self, job: Job, state: JobState, message: str, on_end: Callable[[Job], None] | None
    ) -> bool:
        """End ``job`` if its dead owner still holds it (not claimed again meanwhile); whether it did."""
        ended = self.finish(job.id, state, message, owner=job.owner)
        if ended and on_end is not None:
            try:
                on_end(job)
            except Exception:  # one job's cleanup must not stop the other orphans' requeue (nor the start)
                log.exception("cleanup after orphaned job %s failed", job.id)
        return bool(ended)

    def supersede_orphans(self, job: Job, keys: Sequence[str]) -> list[str]:
        """End as cancelled the orphaned jobs (a killed command's) that asked for what ``job``, which has
        run to its end, did: its type, tenant and ``params`` at ``keys``; their ids. The next job runner
        resumed such a job: after the same ingest had been run again and a document of it deleted, a
        ``figvault serve`` started later brought the document back (an audit, 2026-12-07)."""
        asked = {key: job.params.get(key) for key in keys}
        ended = []
        for old in self.orphans():
            same_asker = (
                old.started_by == job.started_by and old.type == job.type and old.tenant == job.tenant
            )
            if old.id == job.id or not same_asker or old.cancel_requested:
                continue
            message = f"superseded: run again as job {job.id}"
            if {key: old.params.get(key) for key in keys} == asked and self._end_orphan(
                old, JobState.CANCELLED, message, None
            ):
                ended.append(old.id)
        return ended

    def requeue_orphans(
        self, max_attempts: int = 3, on_end: Callable[[Job], None] | None = None
    ) -> list[str]:
        """Requeue the orphaned running jobs (a dead service or CLI); returns their ids.

        Each item the job had in flight counts one crash (the handler sets such items aside once they
        reach ``jobs.quarantine_after``); a job whose process died ``max_attempts`` times is failed instead
        of started again, so a file that kills its process cannot make the service crash-loop. ``on_end``
        is called with each job ended here (its handler will not clean up after it: ``discard``)."""
        ids = []
        for job in self.orphans():
            if job.cancel_requested:
                self._end_orphan(job, JobState.CANCELLED, ORPHAN_CANCELLED, on_end)
                continue
            checkpoint = after_crash(job.checkpoint)
            if checkpoint[DEATHS] >= max_attempts:
                names = ", ".join(item_label(job, item) for item in job.checkpoint.get(IN_FLIGHT) or [])
                reason = f"gave up: the process running it stopped {checkpoint[DEATHS]} times" + (
                    f" (last while on {names})" if names else ""
                )
                self._end_orphan(job, JobState.FAILED, reason, on_end)
                continue
            reason = "resumed: the process running it stopped"  # no host or pid in what callers read
            if self.requeue(job.id, reason, checkpoint=checkpoint, owner=job.owner):
                ids.append(job.id)
        return ids


def after_crash(checkpoint: dict[str, Any]) -> dict[str, Any]:
    """The checkpoint of a job whose process died: each item that was in flight counts one more crash."""
    crashes = dict(checkpoint.get(CRASHES) or {})
    for item in checkpoint.get(IN_FLIGHT) or []:
        crashes[item] = int(crashes.get(item, 0)) + 1
    return {**checkpoint, IN_FLIGHT: [], CRASHES: crashes, DEATHS: int(checkpoint.get(DEATHS, 0)) + 1}


def item_label(job: Job, item: str) -> str:
    """How a person knows an item: an upload's display name, else the file name (never a server path)."""
    names = dict(job.params.get("doc_ids") or {})
    # Uploads waiting in the storage: named by the file name of their key (jobs/<id>/uploads/0000.pdf).
    names |= {u["key"].rsplit("/", 1)[-1]: u["name"] for u in job.params.get("uploads") or []}
    file_name = item.rsplit("/", 1)[-1]
    return str(names.get(item) or names.get(file_name) or display_name(file_name))


def _rate(worked: float, elapsed: float) -> float:
    return worked / elapsed if elapsed > 0 and worked > 0 else 0.0


def _eta(left: float, rate: float) -> float | None:
    return left / rate if rate > 0 and left >= 0 else None


def _work(work: tuple[int, int]) -> dict[str, int]:
    return {"done": int(work[0]), "total": int(work[1])}


class JobContext:
    """What a handler sees: its job, settings, shared objects, and the calls to report and stop."""

    def __init__(
        self,
        store: JobStore,
        job: Job,
        settings: Settings,
        *,
        services: dict[str, Any] | None = None,
        stopping: Callable[[], bool] = lambda: False,
        echo: Callable[[Job], None] | None = None,
    ) -> None:
        self.store = store
        self.job = job
        self.settings = settings
        self.services = services or {}
        """Objects the host shares (``engine``: the service's SearchEngine)."""
        self._stopping = stopping
        self._echo = echo
        self._started = time.perf_counter()
        self._base_done: int | None = None
        self._base_work = 0
        self.lost = threading.Event()
        """Set when a heartbeat found the job owned by another process (``check_cancel`` raises JobLost)."""

    @property
    def params(self) -> dict[str, Any]:
        return self.job.params

    @property
    def checkpoint(self) -> dict[str, Any]:
        return self.job.checkpoint

    def progress(
        self,
        phase: str,
        done: int,
        total: int,
        *,
        checkpoint: dict[str, Any] | None = None,
        work: tuple[int, int] | None = None,
    ) -> None:
        """Report progress; rate and ETA count only the work of this run (a resumed job skips quickly).
        ``work``: (done, total) by another measure than items (an ingest's bytes), kept under ``WORK``; the
        ETA then counts it, since items of very different sizes make an item rate's ETA meaningless."""
        if self._base_done is None:
            self._base_done, self._base_work = done, work[0] if work else 0
        if work is not None:
            checkpoint = {**(self.job.checkpoint if checkpoint is None else checkpoint), WORK: _work(work)}
        if checkpoint is not None:  # the machinery's own keys (crash counts) survive a handler's checkpoint
            kept = {k: self.job.checkpoint[k] for k in _KEPT_KEYS if k in self.job.checkpoint}
            checkpoint = {**kept, **checkpoint}
        elapsed = time.perf_counter() - self._started
        rate = _rate(done - self._base_done, elapsed)
        if work is not None:
            eta = _eta(work[1] - work[0], _rate(work[0] - self._base_work, elapsed))
        else:
            eta = _eta(total - done, rate)
        written = self.store.progress(
            self.job.id,
            phase=phase,
            done=done,
            total=total,
            rate=round(rate, 3),
            eta_s=eta,
            checkpoint=checkpoint,
            owner=self.job.owner or None,
        )
        if not written:
            self.lost.set()
            raise JobLost(f"job {self.job.id} was taken over by another process")
        self.job = self.job.model_copy(
            update={"phase": phase, "done": done, "total": total, "rate": rate, "eta_s": eta}
            | ({"checkpoint": checkpoint} if checkpoint is not None else {})
        )
        if self._echo is not None:
            self._echo(self.job)

    def restart_rate(self) -> None:
        """Count rate and ETA from the next progress report on (a new phase with other units)."""
        self._started = time.perf_counter()
        self._base_done = None
        self._base_work = 0

    def error(self, item: str, reason: str) -> None:
        self.store.add_error(self.job.id, item, reason)

    def stop_requested(self) -> bool:
        """Whether the job should stop now (cancel, or the runner stopping), without raising."""
        return self.lost.is_set() or self._stopping() or self.store.cancel_requested(self.job.id)

    def check_cancel(self) -> None:
        """Raise JobCancelled / JobInterrupted when asked to stop; call it between units of work."""
        if self.lost.is_set():
            raise JobLost(f"job {self.job.id} was taken over by another process")
        if self._stopping():
            raise JobInterrupted("the job runner is stopping")
        if self.store.cancel_requested(self.job.id):  # one primary-key read: cheap beside a batch
            raise JobCancelled("cancelled on request")


Handler = Callable[[JobContext], dict[str, Any]]
HANDLERS: dict[JobType, Callable[[], Handler]] = {}
"""Job type -> a function that imports and returns its handler (heavy imports only when a job runs)."""


def _ingest_handler() -> Handler:
    from figvault.pipeline.ingest_job import run_ingest_job

    return run_ingest_job


def _reencode_handler() -> Handler:
    from figvault.pipeline.reencode import run_reencode_job

    return run_reencode_job


HANDLERS[JobType.INGEST] = _ingest_handler
HANDLERS[JobType.REENCODE] = _reencode_handler

Discard = Callable[[Settings, Job, Database], None]
DISCARDS: dict[JobType, Callable[[], Discard]] = {}
"""Job type -> a function returning what undoes a job that ends without its handler running to its end
(cancelled while queued): what was set up when it was queued (an upload's files and new documents)."""


def _ingest_discard() -> Discard:
    from figvault.pipeline.ingest_job import discard_uploads

    return discard_uploads


DISCARDS[JobType.INGEST] = _ingest_discard


def discard(settings: Settings, job: Job, db: Database) -> None:
    """Undo what a job that ended without its handler's clean-up was given (``DISCARDS``)."""
    if job.type in DISCARDS:
        DISCARDS[job.type]()(settings, job, db)


def cancel_and_discard(settings: Settings, store: JobStore, job_id: str) -> Job:
    """Ask ``job_id`` to stop (``JobStore.request_cancel``). A job it cancels at once (one still queued)
    has no handler to clean up after it, so ``discard`` does: an upload's new documents and staged files
    go (a document it would have replaced stays as it was). A running job cleans up in its handler when
    it stops."""
    job = store.request_cancel(job_id)
    if job.state == JobState.RUNNING and not owner_alive(
        job.owner, job.heartbeat_at, stale_after_s=store.stale_after_s
    ):  # no process will reach a next batch (a CLI killed or stopped): ended here, as a runner's start would
        store.finish(job.id, JobState.CANCELLED, ORPHAN_CANCELLED, owner=job.owner)
        job = store.require(job_id)
    if job.state == JobState.CANCELLED:
        discard(settings, job, store.db)
    return job


def remove_unretried(settings: Settings, store: JobStore, now: float | None = None) -> list[str]:
    """Jobs ``AWAITING_RETRY`` longer than ``jobs.keep_for_retry_h``: their kept inputs go (``discard``) and
    they say so (``INPUTS_REMOVED``); the ids. The runner calls it now and then."""
    keep_s = settings.jobs.keep_for_retry_h * 3600
    now = time.time() if now is None else now
    removed: list[str] = []
    for job in store.list(states=[JobState.FAILED], phase=AWAITING_RETRY, limit=10_000):
        if (job.finished_at or 0.0) + keep_s <= now and remove_kept_inputs(settings, store, job):
            removed.append(job.id)
    return removed


def remove_kept_inputs(settings: Settings, store: JobStore, job: Job) -> bool:
    """Remove what ``job`` kept for a retry (``discard``; phase ``INPUTS_REMOVED``); False when it is not
    awaiting a retry (any more: retried, or removed meanwhile)."""
    if not store.end_awaiting(job.id, INPUTS_REMOVED):
        return False
    discard(settings, job, store.db)
    return True


class Heartbeat:
    """Marks the job's owner alive every ``every_s`` seconds while its handler runs (a batch may take
    longer than the staleness limit without reporting progress); notices when another process took the
    job over and tells the handler through ``ctx.lost``."""

    def __init__(self, ctx: JobContext, every_s: float) -> None:
        self.ctx = ctx
        self.every_s = max(0.05, every_s)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"figvault-heartbeat-{ctx.job.id}", daemon=True
        )

    def _run(self) -> None:
        ctx = self.ctx
        while not self._stop.wait(self.every_s):
            try:
                if not ctx.store.heartbeat(ctx.job.id, ctx.job.owner):
                    ctx.lost.set()
                    return
            except Exception:  # a registry hiccup: the next beat tries again
                log.warning("heartbeat of job %s failed", ctx.job.id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


_ENDED_RESULT = "_figvault_job_result"


def carry_result(exc: BaseException, result: dict[str, Any]) -> None:
    """Have ``exc``, which ends a job (it failed, or was cancelled), carry what the job had done by then:
    recorded as its result (``execute``). An ingest's is its documents' outcomes, without which what each
    viewer reads of the ended job could not be judged per document (``JobOut``: its errors, counts, rate)."""
    setattr(exc, _ENDED_RESULT, result)


def carried_result(exc: BaseException) -> dict[str, Any]:
    """The result ``exc`` (or the exception it was raised from) carries (``carry_result``); else empty."""
    for link in (exc, exc.__cause__, exc.__context__):
        result = getattr(link, _ENDED_RESULT, None)
        if isinstance(result, dict):
            return dict(result)
    return {}


def operator_detail(exc: BaseException) -> dict[str, str] | None:
    """The result of a job that failed for ``exc``: its whole reason under ``DETAIL`` where the message
    (``public_line``) had to leave it out; else None."""
    detail = operator_line(exc)
    return {DETAIL: detail} if detail != public_line(exc) else None


def execute(ctx: JobContext) -> Job:
    """Run a claimed job's handler to its end state and record it. Never raises for a job's failure."""
    store, job = ctx.store, ctx.job
    owner = job.owner or None
    disk_reserve.ensure(ctx.settings)  # room to record this job's end should the disk fill meanwhile
    try:
        with Heartbeat(ctx, ctx.settings.jobs.heartbeat_s):
            result = HANDLERS[job.type]()(ctx)
    except JobLost as exc:
        log.warning("%s; this process stops working on it", exc)
    except JobInterrupted as exc:
        note = f"interrupted ({exc}); it resumes when the runner starts again"
        _recorded(ctx, lambda: store.requeue(job.id, note, owner=owner))
    except JobCancelled as exc:
        reason, done = str(exc), carried_result(exc) or None
        _recorded(ctx, lambda: store.finish(job.id, JobState.CANCELLED, reason, done, owner=owner))
        log.info("job %s (%s) cancelled: %s", job.id, job.type, exc)
    except Exception as exc:  # a bug or an outage too: the job fails with its reason, the runner goes on
        _record_failure(ctx, as_disk_full(exc) or exc, owner)
    else:
        summary = str(result.pop("summary", "")) if isinstance(result, dict) else ""
        if not _recorded(ctx, lambda: store.finish(job.id, JobState.SUCCEEDED, summary, result, owner=owner)):
            log.warning("job %s finished here, but another process owns it now", job.id)
        else:  # the server log names each job's end, as it does a failure
            log.info("job %s (%s) succeeded: %s", job.id, job.type, summary)
    return store.require(job.id)


def _record_failure(ctx: JobContext, exc: BaseException, owner: str | None) -> None:
    """Log and record a failed job. A full disk first gives back the data folder's reserve: the end is
    then recorded in its room, where it used to fail too and leave the job ``running``."""
    job = ctx.job
    detail = operator_detail(exc)  # the server log keeps what the message leaves out
    if isinstance(exc, FigvaultError):
        reason = detail[DETAIL] if detail is not None else public_line(exc)
        # One line where the message says it all (a password-protected upload): a traceback only buried it.
        # A reason the message leaves out (an outage's, a deployment's) keeps it: the command line points
        # there ("traceback in ...", commands/_log.py), as it does for an unexpected exception below.
        log.warning("job %s (%s) failed: %s", job.id, job.type, reason, exc_info=exc if detail else None)
    else:
        log.error("job %s (%s) failed", job.id, job.type, exc_info=exc)
    phase = AWAITING_RETRY if isinstance(exc, JobDiskFullError) and exc.keeps_inputs else None
    message = public_line(exc)
    result = {**carried_result(exc), **(detail or {})} or None

    def record() -> Any:
        return ctx.store.finish(job.id, JobState.FAILED, message, result, owner=owner, phase=phase)

    if not isinstance(exc, JobDiskFullError):
        _recorded(ctx, record)
        return
    with disk_reserve.given_back(ctx.settings):  # no job of this process takes the room back meanwhile
        _recorded(ctx, record)


def _recorded(ctx: JobContext, write: Callable[[], Any]) -> Any:
    """``write``'s answer (a job's end record), written once more after giving the data folder's reserve
    back when the disk filled under the handler's last write or between it and this one (a job that
    succeeded or was cancelled, or failed for another reason, must not stay ``running`` either). Written
    once more even when no reserve was left: another job of this process may have given it back a moment
    ago, and its room is still free."""
    try:
        return write()
    except Exception as exc:
        if disk_full_cause(exc) is None:
            raise
    with disk_reserve.given_back(ctx.settings):
        return write()


def run_here(
    settings: Settings,
    job: Job,
    *,
    services: dict[str, Any] | None = None,
    echo: Callable[[Job], None] | None = None,
) -> Job:
    """Claim ``job`` for this process and run it in the foreground (the CLI's way); the final record."""
    store = JobStore.open(settings)
    claimed = store.claim(job.id, this_owner())
    if claimed is None:
        current = store.require(job.id)
        raise FigvaultError(f"job {job.id} is {current.state}, not queued: it cannot be started here")
    final = execute(JobContext(store, claimed, settings, services=services, echo=echo))
    sweep_deleted(settings)  # no job runner may ever run here (a command-line user only)
    finish_stopped_changes(settings)
    return final


def sweep_deleted(settings: Settings) -> None:
    """Remove the files of documents deleted while an ingest held the store (``document_files.sweep``);
    a failure is logged, never raised (the notes wait for the next round)."""
    from figvault.pipeline.document_files import sweep

    try:
        sweep(settings)
    except Exception:
        log.warning("could not remove the files of deleted documents", exc_info=True)


def finish_stopped_changes(settings: Settings) -> None:
    """Finish the in-place changes of documents a stopped process left marked (``regroup.finish_rewrites``):
    a replica killed in the middle of a ``PATCH`` left rows with the new groups and listings with the old;
    a failure is logged, never raised (the next round tries again)."""
    from figvault.pipeline.regroup import finish_rewrites

    try:
        finished = finish_rewrites(settings)
    except Exception:
        log.warning("could not finish the in-place changes a stopped process left", exc_info=True)
        return
    if finished:
        log.warning("finished %d in-place change(s) a stopped process left half done", finished)


class JobRunner:
    """One worker thread that runs queued jobs one at a time, oldest first (the service's runner)."""

    def __init__(
        self, settings: Settings, *, services: dict[str, Any] | None = None, poll_s: float = 1.0
    ) -> None:
        self.settings = settings
        self.services = services if services is not None else {}
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.current: str | None = None

    def start(self) -> list[str]:
        """Requeue orphaned jobs and start the worker; returns the ids of the jobs it will resume."""
        store = JobStore.open(self.settings)
        resumed = store.requeue_orphans(self.settings.jobs.max_attempts, self._ended(store))
        if resumed:
            log.warning(
                "resuming %d job(s) left running by a stopped process: %s", len(resumed), ", ".join(resumed)
            )
        self._thread = threading.Thread(target=self._loop, name="figvault-jobs", daemon=True)
        self._thread.start()
        return resumed

    def _ended(self, store: JobStore) -> Callable[[Job], None]:
        """What ``requeue_orphans`` calls for a job it ends: ``discard`` it."""
        return lambda job: discard(self.settings, job, store.db)

    def submit(self, job: Job) -> Job:
        """Wake the worker for a job already created as queued."""
        self.wake()
        return job

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the running job reaches its next checkpoint (it is requeued and resumes later)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        store = JobStore.open(self.settings)
        owner = this_owner()
        next_orphan_check = 0.0
        while not self._stop.is_set():
            if time.monotonic() >= next_orphan_check:  # a replica that died: its jobs come back here
                try:
                    resumed = store.requeue_orphans(self.settings.jobs.max_attempts, self._ended(store))
                except Exception:
                    log.warning("could not look for orphaned jobs", exc_info=True)
                    resumed = []
                if resumed:
                    log.warning("resuming job(s) left running by a stopped process: %s", ", ".join(resumed))
                try:
                    removed = remove_unretried(self.settings, store)
                except Exception:
                    log.warning("could not remove the inputs of jobs nobody retried", exc_info=True)
                    removed = []
                if removed:
                    log.info("removed the kept uploads of job(s) nobody retried: %s", ", ".join(removed))
                sweep_deleted(self.settings)
                finish_stopped_changes(self.settings)
                next_orphan_check = time.monotonic() + max(1.0, self.settings.jobs.heartbeat_s)
            try:
                claimed = store.claim_next(owner)
            except Exception:  # the registry is unreachable for a moment: wait and try again
                log.warning("could not claim a job", exc_info=True)
                claimed = None
            if claimed is None:
                self._wake.wait(self.poll_s)
                self._wake.clear()
                continue
            self.current = claimed.id
            try:
                execute(
                    JobContext(
                        store, claimed, self.settings, services=self.services, stopping=self._stop.is_set
                    )
                )
            finally:
                self.current = None
