"""Small multiples that share one category axis (faceted charts): every panel's unit holds the category names
it shows by position, printed once left of the row's first panel (docs/extraction.md, "Nineteenth round")."""

from __future__ import annotations

from pathlib import Path

import pymupdf

from figvault.ingest.axis_ticks import scale_row
from figvault.ingest.extract import extract_document
from figvault.ingest.shared_axis import BarPanel, borrowed_names
from figvault.settings import ExtractSettings

BLUE = (0.16, 0.38, 0.71)
ROW_1 = ("Cost visibility", "Release automation", "Policy as code", "Edge deployments")
ROW_2 = ("Managed databases", "Identity federation", "Observability")


def _facets(page: pymupdf.Page, top: float, names: tuple[str, ...], facets: tuple[str, ...]) -> None:
    """A row of horizontal bar panels from ``top``: the names left of the first only (left-aligned, the
    longest ending 6 pt before the bars), a title over each."""
    start = 144 - max(pymupdf.get_text_length(name, fontsize=7.5) for name in names)
    for k, facet in enumerate(facets):
        left = 150 + 140 * k
        page.insert_text((left, top + 10), facet, fontsize=10, fontname="hebo")
        page.draw_line((left, top + 16), (left, top + 16 + 18 * len(names)), color=(0.3,) * 3, width=0.6)
        for r, name in enumerate(names):
            y = top + 16 + 18 * r
            if k == 0:
                page.insert_text((start, y + 12), name, fontsize=7.5)
            w = 15 + 23 * ((r + k) % 4)
            page.draw_rect((left, y + 3, left + w, y + 15), color=None, fill=BLUE)
            page.insert_text((left + w + 2, y + 12), f"{w}%", fontsize=7)


def _units(tmp_path: Path, doc: pymupdf.Document) -> list[tuple[tuple[float, ...], str, str]]:
    path = tmp_path / "facets.pdf"
    doc.save(path)
    figures = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures
    return sorted((tuple(f.unit.bbox), f.unit.title or "", f.unit.figure_text or "") for f in figures)


def test_every_facet_of_a_row_holds_the_names_printed_left_of_the_first(tmp_path: Path) -> None:
    """Two rows of three facets, each row its own names: every panel holds its row's names and no name of
    the other row; a panel right of the first does not grow over the names (they are in its text only).
    Before: the second and third panels of each row held none of the names."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((50, 50), "Reasons for adopting, by number of nodes", fontsize=16, fontname="hebo")
    _facets(page, 80, ROW_1, ("All", "1-10 nodes", "11-100 nodes"))
    _facets(page, 250, ROW_2, ("Europe", "Asia Pacific", "Africa"))
    units = _units(tmp_path, doc)
    assert len(units) == 6, units
    for box, title, text in units:
        row, other = (ROW_1, ROW_2) if box[1] < 200 else (ROW_2, ROW_1)
        assert all(name in text for name in row), (title, text)
        assert not any(name in text for name in other), (title, text)
        if title not in ("All", "Europe"):
            assert box[0] > 140, (title, box)


def test_bar_charts_side_by_side_with_their_own_names_keep_their_own(tmp_path: Path) -> None:
    """Two bar charts of one row, each with its own names: neither takes the other's (the rule is for a
    panel with no names of its own)."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((50, 50), "Two questions", fontsize=16, fontname="hebo")
    _facets(page, 80, ROW_1, ("Adoption",))
    page_right = (*ROW_2, "Backups")
    for r, name in enumerate(page_right):  # the right chart's own names, its rows level with the left's
        page.insert_text((330, 96 + 18 * r + 12), name, fontsize=7.5)
    page.insert_text((420, 90), "Spending", fontsize=10, fontname="hebo")
    for r in range(4):
        page.draw_rect((420, 96 + 18 * r + 3, 460 + 10 * r, 96 + 18 * r + 15), color=None, fill=BLUE)
    units = _units(tmp_path, doc)
    assert len(units) == 2, units
    left, right = units
    assert not any(name in right[2] for name in ROW_1), right
    assert not any(name in left[2] for name in page_right), left


def test_only_panels_whose_rows_line_up_lend_their_names() -> None:
    """The rule on boxes: a panel borrows from the nearest panel on its left whose bar rows line up with its
    own; not from one of other heights (another row of facets), nor from one on its right."""
    rows = [(100.0, 112.0), (118.0, 130.0), (136.0, 148.0)]
    names = [((50.0, 102.0, 120.0, 110.0), "Cost"), ((50.0, 120.0, 120.0, 128.0), "Speed")]
    first = BarPanel((150.0, 100.0, 250.0, 148.0), rows, names)
    second = BarPanel((280.0, 100.0, 380.0, 148.0), rows, [((255.0, 102.0, 270.0, 110.0), "62%")])
    lower = BarPanel((280.0, 300.0, 380.0, 348.0), [(a + 200, b + 200) for a, b in rows], [])
    assert borrowed_names([first, second, lower]) == {1: (0, [0, 1])}
    right_names = [((385.0, 102.0, 405.0, 110.0), "Cost"), ((385.0, 120.0, 405.0, 128.0), "Speed")]
    named_right = BarPanel((410.0, 100.0, 500.0, 148.0), rows, right_names)
    assert borrowed_names([second, named_right]) == {}


def _bars_over_ticks(page: pymupdf.Page, ticks: tuple[str, ...]) -> None:
    """One horizontal bar chart (names within the margin, values after the bars), the axis from x 150 to
    330, ``ticks`` centred under it at even places: a scale's "0" half left of the axis line, its last tick
    past the longest bar (62 % of the axis)."""
    page.insert_text((50, 90), "Reasons for adopting", fontsize=11, fontname="hebo")
    page.draw_line((150, 100), (150, 172), color=(0.3,) * 3, width=0.6)
    for r, name in enumerate(ROW_1):
        y = 100 + 18 * r
        page.insert_text((144 - pymupdf.get_text_length(name, fontsize=7.5), y + 12), name, fontsize=7.5)
        w = 180 * (0.2 + 0.14 * r)
        page.draw_rect((150, y + 3, 150 + w, y + 15), color=None, fill=BLUE)
        page.insert_text((152 + w, y + 12), f"{round(w / 1.8)}%", fontsize=7)
    for k, tick in enumerate(ticks):
        x = 150 + 90 * k - pymupdf.get_text_length(tick, fontsize=6.5) / 2
        page.insert_text((x, 181), tick, fontsize=6.5)


def test_a_value_axis_under_horizontal_bars_keeps_its_end_ticks(tmp_path: Path) -> None:
    """Layout class "value axis under horizontal bars" (survey shared_axis): the end ticks are centred on the
    axis's ends, "0" half left of the axis line, "100" past the longest bar: both reached past the chart's
    sides and were skipped. Before: "0" and "100" not in the unit (4742 -> 5031 of 5080 shared_axis words
    with rules 58, 59). A row of figures there that is no scale stays out past the bars."""
    doc = pymupdf.open()
    _bars_over_ticks(doc.new_page(width=595, height=842), ("0", "50", "100"))
    ((box, _, text),) = _units(tmp_path, doc)
    assert {"0", "50", "100"} <= set(text.splitlines()), text
    assert box[2] >= 330, box

    doc = pymupdf.open()
    _bars_over_ticks(doc.new_page(width=595, height=842), ("12", "7", "31"))
    ((box, _, text),) = _units(tmp_path, doc)
    assert "31" not in text.splitlines(), text


def test_a_scale_under_a_plot_goes_on_at_its_pitch() -> None:
    """``axis_ticks.scale_row``: a core of two ticks under the plot carries on at its pitch and step; a
    neighbour's "0" at the next place, or a tick off the pitch, does not carry it."""

    def tick(x: float, value: float, index: int) -> tuple[tuple[float, float, float, float], float, int]:
        return ((x - 3.0, 200.0, x + 3.0, 207.0), value, index)

    core = [tick(100, 0, 0), tick(150, 50, 1)]
    assert [t[2] for t in scale_row(core, [*core, tick(200, 100, 2)])] == [0, 1, 2]
    assert scale_row(core, [*core, tick(200, 0, 3)]) == []
    assert scale_row(core, [*core, tick(206, 100, 4)]) == []
