"""``figvault ingest PATH... [--groups a,b] [--tenant T] [--doc-id ID]``: incremental and idempotent.

It runs as a job record (``figvault jobs list`` shows it) in the foreground; killed, it can simply be run
again: documents already indexed with the same content hash are skipped (docs/jobs.md).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from figvault.commands import app, split_csv, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job


@app.command()
def ingest(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF/PPTX files or folders (searched recursively).")],
    groups: Annotated[
        str | None, typer.Option("--groups", help="Access groups of these documents, comma-separated.")
    ] = None,
    tenant: Annotated[str, typer.Option("--tenant", help="Tenant the documents belong to.")] = "default",
    doc_id: Annotated[
        str | None, typer.Option("--doc-id", help="Logical document id (one file only; default: file name).")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress lines; failures and summary only.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Extract, encode and store figure units. Unchanged files are skipped; changed ones replaced."""
    from figvault.commands.jobs import progress_line
    from figvault.pipeline.ingest_pipeline import FAILED
    from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here

    settings = state(ctx).settings
    quiet_store_logs()
    # Absolute paths: a job left running by a killed CLI may be resumed by another process.
    params: dict[str, object] = {
        "paths": [str(p.absolute()) for p in paths],
        "groups": split_csv(groups) or [],
        "tenant": tenant,
    }
    if doc_id is not None:
        params["doc_id"] = doc_id
    last = {"at": 0.0, "done": -1}

    def echo(job: Job) -> None:
        now = time.monotonic()
        if quiet or as_json or job.done == last["done"] or (now - last["at"] < 1.0 and job.done < job.total):
            return
        last.update(at=now, done=job.done)
        typer.echo(f"ingest: {progress_line(job)}", err=True)

    with one_line_errors():
        jobs = JobStore.open(settings)
        job = jobs.create(JobType.INGEST, params, started_by="cli", tenant=tenant)
        final = run_here(settings, job, echo=echo)
    result = final.result
    if as_json:
        typer.echo(json.dumps({"job": final.id, "state": str(final.state), **result}, indent=2))
    else:
        warned: set[str] = set()
        for outcome in result.get("documents", []):
            if outcome["status"] == FAILED:
                typer.echo(f"FAILED {outcome['path']}: {outcome['error']}", err=True)
            for warning in outcome.get("warnings", []):
                if warning not in warned:
                    warned.add(warning)
                    typer.echo(f"warning: {warning}", err=True)
        if final.state == JobState.SUCCEEDED:
            typer.echo(f"ingest: {final.message} -> {result.get('collection', '')} (job {final.id})")
        else:
            for error in final.errors:
                typer.echo(f"FAILED {error.item}: {error.error}", err=True)
            typer.echo(f"error: {final.message}", err=True)
    if final.state != JobState.SUCCEEDED or result.get("failed"):
        raise typer.Exit(1)
