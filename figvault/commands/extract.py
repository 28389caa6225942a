"""``figvault extract PATH... --out DIR``: figure units of files and folders, as JSONL plus PNGs."""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from tqdm import tqdm

from figvault.commands import app, flag, state
from figvault.commands._inputs import check_inputs
from figvault.commands._warnings import warning_lines
from figvault.text_checks import escaped

if TYPE_CHECKING:
    from figvault.settings import ExtractSettings
    from figvault.units import ExtractedFigure

# Fields of the stable extract record; the rest of FigureUnit (tenant, groups, versions) belongs to ingest.
_INGEST_ONLY = {"tenant", "groups", "tags", "phash", "embedding_version", "doc_id"}


@dataclass
class _Tally:
    """What the summary line counts, filled file by file."""

    units: int = 0
    pages: int = 0
    files_ok: int = 0
    ocr_timeouts: int = 0
    failures: list[tuple[Path, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    """(file, warning) pairs, printed once each with their files at the end."""
    images: set[str] = field(default_factory=set)
    """The image files this run wrote (``images/<unit id>.png``)."""


_UNIT_IMAGE = re.compile(r"[0-9a-f]{32}\.png")
"""An image file ``extract`` writes: a unit id (``units.make_unit_id``), so an earlier run's may go."""


@app.command()
def extract(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF/PPTX files or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: units.jsonl and images/.")],
    quiet: Annotated[bool, flag("--quiet", "-q", help="No progress bar; failures and summary only.")] = False,
) -> None:
    """Split documents into figure units: DIR/units.jsonl (one unit a line) and DIR/images/*.png."""
    from figvault.ingest.extract import iter_input_files

    settings = state(ctx).settings
    check_inputs(paths)
    files = list(iter_input_files(paths))
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        typer.echo(escaped(f"FAILED {p}: no such file or folder"), err=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    tally = _Tally(failures=[(p, "no such file or folder") for p in missing])
    _write_units(settings.extract, files, out, tally, quiet=quiet)
    _print_summary(out, tally)
    if tally.failures:
        raise typer.Exit(1)


def _write_units(
    extract_settings: ExtractSettings, files: list[Path], out: Path, tally: _Tally, *, quiet: bool
) -> None:
    """Extract ``files`` into ``out``/units.jsonl and ``out``/images/, counting into ``tally``."""
    from figvault.pipeline.extract_worker import extract_many

    # Write to a temporary file and rename: readers never see a half-written units.jsonl.
    fd, tmp_name = tempfile.mkstemp(dir=out, prefix=".units-", suffix=".jsonl")
    with (
        os.fdopen(fd, "w", encoding="utf-8") as fh,
        tqdm(total=len(files), unit="file", disable=quiet, desc="extract", dynamic_ncols=True) as bar,
    ):
        # Each file in a worker process under the per-document time and memory limits.
        for path, extracted in extract_many(files, extract_settings):
            bar.update(1)
            if isinstance(extracted, str):
                tally.failures.append((path, extracted))
                bar.write(escaped(f"FAILED {path}: {extracted}"), file=sys.stderr)
                continue
            result = extracted.extraction
            tally.warnings += [(str(path), warning) for warning in result.warnings]
            tally.files_ok += 1
            tally.pages += result.meta.pages
            tally.ocr_timeouts += result.ocr_timeouts
            tally.images.update(_write_figures(fh, out, result.figures))
            tally.units += len(result.figures)
            bar.set_postfix(units=tally.units, failed=len(tally.failures))
    os.replace(tmp_name, out / "units.jsonl")
    # An earlier run's images that units.jsonl no longer names (a unit id's name only: other files stay).
    for old in (out / "images").glob("*.png"):
        if _UNIT_IMAGE.fullmatch(old.name) and old.name not in tally.images:
            old.unlink(missing_ok=True)


def _write_figures(fh: TextIO, out: Path, figures: list[ExtractedFigure]) -> list[str]:
    """One JSONL record and one PNG per figure; returns the PNGs' file names."""
    names = []
    for fig in figures:
        rel = f"images/{fig.unit.unit_id}.png"
        (out / rel).write_bytes(fig.png)
        record = fig.unit.model_copy(update={"image": rel}).model_dump(mode="json", exclude=_INGEST_ONLY)
        fh.write(json.dumps(record, ensure_ascii=False) + "\n")
        names.append(Path(rel).name)
    return names


def _print_summary(out: Path, tally: _Tally) -> None:
    for line in warning_lines(tally.warnings):  # once each, with its files ("LibreOffice not found": all)
        typer.echo(escaped(line), err=True)

    typer.echo(
        f"extracted {tally.units} units from {tally.files_ok} file(s), {tally.pages} pages;"
        f" {len(tally.failures)} failed -> {out / 'units.jsonl'}"
    )
    if tally.ocr_timeouts:  # each read also had its warning line; the total is what tells a user to act
        from figvault.ingest.ocr import ocr_lost

        typer.echo(f"warning: {ocr_lost(tally.ocr_timeouts)}", err=True)
