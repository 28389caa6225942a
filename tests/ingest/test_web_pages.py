"""Report pages made as web pages (issue 13: titled, separate units for multi-chart survey pages).

The page comes from ``bench/web_pages.py`` (HTML chart cards, charts drawn by Apache ECharts, printed to PDF
by headless Chromium), checked in with its ground truth (the cards' boxes and titles as the browser laid
them out), so the test needs neither node nor Chromium."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.helpers.bench_module import load_bench

DATA = Path(__file__).parent / "data"
PIE_CARDS = DATA / "web-page-5002-p2.pdf"
"""Page 2 of tune report 5002: six tinted cards in two rows, five of them pies and doughnuts with legends
under them, a paragraph of prose beside the second row."""


@pytest.fixture(scope="module")
def web() -> ModuleType:
    return load_bench("web_pages")


def test_pies_with_curved_legend_swatches_are_one_titled_unit_each(web: ModuleType) -> None:
    """Layout class "pie with curved legend swatches": ECharts draws each legend swatch as a rounded
    rectangle in its wedge's colour; the pie is still a chart, so each card is its own unit, titled."""
    truth = web.read_truth(PIE_CARDS.with_suffix(".json"))
    result = web.score_pdf(PIE_CARDS, truth)
    assert (result.matched, result.merged, result.lost) == (len(truth.panels), 0, 0), result.errors
    assert result.title_exact == len(truth.panels), result.errors


ROUNDED_TILES = DATA / "web-page-5010-p2.pdf"
"""Page 2 of tune report 5010: a row of four KPI tiles with rounded corners over three charts on white
(stacked columns, bars, grouped columns)."""


def test_kpi_tiles_with_rounded_corners_are_no_part_of_a_chart(web: ModuleType) -> None:
    """Layout class "KPI tiles with rounded corners": each tile is one filled path of lines and curves;
    the row is a panel of its own, never glued to the charts under it."""
    truth = web.read_truth(ROUNDED_TILES.with_suffix(".json"))
    result = web.score_pdf(ROUNDED_TILES, truth)
    assert (result.matched, result.merged, result.lost) == (len(truth.panels), 0, 0), result.errors


BASE_LINES = DATA / "web-page-5003-p2.pdf"
"""Page 2 of tune report 5003: six chart cards, each title (bold, or a survey question) over a smaller base
line or subtitle ("Base: all respondents (n=3,151)", "In millions of US dollars"), each its own text block."""


def test_a_card_title_over_its_base_line_in_a_block_of_its_own(web: ModuleType) -> None:
    """Layout class "titled chart with a base line", set as two HTML elements: the unit takes the title
    over the base line, not the base line nearest the chart."""
    truth = web.read_truth(BASE_LINES.with_suffix(".json"))
    result = web.score_pdf(BASE_LINES, truth)
    assert result.matched >= 4, result.errors
    assert result.title_exact == result.matched, result.errors
