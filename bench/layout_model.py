"""Evaluate PyMuPDF's ONNX layout model (pymupdf.layout via pymupdf4llm.to_json) as a figure finder.

    .venv/bin/python bench/layout_model.py [--corpus DIR] [--json]

Scores the model's ``picture`` boxes alone, each given the text of the nearest ``caption`` box in its
column, with the same rules as bench/extraction.py, next to figvault's heuristic extractor; prints
pages/s for both (one process). The result decides settings.extract.use_layout_model (docs/extraction.md).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from extraction import corpus_dir, corpus_files, predictions_of, run_extraction

from figvault.ingest.scoring import Prediction, Score, load_gold, score
from figvault.settings import ExtractSettings

Box = tuple[float, float, float, float]


def _nearest_caption(picture: Box, captions: list[tuple[Box, str]]) -> str:
    best, best_gap = "", float("inf")
    for box, text in captions:
        overlap = min(picture[2], box[2]) - max(picture[0], box[0])
        if overlap <= 0:
            continue
        gap = box[1] - picture[3] if box[1] >= picture[3] - 3 else picture[1] - box[3]
        if 0 - 3 <= gap < best_gap:
            best, best_gap = text, gap
    return best


def layout_model_predictions(files: list[Path]) -> tuple[list[Prediction], int, float]:
    import pymupdf
    import pymupdf.layout
    import pymupdf4llm

    predictions: list[Prediction] = []
    pages = 0
    start = time.perf_counter()
    for path in files:
        doc = pymupdf.open(path)
        data = json.loads(pymupdf4llm.to_json(doc))
        for page_data in data["pages"]:
            number = int(page_data["page_number"])
            page = doc[number - 1]
            boxes = page_data["boxes"]
            captions = [
                ((b["x0"], b["y0"], b["x1"], b["y1"]), page.get_textbox((b["x0"], b["y0"], b["x1"], b["y1"])))
                for b in boxes
                if b["boxclass"] == "caption"
            ]
            for b in boxes:
                if b["boxclass"] != "picture":
                    continue
                box = (b["x0"], b["y0"], b["x1"], b["y1"])
                caption = " ".join(_nearest_caption(box, captions).split())
                predictions.append(Prediction(path.name, number, box, "picture", None, caption))
        pages += doc.page_count
        doc.close()
    return predictions, pages, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus_dir())
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    files = corpus_files(args.corpus, with_pptx=False)
    gold = load_gold(args.corpus / "figures.jsonl", docs=[p.name for p in files])

    extractions, _, heuristic_s = run_extraction(files, ExtractSettings(workers=1))
    heuristic = score(gold, predictions_of(extractions))
    pages = sum(ex.meta.pages for ex in extractions)
    model_preds, model_pages, model_s = layout_model_predictions(files)
    model = score(gold, model_preds)

    rows: dict[str, tuple[Score, float]] = {
        "heuristic (figvault)": (heuristic, pages / heuristic_s),
        "layout model pictures": (model, model_pages / model_s),
    }
    if args.json:
        out = {name: {**s.total.as_dict(), "pages_per_s": round(v, 1)} for name, (s, v) in rows.items()}
        print(json.dumps(out, indent=2))
        return 0
    table = Table(title=f"PDF figure finding on the corpus ({pages} pages, one process)")
    for col in ("method", "recall", "precision", "caption acc.", "pages/s"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for name, (s, speed) in rows.items():
        t = s.total
        table.add_row(
            name, f"{t.recall:.3f}", f"{t.precision:.3f}", f"{t.caption_accuracy:.3f}", f"{speed:.1f}"
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
