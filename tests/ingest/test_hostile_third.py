"""Hostile files of the third pass (``hostile_third``): costs hidden in a font's ToUnicode map, a document's
own metadata, and pictures Tesseract refuses. Each is read or refused alone, within its bounds."""

from __future__ import annotations

from pathlib import Path

import pytest
from pptx import Presentation

from figvault.ingest import ocr
from figvault.ingest.slide_chart import category_labels, series_values
from figvault.pipeline.extract_worker import extract_many
from figvault.settings import ExtractSettings
from tests.ingest import hostile_third as h3
from tests.ingest import pptx_decks as decks

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
needs_tesseract = pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")


def test_a_chart_of_many_points_is_read_in_one_pass(tmp_path: Path) -> None:
    # Before: python-pptx looked each value up over all points (5,000 points: 20 CPU-s, 20,000: about 16
    # times that) and sized its lists by the declared count (10**8 over three points): both decks failed
    # "took longer than 60 s", losing every slide. Now about 2 CPU-s for the first.
    base = decks.chart_deck(tmp_path / "chart.pptx").read_bytes()
    many = h3.chart_points_pptx(tmp_path / "many.pptx", base, 20_000)
    claims = h3.chart_points_pptx(tmp_path / "claims.pptx", base, 3, declared=10**8)
    settings = SETTINGS.model_copy(update={"doc_timeout_s": 60})
    results = dict(extract_many([many, claims], settings))
    for deck, shown in ((many, "day 0, day 1, day 2"), (claims, "day 0, day 1, day 2")):
        result = results[deck]
        assert not isinstance(result, str), result
        assert [shown in f.unit.figure_text for f in result.extraction.figures] == [True]
    assert "(20000 in all)" in results[many].extraction.figures[0].unit.figure_text


def test_chart_data_reads_as_python_pptx_reads_it(tmp_path: Path) -> None:
    chart = Presentation(str(decks.chart_deck(tmp_path / "chart.pptx", points=40))).slides[0].shapes[1].chart
    for plot in chart.plots:
        assert category_labels(plot) == [str(c) for c in plot.categories]
        assert [series_values(s) for s in plot.series] == [list(s.values) for s in plot.series]
