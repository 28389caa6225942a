"""bench/ocr_cost.py: Tesseract variants are measured one at a time, and the engine is left as it was."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from figvault.ingest import ocr
from tests.helpers.bench_module import load_bench
from tests.ingest.test_ocr import needs_tesseract, text_picture


@needs_tesseract
def test_a_variant_is_measured_and_the_engine_keeps_its_settings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = load_bench("ocr_cost")
    Image.open(io.BytesIO(text_picture())).save(tmp_path / "000.png")
    (tmp_path / "index.json").write_text(json.dumps([{"file": "000.png", "cpu_s": 0.1}]))
    api = ocr._api(bench.SETTINGS.ocr_languages)
    default = api.GetVariableAsString("tessedit_do_invert")
    assert bench.variants(tmp_path, ["noinv=tessedit_do_invert:0"], top=None, repeat=1) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert [(row[0], row[-1]) for row in rows] == [("default", "1.000"), ("noinv", "1.000")]
    # The next read in this process (an extraction) reads as before, not with the variant.
    assert api.GetVariableAsString("tessedit_do_invert") == default


@needs_tesseract
def test_save_writes_the_images_extraction_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``save`` wraps ``ocr.read_lines``; extraction passes it the document's time left as a fourth
    argument, which the wrapper did not take: every read failed inside extraction (a warning each) and
    ``save`` wrote "0 images"."""
    from tests.ingest.test_ocr import picture_pdf

    bench = load_bench("ocr_cost")
    pdf = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    monkeypatch.setattr(bench, "corpus_files", lambda _folder: [pdf])
    monkeypatch.setattr(bench, "new_set_part", lambda _part: ([], set()))
    assert bench.save(tmp_path / "out") == 0
    rows = json.loads((tmp_path / "out" / "index.json").read_text())
    assert len(rows) == 1 and rows[0]["words"] >= 6
    assert Image.open(tmp_path / "out" / rows[0]["file"]).size == tuple(rows[0]["size"])
