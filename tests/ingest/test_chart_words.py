"""The words inside a chart panel that a searcher types reach its unit (issues 13 and 14): generated pages,
one layout class of in-chart words each (docs/extraction.md, "Fifteenth round")."""

from __future__ import annotations

import math
from pathlib import Path

import pymupdf

from figvault.ingest.axis_ticks import is_scale, tick_value
from figvault.ingest.boxes import Box
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import PDF_MIME, page_texts
from figvault.settings import ExtractSettings
from tests.helpers.bench_module import load_bench

BLUE = (0.16, 0.38, 0.71)
BODY = "The body text of the report describes the chart above in a few plain words, as reports do. " * 2


def _column_chart(page: pymupdf.Page, box: tuple[float, float, float, float], title: str) -> float:
    """Five columns on gridlines under a bold title; returns the width of one column's slot."""
    x0, y0, x1, y1 = box
    writer = pymupdf.TextWriter(page.rect)  # any glyph of the font, ligatures too (insert_text: WinAnsi)
    writer.append((x0, y0 - 12), title, font=pymupdf.Font("hebo"), fontsize=11)
    writer.write_text(page)
    page.draw_line((x0, y0), (x0, y1), color=(0, 0, 0), width=0.8)
    page.draw_line((x0, y1), (x1, y1), color=(0, 0, 0), width=0.8)
    for k in range(1, 5):
        gy = y1 - k * (y1 - y0) / 4
        page.draw_line((x0, gy), (x1, gy), color=(0.85, 0.85, 0.85), width=0.5)
    slot = (x1 - x0) / 5
    for i in range(5):
        h = (y1 - y0) * (0.3 + 0.13 * i)
        page.draw_rect((x0 + i * slot + 0.2 * slot, y1 - h, x0 + (i + 0.8) * slot, y1), color=None, fill=BLUE)
    return slot


def _report_page(doc: pymupdf.Document) -> pymupdf.Page:
    page = doc.new_page(width=595, height=842)
    page.insert_text((60, 60), "Quarterly platform report", fontsize=16, fontname="hebo")
    for k in range(6):
        page.insert_text((60, 600 + 12 * k), BODY[:100], fontsize=9)
    return page


def _figure_text(path: Path) -> str:
    figures = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    assert len(figures) == 1, [f.unit.bbox for f in figures]
    unit = figures[0].unit
    return f"{unit.title}\n{unit.figure_text}"


def test_ligature_glyphs_in_a_charts_labels_are_read_as_their_letters(tmp_path: Path) -> None:
    """Layout class "typeset ligatures": the labels (and the page's text) set "fi", "fl" and "ff" as one glyph
    each, whose Unicode is the ligature character; the unit holds the words as typed."""
    doc = pymupdf.open()
    page = _report_page(doc)
    slot = _column_chart(page, (80, 160, 480, 380), "Workﬂow eﬃciency by team")
    writer = pymupdf.TextWriter(page.rect)
    for i, label in enumerate(("Conﬁg", "Proﬁles", "Oﬄine", "Staﬀ", "Fluﬀ")):
        writer.append((80 + i * slot + 4, 390), label, font=pymupdf.Font("helv"), fontsize=8)
    writer.write_text(page)
    path = tmp_path / "ligatures.pdf"
    doc.save(path)

    text = _figure_text(path)
    for word in ("Workflow efficiency by team", "Config", "Profiles", "Offline", "Staff", "Fluff"):
        assert word in text, (word, text)
    assert "Profiles" in page_texts(path.read_bytes(), PDF_MIME)[1]


def _tracked(page: pymupdf.Page, x: float, y: float, text: str, size: float, tracking_em: float) -> None:
    """``text`` one glyph per text object, ``tracking_em`` of the size after each glyph."""
    for glyph in text:
        page.insert_text((x, y), glyph, fontsize=size)
        x += pymupdf.get_text_length(glyph, fontsize=size) + tracking_em * size


def test_letter_spaced_labels_are_read_as_words(tmp_path: Path) -> None:
    """Layout class "letter-spaced text": category labels tracked out 0.15-0.35 em, one glyph per span
    (MuPDF reads "S E R V E R L E S S" or "Obse rv a b il it y"): the unit holds the words, two-word labels
    parted at their space. Glyphs spread 0.6 em apart (a grid's column letters) and a formula's operators
    between spaces stay apart."""
    doc = pymupdf.open()
    page = _report_page(doc)
    slot = _column_chart(page, (80, 160, 480, 380), "Workloads by platform")
    labels = ("Observability", "SERVERLESS", "Managed databases", "Edge sites", "Colocation")
    for i, (label, em) in enumerate(zip(labels, (0.15, 0.25, 0.3, 0.35, 0.2), strict=True)):
        _tracked(page, 80 + i * slot + 2, 390, label, 7, em)
    _tracked(page, 300, 150, "ABCD", 7, 0.6)
    page.insert_text((300, 200), "d = 21 + 23", fontsize=7)  # a formula's spaces are spaces
    path = tmp_path / "tracked.pdf"
    doc.save(path)

    text = _figure_text(path)
    for label in labels:
        assert label in text.splitlines(), (label, text)
    assert "A B C D" in text
    assert "d = 21 + 23" in text


def test_single_letters_set_with_spaces_stay_apart(tmp_path: Path) -> None:
    """Lines of single letters or digits that the PDF sets with space glyphs (a grid's column letters, a
    row of bits, month initials, quarter names) are as typed: a space is about as wide as letter-spacing's
    tracking, so only the space glyph, which MuPDF does not mark synthetic, tells them from a tracked word.
    Before: each was closed up into one word ("ABCDEF", "100110", "Q1Q2Q3Q4ab")."""
    doc = pymupdf.open()
    page = _report_page(doc)
    _column_chart(page, (80, 160, 480, 380), "Workloads by platform")
    rows = ("A B C D E F", "1 0 0 1 1 0", "x y z w", "J F M A M J J A S O N D", "Q1 Q2 Q3 Q4 a b")
    for i, row in enumerate(rows):
        page.insert_text((300, 200 + i * 12), row, fontsize=7)
    _tracked(page, 120, 390, "SERVERLESS", 7, 0.25)  # a tracked word beside them is still closed up
    path = tmp_path / "spaced.pdf"
    doc.save(path)

    lines = _figure_text(path).splitlines()
    for row in rows:
        assert row in lines, (row, lines)
    assert "SERVERLESS" in lines, lines


def test_the_labels_of_a_chart_titled_under_it_are_its_words(tmp_path: Path) -> None:
    """Layout class "title below the chart" (survey title_below, report 1000 p1): every word its two bar
    charts draw (categories, values) is in their units, although all of them lie above their titles."""
    survey = load_bench("survey_pages")
    doc, gold = survey.survey_report(1000, "title_below")
    path = tmp_path / "survey.pdf"
    path.write_bytes(doc.tobytes())
    figures = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in figures]
    charts = [g for g in gold if g.page == 1 and g.kind == "bars"]
    score = survey.PanelScore()
    score.add_words(charts, units, [f"{f.unit.title}\n{f.unit.figure_text}" for f in figures])
    assert len(charts) == 2 and score.words[1] >= 30
    assert score.words[0] == score.words[1], score.errors


def test_letter_spaced_numbers_are_read_as_numbers(tmp_path: Path) -> None:
    """Layout class "letter-spaced numbers": a chart's tick, value and period labels tracked out one glyph
    per span are two or three glyphs long ("2 5", "1 0 0", "6 1 %", "Q 3 ' 2 4"), too short for the run
    that marks a letter-spaced word: they are closed up. Before: "25", "100", "61%" and "Q3" were no word of
    the unit. A formula's "x = 1" keeps its spaces, and so do bits set with space glyphs."""
    doc = pymupdf.open()
    page = _report_page(doc)
    slot = _column_chart(page, (80, 160, 480, 380), "Workloads by platform")
    for k, tick in enumerate(("0", "25", "50", "75", "100")):
        _tracked(page, 62, 383 - k * 55, tick, 7, 0.3)
    values = ("61%", "7%", "100%", "12.5%", "48%")
    periods = ("Q3 '24", "Q4 '24", "Q1 '25", "Q2 '25", "Q3 '25")
    for i, (value, period) in enumerate(zip(values, periods, strict=True)):
        _tracked(page, 80 + i * slot + 10, 175, value, 7, 0.3)  # over the bars
        _tracked(page, 80 + i * slot + 10, 392, period, 7, 0.3)
    page.insert_text((300, 200), "x = 1", fontsize=7)
    page.insert_text((300, 212), "1 0 1", fontsize=7)
    path = tmp_path / "tracked_numbers.pdf"
    doc.save(path)

    lines = _figure_text(path).splitlines()
    for word in ("25", "50", "75", "100", "61%", "100%", "12.5%", "Q3 '24", "Q1 '25"):
        assert word in lines, (word, lines)
    assert "x = 1" in lines and "1 0 1" in lines, lines


def _legend_column(page: pymupdf.Page, x: float, y: float, names: tuple[str, ...], gap: float) -> None:
    """A legend of 6 pt swatches ``gap`` apart in a column, each series name right of its swatch, in the
    colours of SERIES."""
    for k, (name, colour) in enumerate(zip(names, SERIES, strict=False)):
        top = y + k * (6 + gap)
        page.draw_rect((x, top, x + 6, top + 6), color=None, fill=colour)
        page.insert_text((x + 9, top + 6), name, fontsize=7)


SERIES = (BLUE, (0.93, 0.49, 0.19), (0.6, 0.6, 0.6))


def _stack(page: pymupdf.Page, box: tuple[float, float, float, float], slot: float) -> None:
    """The foot of each of _column_chart's columns split into SERIES' other two colours (stacked columns)."""
    x0, _, _, y1 = box
    for i in range(5):
        for k, colour in enumerate(SERIES[1:]):
            left, top = x0 + i * slot + 0.2 * slot, y1 - 20 * (k + 1)
            page.draw_rect((left, top, x0 + (i + 0.8) * slot, top + 20), color=None, fill=colour)


def test_a_legend_of_keys_stacked_tight_beside_a_chart_is_its_words(tmp_path: Path) -> None:
    """Layout class "legend keys stacked tight": the swatches of a legend beside a chart (past
    LABEL_MARGIN_PT) are set 2 pt apart, so they touch as one drawing too big for a swatch; its names are
    the chart's words. Before: none of them was in the unit (survey title_rule 1004 p2: a pie's and a
    column chart's legends)."""
    doc = pymupdf.open()
    page = _report_page(doc)
    slot = _column_chart(page, (80, 160, 400, 380), "Workloads by platform")
    _stack(page, (80, 160, 400, 380), slot)
    names = ("Strongly agree", "Neutral", "Disagree")
    _legend_column(page, 425, 200, names, 2)
    path = tmp_path / "stacked_keys.pdf"
    doc.save(path)

    lines = _figure_text(path).splitlines()
    for name in names:
        assert name in lines, (name, lines)


def _ticks(
    page: pymupdf.Page, x: float, plot: tuple[float, float, float, float], labels: tuple[str, ...]
) -> None:
    """Value-axis labels, left-aligned at ``x``, centred on the plot's gridlines from its foot up."""
    step = (plot[3] - plot[1]) / (len(labels) - 1)
    for k, label in enumerate(labels):
        page.insert_text((x, plot[3] - k * step + 2.5), label, fontsize=7)


def test_a_value_axis_set_apart_from_its_plot_is_its_words(tmp_path: Path) -> None:
    """Layout class "value axis set apart": the tick labels stand flush with the panel's left edge, 25-35 pt
    from the plot (past LABEL_MARGIN_PT); they step evenly (a scale), so they are the chart's. Before: none
    was in the unit (survey title_rule, title_box, title_below, small_multiples). A column of figures there
    that is no scale (a neighbouring table's) stays out."""
    plot = (80, 160, 480, 380)
    scale = ("0", "25", "50", "75", "100")
    doc = pymupdf.open()
    page = _report_page(doc)
    _column_chart(page, plot, "Workloads by platform")
    _ticks(page, 45, plot, scale)
    path = tmp_path / "ticks.pdf"
    doc.save(path)
    lines = _figure_text(path).splitlines()
    for tick in scale:
        assert tick in lines, (tick, lines)

    figures = ("12", "7", "31", "4", "18")
    doc = pymupdf.open()
    page = _report_page(doc)
    _column_chart(page, plot, "Workloads by platform")
    _ticks(page, 45, plot, figures)
    doc.save(path)
    lines = _figure_text(path).splitlines()
    assert not set(figures) & set(lines), lines


def test_a_scale_steps_evenly_in_value_and_in_place() -> None:
    """``axis_ticks.is_scale``: 0, 25, 50, 75, 100 on lines 40 pt apart is a scale; the same values on lines
    unevenly apart (a table's column that happens to count by 25, its rows of different heights) are not,
    nor are values that step unevenly at even places, nor two ticks."""

    def at(tops: list[float], values: list[float]) -> list[tuple[Box, float]]:
        return [((40.0, top, 52.0, top + 7.0), value) for top, value in zip(tops, values, strict=True)]

    values = [100.0, 75.0, 50.0, 25.0, 0.0]
    assert is_scale(at([160, 200, 240, 280, 320], values))
    assert not is_scale(at([160, 200, 250, 280, 320], values))
    assert not is_scale(at([160, 200, 240, 280, 320], [100.0, 75.0, 60.0, 25.0, 0.0]))
    assert not is_scale(at([160, 200], [100.0, 75.0]))
    assert [tick_value(t) for t in ("$1,200", "75%", "2.5k", "Q1")] == [1200.0, 75.0, 2.5, None]


def test_a_source_note_under_a_chart_is_its_words(tmp_path: Path) -> None:
    """Layout class "source note under a chart": "Source: ..." 18 pt under the category labels (past
    LABEL_MARGIN_PT) names the chart's data, which a searcher types ("Gartner survey"): it joins the unit's
    text, not its box. Before: it was in no unit. A line there that is no note (body text) stays out."""
    doc = pymupdf.open()
    page = _report_page(doc)
    slot = _column_chart(page, (80, 160, 480, 380), "Workloads by platform")
    for i, label in enumerate(("Edge", "Core", "Cloud", "Branch", "Lab")):
        page.insert_text((80 + i * slot + 4, 392), label, fontsize=8)
    page.insert_text((80, 413), "Source: Gartner survey of 1,234 IT leaders, 2025.", fontsize=7)
    page.insert_text((80, 424), "Note: figures rounded.", fontsize=7)
    page.insert_text((80, 445), "Platform teams keep growing, as the chart shows.", fontsize=9)
    path = tmp_path / "source.pdf"
    doc.save(path)

    figure = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures[0].unit
    lines = figure.figure_text.splitlines()
    assert "Source: Gartner survey of 1,234 IT leaders, 2025." in lines, lines
    assert "Note: figures rounded." in lines, lines
    assert not any(line.startswith("Platform teams") for line in lines), lines
    assert figure.bbox[3] < 400, figure.bbox


def _survey_words(tmp_path: Path, layout: str, seed: int, page: int, kinds: tuple[str, ...]) -> list[int]:
    """[found, all] of the chart words of ``page``'s charts of ``kinds`` in survey report ``seed`` of class
    ``layout``, each counted in its best-overlapping unit (bench/survey_pages.py's chart_words)."""
    survey = load_bench("survey_pages")
    doc, gold = survey.survey_report(seed, layout)
    path = tmp_path / f"{layout}-{seed}.pdf"
    path.write_bytes(doc.tobytes())
    figures = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in figures]
    charts = [g for g in gold if g.page == page and g.kind in kinds]
    score = survey.PanelScore()
    score.add_words(charts, units, [f"{f.unit.title}\n{f.unit.figure_text}" for f in figures])
    assert charts and score.words[0] == score.words[1], score.errors
    return score.words


def test_the_foot_of_a_line_chart_under_a_ruled_title_is_its_words(tmp_path: Path) -> None:
    """Layout class "title over a rule" (survey title_rule 1013 p1): the coloured rule under each title, wider
    than the line chart's gridlines, was taken as a gridline, which set the ladder's pitch to its distance
    from the top gridline; the gridlines under the series were dropped and the chart's foot (baseline, "0"
    tick, x-axis labels "Q1'24" ...) fell outside its unit. Before: 10 of the two charts' 24 words lost."""
    assert _survey_words(tmp_path, "title_rule", 1013, 1, ("lines",))[1] >= 20


def test_a_legend_glued_to_a_tinted_title_box_is_its_words(tmp_path: Path) -> None:
    """Layout class "title on a tinted box" (survey title_box 1018 p2): the legend row right under the box
    (and a line chart's top gridline, 1002 p2) touched it in the wider merge and was taken from the chart:
    no swatch keyed the legend, whose names were lost, and the top tick "80" with the gridline. Before: 7
    of the two stacked charts' 50 words lost ("strongly", "agree", "neutral", "disagree")."""
    assert _survey_words(tmp_path, "title_box", 1018, 2, ("stacked",))[1] >= 20
    _survey_words(tmp_path, "title_box", 1002, 2, ("lines",))


def _pie(page: pymupdf.Page, centre: tuple[float, float], r: float) -> None:
    """Three wedges in SERIES' colours."""
    cx, cy = centre
    for k, colour in enumerate(SERIES):
        arc = [math.radians(120 * k + 8 * s) for s in range(16)]
        points = [(cx, cy), *((cx + r * math.cos(a), cy + r * math.sin(a)) for a in arc)]
        page.draw_polyline(points, color=None, fill=colour, closePath=True)


def test_a_plain_legend_beside_a_pie_is_its_words(tmp_path: Path) -> None:
    """Layout class "plain legend beside a round plot" (survey plain_legend 1015 p1): the series names listed
    right of each pie or doughnut in the labels' ink, no swatch or colour, 10-12 pt from it (past
    LABEL_MARGIN_PT). Before: none of the three charts' 12 words ("strongly", "agree", "neutral",
    "disagree" in each) was in its unit."""
    assert _survey_words(tmp_path, "plain_legend", 1015, 1, ("pie", "donut"))[1] >= 12


def test_bar_labels_right_of_a_pie_stay_the_bars(tmp_path: Path) -> None:
    """The category names of a bar chart set left-aligned 12 pt right of a pie are a column of short lines
    too; the longest stands nearer to its bar than to the pie: the column is the bar chart's labels, no
    name of it the pie's legend (the short names alone are nearer to the pie)."""
    doc = pymupdf.open()
    page = _report_page(doc)
    page.insert_text((60, 140), "Share of teams", fontsize=11, fontname="hebo")
    _pie(page, (120, 220), 60)
    names = ("Edge", "Core", "Branch", "Platform teams")
    for k, name in enumerate(names):
        y = 180 + 22 * k
        page.insert_text((192, y + 10), name, fontsize=8)
        page.draw_rect((252, y, 252 + 40 * (k + 1), y + 14), color=None, fill=BLUE)
    path = tmp_path / "pie_and_bars.pdf"
    doc.save(path)
    figures = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    pie = [f.unit for f in figures if f.unit.bbox[0] < 100]
    assert len(pie) == 1 and pie[0].bbox[2] < 190, [(f.unit.bbox, f.unit.figure_text) for f in figures]
    assert not set(names) & set(pie[0].figure_text.splitlines()), pie[0].figure_text


def test_wrapped_category_labels_flush_left_are_the_bars_words(tmp_path: Path) -> None:
    """Layout class "category labels flush left, wrapped" (survey plain_legend 1017 p1, two stacked bar
    charts, no legend beside to widen them): the long names wrap over two lines flush with the panel's edge
    ("Cost visibility across" / "teams"), so no line ends within LABEL_MARGIN_PT of the bars and all were
    skipped as past the chart's sides. Before: 22 of their 66 words lost."""
    _survey_words(tmp_path, "plain_legend", 1017, 1, ("stacked",))


def test_the_labels_of_the_right_hand_bar_chart_of_a_row_are_its_words(tmp_path: Path) -> None:
    """Layout class "bar charts side by side" (survey shared_legend 1007 p1, a grid of stacked bar charts):
    the right-hand chart's category names, flush with its panel's edge, stand nearer to the left chart's
    bars than to its own; a bar chart's labels stand on its own left, so the left chart is no rival for
    them. Before: 63 of the page's four charts' 88 words kept (the right-hand ones lost theirs)."""
    _survey_words(tmp_path, "shared_legend", 1007, 1, ("stacked",))
