"""OCR in the extraction workers: each worker, forked from the fork server, starts with the engine loaded."""

from __future__ import annotations

from pathlib import Path

from figvault.ingest import ocr
from figvault.pipeline.extract_worker import ExtractLimits, extract_limited, run_limited
from figvault.settings import ExtractSettings
from figvault.units import split_figure_text
from tests.ingest.test_ocr import needs_tesseract, picture_pdf, text_picture


def engines_loaded() -> int:
    """In a worker: how many Tesseract engines the process had before doing anything."""
    return ocr._api.cache_info().currsize


@needs_tesseract
def test_a_worker_starts_with_the_engine_and_reads_words(tmp_path: Path) -> None:
    settings = ExtractSettings(workers=1)
    limits = ExtractLimits.from_settings(settings)
    assert run_limited(engines_loaded, (), limits, verb="look") == 1
    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    extraction = extract_limited(path, settings).extraction
    assert "replication" in split_figure_text(extraction.figures[0].unit.figure_text)[1].lower()
