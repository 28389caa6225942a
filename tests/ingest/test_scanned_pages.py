"""Pages that are one picture (scanned reports, decks saved as pictures): OCR makes them units."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw

from figvault.ingest import deskew, ocr, pdf, scanned_pages
from figvault.ingest.boxes import box_area, box_intersection
from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_layout import ImageBox
from figvault.ingest.scanned_pages import SCAN_MAX_TEXT_CHARS
from figvault.settings import ExtractSettings
from figvault.units import OCR_MARKER, split_figure_text
from tests.ingest import scanned_docs as docs

needs_tesseract = pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
TITLES = ("Quarterly Pipeline Review", "Regional Escalation Trends", "Hiring Plan Summary", "Open Risks")
"""Four slides: each page's picture has the same place, size and pixel size (a repeated image key), as in
every real scan or exported deck; only the same image object on many pages is a background."""


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter = box_intersection(a, b)
    return inter / (box_area(a) + box_area(b) - inter)


@needs_tesseract
def test_a_scanned_report_page_gives_its_chart_with_caption_words_and_context(tmp_path: Path) -> None:
    ex = extract_document(docs.report_page_pdf(tmp_path / "scan.pdf"), ExtractSettings(workers=1))
    assert len(ex.figures) == 1, [f.unit.bbox for f in ex.figures]
    unit = ex.figures[0].unit
    assert _iou(unit.bbox, docs.CHART_BOX) >= 0.6, unit.bbox
    assert unit.label == "Figure 3"
    assert unit.caption.startswith("Figure 3: Revenue by region")
    assert unit.title == "Revenue by region"
    words = split_figure_text(unit.figure_text)[1]
    assert "North" in words and "West" in words
    assert "warehouses" in unit.context and "Headcount" in unit.context
    assert "carriers" not in unit.figure_text  # the paragraphs are context, not the figure's words
    assert ex.warnings == []


@needs_tesseract
def test_a_page_scanned_in_strips_is_read_as_one_picture(tmp_path: Path) -> None:
    """Layout class "page in strips or tiles": four full-width bands that abut and together cover the page
    (at the same places on all three pages: a repeated position is no background here either)."""
    ex = extract_document(docs.report_page_pdf(tmp_path / "strips.pdf", bands=4), ExtractSettings(workers=1))
    assert len(ex.figures) == 1, [f.unit.bbox for f in ex.figures]
    unit = ex.figures[0].unit
    assert _iou(unit.bbox, docs.CHART_BOX) >= 0.6, unit.bbox
    assert unit.label == "Figure 3" and unit.title == "Revenue by region"
    assert "North" in split_figure_text(unit.figure_text)[1]


@needs_tesseract
@pytest.mark.parametrize("turn", [90, 270])
def test_a_page_scanned_sideways_is_read_upright(tmp_path: Path, turn: int) -> None:
    """A page fed sideways (the page stored turned, landscape): OCR's orientation detection turns it
    upright before it is read (not a slide); the unit's box is where the chart lies on the stored page,
    its picture upright (the chart is wider than high)."""
    path = docs.report_page_pdf(tmp_path / "turned.pdf", turn=turn)
    ex = extract_document(path, ExtractSettings(workers=1))
    assert len(ex.figures) == 1, [f.unit.bbox for f in ex.figures]
    figure = ex.figures[0]
    unit = figure.unit
    assert unit.label == "Figure 3" and unit.title == "Revenue by region"
    assert "North" in split_figure_text(unit.figure_text)[1] and "warehouses" in unit.context
    assert _iou(unit.bbox, docs.turned_box(docs.CHART_BOX, turn)) >= 0.6, unit.bbox
    assert unit.page_size == pymupdf.open(path)[0].rect[2:]
    assert unit.width > unit.height


@needs_tesseract
def test_a_page_scanned_a_few_degrees_off_is_levelled_before_it_is_read(tmp_path: Path) -> None:
    """At 5 degrees Tesseract read 110 of the page's 138 words (docs/extraction.md); levelled, all."""
    path = docs.report_page_pdf(tmp_path / "skewed.pdf", skew=5.0)
    texts: dict[int, str] = {}
    ex = pdf.extract_pdf_units(path, path.read_bytes(), "0" * 64, ExtractSettings(workers=1), texts)
    assert [f.unit.label for f in ex.figures] == ["Figure 3"]
    wanted = Counter(_words(" ".join(docs.PAGE_ONE_LINES)))
    read = Counter(_words(texts[1]))
    assert sum(min(n, read[word]) for word, n in wanted.items()) >= 0.95 * wanted.total(), texts[1]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _text_lines_page(paper: int = 255) -> Image.Image:
    """A page of "text": lines of dark marks 30 px apart, on paper of grey level ``paper``."""
    page = Image.new("L", (800, 1000), paper)
    draw = ImageDraw.Draw(page)
    for top in range(100, 900, 30):
        for left in range(80, 700, 60):
            draw.rectangle((left, top, left + 45, top + 10), fill=0)
    return page


def test_skew_is_measured_both_ways_and_a_level_page_is_left_alone() -> None:
    page = _text_lines_page()
    assert deskew.skew_angle(page) == 0.0
    for tilt in (-4.0, 3.0):
        assert deskew.skew_angle(page.rotate(tilt, fillcolor=255)) == pytest.approx(-tilt, abs=0.25)
    sideways = page.rotate(90, expand=True).rotate(3.0, fillcolor=255)
    assert deskew.skew_angle(sideways) == pytest.approx(-3.0, abs=0.25)
    # to a tenth of a degree (the fine search), on paper that is not white (a yellowed scan)
    assert deskew.skew_angle(page.rotate(3.25, fillcolor=255)) == pytest.approx(-3.25, abs=0.1)
    yellowed = _text_lines_page(paper=200).rotate(3.0, fillcolor=200)
    assert deskew.skew_angle(yellowed) == pytest.approx(-3.0, abs=0.25)


def test_skews_outside_the_bounds_and_slanted_marks_on_a_level_chart_are_left_alone() -> None:
    page = _text_lines_page()
    assert deskew.skew_angle(page.rotate(0.5, fillcolor=255)) == 0.0  # under MIN_SKEW_DEG: read as level
    assert deskew.skew_angle(page.rotate(12.0, fillcolor=255)) == 0.0  # past MAX_SKEW_DEG (searched to 10.5)
    speck = Image.new("L", (800, 1000), 255)
    ImageDraw.Draw(speck).line((100, 500, 400, 516), fill=0)  # a tilted stroke, under MIN_INK_PX of ink
    assert deskew.skew_angle(speck) == 0.0
    # Layout class "chart with a slanted line": level bars and a trend line at 5 degrees. The line is
    # sharpest at its own tilt, but the page gains there under MIN_GAIN (about 1.02): not a skew.
    chart = Image.new("L", (800, 1000), 255)
    draw = ImageDraw.Draw(chart)
    for i, height in enumerate((420, 180, 650, 300, 520, 240, 610, 350, 470, 150, 560, 390)):
        draw.rectangle((80 + i * 55, 900 - height, 115 + i * 55, 900), fill=0)
    draw.line((60, 150, 760, 211), fill=0, width=8)
    assert deskew.skew_angle(chart) == 0.0


def _tile(box: tuple[float, float, float, float]) -> ImageBox:
    return ImageBox(box=box, source_pixels=1, key=box)


def test_tiles_that_abut_are_one_page_picture_a_collage_with_gutters_is_not() -> None:
    w, h = docs.LETTER
    quarters = [(x, y, x + w / 2, y + h / 2) for x in (0.0, w / 2) for y in (0.0, h / 2)]
    assert scanned_pages.tiled_cover([_tile(b) for b in quarters], docs.LETTER) is not None
    gutter = 8.0  # a designed collage: photographs apart
    apart = [(x0 + gutter, y0 + gutter, x1 - gutter, y1 - gutter) for x0, y0, x1, y1 in quarters]
    assert scanned_pages.tiled_cover([_tile(b) for b in apart], docs.LETTER) is None
    assert scanned_pages.tiled_cover([_tile(b) for b in quarters[:3]], docs.LETTER) is None  # 75 %


def test_tiled_cover_counts_tiles_leaves_a_page_picture_alone_and_gives_the_largest() -> None:
    w, h = docs.LETTER
    bands = [
        (0.0, h * i / 64, w, h * (i + 1) / 64) for i in range(64)
    ]  # a scanner's bands, TILES_MAX of them
    assert scanned_pages.tiled_cover([_tile(b) for b in bands], docs.LETTER) is not None
    more = [(0.0, h * i / 65, w, h * (i + 1) / 65) for i in range(65)]
    assert scanned_pages.tiled_cover([_tile(b) for b in more], docs.LETTER) is None  # past TILES_MAX
    assert scanned_pages.tiled_cover([_tile((0.0, 0.0, w, h))], docs.LETTER) is None  # one picture: pdf.py's
    # A picture that covers the page alone, with a logo on it: a scan or a background, not tiles.
    stamped = [(0.0, 0.0, w, h), (w - 60.0, h - 40.0, w, h)]
    assert scanned_pages.tiled_cover([_tile(b) for b in stamped], docs.LETTER) is None
    unequal = [(0.0, 0.0, w, h * 0.3), (0.0, h * 0.3, w, h)]  # the largest is the page's picture
    assert scanned_pages.tiled_cover([_tile(b) for b in unequal], docs.LETTER).box == unequal[1]
    # Cover is counted in grid cells whose centre lies in a picture: bands from 10.15 % of the page down
    # hold the centre of cell 20 of 200 (10.25 %), so they cover exactly PAGE_COVER_SHARE (90 %).
    low = [(0.0, h * 0.1015, w, h * 0.55), (0.0, h * 0.55, w, h)]
    assert scanned_pages.tiled_cover([_tile(b) for b in low], docs.LETTER) is not None


@needs_tesseract
def test_stacked_figures_stay_two_across_their_caption_and_a_ruled_table_is_no_figure(tmp_path: Path) -> None:
    """Layout classes "figures stacked around a caption" (running text is a barrier: the 14 pt between each
    chart and the caption is within the join distance) and "ruled table" (rules only once its words are
    cleared)."""
    ex = extract_document(docs.stacked_figures_pdf(tmp_path / "stacked.pdf"), ExtractSettings(workers=1))
    units = sorted((f.unit for f in ex.figures), key=lambda u: u.bbox[1])
    assert [u.label for u in units] == ["Figure 1", "Figure 2"], [u.bbox for u in units]
    for unit, box in zip(units, docs.STACKED_BOXES, strict=True):
        assert _iou(unit.bbox, box) >= 0.6, unit.bbox
    assert all("Northgate" not in u.figure_text for u in units)


@needs_tesseract
def test_a_scanned_page_of_text_only_gives_no_unit(tmp_path: Path) -> None:
    ex = extract_document(
        docs.report_page_pdf(tmp_path / "text.pdf", with_chart=False), ExtractSettings(workers=1)
    )
    assert ex.figures == []


@needs_tesseract
def test_a_deck_saved_as_pictures_gives_one_unit_per_slide_titled_by_ocr(tmp_path: Path) -> None:
    ex = extract_document(docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES), ExtractSettings(workers=1))
    assert [f.unit.page for f in ex.figures] == [1, 2, 3, 4]
    for figure, title in zip(ex.figures, TITLES, strict=True):
        unit = figure.unit
        assert unit.bbox == (0.0, 0.0, *docs.SLIDE)
        assert unit.title == title
        assert "Escalations drop after onboarding" in split_figure_text(unit.figure_text)[1]
        assert figure.png.startswith(b"\x89PNG")


def test_without_ocr_a_slide_picture_is_still_a_unit_and_a_scanned_page_gives_none(tmp_path: Path) -> None:
    settings = ExtractSettings(workers=1, ocr=False)
    deck = extract_document(docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES), settings)
    assert [(f.unit.page, f.unit.figure_text) for f in deck.figures] == [(p, "") for p in (1, 2, 3, 4)]
    assert extract_document(docs.report_page_pdf(tmp_path / "scan.pdf"), settings).figures == []


@needs_tesseract
def test_the_setting_turns_it_off_and_the_page_cap_says_what_it_left(tmp_path: Path) -> None:
    deck = docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES)
    assert extract_document(deck, ExtractSettings(workers=1, scanned_pages=False)).figures == []
    capped = extract_document(deck, ExtractSettings(workers=1, scanned_max_pages=1))
    assert [f.unit.page for f in capped.figures] == [1]
    assert any("extract.scanned_max_pages" in w and "pages 2-4" in w for w in capped.warnings)


def test_a_searchable_scan_is_read_through_its_hidden_text_layer_without_ocr(tmp_path: Path) -> None:
    """Layout class "searchable scan": a scanner's invisible OCR layer over each page picture."""
    path = docs.report_page_pdf(tmp_path / "searchable.pdf", hidden_text=True)
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    assert len(ex.figures) == 1, [f.unit.bbox for f in ex.figures]
    unit = ex.figures[0].unit
    assert _iou(unit.bbox, docs.CHART_BOX) >= 0.6, unit.bbox
    assert unit.caption.startswith("Figure 3: Revenue by region") and unit.label == "Figure 3"
    assert "North" in unit.figure_text and OCR_MARKER not in unit.figure_text  # the document's own words
    assert "warehouses" in unit.context


def test_a_failure_on_one_picture_only_page_costs_that_page_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug or a damaged picture on one page must not cost the document (as on born-digital pages)."""
    real = scanned_pages.ScannedPages._slide_unit

    def broken_on_page_2(self, page, content, lines):  # type: ignore[no-untyped-def]
        if content.number == 2:
            raise ValueError("cannot draw this picture")
        return real(self, page, content, lines)

    monkeypatch.setattr(scanned_pages.ScannedPages, "_slide_unit", broken_on_page_2)
    ex = extract_document(
        docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES), ExtractSettings(workers=1, ocr=False)
    )
    assert [f.unit.page for f in ex.figures] == [1, 3, 4]
    assert ex.warnings == ["page 2: picture-only page not read (cannot draw this picture)"]


def test_a_page_with_text_over_its_picture_is_no_scan(tmp_path: Path) -> None:
    """A designed page on a background picture keeps its old reading: its text layer is read as ever."""
    import pymupdf

    path = docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES)
    doc = pymupdf.open(path)
    for page in doc:
        page.insert_text((40, 390), "x" * SCAN_MAX_TEXT_CHARS, fontsize=8)
    doc.save(tmp_path / "over.pdf")
    assert extract_document(tmp_path / "over.pdf", ExtractSettings(workers=1, ocr=False)).figures == []


def test_a_small_stamp_keeps_a_slide_read_a_large_title_over_it_makes_a_background(tmp_path: Path) -> None:
    """A deck saved as pictures with a printer's small page stamp (9 pt text over each picture) is still
    picture-only; the same pictures under a slide title set in 32 pt are backgrounds of designed pages
    (a divider slide's photograph), read by the layout analysis, not by OCR as a slide."""
    stamped = pymupdf.open(docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES))
    for n, page in enumerate(stamped, start=1):
        page.insert_text((20, docs.SLIDE[1] - 10), f"Printed copy {n}", fontsize=9)
    stamped.save(tmp_path / "stamped.pdf")
    ex = extract_document(tmp_path / "stamped.pdf", ExtractSettings(workers=1))
    assert [f.unit.page for f in ex.figures] == [1, 2, 3, 4]
    titled = pymupdf.open(docs.slide_deck_pdf(tmp_path / "deck.pdf", TITLES))
    for page in titled:
        page.insert_text((40, 60), "Part two", fontsize=32, fontname="hebo")
    titled.save(tmp_path / "titled.pdf")
    assert extract_document(tmp_path / "titled.pdf", ExtractSettings(workers=1)).figures == []


@needs_tesseract
def test_a_pptx_of_slides_pasted_as_pictures_gives_one_unit_per_slide_worded_and_titled(
    tmp_path: Path,
) -> None:
    """Layout class "slide saved as a picture" in a PPTX: a full-slide picture with no more than a stamp of
    text over it is the slide, titled by its title placeholder, else as its PDF page would be (OCR)."""
    titles = TITLES[:3]
    ex = extract_document(
        docs.slide_pictures_pptx(tmp_path / "pasted.pptx", titles), ExtractSettings(workers=1)
    )
    assert [f.unit.page for f in ex.figures] == [1, 2, 3], ex.warnings
    for figure, title in zip(ex.figures, titles, strict=True):
        unit = figure.unit
        assert unit.title == title
        assert box_area(unit.bbox) >= 0.9 * docs.SLIDE[0] * docs.SLIDE[1], unit.bbox
        assert "Escalations drop after onboarding" in split_figure_text(unit.figure_text)[1]
    assert "Confidential" in ex.figures[2].unit.figure_text


def _line(text: str, box: tuple[float, float, float, float]) -> scanned_pages._Line:
    return scanned_pages._Line(box, ocr.OcrLine(text, (0, 0, 0, 0)))


def test_the_caption_between_two_stacked_figures_is_the_nearer_ones() -> None:
    """Layout class "figures stacked around a caption": a "Figure N" line 6 pt under the upper figure and
    30 pt over the lower one is within CAPTION_REACH line heights of both; it is the upper one's (the other
    is at most OTHER_NEARER of the distance away), and the lower figure takes no caption."""
    upper, lower = (100.0, 100.0, 400.0, 300.0), (100.0, 346.0, 400.0, 546.0)
    caption = _line("Figure 1: Orders by month", (100.0, 306.0, 300.0, 316.0))
    assert scanned_pages.CAPTION_REACH * caption.height >= 30.0  # within reach of the lower figure too
    assert scanned_pages.caption_lines(upper, [caption], [lower]) == [caption]
    assert scanned_pages.caption_lines(lower, [caption], [upper]) == []
    assert scanned_pages.caption_lines(lower, [caption], []) == [caption]  # alone, the lower one takes it


def test_a_headline_over_small_print_is_text_a_word_read_in_a_picture_is_not() -> None:
    """An OCR line over TEXT_LINE_RISE times the page's median height is no text line (a short word read
    in a picture's texture: its box is the picture's), unless it is a headline, HEADLINE_ASPECT times as wide
    as high (a small-type slide's title, which came back as a "figure" before 665f456)."""
    body = _line("units shipped by the northern depots", (72.0, 200.0, 400.0, 210.0))
    headline = _line("Quarterly Pipeline Review", (72.0, 40.0, 500.0, 76.0))
    texture = _line("Ra", (300.0, 300.0, 360.0, 340.0))
    assert scanned_pages.text_lines_of([body, headline, texture], 10.0) == [body, headline]


def test_two_regions_grown_over_the_same_labels_are_one_figure() -> None:
    """Two inked regions of one chart (its bars cut apart by a gap wider than JOIN_PT) each grow over the
    row of tick labels under both: they are one figure (one chart came back twice before 665f456). A region
    whose labels are its own stays apart."""
    left, right = (100.0, 100.0, 200.0, 200.0), (230.0, 100.0, 330.0, 200.0)
    apart = (100.0, 400.0, 200.0, 500.0)
    ticks = _line("Q1 Q2 Q3", (150.0, 204.0, 280.0, 212.0))
    own = _line("2024", (120.0, 504.0, 160.0, 512.0))
    boxes = sorted(scanned_pages.labelled([left, right, apart], [ticks, own]))
    assert boxes == [(100.0, 100.0, 330.0, 212.0), (100.0, 400.0, 200.0, 512.0)]


@needs_tesseract
def test_an_untitled_figure_on_a_small_type_slide_takes_the_slides_title(tmp_path: Path) -> None:
    """Layout class "slide in small type" saved as a picture: its words are too small for a slide picture
    (SLIDE_TYPE_SHARE), so its figures are found as on a scanned page; a figure with no title of its own
    takes the slide's title, as on a born-digital slide (665f456)."""
    ex = extract_document(docs.small_type_slide_pdf(tmp_path / "small.pdf"), ExtractSettings(workers=1))
    charts = [f.unit for f in ex.figures if f.unit.bbox[0] >= 300]
    assert len(charts) == 1, [f.unit.bbox for f in ex.figures]
    assert charts[0].title == docs.SMALL_SLIDE_TITLE
    assert box_area(charts[0].bbox) < 0.5 * docs.SLIDE[0] * docs.SLIDE[1]  # the chart, not the slide
