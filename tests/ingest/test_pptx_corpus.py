"""Regression floor for the PPTX decks of the shared corpus (same scoring as bench/extraction.py).

Boxes come from the slide XML, not from pixels, so LibreOffice is off here: same boxes, a fraction of the
time. Measured when written (docs/pptx.md): recall 0.96, precision 0.92 on 25 gold figures.
"""

from __future__ import annotations

from pathlib import Path

from figvault.ingest.extract import extract_document
from figvault.ingest.scoring import Prediction, load_gold, score
from figvault.settings import ExtractSettings

DECKS = (
    "alz-networking-diagrams.pptx",
    "alz-process-visuals.pptx",
    "raft-user-study-2013.pptx",
    "waf-review-template.pptx",
)
RECALL_FLOOR = 0.92
PRECISION_FLOOR = 0.88


def test_pptx_corpus_floor(corpus: Path) -> None:
    settings = ExtractSettings(libreoffice="off")
    predictions: list[Prediction] = []
    for name in DECKS:
        result = extract_document(corpus / "docs" / name, settings)
        predictions += [
            Prediction(doc=name, page=f.unit.page, bbox=f.unit.bbox, kind=f.unit.kind.value,
                       label=f.unit.label, caption=f.unit.caption)
            for f in result.figures
        ]  # fmt: skip
    gold = load_gold(corpus / "figures.jsonl", docs=DECKS)
    assert len(gold) == 25
    total = score(gold, predictions).total
    assert total.recall >= RECALL_FLOOR, total.as_dict()
    assert total.precision >= PRECISION_FLOOR, total.as_dict()
