"""Hostile files of the seventh pass (``hostile_seventh``): work MuPDF does outside the page's own
operators is counted with the page; each file is read or refused alone, within its bounds, and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from tests.ingest import hostile_seventh as h7

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
OVER_BYTES = "page 1: skipped, its content decompresses past 16 MiB"


@pytest.mark.parametrize("space", ["Separation", "Indexed", "DeviceN"])
def test_an_images_own_colour_space_counts_its_tint_transform(tmp_path: Path, space: str) -> None:
    # Before: an image's own colour space was not looked at; one image whose tint transform samples
    # 16,000,000 x 3 values (48 KB) took 365 MB, ten (470 KB) passed the 2 GiB limit: the document lost.
    result = extract_document(
        h7.image_space_pdf(tmp_path / "tint.pdf", 16_000_000, space, images=2), SETTINGS
    )
    assert result.figures == [] and result.warnings == [OVER_BYTES]
    small = extract_document(h7.image_space_pdf(tmp_path / "small.pdf", 256, space, images=2), SETTINGS)
    assert not small.warnings and len(small.figures) == 1
