"""Hostile files of the seventh pass (``hostile_seventh``): work MuPDF does outside the page's own
operators is counted with the page; each file is read or refused alone, within its bounds, and says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pptx import Presentation
from pptx.oxml.chart.plot import BaseChartElement

from figvault.ingest.extract import PPTX_MIME, extract_document
from figvault.ingest.page_text import page_texts
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


SKIPPED = "page 1: skipped, {:,} drawing operations (more than 4 x extract.max_page_drawing_ops = 50,000)"


def _ops(warnings: list[str]) -> int:
    return int(warnings[0].split(", ")[1].split()[0].replace(",", "")) if warnings else 0


@pytest.mark.parametrize("depth", [1, 3])
def test_a_soft_masks_group_counts_at_each_painting_under_it(tmp_path: Path, depth: int) -> None:
    # Before: a soft mask's group was not looked at; MuPDF draws it at each painting under the mask: 1,000
    # paintings under a group of 1,000 squares (5 KB) took 23 CPU-s and 1.5 GB; three groups each setting
    # the next (100 paintings, 30 squares a group: 2.9 million paths) ran past 150 s.
    flood = h7.soft_mask_pdf(
        tmp_path / "mask.pdf", uses=100, group_paths=30 if depth > 1 else 3_000, depth=depth
    )
    result = extract_document(flood, SETTINGS)
    assert result.figures == [] and result.warnings == [SKIPPED.format(_ops(result.warnings))]
    assert _ops(result.warnings) >= 100 * (30**depth if depth > 1 else 3_000)
    small = extract_document(h7.soft_mask_pdf(tmp_path / "small.pdf", 10, 3, depth=depth), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_a_soft_masks_transfer_function_counts_its_samples(tmp_path: Path) -> None:
    # Before: a mask's /TR sampling 20,000,000 values (21 KB) was read uncounted (258 MB).
    result = extract_document(h7.soft_mask_pdf(tmp_path / "tr.pdf", 10, transfer_values=20_000_000), SETTINGS)
    assert result.figures == [] and result.warnings == [OVER_BYTES]
    small = extract_document(h7.soft_mask_pdf(tmp_path / "small.pdf", 10, transfer_values=256), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


@pytest.mark.parametrize("part", ["ppt/slides/slide1.xml", "ppt/notesSlides/notesSlide1.xml"])
def test_a_part_of_millions_of_elements_loses_its_shapes_before_the_parse(tmp_path: Path, part: str) -> None:
    # Before: python-pptx parsed the whole part first (about 230 bytes an element): a slide of 9,000,043
    # elements peaked at 1.8 GB, its notes of 3,000,045 at 880 MB (6.8 CPU-s), then the slide was skipped.
    deck = h7.element_flood_pptx(tmp_path / "flood.pptx", 350_000, part)
    result = extract_document(deck, SETTINGS)
    elements = 1_050_043 if "slides/" in part else 1_050_045  # 3 a paragraph, and the part's own
    assert result.warnings[0] == (
        f"{part}: shapes not read, {elements:,} XML elements (a slide, layout, master or notes part is read"
        " up to 1,000,000)"
    )
    assert [f.unit.page for f in result.figures] == [2] and "Gateway" in result.figures[0].unit.figure_text
    texts = page_texts(deck.read_bytes(), PPTX_MIME)
    assert "Gateway" in texts[2] and "xkcd" not in texts.get(1, "")


def test_notes_without_a_body_placeholder_keep_the_decks_page_texts(tmp_path: Path) -> None:
    # Before: page_texts read every notes slide's body placeholder; a notes slide without one (as a part
    # emptied above leaves it, or as a tool may write it) raised, and the whole deck's page texts were {}.
    deck = h7.element_flood_pptx(tmp_path / "notes.pptx", 3, "ppt/notesSlides/notesSlide1.xml")
    prs = Presentation(str(deck))
    notes = prs.slides[0].notes_slide
    notes.shapes._spTree.remove(notes.notes_placeholder._element)
    prs.save(str(deck))
    texts = page_texts(deck.read_bytes(), PPTX_MIME)
    assert "some text" in texts[1] and "Gateway" in texts[2]


def test_a_type3_glyphs_shading_counts_at_each_character(tmp_path: Path) -> None:
    # Before: a glyph's `sh` was one operator a character; MuPDF decodes the mesh at each: a glyph painting
    # 200,000 triangles (4.8 MB) shown 20 times (50 KB of file) took 5.2 CPU-s, 1,000 times past 200 s.
    result = extract_document(h7.type3_shading_pdf(tmp_path / "glyph.pdf", 20, 200_000), SETTINGS)
    assert result.figures == [] and result.warnings == [OVER_BYTES]
    small = extract_document(h7.type3_shading_pdf(tmp_path / "small.pdf", 10, 100), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_a_page_of_tens_of_thousands_of_fonts_counts_their_loading(tmp_path: Path) -> None:
    # Before: a font was nothing to the budget; MuPDF loads each font a page uses: 100,000 fonts each showing
    # one letter (13 MB) ran past 200 s, 25,000 (3 MB) counted 25,009 operations and were analysed.
    result = extract_document(h7.many_fonts_pdf(tmp_path / "fonts.pdf", 25_000), SETTINGS)
    assert result.figures == [] and result.warnings == [SKIPPED.format(25_009 + 10 * 24_000)]
    small = extract_document(h7.many_fonts_pdf(tmp_path / "small.pdf", 200), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_a_chart_of_many_series_sorts_them_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: python-pptx's plot.series sorted every series again at each index (quadratic): 5,000 series
    # (277 KB deck) ran past 200 s, 100,000 past 240 s; now 0.7 and 10 CPU-s.
    sorts = [0]
    real = BaseChartElement.iter_sers

    def counted(self: BaseChartElement) -> Iterator[Any]:
        sorts[0] += 1
        return real(self)

    monkeypatch.setattr(BaseChartElement, "iter_sers", counted)
    result = extract_document(h7.many_series_pptx(tmp_path / "series.pptx", 300), SETTINGS)
    assert len(result.figures) == 1 and "series" in result.figures[0].unit.figure_text
    assert sorts[0] <= 10  # a few reads a plot, not one a series (before: over 600)
