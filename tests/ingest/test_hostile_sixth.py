"""Hostile files of the sixth pass (``hostile_sixth``): each is read or refused alone, within its bounds,
and says why it gives no unit."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_budget import ContentBudget
from figvault.settings import ExtractSettings
from tests.ingest import hostile_sixth as h6

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
SKIPPED = "page 1: skipped, {:,} drawing operations (more than 4 x extract.max_page_drawing_ops = 50,000)"
WHOLE = (
    "page 1: {:,} drawing operations (extract.max_page_drawing_ops = 50,000): rendered as one unit, without"
    " layout analysis"
)


def _cost(path: Path) -> tuple[int, int]:
    with pymupdf.open(path) as doc:
        cost = ContentBudget(doc, 16 * 2**20).page_cost(doc[0], 50_000)
    return cost.operations, cost.characters


@pytest.mark.parametrize("shared", [False, True])
def test_an_annotation_drawn_from_its_points_counts_them(tmp_path: Path, shared: bool) -> None:
    # Before: an Ink annotation without appearance stream was no operation at all (the chart's 9 counted);
    # MuPDF draws it from its points: 1,000,000 of them (8 MB of file) took 24.5 CPU-s and 540 MB. Shared:
    # 30 strokes naming one array of 10,000 points (80 KB), 300,000 points drawn.
    ink = h6.ink_pdf(tmp_path / "ink.pdf", 10_000, strokes=30, shared=shared)
    operations, _ = _cost(ink)
    assert operations >= 300_000
    result = extract_document(ink, SETTINGS)
    assert result.figures == [] and result.warnings == [SKIPPED.format(operations)]
    signed = extract_document(h6.ink_pdf(tmp_path / "signature.pdf", 2_000, shared=shared), SETTINGS)
    assert not signed.warnings and len(signed.figures) == 1


def test_an_annotation_of_many_points_is_rendered_whole(tmp_path: Path) -> None:
    operations, _ = _cost(ink := h6.ink_pdf(tmp_path / "ink.pdf", 60_000))
    assert 60_000 <= operations <= 200_000
    result = extract_document(ink, SETTINGS)
    assert len(result.figures) == 1 and result.warnings == [WHOLE.format(operations)]


def test_text_laid_out_into_an_annotation_counts_as_characters_shown(tmp_path: Path) -> None:
    # Before: a FreeText annotation's contents were not counted; MuPDF lays them out to draw it: 200 of
    # 50,000 characters each (10 MB of file) took 7.8 CPU-s and 1 GB, one of 2,000,000 1.8 CPU-s and 322 MB.
    flood = h6.free_text_pdf(tmp_path / "flood.pdf", annotations=3, chars=400_000)
    _, characters = _cost(flood)
    assert characters >= 1_200_000
    result = extract_document(flood, SETTINGS)
    assert result.figures == [] and result.warnings == [
        f"page 1: skipped, it shows {characters:,} characters (more than 1,000,000)"
    ]
    note = extract_document(h6.free_text_pdf(tmp_path / "note.pdf", annotations=3, chars=400), SETTINGS)
    assert not note.warnings and len(note.figures) == 1
