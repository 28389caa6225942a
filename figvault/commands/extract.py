"""``figvault extract PATH... --out DIR``: figure units of files and folders, as JSONL plus PNGs."""

from __future__ import annotations

import contextlib
import json
import os
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
    from figvault.ingest.extract import Bounds
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
    hashes: dict[str, str] = field(default_factory=dict)
    """Each file's sha256 as read where it was listed: the worker's bytes must be these."""
    images: set[str] = field(default_factory=set)
    """The image files this run wrote (``images/<unit id>.png``)."""


@app.command()
def extract(
    ctx: typer.Context,
    paths: Annotated[list[Path], typer.Argument(help="PDF/PPTX files or folders (searched recursively).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder: units.jsonl and images/.")],
    quiet: Annotated[bool, flag("--quiet", "-q", help="No progress bar; failures and summary only.")] = False,
) -> None:
    """Split documents into figure units: DIR/units.jsonl (one unit a line) and DIR/images/*.png."""
    from figvault.ingest.extract import file_bounds, iter_listed

    settings = state(ctx).settings
    check_inputs(paths)
    listed = list(iter_listed(paths))
    files = [path for path, _ in listed]
    missing = [p for p in paths if not p.exists()]
    for p in missing:
        typer.echo(escaped(f"FAILED {p}: no such file or folder"), err=True)
    (out / "images").mkdir(parents=True, exist_ok=True)
    tally = _Tally(failures=[(p, "no such file or folder") for p in missing])
    files = _hashed(files, file_bounds(listed), tally)
    _write_units(settings.extract, files, out, tally, quiet=quiet)
    _print_summary(out, tally)
    if tally.failures:
        raise typer.Exit(1)


def _hashed(files: list[Path], bounds: dict[str, Bounds], tally: _Tally) -> list[Path]:
    """The files read where they were listed (``open_within``), each one's hash kept in ``tally``: a worker
    that then reads other bytes (a link swapped in meanwhile) fails the file, as ingest does. A file that
    cannot be read so fails now (FAILED line)."""
    from figvault.errors import ExtractionError
    from figvault.pipeline.failures import unreadable_reason
    from figvault.pipeline.file_digests import FileDigests

    digests = FileDigests(bounds=bounds)
    readable = []
    for path in files:
        try:
            tally.hashes[str(path)] = digests.sha256(path)
        except (OSError, ExtractionError) as exc:
            reason = unreadable_reason(exc)
            tally.failures.append((path, reason))
            typer.echo(escaped(f"FAILED {path}: {reason}"), err=True)
            continue
        readable.append(path)
    return readable


def _write_units(
    extract_settings: ExtractSettings, files: list[Path], out: Path, tally: _Tally, *, quiet: bool
) -> None:
    """Extract ``files`` into ``out``/units.jsonl and ``out``/images/, counting into ``tally``."""
    from figvault.ingest.extract import CHANGED_SINCE_READ
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
            if result.doc_sha256 != tally.hashes.get(str(path)):
                tally.failures.append((path, CHANGED_SINCE_READ))
                bar.write(escaped(f"FAILED {path}: {CHANGED_SINCE_READ}"), file=sys.stderr)
                continue
            tally.warnings += [(str(path), warning) for warning in result.warnings]
            tally.files_ok += 1
            tally.pages += result.meta.pages
            tally.ocr_timeouts += result.ocr_timeouts
            tally.images.update(_write_figures(fh, out, result.figures))
            tally.units += len(result.figures)
            bar.set_postfix(units=tally.units, failed=len(tally.failures))
    earlier = _images_named(out / "units.jsonl")
    os.replace(tmp_name, out / "units.jsonl")
    for name in earlier - tally.images:  # the earlier run's, named no more (a file of the user's stays)
        with contextlib.suppress(OSError):  # a folder of that name, a file not ours to remove
            (out / "images" / name).unlink(missing_ok=True)


def _images_named(units: Path) -> set[str]:
    """The image files a units.jsonl names (an earlier run's; none when there is none, or unreadable)."""
    try:
        lines = units.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return set()
    names = set()
    for line in lines:
        try:
            image = json.loads(line).get("image", "")
        except (ValueError, AttributeError):
            continue
        name = image[len("images/") :] if isinstance(image, str) and image.startswith("images/") else ""
        if name.endswith(".png") and "/" not in name and name != ".png":  # a file of images/, nothing else
            names.add(name)
    return names


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
