"""``figvault ingest PATH... [--groups a,b] [--tenant T] [--doc-id ID]``: incremental and idempotent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from figvault.commands import app, split_csv, state
from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs


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
        bool, typer.Option("--quiet", "-q", help="No progress bar; failures and summary only.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Extract, encode and store figure units. Unchanged files are skipped; changed ones replaced."""
    from figvault.service.ingest_pipeline import FAILED, ingest_paths

    settings = state(ctx).settings
    quiet_store_logs()
    with one_line_errors():
        report = ingest_paths(
            settings,
            paths,
            groups=split_csv(groups) or [],
            tenant=tenant,
            doc_id=doc_id,
            progress=not quiet and not as_json,
        )
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        warned: set[str] = set()
        for outcome in report.documents:
            if outcome.status == FAILED:
                typer.echo(f"FAILED {outcome.path}: {outcome.error}", err=True)
            for warning in outcome.warnings:
                if warning not in warned:
                    warned.add(warning)
                    typer.echo(f"warning: {warning}", err=True)
        typer.echo(f"ingest: {report.summary()} -> {report.collection}")
    if report.failed:
        raise typer.Exit(1)
