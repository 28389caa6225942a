"""bench/retrieval.py reuses an ingested data folder only for the same stored units: a setting that changes
what extraction stores (how many figures a page OCR reads) makes another folder, one that changes only its
speed (workers) does not."""

from __future__ import annotations

from pathlib import Path

from figvault.settings import load_settings
from tests.helpers.bench_module import load_bench


def test_the_cache_folder_follows_the_extraction_settings(tmp_path: Path) -> None:
    bench = load_bench("retrieval")
    doc = tmp_path / "a.pdf"
    doc.write_bytes(b"%PDF-1.4")
    settings = load_settings("offline")

    def folder(**extract: object) -> Path:
        changed = settings.model_copy(update={"extract": settings.extract.model_copy(update=extract)})
        return bench.cache_dir(tmp_path, "offline", "labelled", [doc], changed)

    assert folder() == folder(workers=7, worker_nice=3)
    assert folder(ocr_max_per_page=2) != folder()
    assert folder(ocr_timeout_s=600) != folder()
