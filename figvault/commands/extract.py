"""``figvault extract PATH... --out DIR``: figure units of files and folders, as JSONL plus PNGs."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from tqdm import tqdm

from figvault.commands import app, state
from figvault.commands._inputs import check_inputs
from figvault.commands._warnings import warning_lines

# Fields of the stable extract record; the rest of FigureUnit (tenant, groups, versions) belongs to ingest.
_INGEST_ONLY = {"tenant", "groups", "tags", "phash", "embedding_version", "doc_id"}


@app.command()
def extract(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF/PPTX files or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: units.jsonl and images/.")],
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar; failures and summary only.")
    ] = False,
) -> None:
    """Split documents into figure units: DIR/units.jsonl (one unit a line) and DIR/images/*.png."""
    from figvault.ingest.extract import iter_input_files
    from figvault.pipeline.extract_worker import extract_many

    settings = state(ctx).settings
    check_inputs(paths)
    files = list(iter_input_files(paths))
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        typer.echo(f"FAILED {p}: no such file or folder", err=True)
    (out / "images").mkdir(parents=True, exist_ok=True)

    n_units = n_pages = n_ok = ocr_timeouts = 0
    failures: list[tuple[Path, str]] = [(p, "no such file or folder") for p in missing]
    warnings: list[tuple[str, str]] = []
    # Write to a temporary file and rename: readers never see a half-written units.jsonl.
    fd, tmp_name = tempfile.mkstemp(dir=out, prefix=".units-", suffix=".jsonl")
    with (
        os.fdopen(fd, "w", encoding="utf-8") as fh,
        tqdm(total=len(files), unit="file", disable=quiet, desc="extract", dynamic_ncols=True) as bar,
    ):
        # Each file in a worker process under the per-document time and memory limits.
        for path, extracted in extract_many(files, settings.extract):
            bar.update(1)
            if isinstance(extracted, str):
                failures.append((path, extracted))
                bar.write(f"FAILED {path}: {extracted}", file=sys.stderr)
                continue
            result = extracted.extraction
            warnings += [(str(path), warning) for warning in result.warnings]
            n_ok += 1
            n_pages += result.meta.pages
            ocr_timeouts += result.ocr_timeouts
            for fig in result.figures:
                rel = f"images/{fig.unit.unit_id}.png"
                (out / rel).write_bytes(fig.png)
                record = fig.unit.model_copy(update={"image": rel}).model_dump(
                    mode="json", exclude=_INGEST_ONLY
                )
                fh.write(json.dumps(record, ensure_ascii=False) + "\n")
                n_units += 1
            bar.set_postfix(units=n_units, failed=len(failures))
    os.replace(tmp_name, out / "units.jsonl")
    for line in warning_lines(warnings):  # once each, with its files ("LibreOffice not found": all)
        typer.echo(line, err=True)

    typer.echo(
        f"extracted {n_units} units from {n_ok} file(s), {n_pages} pages; {len(failures)} failed"
        f" -> {out / 'units.jsonl'}"
    )
    if ocr_timeouts:  # each read also had its warning line; the total is what tells a user to act
        from figvault.ingest.ocr import ocr_lost

        typer.echo(f"warning: {ocr_lost(ocr_timeouts)}", err=True)
    if failures:
        raise typer.Exit(1)
