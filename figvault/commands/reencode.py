"""``figvault reencode [--quiet] [--engine local|ray] [--ray-address ADDR]``: rebuild every vector for the
configured embedding_version, then switch the alias atomically. Resumable: run it again after an interruption
and it continues."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from figvault.commands import app, flag, state
from figvault.commands._log import failure_line, log_to_file
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
from figvault.commands.ingest import EngineOption, RayAddressOption, engine_params

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job, JobStore
    from figvault.pipeline.reencode import ReencodePlan
    from figvault.settings import Settings


def _resumable_job(store: JobStore, settings: Settings) -> Job | None:
    """A re-encode job to continue (queued, or left running by a dead process); error if one is alive.
    Orphans of other types that this ends are cleaned up as the service's runner does (``discard``)."""
    from figvault.errors import FigvaultError
    from figvault.pipeline.jobs import JobState, JobType, discard

    store.requeue_orphans(settings.jobs.max_attempts, lambda job: discard(settings, job, store.db))
    running = store.list(states=[JobState.RUNNING], job_type=JobType.REENCODE, limit=1)
    if running:
        job = running[0]
        raise FigvaultError(f"re-encode job {job.id} is running ({job.owner}): `figvault jobs show {job.id}`")
    queued = store.list(states=[JobState.QUEUED], job_type=JobType.REENCODE, limit=100)
    return queued[-1] if queued else None  # the oldest: the one with the checkpoint


@app.command()
def reencode(
    ctx: typer.Context,
    quiet: Annotated[bool, flag("--quiet", "-q", help="No progress lines; the result only.")] = False,
    engine: EngineOption = None,
    ray_address: RayAddressOption = None,
) -> None:
    """Re-encode all units for the configured encoders, then switch to them at once; a Milvus server keeps
    serving the old version meanwhile (the embedded store is this command's until it ends: a running
    `figvault serve` re-encodes through its own job, service.reencode_on_start). Run it again after a stop
    and it goes on. The encode step runs in --engine (a resumed job keeps the engine it started with)."""
    from figvault.encoders.factory import build_encoders
    from figvault.pipeline.jobs import GLOBAL_TENANT, JobState, JobStore, JobType, run_here
    from figvault.pipeline.reencode import nothing_to_do, plan_reencode

    settings = state(ctx).settings
    params = engine_params(settings, engine, ray_address)
    quiet_store_logs()
    # Milvus Lite's in-process server logs every RPC it lacks (index-build polling) as an error: noise here.
    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    log_file = log_to_file(settings)
    with one_line_errors():
        store = _open_store(settings)
        plan = plan_reencode(store, build_encoders(settings))
        jobs = JobStore.open(settings)
        stopped = _resumable_job(jobs, settings)
        if plan is None and stopped is None:
            typer.echo(f"reencode: {nothing_to_do(store)}")
            return
        if stopped is not None:  # a stopped one first: it holds the checkpoint (or its switch to finish)
            job = stopped
        else:
            assert plan is not None
            job = jobs.create(
                JobType.REENCODE,
                {"source": plan.source, "target": plan.target, **params},
                started_by="cli",
                tenant=GLOBAL_TENANT,
            )
        if not quiet:
            typer.echo(
                f"reencode: job {job.id}: {_plan_line(plan, job, store.served_collection())}, engine"
                f" {job.params.get('engine') or settings.ingest.engine}",
                err=True,
            )
        final = run_here(settings, job, echo=_progress_echo(quiet))
    if final.state != JobState.SUCCEEDED:
        typer.echo(f"reencode: job {final.id} {final.state}: {failure_line(final, log_file)}", err=True)
        raise typer.Exit(1)
    typer.echo(f"reencode: {final.message}")
    old = final.result.get("source")
    if old:  # what to do with it was nowhere said: a newcomer saw the store double and no way back
        typer.echo(
            f"reencode: {old} stays: a re-encode back to its settings re-uses its vectors;"
            f" `figvault collections drop {old}` frees its space"
        )


def _plan_line(plan: ReencodePlan | None, job: Job, served: str | None) -> str:
    """What the job does: from which collection and version to which; a stopped job with nothing left to
    encode names the collections only (its switch to finish, or nothing: the alias serves another)."""
    if plan is None:
        left = "finishing its switch" if served == job.params.get("target") else "nothing left to do"
        return f"{job.params.get('source')} -> {job.params.get('target')} ({left})"
    return (
        f"{plan.source} ({plan.source_layout.embedding_version}) ->"
        f" {plan.target} ({plan.target_layout.embedding_version})"
    )


def _open_store(settings: Settings) -> Any:
    """The store; Milvus Lite's folder held by a running service is an error saying how to re-encode."""
    from figvault.errors import StoreError
    from figvault.retrieval.milvus_store import MilvusUnitStore

    try:
        return MilvusUnitStore.from_settings(settings)
    except StoreError as exc:
        if settings.store.uri:
            raise
        # Milvus Lite serves its folder from one process: a running service holds it.
        raise StoreError(
            f"{exc} (if `figvault serve` runs on this data folder, re-encode through it: set"
            " service.reencode_on_start and restart it, or POST /v1/jobs/reencode where"
            " service.tenant_admin_reencode allows it)"
        ) from None


def _progress_echo(quiet: bool) -> Callable[[Job], None]:
    """The job's progress on stderr: a line per phase change and at most one a second otherwise
    (readable in logs, not a flood)."""
    from figvault.commands.jobs import progress_line

    last = {"line": "", "at": 0.0}

    def echo(job: Job) -> None:
        line = progress_line(job)
        now = time.monotonic()
        if quiet or line == last["line"] or (job.phase == last.get("phase") and now - last["at"] < 1.0):
            return
        last.update(line=line, at=now, phase=job.phase)
        typer.echo(f"reencode: {line}", err=True)

    return echo
