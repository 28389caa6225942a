"""Decks of native office charts (issue 13: "PPTX parity" and "slides saved as PDF").

Decks come from ``bench/deck_pages.py`` (python-pptx native charts, saved as PDF by LibreOffice); its ground
truth (chart frames, titles) comes from the deck itself. One deck of the tune part keeps the classes working
in CI: a grid of charts, charts beside a picture, charts under a row of KPI tiles."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest
from pptx import Presentation

from figvault.ingest.boxes import box_iou
from tests.helpers.bench_module import load_bench

SEED = 3000
"""A tune-part deck: two charts side by side, two charts under KPI tiles, one chart under KPI tiles."""
PDF_SEED = 3010
"""A tune-part deck whose PDF has a line chart under a chart title LibreOffice wraps and centres (each line
a text block of its own) and a pie under its centred title 31 pt above it."""
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")


@pytest.fixture(scope="module")
def decks() -> ModuleType:
    return load_bench("deck_pages")


def test_pptx_native_charts_side_by_side_are_one_unit_each(decks: ModuleType, tmp_path: Path) -> None:
    """Layout class "native charts side by side": each chart (and the picture beside charts) its own unit,
    titled by its own chart title, else the slide's; the KPI tiles above are no part of a chart."""
    data, truth = decks.deck(SEED)
    path = tmp_path / "deck.pptx"
    path.write_bytes(data)
    units, texts = decks._units(path)
    result = decks.score_panels(truth.pptx, units)
    assert (result.matched, result.merged, result.lost) == (len(truth.pptx), 0, 0), result.errors
    assert result.title_exact == len(truth.pptx), result.errors
    assert decks._text_ok(truth, units, texts) == (len(truth.names), [])


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_slides_saved_as_pdf_one_titled_unit_per_chart(decks: ModuleType, tmp_path: Path) -> None:
    """Layout classes "office chart title, wrapped and centred" and "office pie under its centred chart
    title": each chart of the deck saved as PDF by LibreOffice is one unit with its whole title."""
    data, truth = decks.deck(PDF_SEED)
    path = tmp_path / "deck.pptx"
    path.write_bytes(data)
    decks.to_pdf([path], tmp_path, SOFFICE)
    units, _ = decks._units(path.with_suffix(".pdf"))
    result = decks.score_panels(truth.pdf, units)
    assert (result.matched, result.merged, result.lost) == (len(truth.pdf), 0, 0), result.errors
    assert result.title_exact == len(truth.pdf), result.errors


SLANTED_SEED = 3003
"""A tune-part deck whose first slide has a column chart with its category names slanted under its axis."""


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_a_slanted_category_label_is_no_title(decks: ModuleType, tmp_path: Path) -> None:
    """Layout class "slanted category labels": an office chart turns long category names 45 degrees under
    its axis; the one nearest the chart's foot is no title (the chart keeps the title above it)."""
    data, truth = decks.deck(SLANTED_SEED)
    path = tmp_path / "deck.pptx"
    path.write_bytes(data)
    decks.to_pdf([path], tmp_path, SOFFICE)
    units, _ = decks._units(path.with_suffix(".pdf"))
    assert not {title for _, _, title in units} & set(decks.CATEGORIES)
    slanted = [g for g in truth.pdf if g.page == 1 and g.kind == "stacked_columns"]
    assert decks.score_panels(slanted, units).title_exact == 1


ROUND_PLOTS = {3003: (3,), 3009: (1, 2), 3014: (1,)}
"""Tune-part decks and slides with pies and doughnuts: legend far right of a pie under KPI tiles (3003 p3),
legends under doughnuts and titles set at their frames' left (3009), legend left of a pie under its
centred title 101 pt above it (3014 p1)."""
TOO_SMALL = {(3009, 1, (378, 313)), (3009, 2, (378, 313))}
"""Doughnuts (slide, frame's top left) whose plot, with its legend and title, covers under half of its frame:
no unit can match the frame at IoU 0.5 (nothing on the page shows the frame's extent)."""
SIDE_BY_SIDE = {3007: (3,), 3008: (1,)}
"""Tune-part slides of two charts side by side: a pie titled far above it beside a stacked column chart
(3007 p3); a bar chart under its title beside a taller column chart (3008 p1)."""


UNTITLED = {3002: (1,), 3003: (3,)}
"""Tune-part slides with untitled charts: two of four charts on a slide (3002 p1), a slide's one chart, a pie
under a row of KPI tiles (3003 p3)."""


REPEATED_NAMES = (3008, 3010)
"""Tune-part decks whose charts name the same categories on every slide, under their axes in the slides'
bottom margin: the same bar chart categories on its three slides (3008), Q1-Q4 under the line and column
charts (3010)."""
KPI_DECKS = (3000, 3003)
"""Tune-part decks with rows of KPI tiles over charts: two slides (3000), one over a pie (3003 p3)."""


@pytest.fixture(scope="module")
def deck_pdfs(decks: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[object, Path]]:
    """The decks of ROUND_PLOTS, SIDE_BY_SIDE, UNTITLED, REPEATED_NAMES and KPI_DECKS saved as PDF in one
    LibreOffice run: seed -> (truth, PDF)."""
    folder = tmp_path_factory.mktemp("decks")
    found = {}
    for seed in {**ROUND_PLOTS, **SIDE_BY_SIDE, **UNTITLED, **dict.fromkeys(REPEATED_NAMES + KPI_DECKS)}:
        data, truth = decks.deck(seed)
        path = folder / f"deck-{seed}.pptx"
        path.write_bytes(data)
        found[seed] = (truth, path.with_suffix(".pdf"))
    decks.to_pdf([pdf.with_suffix(".pptx") for _, pdf in found.values()], folder, SOFFICE)
    return found


def _charts(decks: ModuleType, deck_pdfs: dict, slides: dict[int, tuple[int, ...]], kinds: set[str]) -> list:
    """Per seed of ``slides``: its charts of ``kinds`` on those slides and its PDF's units."""
    out = []
    for seed, pages in slides.items():
        truth, pdf = deck_pdfs[seed]
        units, _ = decks._units(pdf)
        out.append((seed, [g for g in truth.pdf if g.page in pages and g.kind in kinds], units))
    return out


def _assert_one_titled_unit_each(decks: ModuleType, seed: int, gold: list, units: list) -> None:
    """Each chart of ``gold`` is one unit (none merged or lost), and each titled one has its title exact."""
    result = decks.score_panels(gold, units)
    assert (result.matched, result.merged, result.lost) == (len(gold), 0, 0), (seed, result.errors)
    titled = [g for g in gold if g.title]
    assert decks.score_panels(titled, units).title_exact == len(titled), (seed, result.errors)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_pies_and_doughnuts_take_their_legend_and_title_set_apart(decks: ModuleType, deck_pdfs: dict) -> None:
    """Layout classes "round plot with its legend set apart" and "title far above or at the frame's left
    over a round plot": an office chart centres its pie or doughnut in the frame, the legend at the
    frame's side or foot and the title at its top. The unit is the plot with its legend (swatches in the
    wedges' colours) and its title: one unit per chart, its title exact."""
    for seed, gold, units in _charts(decks, deck_pdfs, ROUND_PLOTS, {"pie", "doughnut"}):
        gold = [g for g in gold if (seed, g.page, tuple(round(v) for v in g.box[:2])) not in TOO_SMALL]
        _assert_one_titled_unit_each(decks, seed, gold, units)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_charts_side_by_side_are_one_unit_each(decks: ModuleType, deck_pdfs: dict) -> None:
    """Two charts side by side are two units: the chart beside a pie does not take the pie's title far
    above it as its own (and grow over the pie), nor the title over a lower chart on its left as one of
    its category labels."""
    for seed, gold, units in _charts(decks, deck_pdfs, SIDE_BY_SIDE, set(decks.CHART_KINDS)):
        _assert_one_titled_unit_each(decks, seed, gold, units)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_an_untitled_chart_takes_the_slide_title(decks: ModuleType, deck_pdfs: dict) -> None:
    """A chart without a title of its own is titled by the slide, the slide's one chart (a KPI tile row
    beside it is no chart) as well as one among several (issue 13: "a slide's graphic units carry the slide
    title as title", and slide-like PDF pages are handled like slides: the PPTX path does the same)."""
    for seed, gold, units in _charts(decks, deck_pdfs, UNTITLED, set(decks.CHART_KINDS)):
        truth, _ = deck_pdfs[seed]
        untitled = [g for g in gold if g.title == truth.slide_titles[g.page]]
        assert untitled, seed
        result = decks.score_panels(gold, units)
        assert (result.matched, result.title_exact) == (len(gold), len(gold)), (seed, result.errors)


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_category_names_repeated_on_every_slide_stay_in_their_charts(
    decks: ModuleType, deck_pdfs: dict
) -> None:
    """Layout class "repeated chart labels in the margin": a name repeated on most slides of a deck is a
    running header or footer only in the page's top or bottom margin and away from any drawing. Category
    names under a chart's axis, in the bottom margin of every slide, are the chart's: each is in its unit's
    figure_text (issue 13 item 2: the PPTX path reads them from the chart's data)."""
    for seed in REPEATED_NAMES:
        truth, pdf = deck_pdfs[seed]
        units, texts = decks._units(pdf)
        categories = set(decks.CATEGORIES) | set(decks.QUARTERS)
        axis = {
            gi: [name for name in names if name in categories]
            for gi, names in truth.drawn.items()
            if truth.pptx[gi].kind not in ("pie", "doughnut")
        }
        assert decks._text_ok(truth, units, texts, axis) == (len(axis), []), seed


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_a_row_of_kpi_tiles_is_no_figure_on_either_path(
    decks: ModuleType, deck_pdfs: dict, tmp_path: Path
) -> None:
    """Layout class "KPI tiles": a row of filled boxes, each a big number over its label, is no chart or
    diagram (issue 13; the hand labels count no scorecard): no unit on the PPTX path or on the PDF path,
    and the charts under it stay one unit each."""
    for seed in KPI_DECKS:
        truth, pdf = deck_pdfs[seed]
        assert truth.kpis, seed
        for path, gold in ((pdf, truth.pdf), (pdf.with_suffix(".pptx"), truth.pptx)):
            units, _ = decks._units(path)
            tiles = [
                u for u in units for row in truth.kpis if u[0] == row.page and box_iou(u[1], row.box) > 0.3
            ]
            assert not tiles, (seed, path.suffix, tiles)
            on_kpi_slides = [g for g in gold if g.page in {row.page for row in truth.kpis}]
            result = decks.score_panels(on_kpi_slides, units)
            assert (result.merged, result.lost) == (0, 0), (seed, path.suffix, result.errors)


def test_a_bold_text_box_over_a_chart_is_its_title_on_the_pptx_path(
    decks: ModuleType, deck_pdfs: dict
) -> None:
    """Layout class "title text box over a chart": a chart without a chart title under a bold one-line
    text box is titled by that line, on the PPTX path as on the slide saved as PDF (the slide's title was
    the unit's title on PPTX, the line's on PDF)."""
    boxed = 0
    for seed, (truth, pdf) in deck_pdfs.items():
        units, _ = decks._units(pdf.with_suffix(".pptx"))
        own = [g for g in truth.pptx if g.kind in decks.CHART_KINDS and g.title != truth.slide_titles[g.page]]
        boxed += sum(g.title not in _chart_titles(pdf.with_suffix(".pptx")) for g in own)
        assert decks.score_panels(own, units).title_exact == len(own), seed
    assert boxed, "no chart titled by a text box among the decks"


def _chart_titles(path: Path) -> set[str]:
    """The titles the deck's native charts show themselves."""
    return {
        shape.chart.chart_title.text_frame.text
        for slide in Presentation(str(path)).slides
        for shape in slide.shapes
        if shape.has_chart and shape.chart.has_title
    }


SIDE_LEGENDS = {3000: (1, 2), 3010: (1, 2)}
"""Tune-part slides whose charts have their legends set apart beside or under the plot: column and bar
charts side by side, each with its legend at its right between the two (3000 p1, p2), a bar chart and a
line chart, the line chart's legend keys short strokes with a marker (3010 p1), a line chart with its
legend under it (3010 p2)."""


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_a_legend_set_apart_beside_a_chart_is_in_its_figure_text(decks: ModuleType, deck_pdfs: dict) -> None:
    """Layout class "legend set apart, keyed by colour", for bars, columns and lines as for round plots: an
    office chart sets its legend at its frame's side, past LABEL_MARGIN_PT from the plot; the legend's
    names (swatches or line samples in the series' colours) are the chart's, in its unit's figure_text,
    and no other chart's unit on the slide takes them (issue 13 item 2: PPTX reads them from the data)."""
    for seed, pages in SIDE_LEGENDS.items():
        truth, pdf = deck_pdfs[seed]
        units, texts = decks._units(pdf)
        charts = {gi: g for gi, g in enumerate(truth.pptx) if g.page in pages}
        series = {gi: [n for n in truth.drawn[gi] if n in decks.SERIES] for gi in charts}
        assert all(series.values()), (seed, series)
        assert decks._text_ok(truth, units, texts, series) == (len(series), []), seed
        for gi, g in charts.items():
            best = max(
                (i for i, u in enumerate(units) if u[0] == g.page), key=lambda i: box_iou(g.box, units[i][1])
            )
            others = {
                n for gj, names in series.items() if gj != gi and charts[gj].page == g.page for n in names
            }
            stray = others - set(truth.drawn[gi])
            assert not [n for n in stray if n in texts[best].split()], (seed, g.page, g.kind, texts[best])
            assert truth.slide_titles[g.page] not in " ".join(texts[best].split()), (seed, g.page)


FEW_WORDS = {3009: (3,), 3010: (2,)}
"""Tune-part slides whose title holds most of the slide's letters (a chart's numbers are no words): a
line chart beside a 100 % stacked column chart, both untitled or one titled by a short line (3009 p3),
one untitled line chart (3010 p2)."""


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) not installed")
def test_a_slide_of_few_words_keeps_its_title(decks: ModuleType, deck_pdfs: dict) -> None:
    """Layout class "slide of few words": the slide title is found although its type is the median
    letter's (the body's type is that of the other blocks), and the untitled chart under it takes it."""
    for seed, gold, units in _charts(decks, deck_pdfs, FEW_WORDS, set(decks.CHART_KINDS)):
        truth, _ = deck_pdfs[seed]
        assert [g for g in gold if g.title == truth.slide_titles[g.page]], seed
        result = decks.score_panels(gold, units)
        assert (result.matched, result.title_exact) == (len(gold), len(gold)), (seed, result.errors)
