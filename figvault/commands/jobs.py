"""``figvault jobs list|show ID|cancel ID``: ingest and re-encode jobs (the CLI's and the service's)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from figvault.commands import app, flag, nothing_stored, state
from figvault.commands._retrieval_cli import one_line_errors
from figvault.text_checks import escaped

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job, JobStore

jobs_app = typer.Typer(help="Ingest and re-encode jobs: list, show, cancel.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


def progress_line(job: Job) -> str:
    """``running copy 128/1000 (45.2/s, ETA 19s)``: one line for tables and progress output; a job that
    counts its work by size too (an ingest) adds its share, ``running ingest 50/51 files, 5% by size
    (...)``, and its ETA counts that (``jobs.WORK``)."""
    parts = [str(job.state)]
    if job.phase:
        parts.append(job.phase)
    share = None if job.finished else job.work_fraction  # an ended job's counts say it all
    if job.total and share is not None:
        parts.append(f"{job.done}/{job.total} files, {int(share * 100)}% by size")  # floored: 100% is done
    elif job.total:
        parts.append(f"{job.done}/{job.total}")
    if job.rate:
        eta = f", ETA {job.eta_s:.0f}s" if job.eta_s is not None else ""
        # Two significant digits below 1/s: a slow ingest (one document a minute) showed "0.0/s".
        rate = f"{job.rate:.1f}" if job.rate >= 1 else f"{job.rate:.2g}"
        parts.append(f"({rate}/s{eta})")
    if job.error_count:
        parts.append(f"{job.error_count} error(s)")
    return " ".join(parts)


def _gone_note(store: JobStore, job: Job) -> str:
    """For a job marked running whose process is gone (killed, a machine rebooted, a data folder restored
    from a copy taken while it ran), what becomes of it; else ""."""
    from figvault.pipeline.jobs import JobState, owner_alive

    if job.state != JobState.RUNNING or owner_alive(
        job.owner, job.heartbeat_at, stale_after_s=store.stale_after_s
    ):
        return ""
    return (
        f"  (its process is gone: a `figvault serve` on this data folder resumes it; `figvault jobs cancel"
        f" {job.id}` ends it)"
    )


@jobs_app.command("list")
def list_jobs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Most recent jobs to show.")] = 20,
    as_json: Annotated[bool, flag("--json", help="Print as JSON.")] = False,
) -> None:
    """Jobs, newest first."""
    from figvault.pipeline.jobs import DETAIL, JobStore

    if nothing_stored(ctx):
        typer.echo("[]" if as_json else "no jobs")
        return
    with one_line_errors():
        store = JobStore.open(state(ctx).settings)
        jobs = store.list(limit=limit)
    if as_json:
        typer.echo(json.dumps([j.model_dump(mode="json") for j in jobs], indent=2))
        return
    if not jobs:
        typer.echo("no jobs")
        return
    for job in jobs:
        who = job.started_by or "-"
        line = f"{job.id}  {job.type:8}  {_when(job.created_at)}  {who:10}  {progress_line(job)}"
        # The operator reads a failure's whole reason (the message, read over HTTP too, may be a fixed
        # sentence: "the vector store is unavailable ... try again later" for a store another process holds).
        reason = job.result.get(DETAIL) or job.message
        typer.echo(line + (f"  {reason}" if reason else "") + _gone_note(store, job))


@jobs_app.command("show")
def show(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="Job id (from `figvault jobs list`).")],
    as_json: Annotated[bool, flag("--json", help="Print as JSON.")] = False,
) -> None:
    """One job: progress, errors per document, parameters, checkpoint, an ingest's warnings and the
    documents of its folders whose files are gone."""
    from figvault.commands._warnings import result_notes
    from figvault.pipeline.jobs import DETAIL, JobStore, item_label

    with one_line_errors():
        store = JobStore.open(state(ctx).settings)
        job = store.require(job_id)
    if as_json:
        typer.echo(json.dumps(job.model_dump(mode="json"), indent=2))
        return
    typer.echo(f"job        {job.id} ({job.type}) by {job.started_by or '-'}, tenant {job.tenant}")
    typer.echo(f"progress   {progress_line(job)}{_gone_note(store, job)}")
    started, finished = _when(job.started_at), _when(job.finished_at)
    typer.echo(f"created    {_when(job.created_at)}  started {started}  finished {finished}")
    if job.message:
        typer.echo(f"message    {job.message}")
    if job.result.get(DETAIL):  # what the message, read over HTTP too, leaves out
        typer.echo(f"detail     {job.result[DETAIL]}")
    typer.echo(f"params     {json.dumps(job.params, ensure_ascii=False)}")
    if job.checkpoint:
        typer.echo(f"checkpoint {json.dumps(job.checkpoint, ensure_ascii=False)}")
    for error in job.errors:
        typer.echo(escaped(f"error      {error.item}: {error.error}"))
    if job.error_count > len(job.errors):
        typer.echo(f"           ... {job.error_count - len(job.errors)} more")
    # An upload's path is the server's spool file: it is shown by the name it was uploaded under.
    label = (lambda path: item_label(job, path)) if job.params.get("uploads") else str
    for line in result_notes(job.result, label):
        typer.echo(escaped(line))


@jobs_app.command("cancel")
def cancel(
    ctx: typer.Context,
    job_id: Annotated[str, typer.Argument(help="Job id.")],
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a running job to stop.")] = 0.0,
) -> None:
    """Cancel a job: a queued one at once, a running one at its next batch (what it stored stays)."""
    from figvault.pipeline.jobs import JobState, JobStore, cancel_and_discard

    with one_line_errors():
        settings = state(ctx).settings
        store = JobStore.open(settings)
        job = cancel_and_discard(settings, store, job_id)
        deadline = time.monotonic() + wait
        while job.state == JobState.RUNNING and time.monotonic() < deadline:
            time.sleep(0.2)
            job = store.require(job_id)
    if job.finished and job.state != JobState.CANCELLED:
        typer.echo(f"job {job.id} already {job.state}")
        return
    typer.echo(f"job {job.id}: {'cancelled' if job.state == JobState.CANCELLED else 'cancel requested'}")
