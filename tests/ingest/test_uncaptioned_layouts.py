"""Uncaptioned charts of layout classes that no rule was tuned for (the s48 layouts audit, 2026-12-07):
sparse line charts (fewer than CHART_MIN_PATHS paths), bar charts without axes whose bars stand further
apart than the clustering gap, and line charts stacked a few points apart. Each test draws a small page
with its own generator; the controls (ruled table, zebra rows, text with rules, a form) must stay without
units."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pymupdf
import pytest

from figvault.ingest.extract import extract_document
from figvault.ingest.panels import spaced_bar_runs
from figvault.settings import ExtractSettings

Box = tuple[float, float, float, float]
COLOURS = [(0.1, 0.4, 0.7), (0.9, 0.4, 0.1), (0.2, 0.6, 0.2)]
BODY = "The quarter closed with the pipeline carried over from the spring, costs held flat and support grew. "


def _units(tmp_path: Path, doc: pymupdf.Document) -> list[tuple[float, ...]]:
    path = tmp_path / "page.pdf"
    path.write_bytes(doc.tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    return [tuple(f.unit.bbox) for f in ex.figures]


def _covers(unit: tuple[float, ...], want: Box) -> bool:
    """``unit`` holds most (80 %) of ``want`` and is not much larger (a unit of the chart, not the page)."""
    ix = max(0.0, min(unit[2], want[2]) - max(unit[0], want[0]))
    iy = max(0.0, min(unit[3], want[3]) - max(unit[1], want[1]))
    area = (want[2] - want[0]) * (want[3] - want[1])
    size = (unit[2] - unit[0]) * (unit[3] - unit[1])
    return ix * iy >= 0.8 * area and size <= 2.0 * area


def _page_with_body() -> tuple[pymupdf.Document, pymupdf.Page]:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 50, 535, 200), BODY * 6, fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 560, 535, 780), BODY * 8, fontsize=9)
    return doc, page


def _sparse_line_chart(page: pymupdf.Page, series: int, title: str | None) -> Box:
    """Two axis lines, ``series`` polylines, tick labels and no gridlines: 3-5 paths."""
    rng = random.Random(series)
    if title:
        page.insert_text((90, 232), title, fontsize=10, fontname="hebo")
    plot = pymupdf.Rect(120, 245, 480, 420)
    page.draw_line(plot.tl, plot.bl, color=(0, 0, 0), width=0.7)
    page.draw_line(plot.bl, plot.br, color=(0, 0, 0), width=0.7)
    for k in range(4):
        page.insert_text((95, plot.y1 - k * plot.height / 3 + 3), f"{k * 20}", fontsize=7)
    for i, year in enumerate(("2019", "2020", "2021", "2022")):
        page.insert_text((plot.x0 + i * plot.width / 3 - 8, plot.y1 + 11), year, fontsize=7)
    for s in range(series):
        xs = [plot.x0 + i * plot.width / 9 for i in range(10)]
        pts = [pymupdf.Point(x, plot.y1 - rng.uniform(0.1, 0.9) * plot.height) for x in xs]
        page.draw_polyline(pts, color=COLOURS[s], width=1.2)
    return (90.0, 222.0 if title else 245.0, 480.0, 431.0)


@pytest.mark.parametrize(("series", "title"), [(1, None), (2, "Active subscriptions"), (3, None)])
def test_sparse_line_chart_is_a_unit(tmp_path: Path, series: int, title: str | None) -> None:
    """Layout class "sparse line chart": an L of axes with 1-3 series and no gridlines is a chart although
    it is drawn in fewer than CHART_MIN_PATHS paths (it was dropped as a small drawing)."""
    doc, page = _page_with_body()
    want = _sparse_line_chart(page, series, title)
    units = _units(tmp_path, doc)
    assert len(units) == 1 and _covers(units[0], want), units


def _spaced_bars(page: pymupdf.Page, n: int, thick: float, gap: float, columns: bool = False) -> Box:
    """Bars without axes, ``gap`` points apart: names on one side, values at the bar ends."""
    rng = random.Random(n)
    names = ["Onboarding", "Pricing", "Support", "Reliability", "Documentation", "Billing", "Security"]
    pitch = thick + gap
    if columns:
        base = 420.0
        for i in range(n):
            x, height = 120 + i * pitch, rng.uniform(30, 150)
            page.draw_rect(pymupdf.Rect(x, base - height, x + thick, base), fill=COLOURS[1], color=None)
            page.insert_text((x, base - height - 3), f"{height / 1.5:.0f}", fontsize=7)
            page.insert_text((x, base + 9), names[i][:4], fontsize=7)
        return (120.0, 260.0, 120 + (n - 1) * pitch + thick, 431.0)
    right = 0.0
    for i in range(n):
        y, length = 240 + i * pitch, rng.uniform(60, 280)
        right = max(right, 170 + length)
        page.insert_text((90, y + thick * 0.75), names[i], fontsize=7)
        page.draw_rect(pymupdf.Rect(170, y, 170 + length, y + thick), fill=COLOURS[0], color=None)
        page.insert_text((173 + length, y + thick * 0.75), f"{length / 3:.0f}%", fontsize=7)
    return (90.0, 240.0, right, 240 + (n - 1) * pitch + thick)


@pytest.mark.parametrize(("n", "thick", "gap"), [(4, 10.0, 15.0), (6, 8.0, 8.0), (5, 12.0, 16.0)])
def test_spaced_bars_without_axes_are_one_unit(tmp_path: Path, n: int, thick: float, gap: float) -> None:
    """Layout class "spaced bar chart": bars more than the 3 pt clustering gap apart (Excel's default gap
    is 1.5 bar thicknesses), no axes, were each a lone rectangle and were dropped."""
    doc, page = _page_with_body()
    want = _spaced_bars(page, n, thick, gap)
    units = _units(tmp_path, doc)
    assert len(units) == 1 and _covers(units[0], want), units


def test_spaced_columns_without_axes_are_one_unit(tmp_path: Path) -> None:
    """The same for columns on a common bottom edge, values above, names under."""
    doc, page = _page_with_body()
    want = _spaced_bars(page, 6, 14.0, 18.0, columns=True)
    units = _units(tmp_path, doc)
    assert len(units) == 1 and _covers(units[0], want), units


def _grid_line_chart(page: pymupdf.Page, r: pymupdf.Rect, title: str, rng: random.Random) -> None:
    page.insert_text((r.x0, r.y0 + 9), title, fontsize=8.5, fontname="hebo")
    plot = pymupdf.Rect(r.x0 + 24, r.y0 + 15, r.x1 - 4, r.y1 - 12)
    shape = page.new_shape()
    for k in range(5):
        y = plot.y1 - k * plot.height / 4
        shape.draw_line((plot.x0, y), (plot.x1, y))
        shape.finish(color=(0.8, 0.8, 0.8), width=0.4)
        page.insert_text((r.x0 + 2, y + 2.5), f"{k * 10}", fontsize=6)
    pts = [
        pymupdf.Point(plot.x0 + i * plot.width / 11, plot.y1 - rng.uniform(0.1, 0.9) * plot.height)
        for i in range(12)
    ]
    shape.draw_polyline(pts)
    shape.finish(color=COLOURS[0], width=1.1, closePath=False)
    shape.commit()
    for i, month in enumerate(("Jan", "Apr", "Jul", "Oct")):
        page.insert_text((plot.x0 + i * plot.width / 3 - 5, plot.y1 + 8), month, fontsize=6)


def test_line_charts_stacked_a_few_points_apart_are_one_unit_each(tmp_path: Path) -> None:
    """Layout class "stacked line charts" (a dashboard's trend column): charts on gridlines 8 pt apart,
    the next chart's top gridline nearer the bottom one than the pitch of the gridlines: it set the
    ladder's pitch, and every chart was lost."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((40, 40), "Weekly trends", fontsize=15, fontname="hebo")
    rng, want = random.Random(5), []
    for i in range(6):
        x, y = 40 + (i % 2) * (253 + 8), 60 + (i // 2) * (230 + 8)
        r = pymupdf.Rect(x, y, x + 253, y + 230)
        _grid_line_chart(page, r, ["Visits", "Trials", "Orders", "Returns", "Calls", "Errors"][i], rng)
        want.append(tuple(r))
    units = _units(tmp_path, doc)
    assert len(units) == 6, units
    assert all(any(_covers(u, w) for u in units) for w in want), units


def test_stacked_area_chart_without_axes_is_a_unit(tmp_path: Path) -> None:
    """Layout class "stacked area chart": three filled polygons over one x-extent, each on the one under
    it, tick labels and no axes (3 paths): no chart evidence before, so the drawing was dropped."""
    doc, page = _page_with_body()
    rng, plot = random.Random(3), pymupdf.Rect(130, 250, 480, 410)
    xs = [plot.x0 + i * plot.width / 7 for i in range(8)]
    base = [0.0] * 8
    for layer in range(3):
        upper = [b + rng.uniform(0.08, 0.3) for b in base]
        pts = [pymupdf.Point(x, plot.y1 - u * plot.height) for x, u in zip(xs, upper, strict=True)]
        pts += [
            pymupdf.Point(x, plot.y1 - b * plot.height)
            for x, b in zip(reversed(xs), reversed(base), strict=True)
        ]
        page.draw_polyline(pts, color=None, fill=COLOURS[layer], closePath=True)
        base = upper
    for k in range(3):
        page.insert_text((108, plot.y1 - k * plot.height / 2 + 3), f"{k * 50}", fontsize=7)
    for i, quarter in enumerate(("Q1", "Q2", "Q3", "Q4")):
        page.insert_text((plot.x0 + i * plot.width / 3 - 4, plot.y1 + 10), quarter, fontsize=7)
    units = _units(tmp_path, doc)
    top = plot.y1 - max(base) * plot.height  # the plotted layers: the tick labels may stay out
    assert len(units) == 1 and _covers(units[0], (plot.x0, top, plot.x1, plot.y1)), units


def test_boxes_of_one_width_in_a_column_are_no_stacked_area(tmp_path: Path) -> None:
    """Control for the stacked-area rule: a column of three rounded, coloured boxes of one width (a
    process flow) does not overlap in height and is no area chart."""
    doc, page = _page_with_body()
    for k in range(3):
        r = pymupdf.Rect(200, 240 + k * 60, 400, 280 + k * 60)
        page.draw_rect(r, color=None, fill=COLOURS[k], radius=0.2)
    assert _units(tmp_path, doc) == []


def test_ruled_table_zebra_rows_rules_and_form_stay_without_units(tmp_path: Path) -> None:
    """Controls: a ruled table, zebra-striped rows of one length, text under section rules and a form of
    entry boxes hold no chart, and none of the rules above makes them one."""
    rng = random.Random(9)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    for row in range(13):  # ruled table
        y = 80 + row * 18
        page.draw_line((60, y), (535, y), color=(0, 0, 0), width=0.5)
        for c, x in enumerate((64, 200, 330, 460)):
            page.insert_text((x, y + 12), f"{rng.randint(10, 999)}" if c else f"Item {row}", fontsize=8)
    for row in range(12):  # zebra rows
        y = 420 + row * 16
        if row % 2:
            page.draw_rect(pymupdf.Rect(60, y, 535, y + 16), fill=(0.9, 0.92, 0.96), color=None)
        for c, x in enumerate((66, 220, 380)):
            page.insert_text((x, y + 11), f"{rng.randint(10, 999)}" if c else f"Region {row}", fontsize=8)
    page = doc.new_page(width=595, height=842)
    for s in range(3):  # text under section rules
        y = 70 + s * 150
        page.insert_text((60, y), f"Section {s + 1}", fontsize=12, fontname="hebo")
        page.draw_line((60, y + 5), (535, y + 5), color=(0.4, 0.4, 0.4), width=0.8)
        page.insert_textbox(pymupdf.Rect(60, y + 12, 535, y + 140), BODY * 5, fontsize=9)
    for i in range(7):  # a form: labels and entry boxes of a few widths
        y = 540 + i * 36
        page.insert_text(
            (60, y + 14), ["Name", "Street", "City", "Phone", "Date", "Amount", "Signature"][i], fontsize=9
        )
        page.draw_rect(
            pymupdf.Rect(160, y, 160 + (120, 200, 300, 380)[i % 4], y + 22), color=(0, 0, 0), width=0.6
        )
    assert _units(tmp_path, doc) == []


def test_spaced_bar_runs_leave_zebra_stripes_and_far_bars_out() -> None:
    """The rule's own bounds: stripes of one length are no bars; bars further apart than two thicknesses
    are two charts' or none; a run of three lengths at one pitch is a chart."""
    stripes = [(60.0, 100.0 + 32 * i, 535.0, 116.0 + 32 * i) for i in range(6)]
    assert spaced_bar_runs(stripes) == []
    far = [(100.0, 100.0 + 40 * i, 100.0 + 50 * (i + 1), 110.0 + 40 * i) for i in range(4)]  # gaps 3x
    assert spaced_bar_runs(far) == []
    bars = [(100.0, 100.0 + 25 * i, 100.0 + 50 * (i + 1), 110.0 + 25 * i) for i in range(4)]  # gaps 1.5x
    assert spaced_bar_runs(bars) == [[0, 1, 2, 3]]
    columns = [(100.0 + 20 * i, 300.0 - 30 * (i + 1), 108.0 + 20 * i, 300.0) for i in range(3)]
    assert spaced_bar_runs(columns) == [[0, 1, 2]]


def _signature_box(page: pymupdf.Page) -> None:
    """A form's signature box: an L of thin rules, a scribble over the bottom one, a caption under it."""
    page.draw_line((100, 300), (100, 350), color=(0, 0, 0), width=0.5)
    page.draw_line((100, 350), (350, 350), color=(0, 0, 0), width=0.5)
    page.insert_text((100, 362), "Signature", fontsize=7)
    page.draw_bezier((120, 340), (160, 300), (200, 360), (260, 320), color=(0, 0, 0.5), width=1)
    page.insert_text((380, 350), "Date: ____", fontsize=8)


def _form_signature(page: pymupdf.Page) -> None:
    """Three field lines of one length (parallel rules) and a signature curve over the last but one."""
    for i, label in enumerate(("Name", "Date", "Signature")):
        y = 260 + i * 30
        page.insert_text((100, y), label, fontsize=9)
        page.draw_line((170, y + 2), (450, y + 2), color=(0, 0, 0), width=0.5)
    page.draw_bezier((190, 318), (230, 285), (270, 330), (330, 300), color=(0, 0, 0.5), width=1)


def _pull_quote(page: pymupdf.Page) -> None:
    """A pull quote: a thick left rule and a thin bottom rule (an L), a curly quote mark drawn as a path."""
    red = (0.7, 0.1, 0.1)
    page.draw_line((100, 230), (100, 330), color=red, width=2)
    page.draw_line((100, 330), (420, 330), color=red, width=0.5)
    page.draw_bezier((110, 245), (115, 235), (125, 235), (125, 245), color=red, width=2)
    page.insert_textbox(
        pymupdf.Rect(130, 240, 420, 325), "A pull quote from the interview. " * 4, fontsize=11
    )


def _framed_paragraph_with_brace(page: pymupdf.Page) -> None:
    """A paragraph in an L frame and a curly brace drawn beside the frame, outside it."""
    page.draw_line((100, 250), (100, 400), color=(0, 0, 0), width=1)
    page.draw_line((100, 400), (450, 400), color=(0, 0, 0), width=1)
    page.insert_textbox(pymupdf.Rect(110, 260, 440, 390), BODY * 2, fontsize=9)
    page.draw_bezier((460, 260), (480, 300), (440, 350), (460, 390), color=(0.3, 0.3, 0.3))


def _slide_bands(page: pymupdf.Page) -> None:
    """A slide's header bars and three wavy filled bands in three colours bleeding off the page's bottom."""
    page.draw_rect(pymupdf.Rect(0, 0, 595, 30), color=None, fill=(0.1, 0.2, 0.5))
    page.draw_rect(pymupdf.Rect(0, 30, 595, 34), color=None, fill=(0.9, 0.5, 0.1))
    page.draw_rect(pymupdf.Rect(0, 812, 595, 842), color=None, fill=(0.1, 0.2, 0.5))
    for k in range(3):
        y = 760 - k * 10
        pts = [(0, 842), (0, y)] + [(x, y + 8 * ((x // 60) % 2)) for x in range(0, 600, 60)] + [(595, 842)]
        page.draw_polyline(pts, color=None, fill=COLOURS[k], closePath=True)


def _title_waves(page: pymupdf.Page) -> None:
    """Layered waves of one shape, 12 pt apart, on one baseline: a title's background."""
    for k in range(3):
        y = 380 - k * 12
        shape = page.new_shape()
        shape.draw_bezier((60, y), (200, y - 30), (380, y + 30), (535, y))
        shape.draw_line((535, y), (535, 420))
        shape.draw_line((535, 420), (60, 420))
        shape.draw_line((60, 420), (60, y))
        shape.finish(color=None, fill=COLOURS[k], closePath=True)
        shape.commit()


def _tag_ribbons(page: pymupdf.Page) -> None:
    """Three notched ribbons of one width, 20 pt tall, each overlapping the next by 4 pt."""
    for i in range(3):
        y = 240 + i * 16
        pts = [(100, y), (480, y), (470, y + 10), (480, y + 20), (100, y + 20), (110, y + 10)]
        page.draw_polyline(pts, color=None, fill=COLOURS[i], closePath=True)


def _labelled_tag_ribbons(page: pymupdf.Page) -> None:
    """The ribbons with a label left of each and a caption under them: only their thin overlap (a fifth
    of their height) tells them from a stacked area's layers."""
    _tag_ribbons(page)
    for i in range(3):
        page.insert_text((62, 254 + i * 16), f"Tier {i + 1}", fontsize=8)
    page.insert_text((200, 300), "Plans at a glance", fontsize=8)


@pytest.mark.parametrize(
    "draw",
    [
        _signature_box,
        _form_signature,
        _pull_quote,
        _framed_paragraph_with_brace,
        _slide_bands,
        _title_waves,
        _tag_ribbons,
        _labelled_tag_ribbons,
    ],
)
def test_page_furniture_with_a_curve_stays_without_units(
    tmp_path: Path, draw: Callable[[pymupdf.Page], None]
) -> None:
    """Controls for the sparse-line rule (signature box, form signature, pull quote, framed paragraph
    with a brace: rules with a free path that is no series across a plot) and the stacked-area rule
    (slide bands off the page's edge, title waves, overlapping ribbons: layered fills without labels or
    with a thin overlap). Each made a unit before the rules were tightened (review of 2026-12-07)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_textbox(pymupdf.Rect(60, 50, 535, 180), BODY * 5, fontsize=9)
    page.insert_textbox(pymupdf.Rect(60, 640, 535, 780), BODY * 5, fontsize=9)
    draw(page)
    assert _units(tmp_path, doc) == []


def test_a_sparse_line_chart_of_three_points_at_category_centres_is_a_chart() -> None:
    """A review: Office sets a line's points at its categories' centres, so a series of 3 points spans 2/3
    of the plot; a first bound of 3/4 lost it (a signature spans about half)."""
    from types import SimpleNamespace

    from figvault.ingest.panels import has_axes_and_series

    def atom(box: tuple[float, float, float, float], free: int = 0) -> SimpleNamespace:
        return SimpleNamespace(
            box=box, bar=False, path_count=1, image_area=0.0, free_paths=free, fill=False, colour=(0, 0, 0)
        )

    for points in (3, 4, 12):
        step = 300 / points
        series = atom((100 + step / 2, 240, 400 - step / 2, 320), free=1)
        axes = [atom((100, 350, 400, 350.5)), atom((100, 200, 100.5, 350))]
        assert has_axes_and_series([*axes, series], (100, 200, 400, 350.5)), points
