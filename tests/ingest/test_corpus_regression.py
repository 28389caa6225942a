"""Extraction quality on the shared evaluation corpus must not fall below what it reaches today.

The floors sit a little under the measured numbers (docs/extraction.md): a drop means a real regression.
PDFs only: the PPTX extractor is held to its own numbers by its own tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from figvault.settings import ExtractSettings

REPO = Path(__file__).resolve().parents[2]

RECALL_FLOOR = 0.96
PRECISION_FLOOR = 0.95
CAPTION_FLOOR = 0.96


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_extraction", REPO / "bench" / "extraction.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pdf_extraction_quality_floor(corpus: Path) -> None:
    result = _bench().score_corpus(corpus, ExtractSettings(workers=1), pdf_only=True)
    total = result.total
    detail = result.as_dict()["by_doc"]
    assert total.gold >= 70, "the corpus gold list changed; re-measure and update the floors"
    assert total.recall >= RECALL_FLOOR, detail
    assert total.precision >= PRECISION_FLOOR, detail
    assert total.caption_accuracy >= CAPTION_FLOOR, detail
