"""``figvault demo [--out DIR]``: make the sample documents, extract them, show what came out.

The demo is a list of steps over one ``DemoRun``; later issues add steps (ingest, search) to
``DEMO_STEPS`` without touching the ones before.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from figvault.commands import app, state
from figvault.errors import ModelUnavailableError
from figvault.settings import Settings, config_argument, default_data_dir


@dataclass
class DemoRun:
    ctx: typer.Context
    settings: Settings
    docs_dir: Path
    console: Console
    documents: list[Path] = field(default_factory=list)
    extract_dir: Path | None = None
    units: list[dict[str, Any]] = field(default_factory=list)
    ingested: bool = False


DemoStep = Callable[[DemoRun], None]


def write_samples(run: DemoRun) -> None:
    from figvault.ingest.samples import write_sample_documents

    run.documents = write_sample_documents(run.docs_dir)
    run.console.print(
        f"[bold]1. sample documents[/bold] in {run.docs_dir}: " + ", ".join(p.name for p in run.documents)
    )


def extract_units(run: DemoRun) -> None:
    from figvault.commands.extract import extract

    run.extract_dir = run.settings.data_dir / "demo" / "extract"
    run.console.print(f"[bold]2. extract[/bold] -> {run.extract_dir}")
    # The same code path as `figvault extract`, so the demo shows exactly what users get.
    extract(run.ctx, paths=run.documents, out=run.extract_dir, quiet=True)
    lines = (run.extract_dir / "units.jsonl").read_text(encoding="utf-8").splitlines()
    run.units = [json.loads(line) for line in lines if line.strip()]


def show_units(run: DemoRun) -> None:
    from figvault.commands._retrieval_cli import caption_cell

    table = Table(title="figure units", show_lines=False)
    for column in ("doc", "page", "kind", "label", "caption", "image"):
        table.add_column(column, overflow="fold")
    for unit in run.units:
        table.add_row(
            unit["doc"],
            str(unit["page"]),
            unit["kind"],
            unit.get("label") or "",
            caption_cell(unit.get("caption") or "", unit.get("title") or "", 60),
            f"{unit['width']}x{unit['height']}",
        )
    run.console.print(table)


DEMO_TENANT = "demo"
"""The demo's documents live in their own tenant, apart from the user's own documents."""
DEMO_QUESTION = "which chart compares revenue across regions?"


def ingest_samples(run: DemoRun) -> None:
    from figvault.commands._retrieval_cli import one_line_errors, quiet_store_logs
    from figvault.pipeline.ingest_pipeline import ingest_paths

    quiet_store_logs()
    run.console.print(
        f"[bold]3. ingest[/bold] into tenant {DEMO_TENANT!r} (--config {config_argument(run.settings)})"
    )
    try:
        from figvault.encoders.factory import build_encoders

        build_encoders(run.settings)  # resolves weights only: fails in well under a second when missing
    except ModelUnavailableError as exc:
        # The default profile needs OpenCLIP weights; say what is missing and how to run the demo anyway.
        run.console.print(f"   skipped: {exc}")
        run.console.print(f"   The offline profile needs no downloads: {program()} --config offline demo")
        run.ingested = False
        return
    run.console.print(
        "   extracting, loading the text models and encoding: a minute or more on a busy machine..."
    )
    with one_line_errors():
        report = ingest_paths(run.settings, run.documents, groups=[], tenant=DEMO_TENANT, progress=False)
    run.ingested = True
    for failed in report.failed:
        run.console.print(f"FAILED {failed.path}: {failed.error}")
    run.console.print(f"   {report.summary()}")


def answer_sample_question(run: DemoRun) -> None:
    from figvault.access import local_operator
    from figvault.commands._retrieval_cli import caption_cell, one_line_errors
    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest

    if not run.ingested:
        return
    run.console.print(f"[bold]4. search[/bold] {DEMO_QUESTION!r}")
    with one_line_errors():
        engine = SearchEngine.from_settings(run.settings)
        response = engine.search(local_operator(DEMO_TENANT), SearchRequest(query=DEMO_QUESTION, top_k=3))
    table = Table(title="top results", show_lines=False)
    for column in ("#", "score", "doc", "page", "label", "caption"):
        table.add_column(column, overflow="fold")
    for rank, hit in enumerate(response.results, start=1):
        caption = caption_cell(hit.caption, hit.title, 70)
        table.add_row(str(rank), f"{hit.score:.4f}", hit.doc, str(hit.page), hit.label or "", caption)
    run.console.print(table)
    run.console.print(f"Try your own: {search_hint(run.settings)}")
    if run.settings.profile == "offline":
        run.console.print(
            f"Offline profile (text + BM25). Full profile with image search: {program()} --config default"
            " ... (downloads the OpenCLIP weights once)."
        )


def program() -> str:
    """How this run was invoked (``.venv/bin/figvault`` from the README), so a printed command works when
    pasted; ``figvault`` under ``python -m``."""
    return shlex.quote(sys.argv[0]) if Path(sys.argv[0]).name == "figvault" else "figvault"


def search_hint(settings: Settings) -> str:
    """The command that searches what the demo ingested: this program, profile and data folder (a
    search of another data folder would find nothing, and say nothing about why)."""
    folder = settings.data_dir
    data = "" if folder == default_data_dir() else f" --data-dir {shlex.quote(str(folder))}"
    config = shlex.quote(config_argument(settings))
    return f'{program()} --config {config}{data} search --tenant {DEMO_TENANT} "your question"'


DEMO_STEPS: list[DemoStep] = [
    write_samples,
    extract_units,
    show_units,
    ingest_samples,
    answer_sample_question,
]


def run_demo(run: DemoRun, steps: list[DemoStep] | None = None) -> DemoRun:
    for step in steps or DEMO_STEPS:
        step(run)
    return run


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the sample documents (default: <data_dir>/demo/docs)."),
    ] = None,
) -> None:
    """Write a sample PDF and PPTX, extract their figure units, index them and answer a sample question."""
    settings = state(ctx).settings
    docs_dir = out or settings.data_dir / "demo" / "docs"
    run = DemoRun(ctx=ctx, settings=settings, docs_dir=docs_dir, console=Console(soft_wrap=True))
    run_demo(run)
