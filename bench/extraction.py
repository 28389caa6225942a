"""Extraction benchmark: quality against the corpus gold list, and speed (pages/s) for the PDFs.

    .venv/bin/python bench/extraction.py [--corpus DIR] [--json] [--no-speed] [--show-errors]
        [--new-set tune|report|both] [--ocr-speed] [--ingest-path] [--ocr-timeout S]

The corpus is FIGVAULT_CORPUS, else ../shared/corpus next to the repository. PPTX files are counted when
the PPTX extractor (figvault.ingest.pptx) is installed. Scoring rules: figvault/ingest/scoring.py.
``--new-set`` also scores the hand-labelled set of bench/labels (documents of ../shared/corpus-distractors,
FIGVAULT_DISTRACTORS), its tune and report parts separately (split.json; tune on "tune" only).
``--ocr-speed`` adds the pages/s with OCR off beside the default (on). The speed rows time ``extract_batch``
(a pool of processes reused for every document); ``--ingest-path`` times what ingest and ``figvault
extract`` run instead: one limited worker process per document (``extract_many``: forked from the fork
server, at ``extract.worker_nice``, under the time and memory limits, the page texts read too), so its
pages/s are what ingest gets; their CPU time is read from the fork server, which reaps them. The fork
server is started before an ingest row is timed (its start, once per process, is ``server_start_s``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from figvault.ingest.deadline import cpu_now
from figvault.ingest.extract import extract_batch
from figvault.ingest.scoring import Prediction, Score, Tally, load_gold, score
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction

REPO = Path(__file__).resolve().parents[1]
LABELS = REPO / "bench" / "labels"


def corpus_dir() -> Path:
    return Path(os.environ.get("FIGVAULT_CORPUS", REPO.parent / "shared" / "corpus"))


def corpus_files(corpus: Path, with_pptx: bool | None = None) -> list[Path]:
    """The corpus documents; PPTX only when an extractor for them is installed (or asked for)."""
    if with_pptx is None:
        with_pptx = importlib.util.find_spec("figvault.ingest.pptx") is not None
    suffixes = {".pdf", ".pptx"} if with_pptx else {".pdf"}
    return sorted(p for p in (corpus / "docs").iterdir() if p.suffix.lower() in suffixes)


def distractors_dir() -> Path:
    return Path(os.environ.get("FIGVAULT_DISTRACTORS", REPO.parent / "shared" / "corpus-distractors"))


def new_set_part(
    part: str, labels: Path = LABELS, pdf_only: bool = False
) -> tuple[list[str], set[tuple[str, int]]]:
    """The documents of one part of the hand-labelled set ("tune" or "report") and their labelled pages.

    ``pdf_only``: the part's PDFs only."""
    docs = json.loads((labels / "split.json").read_text())[part]
    if pdf_only:
        docs = [name for name in docs if name.lower().endswith(".pdf")]
    pages = set()
    for line in (labels / "pages.jsonl").read_text().splitlines():
        row = json.loads(line) if line.strip() else {}
        if row.get("doc") in docs:
            pages.update((row["doc"], int(n)) for n in row["pages"])
    return docs, pages


def score_new_set(
    part: str, settings: ExtractSettings, docs_dir: Path | None = None, pdf_only: bool = False
) -> Score:
    """Extract one part of the hand-labelled set and score it, precision over all its labelled pages.

    ``pdf_only``: its PDFs only (``--pdf-only``)."""
    docs, pages = new_set_part(part, pdf_only=pdf_only)
    folder = (docs_dir or distractors_dir()) / "docs"
    missing = [name for name in docs if not (folder / name).is_file()]
    if missing:
        # Every missing file would fail extraction and score as missed figures: a number, but a false one.
        raise SystemExit(
            f"the labelled set's {part} part: {len(missing)} of {len(docs)} documents not found in {folder}"
            " (set FIGVAULT_DISTRACTORS to the folder holding docs/)"
        )
    extractions, _, _ = run_extraction([folder / name for name in docs], settings)
    gold = load_gold(LABELS / "figures.jsonl", docs=docs)
    return score(gold, predictions_of(extractions), labelled_pages=pages)


def run_extraction(
    files: list[Path], settings: ExtractSettings, ingest_path: bool = False
) -> tuple[list[DocumentExtraction], dict[str, str], float]:
    """Extract the files; return extractions, failures (name -> reason) and the wall time in seconds.

    ``ingest_path``: one limited worker process per document, as ingest does (``extract_many``), instead
    of ``extract_batch``'s reused pool."""
    done: list[DocumentExtraction] = []
    failed: dict[str, str] = {}
    start = time.perf_counter()
    for path, result in _extracted(files, settings, ingest_path):
        if isinstance(result, str):
            failed[path.name] = result
        else:
            done.append(result)
    return done, failed, time.perf_counter() - start


def _extracted(
    files: list[Path], settings: ExtractSettings, ingest_path: bool
) -> Iterator[tuple[Path, DocumentExtraction | str]]:
    if not ingest_path:
        yield from extract_batch(files, settings)
        return
    from figvault.pipeline.extract_worker import extract_many

    for path, result in extract_many(files, settings):
        yield path, result if isinstance(result, str) else result.extraction


def predictions_of(extractions: list[DocumentExtraction]) -> list[Prediction]:
    return [
        Prediction(
            doc=f.unit.doc,
            page=f.unit.page,
            bbox=tuple(f.unit.bbox),
            kind=str(f.unit.kind),
            label=f.unit.label,
            caption=f.unit.caption,
            title=f.unit.title,
        )
        for ex in extractions
        for f in ex.figures
    ]


def score_corpus(corpus: Path, settings: ExtractSettings | None = None, pdf_only: bool = False) -> Score:
    """Extract the corpus and score it (the regression test calls this)."""
    settings = settings or ExtractSettings()
    files = corpus_files(corpus, with_pptx=False if pdf_only else None)
    extractions, _, _ = run_extraction(files, settings)
    gold = load_gold(corpus / "figures.jsonl", docs=[p.name for p in files])
    return score(gold, predictions_of(extractions))


def _tally_table(title: str, rows: dict[str, Tally], show_precision: bool = True) -> Table:
    table = Table(title=title)
    for col in ("", "gold", "matched", "recall"):
        table.add_column(col, justify="right" if col else "left")
    if show_precision:
        table.add_column("units*", justify="right")
        table.add_column("precision", justify="right")
    for col in ("captioned", "caption acc.", "titled", "title acc."):
        table.add_column(col, justify="right")
    for name, t in rows.items():
        cells = [name, str(t.gold), str(t.matched), f"{t.recall:.3f}"]
        if show_precision:
            cells += [str(t.predicted), f"{t.precision:.3f}"]
        cells += [str(t.captioned), f"{t.caption_accuracy:.3f}" if t.captioned else "-"]
        cells += [str(t.titled), f"{t.title_accuracy:.3f}" if t.titled else "-"]
        table.add_row(*cells)
    return table


SpeedRow = dict[str, float | int | bool | None]


def measure_speed(
    files: list[Path], settings: ExtractSettings, workers: int, ingest_path: bool = False
) -> SpeedRow:
    """Pages/s over the PDFs; the machine's load average is reported with it (shared machines vary).

    ``ingest_path``: through ingest's per-document worker processes (see ``run_extraction``)."""
    pdfs = [p for p in files if p.suffix.lower() == ".pdf"]
    settings = settings.model_copy(update={"workers": workers})
    server_start = start_worker_server(settings) if ingest_path else None
    load_before = os.getloadavg()[0]
    # workers=1 runs in this process: its CPU time is the extraction's; ingest's workers: the fork server's
    # (its OCR reads run in a helper child: ``cpu_now`` counts it)
    parent_before, workers_before = cpu_now(), _workers_cpu() if ingest_path else 0.0
    extractions, _, seconds = run_extraction(pdfs, settings, ingest_path)
    parent_cpu = cpu_now() - parent_before
    cpu = _workers_cpu() - workers_before if ingest_path else parent_cpu
    pages = sum(ex.meta.pages for ex in extractions)
    units = sum(len(ex.figures) for ex in extractions)
    per_cpu = (workers == 1 or ingest_path) and cpu > 0
    return {
        "workers": workers,
        "path": "ingest" if ingest_path else "batch",
        "ocr": settings.ocr,
        "pages": pages,
        "units": units,
        "seconds": round(seconds, 2),
        "pages_per_s": round(pages / seconds, 1) if seconds else 0.0,
        "load_avg_1m": round(load_before, 2),
        # Pages per CPU-second of the extraction: what a core gives when nobody else uses it.
        "pages_per_cpu_s": round(pages / cpu, 1) if per_cpu else None,
        # Ingest's path: what watching the workers (limits, cancel) costs the process that asked for them.
        "parent_cpu_s": round(parent_cpu, 2) if ingest_path else None,
        # Ingest's path: starting the workers' fork server, once per process, before the timed run.
        "server_start_s": round(server_start, 2) if server_start is not None else None,
        "cpus": os.cpu_count() or 0,
    }


def start_worker_server(settings: ExtractSettings) -> float:
    """Start ingest's worker fork server if it is not running (one empty worker), and return the seconds
    that took: about 1 s of imports the first time in a process, a fork's 40 ms after. Without it the first
    ingest row timed would carry the start alone (the OCR-on row with ``--ocr-speed``), and its pages/s
    would not compare with the others'."""
    from figvault.pipeline.extract_worker import ExtractLimits, run_limited

    start = time.perf_counter()
    run_limited(os.getpid, (), ExtractLimits.from_settings(settings), verb="start")
    return time.perf_counter() - start


def _workers_cpu() -> float:
    """CPU seconds of the ingest workers that ended so far: the fork server's reaped children.

    The standard library has no public way to the fork server's pid (only the private
    ``multiprocessing.forkserver._forkserver._forkserver_pid``): the server is found among this process's
    children by its command line, ``python -c 'from multiprocessing.forkserver import main; main(...)'``."""
    import psutil

    for child in psutil.Process().children():
        try:
            if any("multiprocessing.forkserver" in part for part in child.cmdline()):
                times = child.cpu_times()
                return times.children_user + times.children_system
        except psutil.NoSuchProcess:  # a batch pool's worker that ended meanwhile
            continue
    return 0.0


def speed_rows(
    files: list[Path], settings: ExtractSettings, ocr_off: bool, ingest_path: bool
) -> list[SpeedRow]:
    """2 workers and 1, OCR as set (and off, ``ocr_off``), through the batch pool (and ingest's path)."""
    variants = [settings] + ([settings.model_copy(update={"ocr": False})] if ocr_off else [])
    paths = [False, True] if ingest_path else [False]
    return [measure_speed(files, s, w, path) for s in variants for path in paths for w in (2, 1)]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--no-speed", action="store_true", help="skip the pages/s measurement")
    parser.add_argument("--ocr-speed", action="store_true", help="also measure pages/s with OCR off")
    parser.add_argument(
        "--ingest-path",
        action="store_true",
        help="also time the PDFs through ingest's per-document limited worker processes",
    )
    parser.add_argument("--pdf-only", action="store_true", help="score the PDFs only (corpus and new set)")
    parser.add_argument("--show-errors", action="store_true", help="list misses, extra units, wrong captions")
    parser.add_argument(
        "--new-set",
        choices=("tune", "report", "both"),
        help="also score the hand-labelled set of bench/labels (that part, or both side by side)",
    )
    parser.add_argument(
        "--layout-model", action="store_true", help="settings.extract.use_layout_model on (slow; see docs)"
    )
    parser.add_argument(
        "--ocr-timeout",
        type=float,
        help="extract.ocr_timeout_s for this run: on a loaded machine a read past the default 20 s of"
        " wall time is cut, and the titles and words it would give are lost to the load, not the code",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not (args.corpus / "figures.jsonl").exists():
        print(f"corpus not found at {args.corpus} (set FIGVAULT_CORPUS)", file=sys.stderr)
        return 2
    settings = ExtractSettings(use_layout_model=args.layout_model)
    if args.ocr_timeout:
        settings = settings.model_copy(update={"ocr_timeout_s": args.ocr_timeout})
    files = corpus_files(args.corpus, with_pptx=False if args.pdf_only else None)
    extractions, failed, _ = run_extraction(files, settings)
    gold = load_gold(args.corpus / "figures.jsonl", docs=[p.name for p in files])
    result = score(gold, predictions_of(extractions))
    pdf_result = score(
        [g for g in gold if g.doc.endswith(".pdf")],
        [p for p in predictions_of(extractions) if p.doc.endswith(".pdf")],
    )
    parts = ("tune", "report") if args.new_set == "both" else (args.new_set,) if args.new_set else ()
    new_set = {part: score_new_set(part, settings, pdf_only=args.pdf_only) for part in parts}
    speed = [] if args.no_speed else speed_rows(files, settings, args.ocr_speed, args.ingest_path)

    if args.json:
        out = {
            "files": [p.name for p in files],
            "failed": failed,
            "all": result.as_dict(),
            "pdf": pdf_result.as_dict()["total"],
            "new_set": {part: s.as_dict() for part, s in new_set.items()},
            "speed": speed,
            "load_avg": os.getloadavg(),
        }
        print(json.dumps(out, indent=2))
        return 0

    console = Console()
    console.print(
        _tally_table(
            "Overall (* units on pages that have gold figures)",
            {"all documents": result.total, "PDF only": pdf_result.total},
        )
    )
    console.print(_tally_table("By gold kind", dict(sorted(result.by_kind.items())), show_precision=False))
    console.print(_tally_table("By document", dict(sorted(result.by_doc.items()))))
    for part, part_score in new_set.items():
        _print_new_set(console, part, part_score)
    if speed:
        _print_speed(console, speed)
    for name, reason in failed.items():
        console.print(f"[red]failed[/red] {name}: {reason}")
    if args.show_errors:
        _print_errors(console, result)
        for part_score in new_set.values():
            _print_errors(console, part_score)
    return 0


def _print_new_set(console: Console, part: str, result: Score) -> None:
    title = f"Hand-labelled set, {part} part (* units on all labelled pages)"
    console.print(_tally_table(title, {"all": result.total, **dict(sorted(result.by_doc.items()))}))
    by_content = dict(sorted(result.by_content.items()))
    console.print(_tally_table(f"{part} part by content", by_content, show_precision=False))


def _print_speed(console: Console, speed: list[SpeedRow]) -> None:
    table = Table(title="Speed, PDFs (extraction incl. PNG rendering)")
    cols = ("workers", "path", "ocr", "pages", "units", "seconds", "pages/s", "pages/CPU-s", "load avg")
    cols += ("cpus", "server start s")
    for col in cols:
        table.add_column(col, justify="right")
    keys = ("workers", "path", "ocr", "pages", "units", "seconds", "pages_per_s", "pages_per_cpu_s")
    keys += ("load_avg_1m", "cpus", "server_start_s")
    for row in speed:
        table.add_row(*(str(row[k]) if row[k] is not None else "-" for k in keys))
    console.print(table)


def _print_errors(console: Console, result: Score) -> None:
    for g in result.misses:
        console.print(f"miss  {g.doc} p{g.page} {g.kind} {g.content or ''} {g.label} {g.bbox}")
    for p in result.false_units:
        console.print(f"extra {p.doc} p{p.page} {p.kind} {p.label} {tuple(round(v) for v in p.bbox)}")
    for g, p in result.wrong_captions:
        console.print(f"capt  {g.doc} p{g.page} gold={g.label!r} got={p.caption[:70]!r}")
    for g, p in result.wrong_titles:
        console.print(f"title {g.doc} p{g.page} gold={g.title!r} got={p.title[:70]!r}")


if __name__ == "__main__":
    raise SystemExit(main())
