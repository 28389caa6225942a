"""A Tesseract engine that fails to load in the fork server costs OCR, not every extraction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.ingest.test_ocr import needs_tesseract

SCRIPT = """
import sys
from pathlib import Path
from figvault.pipeline.extract_worker import extract_limited
from figvault.settings import ExtractSettings
from tests.ingest.test_ocr import noise_picture, picture_pdf

path = picture_pdf(Path(sys.argv[1]) / "plain.pdf", [(noise_picture(), (72, 100, 504, 373))])
print("figures", len(extract_limited(path, ExtractSettings(workers=1)).extraction.figures))
"""


@needs_tesseract
def test_extraction_works_when_the_preloaded_engine_fails(tmp_path: Path) -> None:
    tessdata = tmp_path / "tessdata"
    tessdata.mkdir()
    (tessdata / "eng.traineddata").write_bytes(b"not a traineddata file" * 100)  # Tesseract init raises
    env = {**os.environ, "TESSDATA_PREFIX": str(tessdata)}
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "figures 1" in done.stdout
