"""Hostile files of the fourth pass (``hostile_fourth``): each is read or refused alone, within its bounds,
and says why it gives no unit."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from tests.ingest import hostile_fourth as h4

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)


@pytest.mark.parametrize(
    ("box", "warning"),
    [
        (
            b"[0 0 612 792] /UserUnit 0",
            "skipped, its page box is 0 x 0 pt (MediaBox [0 0 612 792], UserUnit 0; a page is at least 3 x 3"
            " pt): nothing on it can be shown",
        ),
        (
            b"[0 0 .001 .001]",
            "skipped, its page box is 1 x 1 pt (MediaBox [0 0 .001 .001]; a page is at least 3 x 3 pt):"
            " nothing on it can be shown",
        ),
        (
            b"[0 0 -612 -792]",
            "all it draws lies outside its page box (MediaBox [0 0 -612 -792]): nothing is shown, no unit",
        ),
    ],
)
def test_a_page_box_that_shows_nothing_says_so(tmp_path: Path, box: bytes, warning: str) -> None:
    # Before: no unit and no warning (the chart is drawn, but outside a box of 0 x 0 or 1 x 1 pt, or beside
    # a box at negative coordinates): the user could not tell why the page gave nothing.
    result = extract_document(h4.page_box_pdf(tmp_path / "box.pdf", box), SETTINGS)
    assert result.figures == [] and result.warnings == [f"page 1: {warning}"]


@pytest.mark.parametrize(
    "box", [b"[0 0 0 0]", b"[612 792 0 0]", b"[0 0 612 792] /UserUnit -5", b"[0 0 612 792]"]
)
def test_a_page_box_that_can_show_the_chart_gives_its_unit(tmp_path: Path, box: bytes) -> None:
    # MuPDF reads an empty MediaBox as US letter, an inverted one as its corners, a negative UserUnit as its
    # size: the chart is shown and read without a warning.
    result = extract_document(h4.page_box_pdf(tmp_path / "box.pdf", box), SETTINGS)
    assert len(result.figures) == 1 and result.warnings == []
