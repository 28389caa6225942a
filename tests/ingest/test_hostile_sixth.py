"""Hostile files of the sixth pass (``hostile_sixth``): each is read or refused alone, within its bounds,
and says why it gives no unit."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymupdf
import pytest
from lxml import etree
from PIL import ImageDraw
from pptx import Presentation
from pptx.chart import series as pptx_series
from pptx.oxml.ns import qn

from figvault.errors import ExtractionError
from figvault.ingest import safety, slide_chart
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import PDF_MIME, page_texts
from figvault.ingest.pdf_budget import ContentBudget
from figvault.ingest.pdf_image_claims import jbig2_pixels
from figvault.ingest.slide_shapes import chart_text
from figvault.settings import ExtractSettings
from tests.ingest import hostile_sixth as h6
from tests.ingest import hostile_third as h3
from tests.ingest import pptx_decks as decks

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


def test_a_sketched_chart_draws_no_more_bars_and_labels_than_its_frame_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: a native chart of 20,000 categories drew 40,000 bars and 20,000 labels into a frame a few
    # hundred pixels wide; 300,000 points took 16.0 CPU-s, 52 of 107 profiled seconds in the labels.
    calls: Counter[str] = Counter()
    for name in ("text", "rectangle"):
        original = getattr(ImageDraw.ImageDraw, name)

        def counted(
            self: ImageDraw.ImageDraw, *args: Any, _o: Any = original, _n: str = name, **kw: Any
        ) -> Any:
            calls[_n] += 1
            return _o(self, *args, **kw)

        monkeypatch.setattr(ImageDraw.ImageDraw, name, counted)
    deck = decks.chart_deck(tmp_path / "chart.pptx", points=20_000)
    result = extract_document(deck, SETTINGS)
    assert len(result.figures) == 1 and "(20000 in all)" in result.figures[0].unit.figure_text
    width = result.figures[0].unit.width
    assert 0 < calls["text"] <= width // 4 and 0 < calls["rectangle"] <= 2 * width + 10


def test_chart_points_are_read_no_further_than_the_bound() -> None:
    # Before: every point element was looked at, however many past the bound (300,000: 23 profiled s).
    cache = etree.SubElement(etree.Element(qn("c:val")), qn("c:numCache"))
    etree.SubElement(cache, qn("c:ptCount")).set("val", "5")
    for i in range(1_000):
        point = etree.SubElement(cache, qn("c:pt"), idx=str(i % 5))
        etree.SubElement(point, qn("c:v")).text = str(i)
    seen = []

    class Watched:
        def iter(self, tag: str) -> Iterator[Any]:
            for element in cache.iter(tag):
                seen.append(element)
                yield element

    assert slide_chart._points(Watched(), 5) == {i: str(i) for i in range(5)}
    assert len(seen) <= 5


def test_a_series_name_is_read_without_python_pptxs_xpath(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: chart_text asked python-pptx's ``series.name`` (twice a series), an XPath libxml2 evaluated
    # over the whole series: 0.46 s a call at 300,000 points (load 20).
    chart = Presentation(str(decks.chart_deck(tmp_path / "chart.pptx"))).slides[0].shapes[1].chart
    names = [series.name for plot in chart.plots for series in plot.series]
    assert [slide_chart.series_name(s) for plot in chart.plots for s in plot.series] == names

    def slow(self: object) -> str:
        raise AssertionError("python-pptx's series.name")

    monkeypatch.setattr(pptx_series._BaseSeries, "name", property(slow))
    text = chart_text(chart)
    assert "series Units sold: 3, 7.5, 4" in text and "series Returns: 1, 0.5, 2" in text


@pytest.mark.parametrize("flate", [False, True])
def test_a_jbig2_image_claiming_a_huge_page_is_skipped_by_its_claim(tmp_path: Path, flate: bool) -> None:
    # Before: the dictionary's 64 x 64 pixels passed; rendering the figure made jbig2dec decode the 60,000 x
    # 60,000 page the segments declare: 12.5 CPU-s and 1 GB from 1 KB (two such images: past 2 GiB).
    result = extract_document(h6.jbig2_pdf(tmp_path / "claims.pdf", 60_000, flate), SETTINGS)
    assert result.figures == [] and result.warnings == [
        "page 1: embedded image of 3,600,000,000 pixels skipped (limit 200,000,000)",
        "page 1: figure skipped, it holds an image over the pixel limit",
    ]
    honest = extract_document(h6.jbig2_pdf(tmp_path / "honest.pdf", 64, flate), SETTINGS)
    assert not honest.warnings and len(honest.figures) == 1


def test_a_jbig2_image_whose_globals_object_is_missing_loses_no_page(tmp_path: Path) -> None:
    # Before: reading the missing globals for the claim check raised "bad xref", which failed the page,
    # so every page with such an image (a whole scanned document MuPDF reads) was lost (an audit, 2026-12-07).
    missing = b" /DecodeParms << /JBIG2Globals 999 0 R >>"
    result = extract_document(h6.jbig2_pdf(tmp_path / "globals.pdf", 64, parms=missing), SETTINGS)
    assert len(result.figures) == 1 and not any("could not be read" in w for w in result.warnings)
    claims = extract_document(h6.jbig2_pdf(tmp_path / "claims.pdf", 60_000, parms=missing), SETTINGS)
    assert claims.figures == [] and claims.warnings[0].startswith("page 1: embedded image of 3,600,000,000")


def test_jbig2_segment_headers_of_every_form_are_read() -> None:
    # 7.2: a long referred-to count with its retention bytes, 2-byte referred numbers, a 4-byte page field
    page_info = struct.pack(">IIIIBH", 5_000, 4_000, 0, 0, 0, 0)
    long_refs = struct.pack(">I", (7 << 29) | 9) + b"\0\0" + struct.pack(">9H", *range(9))
    head = struct.pack(">IB", 300, 48 | 0x40) + long_refs + struct.pack(">II", 1, len(page_info))
    segment = head + page_info
    assert jbig2_pixels(segment) == 20_000_000
    striped = page_info[:4] + struct.pack(">I", 0xFFFFFFFF) + page_info[8:]
    assert jbig2_pixels(struct.pack(">IBBBI", 0, 48, 0, 1, len(striped)) + striped) == 0
    assert jbig2_pixels(b"\0" * 5) == 0


def test_chart_points_past_the_bound_are_dropped_before_the_deck_is_parsed(tmp_path: Path) -> None:
    # Before: python-pptx parsed every point (about 370 bytes each): 300,000 points a list peaked at 1.3 GB,
    # 1,000,000 (a 26 MB deck) passed the worker's 2 GiB and the deck was lost. Now 564 and 982 MB.
    base = decks.chart_deck(tmp_path / "chart.pptx").read_bytes()
    deck = h3.chart_points_pptx(tmp_path / "many.pptx", base, 120_000)
    result = extract_document(deck, SETTINGS)
    dropped = "ppt/charts/chart1.xml: 120,000 chart points not read (a list of points is read up to 100,000)"
    assert dropped in result.warnings
    assert len(result.figures) == 1 and "(100000 in all)" in result.figures[0].unit.figure_text


def test_each_list_of_points_keeps_its_first_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "MAX_CHART_POINTS", 2)
    points = "".join(f'<c:pt idx="{i}"><c:v>{i}</c:v></c:pt>' for i in range(4))
    part = (
        f"<c:cat><c:strCache>{points}</c:strCache></c:cat><c:val><c:numLit>{points}<c:pt/></c:numLit></c:val>"
    )
    cut, dropped = safety._cut_points(part.encode())
    kept = "".join(f'<c:pt idx="{i}"><c:v>{i}</c:v></c:pt>' for i in range(2))
    assert dropped == 5
    assert (
        cut.decode()
        == f"<c:cat><c:strCache>{kept}</c:strCache></c:cat><c:val><c:numLit>{kept}</c:numLit></c:val>"
    )


@pytest.mark.parametrize(
    ("count", "reason"),
    [
        (1_000_000, "code=7: Invalid number of pages"),
        (-5, "code=7: Invalid number of pages"),
        (0, "its /Count is 0"),
    ],
)
def test_a_page_tree_whose_count_lies_is_counted_from_its_leaves(
    tmp_path: Path, count: int, reason: str
) -> None:
    # Before: the document failed whole ("Invalid number of pages"; "corrupt PDF: no pages" for 0) though its
    # one page reads.
    result = extract_document(h6.page_count_pdf(tmp_path / "count.pdf", count), SETTINGS)
    assert len(result.figures) == 1
    assert result.warnings == [f"page tree: {reason}; read as the 1 page(s) its tree holds"]


def test_a_page_tree_without_pages_still_fails_alone(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"^corrupt PDF: no pages$"):
        extract_document(h6.page_count_pdf(tmp_path / "none.pdf", 0, kids=b"[]"), SETTINGS)
    with pytest.raises(ExtractionError, match=r"^corrupt PDF: code=7: Invalid number of pages$"):
        extract_document(h6.page_count_pdf(tmp_path / "cycle.pdf", 9, kids=b"[2 0 R]"), SETTINGS)


def test_a_form_asking_for_new_appearances_counts_its_fields_values(tmp_path: Path) -> None:
    # Before: a field with an appearance stream was counted by that stream (empty here); with /NeedAppearances
    # MuPDF lays its value out again: 3,000,000 characters took 4.4 CPU-s and 436 MB, uncounted.
    redrawn = extract_document(h6.text_field_pdf(tmp_path / "redrawn.pdf", 1_200_000, True), SETTINGS)
    assert redrawn.figures == [] and redrawn.warnings == [
        "page 1: skipped, it shows 1,200,000 characters (more than 1,000,000)"
    ]
    kept = extract_document(h6.text_field_pdf(tmp_path / "kept.pdf", 1_200_000, False), SETTINGS)
    assert not kept.warnings and len(kept.figures) == 1


def test_a_widget_drawn_from_its_parent_fields_value_counts_it(tmp_path: Path) -> None:
    # Before: a widget without appearance and without a value of its own counted no character; MuPDF draws
    # it from its parent field's value.
    result = extract_document(h6.text_field_pdf(tmp_path / "kid.pdf", 1_200_000, False, True), SETTINGS)
    assert result.figures == [] and result.warnings == [
        "page 1: skipped, it shows 1,200,000 characters (more than 1,000,000)"
    ]


@pytest.mark.parametrize("count", [1_000_000, -5, 0])
def test_a_page_tree_whose_count_lies_gives_its_page_text(tmp_path: Path, count: int) -> None:
    # Before: page_text opened the file with MuPDF itself and gave {} (the text channel lost the page).
    data = h6.page_count_pdf(tmp_path / "count.pdf", count).read_bytes()
    texts = page_texts(data, PDF_MIME, SETTINGS)
    assert list(texts) == [1] and "Figure 1: a bar chart" in texts[1]
