"""Decks of native office charts (issue 13: "PPTX parity" and "slides saved as PDF").

Decks come from ``bench/deck_pages.py`` (python-pptx native charts, saved as PDF by LibreOffice); its ground
truth (chart frames, titles) comes from the deck itself. One deck of the tune part keeps the classes working
in CI: a grid of charts, charts beside a picture, charts under a row of KPI tiles."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import ModuleType

import pytest

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
