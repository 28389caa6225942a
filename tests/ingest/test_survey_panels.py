"""Survey and KPI report pages (issue 13, item 1): one unit per titled chart panel, its own title.

Pages come from the generator of ``bench/survey_pages.py`` with one layout class forced per test (the
style, the chart kinds); the generator's ground truth says where each panel is and what its title says."""

from __future__ import annotations

import random
from pathlib import Path
from types import ModuleType

import pymupdf
import pytest

from figvault.ingest.extract import extract_document
from figvault.ingest.panels import has_pie
from figvault.ingest.pdf_layout import Cluster
from figvault.settings import ExtractSettings
from tests.helpers.bench_module import load_bench


@pytest.fixture(scope="module")
def survey() -> ModuleType:
    return load_bench("survey_pages")


PORTRAIT = (595.0, 842.0)
LANDSCAPE = (792.0, 612.0)


def _style(survey: ModuleType, **changes: object) -> object:
    base = {
        "title_font": "hebo",
        "title_size": 11.0,
        "question": False,
        "second_line": False,
        "legend": "below",
        "source": True,
        "frame": "none",
        "label_size": 7.5,
    }
    return survey.Style(**{**base, **changes})


def _page(
    survey: ModuleType, tmp_path: Path, kinds: tuple[str, ...], seed: int = 3, size=PORTRAIT, **style: object
) -> tuple[list[object], list[tuple[int, tuple[float, ...], str]]]:
    """One generated page of ``kinds`` panels: its ground truth and the units extracted (page, box, title)."""
    doc = pymupdf.open()
    gold = survey.survey_page(doc, random.Random(seed), size, _style(survey, **style), kinds)
    path = tmp_path / "survey.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    return gold, [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures]


def _assert_one_titled_unit_each(survey: ModuleType, gold: list[object], units: list[object]) -> None:
    result = survey.score_panels(gold, units)
    assert (result.matched, result.merged, result.lost) == (len(gold), 0, 0), result.errors
    assert result.title_exact == len(gold), result.errors


def _assert_charts_keep_their_legends(
    survey: ModuleType, tmp_path: Path, doc: pymupdf.Document, gold: list, *, titled: bool = False
) -> None:
    """``doc`` extracted (OCR off): each chart of ``gold`` one unit (titled right when ``titled``) whose
    figure_text holds every name of its legend."""
    path = tmp_path / "survey.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures]
    result = survey.score_panels(gold, units)
    assert (result.matched, result.merged, result.lost) == (len(gold), 0, 0), result.errors
    if titled:
        assert result.title_exact == len(gold), result.errors
    result.add_names(gold, units, [f.unit.figure_text or "" for f in ex.figures])
    assert all(g.names for g in gold)
    assert result.names == [len(gold), len(gold)], result.errors


def _assert_report_page_titled(survey: ModuleType, tmp_path: Path, layout: str, seed: int, page: int) -> None:
    """Page ``page`` of the generated report of ``seed`` in ``layout``: one unit per panel, titled right."""
    doc, gold = survey.survey_report(seed, layout)
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures if f.unit.page == page]
    _assert_one_titled_unit_each(survey, [g for g in gold if g.page == page], units)


def test_donut_ring_segments_are_chart_evidence() -> None:
    """Layout class "donut chart": a short segment's box does not hold the centre (it is left empty)."""
    cx, cy, r = 100.0, 100.0, 50.0

    def segment(start: float, end: float, colour: tuple[float, ...]) -> Cluster:
        import math

        points = [
            (cx + k * math.cos(math.radians(a)), cy + k * math.sin(math.radians(a)))
            for k in (r, 0.55 * r)
            for a in (start + (end - start) * i / 12 for i in range(13))
        ]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        return Cluster(box=(min(xs), min(ys), max(xs), max(ys)), path_count=1, free_paths=1, colour=colour)

    shares = ((-90, 10), (10, 40), (40, 200), (200, 270))
    colours = ((0.1, 0.3, 0.7), (0.9, 0.5, 0.2), (0.6, 0.6, 0.6), (1.0, 0.8, 0.2))
    donut = [segment(a, b, c) for (a, b), c in zip(shares, colours, strict=True)]
    assert has_pie(donut)
    assert not has_pie(donut[1:2] * 3)  # one segment thrice: one colour, no ring


@pytest.mark.parametrize("kind", ["donut", "pie"])
def test_donut_and_pie_panels_on_cards_are_one_titled_unit_each(
    survey: ModuleType, tmp_path: Path, kind: str
) -> None:
    gold, units = _page(survey, tmp_path, (kind, kind, "columns"), frame="card")
    _assert_one_titled_unit_each(survey, gold, units)


@pytest.mark.parametrize("frame", ["card", "stroke"])
def test_a_framed_panel_takes_the_title_inside_its_frame_not_the_page_title_above(
    survey: ModuleType, tmp_path: Path, frame: str
) -> None:
    """Layout class "framed chart panel": the page title stands right above the first row of frames."""
    gold, units = _page(survey, tmp_path, ("lines", "columns", "lines"), seed=1, frame=frame)
    _assert_one_titled_unit_each(survey, gold, units)


def test_stacked_bars_with_left_aligned_category_labels(survey: ModuleType, tmp_path: Path) -> None:
    """Layout class "left-aligned category labels": the title stands over the labels, far left of the
    bars (which start where the longest label ends), the legend at the right."""
    gold, units = _page(
        survey, tmp_path, ("stacked",) * 4, seed=3, size=(612.0, 792.0), legend="right", title_size=10.0
    )
    _assert_one_titled_unit_each(survey, gold, units)


def test_stacked_bar_rows_a_bar_apart_in_frames_are_one_chart(survey: ModuleType, tmp_path: Path) -> None:
    """Layout class "bar chart with spaced rows": the gutters between a chart's rows are no gutters
    between panels; each frame holds one chart under its regular-weight title and base line."""
    gold, units = _page(
        survey, tmp_path, ("stacked",) * 4, seed=1, frame="stroke", title_font="helv", title_size=14.0,
        second_line=True, label_size=7.0,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


def test_short_bar_charts_without_axes_are_units(survey: ModuleType, tmp_path: Path) -> None:
    """Layout class "short bar chart": 4-7 bars, value labels, no axes (fewer than 6 paths for some)."""
    for seed in (2, 7):
        gold, units = _page(survey, tmp_path, ("bars", "bars", "bars"), seed=seed, frame="stroke")
        _assert_one_titled_unit_each(survey, gold, units)


def test_question_titles_over_a_base_line_and_a_legend_row(survey: ModuleType, tmp_path: Path) -> None:
    """Layout classes "titled chart with a base line" (the question and "Base: ..." in one text block),
    "legend above the plot" and "narrow chart under a long title" (a pie under its question)."""
    gold, units = _page(
        survey, tmp_path, ("pie", "lines", "stacked", "lines"), seed=4, size=LANDSCAPE,
        question=True, second_line=True, legend="above", title_size=10.0,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


def test_a_line_chart_keeps_the_gridlines_its_series_does_not_touch(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Layout class "line chart on gridlines": the gridlines above and below the plotted lines are the
    panel's (its box reaches its top gridline and tick labels)."""
    gold, units = _page(survey, tmp_path, ("lines", "lines"), seed=6)
    _assert_one_titled_unit_each(survey, gold, units)
    result = survey.score_panels(gold, units)
    assert min(result.ious) >= 0.85


def test_a_ruled_table_is_still_no_chart(tmp_path: Path) -> None:
    """Rules at a regular pitch with text rows between them and no plotted series stay a table (the
    gridline join needs a series drawn across them)."""
    from tests.generated_docs import ruled_table

    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 80), "Quarterly results", fontsize=16, fontname="hebo")
    ruled_table(page, (60, 100, 500, 300), rows=6, cols=3)
    path = tmp_path / "table.pdf"
    path.write_bytes(doc.tobytes())
    assert extract_document(path, ExtractSettings(workers=1, ocr=False)).figures == []


def test_a_row_of_chart_titles_on_a_landscape_page_is_no_page_title(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Layout class "row of panel titles": a landscape report page with neither page title nor header
    (page 2 of generated report 1002: two pies side by side under their questions). The left question is
    the page's topmost line in its largest type, but it is the left pie's own title, not the slide's."""
    doc, gold = survey.survey_report(1002)
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures if f.unit.page == 2]
    _assert_one_titled_unit_each(survey, [g for g in gold if g.page == 2], units)


def test_a_category_label_of_the_next_panel_is_no_title(survey: ModuleType, tmp_path: Path) -> None:
    """A long title may reach past a narrow chart's right side only from the chart's left edge: the first
    category label of the panel to the right (level with the line chart's top, past its right side, over
    no drawing: the bars start right of their labels) is that panel's label, not the line chart's title."""
    gold, units = _page(
        survey, tmp_path, ("lines", "bars", "bars"), seed=5, size=LANDSCAPE, question=True,
        title_font="helv", title_size=14.0,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


@pytest.mark.parametrize(
    ("frame", "title_font", "title_size"),
    [("stroke", "helv", 12.5), ("card", "hebo", 11.0), ("none", "helv", 14.0)],
)
def test_charts_exported_as_pictures_take_their_vector_titles(
    survey: ModuleType, tmp_path: Path, frame: str, title_font: str, title_size: float
) -> None:
    """Layout class "chart exported as a picture": each chart a raster image, its title vector text above
    the picture or printed over its blank top, bold or regular-weight and larger (its labels are pixels),
    in a frame, on a card or on white."""
    gold, units = _page(
        survey, tmp_path, ("stacked", "pie", "lines", "columns"), seed=5, frame=frame, title_font=title_font,
        title_size=title_size, question=True, second_line=True, layout="picture_chart",
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


@pytest.mark.parametrize("size", [PORTRAIT, LANDSCAPE], ids=["portrait", "landscape"])
def test_stacked_columns_on_gridlines_without_an_axis_line_keep_their_top(
    survey: ModuleType, tmp_path: Path, size: tuple[float, float]
) -> None:
    """Layout class "column chart on gridlines": stacked columns (some 100 %) over gridlines and no
    value-axis line; the gridlines above the tallest column touch no bar, yet are the chart's (and put its
    title within reach)."""
    gold, units = _page(
        survey, tmp_path, ("stacked_columns",) * 4, seed=6, size=size, question=True, second_line=True,
        legend="above", title_size=10.0,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


@pytest.mark.parametrize(
    ("frame", "seed", "size", "style"),
    [
        ("none", 3, PORTRAIT, {}),
        ("stroke", 2, PORTRAIT, {"legend": "above"}),
        ("card", 1, LANDSCAPE, {"question": True, "second_line": True}),
        (
            "none",
            5,
            LANDSCAPE,
            {"title_font": "helv", "title_size": 14.0, "second_line": True, "legend": "right"},
        ),
    ],
    ids=["white", "frame", "card-questions", "white-regular-weight"],
)
def test_a_title_under_its_chart_is_its_own(
    survey: ModuleType, tmp_path: Path, frame: str, seed: int, size: tuple[float, float], style: dict
) -> None:
    """Layout class "title under the chart": each title (and base line) right under its chart and legend,
    the source note under it; in a grid, the title under the upper chart is nearer to it than to the
    chart below, and on a landscape page no line over the charts is theirs."""
    gold, units = _page(
        survey, tmp_path, ("bars", "columns", "lines", "pie"), seed=seed, size=size, frame=frame,
        layout="title_below", **style,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


PARAGRAPH = (
    "The measurements were repeated on every host of the cluster for a week, and the medians are shown; "
    "the spread between hosts stayed under five per cent on every day of the run, as the next section "
    "explains in more detail for the two outliers."
)


def _paper_page(survey: ModuleType, tmp_path: Path, under: str, gap: float, after: float) -> str | None:
    """A paper's page: paragraphs, an uncaptioned column chart, the bold line ``under`` it ``gap`` points
    below its lowest mark, then a paragraph ``after`` points under that line. Returns the chart's title."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    y = 60.0
    for _ in range(2):
        for line in survey._wrap(PARAGRAPH, "tiro", 10, 480):
            page.insert_text((66, y), line, fontsize=10, fontname="tiro")
            y += 12
        y += 8
    pen = survey.Pen(page)
    survey.grouped_columns(pen, random.Random(4), _style(survey, legend="right"), (66, y + 10, 400, y + 200))
    y = pen.extent[3] + gap + 9
    page.insert_text((66, y), under, fontsize=11, fontname="tibo")
    y += after
    for line in survey._wrap(PARAGRAPH, "tiro", 10, 480):
        y += 12
        page.insert_text((66, y), line, fontsize=10, fontname="tiro")
    path = tmp_path / "paper.pdf"
    path.write_bytes(doc.tobytes())
    (figure,) = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    return figure.unit.title


def test_the_section_heading_after_a_papers_chart_is_no_title(survey: ModuleType, tmp_path: Path) -> None:
    """A heading under a figure heads the paragraph under it (nearer to it than to the figure): it is no
    title of the chart above it (layout class "title under the chart" is not "section after a figure")."""
    assert (
        _paper_page(survey, tmp_path, "4 Results on the cluster", gap=10, after=6)
        != "4 Results on the cluster"
    )


def test_a_bold_source_note_under_a_chart_is_no_title(survey: ModuleType, tmp_path: Path) -> None:
    """A note on the data under a chart ("Source: ...", "Base: ..."), bold or not, is never its title."""
    assert (
        _paper_page(survey, tmp_path, "Source: own survey, 2026", gap=8, after=30)
        != "Source: own survey, 2026"
    )


@pytest.mark.parametrize(
    ("frame", "seed", "size", "style"),
    [
        ("none", 3, PORTRAIT, {}),
        ("card", 1, (612.0, 792.0), {}),
        ("stroke", 2, LANDSCAPE, {"question": True}),
    ],
    ids=["white", "card", "frame-questions"],
)
def test_a_row_of_kpi_tiles_is_no_figure_and_no_part_of_a_chart(
    survey: ModuleType, tmp_path: Path, frame: str, seed: int, size: tuple[float, float], style: dict
) -> None:
    """Layout class "KPI tiles": 2-4 tinted tiles in a row, each a big number over its label and its
    change, under the panel's title: never glued to the chart beside or under it, and no unit of its own
    (numbers in boxes are no chart or diagram: issue 13; the hand labels count no scorecard); its value
    set in the page's largest type is no page title."""
    gold, units = _page(
        survey, tmp_path, ("kpi", "donut", "bars"), seed=seed, size=size, frame=frame, layout="kpi_tiles",
        **style,
    )  # fmt: skip
    assert [g.kind for g in gold] == ["donut", "bars"]
    _assert_one_titled_unit_each(survey, gold, units)
    assert len(units) == len(gold), units


def test_a_kpi_value_in_the_pages_largest_type_is_no_page_title(survey: ModuleType, tmp_path: Path) -> None:
    """Page 1 of generated report kpi_tiles 1008 (landscape): a tile's value "9.0x" (22 pt bold) is set
    larger than the page title; a number is no slide title, so no panel falls back to it."""
    doc, _ = survey.survey_report(1008, "kpi_tiles")
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    titles = [f.unit.title for f in ex.figures if f.unit.page == 1]
    assert len(titles) == 2  # the two charts (the KPI tile row is no figure)
    assert "9.0x" not in titles


@pytest.mark.parametrize(
    ("frame", "seed", "size", "style"),
    [("none", 3, PORTRAIT, {}), ("none", 6, LANDSCAPE, {"legend": "right"})],
    ids=["portrait", "landscape"],
)
def test_a_title_left_of_its_chart_is_its_own(
    survey: ModuleType, tmp_path: Path, frame: str, seed: int, size: tuple[float, float], style: dict
) -> None:
    """Layout class "title left of the chart": each title (and base line) wrapped in a column left of its
    chart, level with its top; a legend entry right of its swatch, left of the next chart, is no title."""
    gold, units = _page(
        survey, tmp_path, ("bars", "columns", "lines", "stacked"), seed=seed, size=size, frame=frame,
        layout="title_left", **style,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


def test_a_landscape_pages_top_chart_title_left_of_it_is_no_page_title(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Page 1 of generated report title_left 1000 (landscape, a running header, no page title): the top
    chart's bold title, in a column left of it, is the page's topmost line in its largest type, but it is
    the chart's title, not the slide's (which every untitled panel would fall back to)."""
    doc, gold = survey.survey_report(1000, "title_left")
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    titles = sorted(f.unit.title for f in ex.figures if f.unit.page == 1)
    assert titles == sorted(g.title for g in gold if g.page == 1)


@pytest.mark.parametrize(
    ("layout", "seed", "page"),
    [("base", 1006, 2), ("text_legend", 1009, 1), ("question_titles", 1011, 2)],
    ids=["category-label-column", "text-legend-row", "legend-entry-after-swatch"],
)
def test_labels_left_of_a_chart_are_no_title_left_of_it(
    survey: ModuleType, tmp_path: Path, layout: str, seed: int, page: int
) -> None:
    """Generated report pages whose charts are titled over them: a column of left-aligned category labels
    (stacked bars under a legend row, its first label level with the chart's top), a legend set as text in
    a row and a legend entry right of its swatch stand left of a chart's marks, but none is a title left of
    it."""
    _assert_report_page_titled(survey, tmp_path, layout, seed, page)


@pytest.mark.parametrize(
    ("frame", "seed", "style"),
    [("stroke", 3, {"legend": "right"}), ("card", 1, {"legend": "right", "second_line": True})],
    ids=["frame", "card"],
)
def test_charts_exported_as_pictures_in_frames_taller_than_them_stay_apart(
    survey: ModuleType, tmp_path: Path, frame: str, seed: int, style: dict
) -> None:
    """Layout class "framed chart picture": each chart a picture clipped to its marks (stacked bars leave
    the bottom of the frame blank), so it fills less than half of its frame; a 2x2 grid of such frames on
    a portrait page is four units, not one."""
    gold, units = _page(
        survey, tmp_path, ("stacked", "lines", "bars", "columns"), seed=seed, frame=frame,
        layout="picture_chart", **style,
    )  # fmt: skip
    _assert_one_titled_unit_each(survey, gold, units)


@pytest.mark.parametrize(
    ("layout", "seed", "page"),
    [("base", 2022, 2), ("stacked_columns", 2012, 1)],
    ids=["lead-in-paragraph-over-the-grid", "last-entry-of-a-wrapped-legend"],
)
def test_lines_next_to_a_chart_that_belong_elsewhere_are_no_title(
    survey: ModuleType, tmp_path: Path, layout: str, seed: int, page: int
) -> None:
    """Generated pages (extra seeds, neither tune nor report) whose charts are titled over them: the last
    line of a lead-in paragraph over the grid stands left of the right chart's top, over the left chart,
    and is no title left of the right one; the last entry of a legend wrapped under a chart stands alone
    in its row right of its swatch, and is no title under it."""
    _assert_report_page_titled(survey, tmp_path, layout, seed, page)


def test_titles_under_a_column_of_charts_go_one_to_each(survey: ModuleType, tmp_path: Path) -> None:
    """Page 1 of generated report title_below 1006: a column chart over two pies, each chart's question
    title under it. Each line under one chart also stands over the next (for a pie, far enough over it to
    be its centred-far title); every chart takes the title under it, and a chart that gives up the title
    over it for the one under it keeps the new one when the chart above claims the old one."""
    _assert_report_page_titled(survey, tmp_path, "title_below", 1006, 1)


@pytest.mark.parametrize(
    ("seed", "page"),
    [(1001, 2), (1002, 1), (1006, 1)],
    ids=["on-white-under-a-lead-in", "on-cards-side-by-side", "framed-questions-stacked"],
)
def test_numbered_titles_over_charts_are_their_captions_and_titles(
    survey: ModuleType, tmp_path: Path, seed: int, page: int
) -> None:
    """Layout class "numbered chart title" (generated reports numbered_titles): "Figure 4. Satisfaction with
    support" set over each chart as its title is its caption. Each takes the chart under it, not the one
    above nor the one beside it (a lead-in paragraph across the page made the left caption's column the
    page's width; a caption inside the top of its frame had the frame's chart on neither side), and is its
    title too, without the base line under it."""
    _assert_report_page_titled(survey, tmp_path, "numbered_titles", seed, page)


def test_a_caption_under_its_chart_is_no_title(survey: ModuleType, tmp_path: Path) -> None:
    """A paper's bold caption under its chart stays its caption only: a caption is a title when it stands
    over its figure."""
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    pen = survey.Pen(page)
    survey.grouped_columns(pen, random.Random(4), _style(survey, legend="right"), (66, 80, 400, 280))
    page.insert_text(
        (66, pen.extent[3] + 16), "Figure 1: Latency by cluster size", fontsize=11, fontname="hebo"
    )
    path = tmp_path / "paper.pdf"
    path.write_bytes(doc.tobytes())
    (figure,) = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    assert figure.unit.label == "Figure 1"
    assert not figure.unit.title


@pytest.mark.parametrize(("seed", "page"), [(1006, 1), (1016, 1)], ids=["short-titles", "questions"])
def test_a_pie_under_a_title_a_subtitle_and_a_base_line_takes_the_title(
    survey: ModuleType, tmp_path: Path, seed: int, page: int
) -> None:
    """Layout class "titled chart with a base line", with a subtitle too (generated reports subtitle_base):
    a title, a smaller regular subtitle ("Median, USD") and a base line ("Base: n = 2,666 respondents"),
    set tight (each line's box starts inside the one above), then a pie or doughnut. The lines under the
    title are its own, not text between a far title and the pie."""
    _assert_report_page_titled(survey, tmp_path, "subtitle_base", seed, page)


@pytest.mark.parametrize(("seed", "page"), [(1000, 1), (1002, 1)])
def test_a_title_on_a_tinted_band_over_its_chart_is_its_own(
    survey: ModuleType, tmp_path: Path, seed: int, page: int
) -> None:
    """Layout class "title on a tinted band" (generated reports title_box): the title written on a filled
    box across the top of the chart's drawing comes before the page title above the drawing."""
    _assert_report_page_titled(survey, tmp_path, "title_box", seed, page)


@pytest.mark.parametrize(("seed", "page"), [(1002, 1), (1014, 2)])
def test_a_title_over_an_indented_chart_is_its_own(
    survey: ModuleType, tmp_path: Path, seed: int, page: int
) -> None:
    """Layout class "indented chart" (generated reports indented_chart): the title at the panel's left edge,
    the chart 24-60 pt right of it, nothing else left of the chart."""
    _assert_report_page_titled(survey, tmp_path, "indented_chart", seed, page)


@pytest.mark.parametrize(("seed", "page"), [(1000, 2), (1002, 1)])
def test_titles_of_a_row_written_as_one_line_go_one_to_each_chart(
    survey: ModuleType, tmp_path: Path, seed: int, page: int
) -> None:
    """Layout class "titles of a row in one line" (generated reports one_line_titles): both charts' titles
    written as one line of text, spaces between them; each part is the title of the chart under it, and the
    two charts stay apart."""
    _assert_report_page_titled(survey, tmp_path, "one_line_titles", seed, page)


def test_a_short_frames_title_inside_its_top_comes_before_the_section_heading_over_it(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Page 1 of generated report section_headings 1011: a landscape page stacks three framed charts, each
    under a numbered section heading ("1.1 People and skills"). A frame 119 pt tall holds its 12 pt title
    8 pt under its top: past 18 % of the frame's height, but inside its top all the same; the heading over
    the frame is not the chart's title."""
    _assert_report_page_titled(survey, tmp_path, "section_headings", 1011, 1)


def test_a_title_whose_descenders_pass_its_bands_foot_is_on_the_band(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Page 1 of generated report title_box 1008: a one-line 14 pt question written on a tinted band 24 pt
    tall over a bar chart; the line's box passes the band's foot by its descenders. It is the bar chart's
    title, not the lead-in paragraph over the band."""
    doc, gold = survey.survey_report(1008, "title_box")
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    (bars,) = [g for g in gold if g.page == 1 and g.kind == "bars"]
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures if f.unit.page == 1]
    _assert_one_titled_unit_each(survey, [bars], [max(units, key=lambda u: survey.box_iou(u[1], bars.box))])


def test_titles_of_a_row_in_one_line_on_a_landscape_page_are_no_page_title(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Page 1 of generated report one_line_titles 1016: a landscape page without a page title whose two
    charts' titles are written as one line in the page's largest type. Its parts, cut at the wide gap, are
    a row of panel titles (one block), not the page's title that both charts would take."""
    _assert_report_page_titled(survey, tmp_path, "one_line_titles", 1016, 1)


def test_a_numbered_question_of_thirteen_words_is_its_charts_title(
    survey: ModuleType, tmp_path: Path
) -> None:
    """Page 1 of generated report numbered_titles 1013: "Fig. 1 Q21. How do you expect your infrastructure
    budget to change next year?" over a framed chart is 13 words; the label's word and number are no words
    of the title, and the question is the chart's title."""
    _assert_report_page_titled(survey, tmp_path, "numbered_titles", 1013, 1)


@pytest.mark.parametrize(
    ("legend", "kinds"),
    [
        ("below", ("stacked", "stacked", "columns", "lines")),
        ("right", ("lines", "lines", "columns", "stacked")),
    ],
)
def test_a_legend_set_apart_from_its_chart_is_in_its_figure_text(
    survey: ModuleType, tmp_path: Path, legend: str, kinds: tuple[str, ...]
) -> None:
    """Layout class "legend set apart, keyed by colour": a legend row under a chart past LABEL_MARGIN_PT
    (its entries a swatch's width and more apart), or a legend column right of it, its keys swatches or line
    samples in the series' colours; every chart is one unit whose figure_text holds its legend's names
    (issue 13 item 2: the words a chart shows belong to its unit)."""
    doc = pymupdf.open()
    gold = survey.survey_page(doc, random.Random(3), PORTRAIT, _style(survey, legend=legend), kinds)
    _assert_charts_keep_their_legends(survey, tmp_path, doc, gold)


def test_a_legend_shared_by_a_grid_is_no_one_charts(survey: ModuleType, tmp_path: Path) -> None:
    """Layout class "shared legend under the grid": one legend row under a grid of stacked bar and column
    charts, left-aligned under its first column. It is not the legend of a chart off its corner (the
    chart right of the row's first, whose colours hold the legend's): no unit merges two panels."""
    doc, gold = survey.survey_report(1001, "shared_legend")
    path = tmp_path / "survey.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures]
    result = survey.score_panels(gold, units)
    assert (result.matched, result.merged, result.lost) == (len(gold), 0, 0), result.errors


@pytest.mark.parametrize(
    ("legend", "kinds"),
    [
        ("below", ("stacked", "stacked", "columns", "stacked")),
        ("above", ("stacked", "columns", "stacked", "lines")),
    ],
)
def test_a_legend_of_coloured_names_is_in_its_figure_text(
    survey: ModuleType, tmp_path: Path, legend: str, kinds: tuple[str, ...]
) -> None:
    """Layout class "legend of coloured names": the series names set in their series' colours, no swatch
    (a grey series' name in its grey), in a row under or over the chart past LABEL_MARGIN_PT. Every chart
    is one unit whose figure_text holds its legend's names, titled by its own title, not the legend's."""
    doc = pymupdf.open()
    style = _style(survey, legend=legend, layout="text_legend")
    gold = survey.survey_page(doc, random.Random(7), PORTRAIT, style, kinds)
    _assert_charts_keep_their_legends(survey, tmp_path, doc, gold, titled=True)


def test_many_lines_in_a_charts_colours_leave_its_swatch_legend_alone(
    survey: ModuleType, tmp_path: Path
) -> None:
    """A page with more lines set in its charts' colours than pdf_layout.KEYED_ENTRIES_MAX (a coloured
    table or list far from the charts) reads no legend of coloured names, but its swatch legends are
    matched as on any page: every chart's figure_text holds its legend's names."""
    from figvault.ingest.pdf_layout import KEYED_ENTRIES_MAX

    doc = pymupdf.open()
    kinds = ("stacked", "stacked", "columns", "lines")
    gold = survey.survey_page(doc, random.Random(3), PORTRAIT, _style(survey, legend="below"), kinds)
    page = doc[0]
    for k in range(KEYED_ENTRIES_MAX + 1):  # a list in the first series' colour along the page's foot
        page.insert_text(
            (40 + 60 * (k % 8), 740 + 9 * (k // 8)), f"item {k}", fontsize=6, color=survey.COLOURS[0]
        )
    path = tmp_path / "survey.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in ex.figures]
    result = survey.score_panels(gold, units)
    result.add_names(gold, units, [f.unit.figure_text or "" for f in ex.figures])
    assert result.names == [len(gold), len(gold)], result.errors
