"""A font dictionary written directly in a page's resources (legal PDF: no object number of its own) is
read and counted like any other font."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_budget import ContentBudget
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.ingest import hostile_fresh as hf
from tests.ingest.hostile_docs import direct_fonts_pdf

SETTINGS = ExtractSettings(libreoffice="off", ocr=False)


def test_a_page_whose_font_is_a_direct_dictionary_is_read(tmp_path: Path) -> None:
    # Before: the budget looked the font's keys up by MuPDF's xref 0 for it: 'page 1: unreadable (bad
    # xref)', no figure.
    page = direct_fonts_pdf(tmp_path / "direct.pdf", figure_pdf(tmp_path / "base.pdf", seed=3))
    with pymupdf.open(page) as doc:
        assert [font[0] for font in doc[0].get_fonts()] == [0]  # direct: no object number
    result = extract_document(page, SETTINGS)
    assert result.warnings == []
    assert len(result.figures) == 2


def test_a_direct_type3_font_counts_the_paths_its_glyphs_draw(tmp_path: Path) -> None:
    # Before: the page was lost to the same 'bad xref' (not to its cost); a direct Type 3 font now counts
    # its glyphs' paths as an indirect one does (test_hostile_fresh's flood, its font made direct).
    flood = hf.type3_pdf(tmp_path / "flood.pdf", paths_per_glyph=1000, glyphs=1000)
    page = direct_fonts_pdf(tmp_path / "direct.pdf", flood)
    with pymupdf.open(page) as doc:
        assert [font[0] for font in doc[0].get_fonts()] == [0]
        assert ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations >= 1000 * 1000
    result = extract_document(page, SETTINGS)
    assert any(w.startswith("page 1: skipped, 1,000,001 drawing operations") for w in result.warnings)
