"""Extraction quality on the shared evaluation corpus must not fall below what it reaches today.

The floors sit a little under the measured numbers (docs/extraction.md): a drop means a real regression.
PDFs only: the PPTX extractor is held to its own numbers by its own tests.
"""

from __future__ import annotations

from pathlib import Path

from figvault.settings import ExtractSettings
from tests.helpers.bench_module import load_bench

RECALL_FLOOR = 0.96
PRECISION_FLOOR = 0.95
CAPTION_FLOOR = 0.96


def test_pdf_extraction_quality_floor(corpus: Path) -> None:
    result = load_bench("extraction").score_corpus(corpus, ExtractSettings(workers=1), pdf_only=True)
    total = result.total
    detail = result.as_dict()["by_doc"]
    assert total.gold >= 70, "the corpus gold list changed; re-measure and update the floors"
    assert total.recall >= RECALL_FLOOR, detail
    assert total.precision >= PRECISION_FLOOR, detail
    assert total.caption_accuracy >= CAPTION_FLOOR, detail
