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
