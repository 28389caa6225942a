"""Multi-panel vector figure grids and slide-like pages: one titled unit per chart panel, slide titles."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image, ImageDraw

from figvault.ingest import ocr
from figvault.ingest.boxes import box_iou
from figvault.ingest.extract import extract_document
from figvault.ingest.panels import picture_title
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction
from tests.generated_docs import (
    figure_png,
    gridded_bar_panel,
    pie_panel,
    ruled_table,
    share_bar_panel,
    stacked_bar_panel,
    survey_page_pdf,
    titled_picture_png,
)

TITLES = ("Role", "Clusters under management", "Oldest version in production")


def _extract(path: Path) -> DocumentExtraction:
    return extract_document(path, ExtractSettings(workers=1, ocr=False))


def _matched(ex: DocumentExtraction, boxes: list[tuple[float, float, float, float]]) -> list[str]:
    """The title of the unit that covers each drawn panel (IoU > 0.8), in the order of the boxes."""
    titles = []
    for box in boxes:
        hits = [f.unit for f in ex.figures if box_iou(f.unit.bbox, box) > 0.8]
        assert len(hits) == 1, (box, [f.unit.bbox for f in ex.figures])
        titles.append(hits[0].title)
    return titles


@pytest.mark.parametrize("backdrop", [False, True], ids=["on-white", "on-a-shared-card"])
def test_titled_chart_panels_under_a_page_title_are_one_unit_each(tmp_path: Path, backdrop: bool) -> None:
    path, boxes = survey_page_pdf(tmp_path / "survey.pdf", TITLES, backdrop=backdrop)
    ex = _extract(path)
    assert len(ex.figures) == 3
    assert _matched(ex, boxes) == list(TITLES)
    for figure in ex.figures:
        assert figure.unit.caption == "" and figure.unit.label is None
        assert "Production readiness" not in figure.unit.figure_text  # the page title glues nothing
        assert "Answer 1" in figure.unit.figure_text  # the legend belongs to its panel


def test_a_grid_of_four_panels_on_a_portrait_page(tmp_path: Path) -> None:
    titles = ("Cluster count", "Node count", "Upgrade cadence", "Release channel")
    path, boxes = survey_page_pdf(tmp_path / "grid.pdf", titles, size=(612, 792), backdrop=True)
    ex = _extract(path)
    assert len(ex.figures) == 4
    assert _matched(ex, boxes) == list(titles)


@pytest.mark.parametrize(
    ("rows", "path_per_series"), [(2, False), (4, True)], ids=["two-bars", "one-path-per-series"]
)
def test_bar_charts_on_gridlines_without_a_bar_series_are_one_unit_each(
    tmp_path: Path, rows: int, path_per_series: bool
) -> None:
    """Gridlines with bars between them and no curved path: charts (not ruled tables), one unit per panel.

    Two bars are no series of three; bars exported as one path per colour are no single-rectangle bars."""

    def draw(page: pymupdf.Page, box: tuple[float, float, float, float], title: str, seed: int) -> object:
        return gridded_bar_panel(page, box, title, seed, rows=rows, path_per_series=path_per_series)

    titles = ("Disable beta APIs", "Audit logging", "Network policies", "Pod security")
    path, boxes = survey_page_pdf(tmp_path / "gridded.pdf", titles, draw=draw)
    ex = _extract(path)
    assert len(ex.figures) == 4
    assert _matched(ex, boxes) == list(titles)


@pytest.mark.parametrize("centred", [False, True], ids=["left-aligned-cells", "centred-cells"])
def test_a_ruled_table_under_a_chart_is_no_figure(tmp_path: Path, centred: bool) -> None:
    """Rows of text cells between the rules make a table: the chart above it is the only unit."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    chart = gridded_bar_panel(page, (80, 100, 420, 300), "Upgrade cadence", 3, rows=3)
    ruled_table(page, (80, 360, 420, 520), centred=centred)
    path = tmp_path / "chart_and_table.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert [f.unit.title for f in ex.figures] == ["Upgrade cadence"]
    assert box_iou(ex.figures[0].unit.bbox, chart) > 0.8


def test_untitled_side_by_side_charts_are_separate_units(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    boxes = [
        stacked_bar_panel(page, (60, 100, 290, 260), None, 1),
        stacked_bar_panel(page, (320, 100, 550, 260), None, 2),
    ]
    path = tmp_path / "pair.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 2
    assert _matched(ex, boxes) == ["", ""]  # a portrait page has no slide title to fall back on


def test_slide_like_page_gives_its_title_to_an_uncaptioned_figure(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 70), "Hub and spoke network topology", fontsize=32, fontname="hebo")
    page.insert_text((60, 130), "Shared services sit in the hub", fontsize=16)
    picture = (300, 150, 900, 500)
    page.insert_image(pymupdf.Rect(picture), stream=figure_png(7, (600, 350)))
    path = tmp_path / "slide.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert box_iou(unit.bbox, picture) > 0.9
    assert unit.title == "Hub and spoke network topology"
    assert unit.caption == ""


def test_portrait_page_heading_is_no_title_of_a_figure_far_below_it(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 70), "Annual report", fontsize=24, fontname="hebo")
    page.insert_image(pymupdf.Rect(100, 300, 500, 550), stream=figure_png(3, (400, 250)))
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert [f.unit.title for f in ex.figures] == [""]


def _slide(doc: pymupdf.Document, title: str) -> pymupdf.Page:
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 60), title, fontsize=32, fontname="hebo")
    return page


def test_small_box_and_arrow_diagram_on_a_slide_is_a_figure(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _slide(doc, "Quality checks: raw data")
    for top, label in ((170, "Sequence data"), (250, "FASTQC")):  # two labelled boxes, one arrow
        page.draw_rect((40, top, 200, top + 36), color=(0, 0, 0), fill=(0.8, 0.6, 0.6), width=1)
        page.insert_text((60, top + 22), label, fontsize=12, fontname="hebo")
    page.draw_line((120, 206), (120, 250), color=(0.4, 0.3, 0.5), width=1.5)
    page.insert_text((300, 200), "The quality checks at this stage in the workflow include:", fontsize=18)
    path = tmp_path / "flow.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert box_iou(unit.bbox, (40, 170, 200, 286)) > 0.8  # the lead-in sentence beside it is not a label
    assert unit.title == "Quality checks: raw data"
    assert "Sequence data" in unit.figure_text


def test_a_sticker_moved_around_from_slide_to_slide_is_decoration(tmp_path: Path) -> None:
    doc = pymupdf.open()
    sticker = figure_png(11, (120, 120))
    topics = ("Roadmap", "Networking", "Identity", "Policy", "Monitoring", "Release notes")
    for n, topic in enumerate(topics):
        page = _slide(doc, topic)
        x = 820 - 30 * (n % 3)  # the same picture, placed a little differently on each slide
        page.insert_image(pymupdf.Rect(x, 420, x + 90, 510), stream=sticker)
    page.insert_image(pymupdf.Rect(300, 120, 700, 400), stream=figure_png(12, (400, 280)))
    path = tmp_path / "deck.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert [(f.unit.page, f.unit.title) for f in ex.figures] == [(6, "Release notes")]


def test_full_height_screenshot_beside_slide_text_is_kept(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _slide(doc, "Example file")
    shot = (520, 0, 860, 540)  # touches the top and bottom edges, a third of the slide wide
    page.insert_image(pymupdf.Rect(shot), stream=figure_png(13, (340, 540)))
    path = tmp_path / "shot.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 1
    assert box_iou(ex.figures[0].unit.bbox, shot) > 0.9


def test_a_logo_in_a_slide_corner_is_decoration(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = _slide(doc, "Efficiency as a function of bandwidth")
    page.insert_image(pymupdf.Rect(873, 8, 958, 93), stream=figure_png(21, (90, 90)))  # an event badge
    picture = (16, 113, 700, 370)
    page.insert_image(pymupdf.Rect(picture), stream=figure_png(22, (700, 250)))
    page.insert_text((60, 420), "Bandwidth needed per data type", fontsize=18)
    path = tmp_path / "bandwidth.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 1
    assert box_iou(ex.figures[0].unit.bbox, picture) > 0.9


PICTURE_LINES = ("Position in read (bp)", "Quality scores across all bases", "Mean quality per position")


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
@pytest.mark.parametrize("heading", ["Per base sequence quality", None], ids=["heading-inside", "no-heading"])
def test_a_heading_printed_inside_a_picture_is_its_title(tmp_path: Path, heading: str | None) -> None:
    """The first large line at the top of a picture (read by OCR) is its title, before the slide's."""
    doc = pymupdf.open()
    page = _slide(doc, "Quality checks: raw data")
    lines = PICTURE_LINES if heading else ("Sequence length distribution", *PICTURE_LINES)
    page.insert_image(pymupdf.Rect(200, 130, 760, 450), stream=titled_picture_png(heading, lines))
    path = tmp_path / "plots.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1))
    assert [f.unit.title for f in ex.figures] == [heading or "Quality checks: raw data"]


def test_picture_title_is_the_first_line_when_it_is_large() -> None:
    body = [(f"Body line {i} of the page", (10, 120 + 30 * i, 600, 140 + 30 * i)) for i in range(4)]
    wrapped = [("Azure Virtual Network Manager in", (10, 2, 600, 40)), ("Landing Zones", (10, 48, 260, 86))]
    assert picture_title(wrapped + body, 900) == "Azure Virtual Network Manager in Landing Zones"
    assert picture_title([("@Overrepresented sequences", (8, 1, 362, 46)), *body], 500) == (
        "Overrepresented sequences"  # the plot's status icon, read as a symbol, is dropped
    )
    site_header = [("AWS Open Source Blog", (13, 17, 316, 44)), ("Introducing Search", (17, 84, 564, 130))]
    blog = [(f"Blog text line {i}", (10, 150 + 40 * i, 900, 178 + 40 * i)) for i in range(4)]
    assert picture_title(site_header + blog, 700) is None  # a site header above the heading
    assert picture_title([("Large but low", (10, 600, 300, 650)), *body], 700) is None


@pytest.mark.parametrize(("gap", "units"), [(2.0, 2), (0.0, 1)], ids=["plots-2pt-apart", "tiles-abutting"])
def test_pictures_points_apart_are_two_figures_tiles_one(tmp_path: Path, gap: float, units: int) -> None:
    doc = pymupdf.open()
    page = _slide(doc, "Quality checks: raw data")
    page.insert_image(pymupdf.Rect(100, 150, 340, 330), stream=figure_png(31, (240, 180)))
    page.insert_image(pymupdf.Rect(340 + gap, 150, 580 + gap, 330), stream=figure_png(32, (240, 180)))
    path = tmp_path / "plots.pdf"
    path.write_bytes(doc.tobytes())
    assert len(_extract(path).figures) == units


@pytest.mark.parametrize("body", [False, True], ids=["divider", "with-body-text"])
def test_a_section_divider_icon_is_decoration(tmp_path: Path, body: bool) -> None:
    """Layout class "section-divider slide": a title and one square-ish icon of ~200 pt, nothing else."""
    doc = pymupdf.open()
    page = _slide(doc, "Policy refresh updates")
    icon = (560, 170, 770, 380)
    page.insert_image(pymupdf.Rect(icon), stream=figure_png(31, (300, 300)))
    if body:  # the same picture beside the slide's text is content
        for n, line in enumerate(("Three policies were renamed this quarter", "Two were retired")):
            page.insert_text((50, 200 + 30 * n), line, fontsize=16)
    path = tmp_path / "divider.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert [box_iou(f.unit.bbox, icon) > 0.9 for f in ex.figures] == ([True] if body else [])


def test_full_width_charts_keep_their_axis_lines(tmp_path: Path) -> None:
    """Layout class "full-width chart axis": a value axis wider than 60 % of the page carries the bars and
    gridlines of its chart; it is no page rule (the header rule above the charts still is)."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((40, 60), "Survey results 2020", fontsize=20, fontname="hebo")
    page.draw_line((40, 70), (572, 70), color=(0.3, 0.3, 0.3), width=0.8)  # a header rule, alone
    titles = ("Upgrade cadence", "Release channel")
    boxes = [
        gridded_bar_panel(page, (40, top, 572, top + 180), t, n)
        for n, (t, top) in enumerate(zip(titles, (120, 330), strict=True))
    ]
    path = tmp_path / "wide.pdf"
    path.write_bytes(doc.tobytes())
    assert _matched(_extract(path), boxes) == list(titles)


@pytest.mark.parametrize("bars", [1, 2, 3])
@pytest.mark.parametrize("backdrop", [False, True], ids=["on-white", "on-a-shared-card"])
def test_panels_of_stacked_bars_are_one_unit_each(tmp_path: Path, backdrop: bool, bars: int) -> None:
    """Layout class "100 % stacked bar": bars of abutting segments are a chart (no axes, no bar series of
    three on a baseline), one bar alone too; the 2-3 bars of a panel, drawn apart, are one panel. Each
    panel is its own unit with its own title."""
    titles = ("Role", "Clusters under management", "Oldest version", "Release channel")

    def draw(page: pymupdf.Page, box: tuple[float, float, float, float], title: str, seed: int) -> object:
        return share_bar_panel(page, box, title, seed, bars=bars)

    path, boxes = survey_page_pdf(tmp_path / "shares.pdf", titles, backdrop=backdrop, draw=draw)
    assert _matched(_extract(path), boxes) == list(titles)


def test_a_slide_that_is_one_screenshot_is_a_figure_backgrounds_and_scans_are_not(tmp_path: Path) -> None:
    """Layout class "screenshot slide": a picture covering the whole slide, drawn over the template's
    footer, is the slide's figure; a page-covering picture under the slide's text is its background, and
    a document of page-covering pictures on most pages is a scan (no units)."""
    doc = pymupdf.open()
    for n, topic in enumerate(("Benchmark setup", "Results", "Repository", "Next steps")):
        page = _slide(doc, topic)
        page.insert_text((50, 520), f"Benchmark talk 2025 | {n + 1}", fontsize=9)  # the template's footer
        if n == 1:  # a background picture with the slide's text on top
            page.insert_image(page.rect, stream=figure_png(41, (480, 270)), overlay=False)
        if n == 2:  # the whole slide is a screenshot, over the footer
            page.insert_image(page.rect, stream=figure_png(42, (480, 270)))
    path = tmp_path / "talk.pdf"
    path.write_bytes(doc.tobytes())
    assert [(f.unit.page, f.unit.bbox) for f in _extract(path).figures] == [(3, (0.0, 0.0, 960.0, 540.0))]
    scan = pymupdf.open()
    for n in range(4):
        scan.new_page(width=960, height=540).insert_image(
            pymupdf.Rect(0, 0, 960, 540), stream=figure_png(50 + n)
        )
    (tmp_path / "scan.pdf").write_bytes(scan.tobytes())
    assert _extract(tmp_path / "scan.pdf").figures == []


@pytest.mark.parametrize("tile", [(80, 80), (160, 90)], ids=["square-headshots", "slide-thumbnails"])
def test_a_row_of_headshots_is_decoration_a_row_of_thumbnails_is_not(tmp_path: Path, tile: tuple) -> None:
    """Layout class "row of headshots": small square pictures of one size in a row (a slide's presenters)
    are no figure; a row of 16:9 slide thumbnails is one."""
    doc = pymupdf.open()
    page = _slide(doc, "This month's presenters")
    w, h = tile
    for n in range(5):
        x = 120 + n * (w + 14)
        page.insert_image(pymupdf.Rect(x, 150, x + w, 150 + h), stream=figure_png(60 + n, (w * 3, h * 3)))
    path = tmp_path / "row.pdf"
    path.write_bytes(doc.tobytes())
    assert len(_extract(path).figures) == (0 if w == h else 1)


def test_pie_charts_of_a_survey_page_are_one_titled_unit_each(tmp_path: Path) -> None:
    """Layout class "pie chart": four filled wedges around one centre are a chart, though they are fewer
    than six paths and have no axes; each pie is a unit with its own title."""
    doc = pymupdf.open()
    page = doc.new_page(width=792, height=612)
    page.insert_text((36, 40), "Production readiness at a glance", fontsize=20, fontname="hebo")
    titles = ("Clusters per team", "Cloud provider", "Service mesh")
    boxes = [
        pie_panel(page, centre, 80, title)
        for centre, title in zip(((180, 200), (560, 200), (180, 440)), titles, strict=True)
    ]
    path = tmp_path / "pies.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 3
    assert _matched(ex, boxes) == list(titles)


def test_a_pie_title_centred_and_wider_than_the_pie_is_its_title(tmp_path: Path) -> None:
    """Layout class "centred chart title": a chart tool centres a long title over a narrow pie, past its
    sides; the page title stays the page's."""
    doc = pymupdf.open()
    page = doc.new_page(width=792, height=612)
    page.insert_text((36, 40), "Production readiness at a glance", fontsize=20, fontname="hebo")
    titles = ("Share of workloads running in containers", "Cloud provider")
    boxes = [
        pie_panel(page, centre, 70, title)
        for centre, title in zip(((200, 220), (580, 220)), titles, strict=True)
    ]
    path = tmp_path / "pies.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 2
    assert _matched(ex, boxes) == list(titles)


def _card_png(colour: tuple[int, int, int]) -> bytes:
    """A tinted rounded box, the background of a text card (a picture with no word of its own)."""
    image = Image.new("RGB", (400, 90), (0, 0, 0))
    ImageDraw.Draw(image).rounded_rectangle((0, 0, 399, 89), radius=18, fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_columns_of_text_cards_on_pictures_are_one_infographic(tmp_path: Path) -> None:
    """Layout class "text cards on pictures": three columns of cards, each card a tinted picture with the
    slide's text over it. Each column covers over 6 % of the slide, so each was a picture panel kept apart
    from the others (three units); the columns are one infographic."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((46, 60), "Release wave 1, April 2024", fontsize=32, fontname="hebo")
    card = _card_png((40, 90, 100))
    for col, heading in enumerate(("Guardrails", "Guidance", "Previews")):
        x = 45 + 300 * col
        page.insert_text((x + 90, 200), heading, fontsize=18, fontname="hebo")
        for row in range(3):
            y = 220 + 70 * row
            page.insert_image(pymupdf.Rect(x, y, x + 280, y + 65), stream=card, keep_proportion=False)
            for n, words in enumerate(("Additional sovereign controls", "for compliance needs")):
                page.insert_text((x + 20, y + 26 + 18 * n), words, fontsize=14, color=(1, 1, 1))
    path = tmp_path / "cards.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    assert len(ex.figures) == 1
    assert box_iou(ex.figures[0].unit.bbox, (45, 190, 925, 430)) > 0.8
