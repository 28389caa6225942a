"""The corpus half of ``bench/ocr_words.py``: the words of tuning questions that only OCR can bring.

For each labelled question of the **tuning halves** (never the reporting halves) its answer units are
found in the extraction (``retrieval.evaluation.is_hit``); the question's content terms that the unit's
text without OCR (its figure text from the document, caption, context, label) lacks are the ones OCR must
read. Recall: the share of those found in the OCR part of the unit's stored ``figure_text``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from dev_split import load_split  # noqa: E402
from extraction import corpus_dir, distractors_dir, run_extraction  # noqa: E402

from figvault.ingest import ocr  # noqa: E402
from figvault.ingest.deadline import cpu_now  # noqa: E402
from figvault.retrieval.evaluation import EvalQuery, is_hit, load_queries  # noqa: E402
from figvault.retrieval.evidence import terms  # noqa: E402
from figvault.settings import ExtractSettings  # noqa: E402
from figvault.units import DocumentExtraction, FigureUnit, split_figure_text  # noqa: E402

LABELS = REPO / "bench" / "labels"
SETTINGS = ExtractSettings(ocr_timeout_s=600.0, workers=1)
Reader = Callable[[Image.Image], list[ocr.OcrLine]]


def tuning_questions() -> list[EvalQuery]:
    """The answerable questions of the tuning halves: dev questions by dev_split.json, the rest by their own
    ``split``."""
    split = load_split()
    questions = [q for q in load_queries(corpus_dir() / "dev_queries.jsonl") if split.get(q.id) == "tune"]
    for name in ("questions", "corpus_questions"):
        questions += [q for q in load_queries(LABELS / f"{name}.jsonl") if q.split == "tune"]
    return [q for q in questions if q.doc]


def document_path(name: str) -> Path:
    for folder in (corpus_dir() / "docs", distractors_dir() / "docs"):
        if (folder / name).is_file():
            return folder / name
    raise SystemExit(f"document {name} is in neither the corpus nor the distractors")


def base_terms(unit: FigureUnit) -> set[str]:
    """The unit's terms that do not come from OCR."""
    own = split_figure_text(unit.figure_text)[0]
    return terms(" ".join([own, unit.caption, unit.context, unit.label or ""]))


def extract_with(reader: Reader, files: list[Path]) -> tuple[list[DocumentExtraction], float, int]:
    """Extraction of ``files`` with every OCR read done by ``reader``; its reads' CPU-s and count."""
    spent = [0.0, 0]
    saved = ocr.read_lines

    def read(image: Image.Image, *_: Any, **__: Any) -> list[ocr.OcrLine]:
        start = cpu_now()  # the reads run in a helper process: its CPU counts too
        try:
            return reader(image)
        finally:
            spent[0] += cpu_now() - start
            spent[1] += 1

    ocr.read_lines = read  # type: ignore[assignment]
    try:
        done, failed, _ = run_extraction(files, SETTINGS)
    finally:
        ocr.read_lines = saved
    if failed:
        raise SystemExit(f"extraction failed: {failed}")
    return done, spent[0], int(spent[1])


def corpus_recall(names: list[str], variants: dict[str, Reader]) -> int:
    questions = tuning_questions()
    files = sorted({document_path(q.doc) for q in questions if q.doc})
    print(f"{len(questions)} answerable tuning questions over {len(files)} documents")
    columns = ["questions with OCR-only terms", "OCR-only terms found", "questions with all found"]
    columns += ["OCR words stored", "reads", "OCR CPU-s / read"]
    print("| variant | " + " | ".join(columns) + " |\n" + "| --- " * 7 + "|")
    for name in names:
        done, cpu, reads = extract_with(variants[name], files)
        units = [f.unit for ex in done for f in ex.figures]
        asked = found = complete = with_terms = 0
        for q in questions:
            answers = [u for u in units if is_hit(q, u.doc, u.page, u.label, u.bbox)]
            if not answers:
                continue
            needed = min((terms(q.query) - base_terms(u) for u in answers), key=len)
            if not needed:
                continue
            best = max(len(needed & terms(split_figure_text(u.figure_text)[1])) for u in answers)
            with_terms += 1
            asked += len(needed)
            found += best
            complete += best == len(needed)
        stored = sum(len(split_figure_text(u.figure_text)[1].split()) for u in units)
        cells = [str(with_terms), f"{found}/{asked} = {found / max(asked, 1):.3f}", str(complete)]
        cells += [str(stored), str(reads), f"{cpu / max(reads, 1):.3f}"]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0
