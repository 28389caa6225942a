"""Section headings carried into figures' context (docs/extraction.md step 8): what is no heading."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings

NOTES = (
    ("Orders rose in the North; the pipeline chart", "shows stage mix."),
    ("Churn fell in every region after the onboarding", "change. Ask finance for the cohort split."),
)


def _notes_page(doc: pymupdf.Document, notes: tuple[str, ...], seed: int) -> None:
    """A notes page as LibreOffice exports it: the slide's picture at the top (a column chart with its
    small labels), the speaker notes under it at 20 pt, each line written as a text block of its own."""
    page = doc.new_page(width=540, height=720)
    page.draw_rect(pymupdf.Rect(90, 54, 450, 324), color=(0, 0, 0), width=0.5)
    page.insert_text((110, 80), f"Slide {seed} metrics", fontsize=14)
    for i, h in enumerate((60, 120, 90, 150 + seed)):
        page.draw_rect(
            pymupdf.Rect(130 + i * 75, 290 - h, 180 + i * 75, 290), color=None, fill=(0.2, 0.4, 0.8)
        )
        page.insert_text((140 + i * 75, 302), f"Q{i + 1} 2025", fontsize=7)
    for k in range(8):
        page.insert_text((100, 292 - k * 25), f"{k * 25} units", fontsize=7)
    for i, line in enumerate(notes):
        page.insert_text((61 + 17 * (i > 0), 366 + 24 * i), line, fontsize=20)
    page.insert_text((527, 714), str(seed), fontsize=12)


def test_speaker_notes_are_no_heading_carried_into_later_pages(tmp_path: Path) -> None:
    """Layout class "notes page": the notes under a slide's picture, set large and one block a line, read
    as headings; their last line ("shows stage mix.") became the section heading of the next pages (their
    context). Notes are running text: no later page's context holds them."""
    doc = pymupdf.open()
    for seed, notes in enumerate((NOTES[0], (), NOTES[1], ()), start=1):
        _notes_page(doc, notes, seed)
    path = tmp_path / "notes.pdf"
    doc.save(path)
    units = [f.unit for f in extract_document(path, ExtractSettings(workers=1, ocr=False)).figures]
    assert [u.page for u in units] == [1, 2, 3, 4]
    for unit in units:
        for line in (line for notes in NOTES for line in notes):
            assert line not in unit.context, (unit.page, unit.context)


def test_a_heading_that_reads_as_no_sentence_is_still_carried(tmp_path: Path) -> None:
    """A large line that is no sentence (a section heading) stays the heading of the pages after it."""
    doc = pymupdf.open()
    _notes_page(doc, ("Regional results for the second quarter",), 1)
    _notes_page(doc, (), 2)
    path = tmp_path / "heading.pdf"
    doc.save(path)
    units = [f.unit for f in extract_document(path, ExtractSettings(workers=1, ocr=False)).figures]
    assert "Regional results for the second quarter" in units[1].context
