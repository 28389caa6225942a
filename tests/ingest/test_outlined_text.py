"""Layout class "outlined text": a chart whose words are vector outlines (text converted to paths), as design
tools and "convert text to outlines" exports draw them (docs/extraction.md, "Seventeenth round")."""

from __future__ import annotations

from pathlib import Path

from figvault.ingest.boxes import Box
from figvault.ingest.extract import extract_document
from figvault.ingest.outlined_text import OUTLINED_MAX_LINES, glyph_runs
from figvault.settings import ExtractSettings
from tests.helpers.bench_module import load_bench


def _word(x: float, y: float, widths: list[float], height: float = 5.0) -> list[Box]:
    """Glyph boxes of one word set at (x, y): letters of the given widths, 0.4 pt apart, x-height letters
    (every other one) 70 % as high as the others."""
    boxes = []
    for k, w in enumerate(widths):
        top = y + (0.3 * height if k % 2 else 0.0)
        boxes.append((x, top, x + w, y + height))
        x += w + 0.4
    return boxes


def test_glyph_runs_are_words_not_markers_or_bars() -> None:
    """Runs of filled glyph-sized paths in a text line count; a row of equal markers, a row of ruled bars
    (a sparkline) and hairline-thin or large paths do not."""
    europe = _word(10, 10, [3.2, 2.8, 2.0, 2.8, 2.9, 2.8])  # "Europe"
    second = _word(10, 18, [3.0, 2.4, 2.9])  # a label's second line, one line pitch below
    markers = [(40 + 8 * k, 10, 44 + 8 * k, 14) for k in range(8)]  # a line chart's markers: one shape
    dots = [(40 + 4.5 * k, 30, 44 + 4.5 * k, 34) for k in range(8)]  # a dot plot's: close, still one shape
    bars = [(40 + 3 * k, 50 - k, 42 + 3 * k, 50) for k in range(8)]  # sparkline bars: ruled
    big = [(100, 10, 140, 40), (141, 10, 180, 40), (181, 10, 200, 40)]  # shapes, not glyphs
    paths = europe + second + markers + dots + bars + big
    curved = [True] * len(paths)
    for k in range(len(paths) - len(bars) - len(big), len(paths) - len(big)):
        curved[k] = False
    runs = glyph_runs(paths, curved, [True] * len(paths))
    assert sorted(len(run) for run in runs) == [3, 6]
    assert glyph_runs(paths, curved, [False] * len(paths)) == []  # stroked outlines are no filled glyphs


def _extract(tmp_path: Path, seed: int, ocr: bool) -> tuple[list, list]:
    survey = load_bench("survey_pages")
    doc, gold = survey.survey_report(seed, "outlined_text")
    path = tmp_path / f"outlined-{seed}.pdf"
    path.write_bytes(doc.tobytes())
    settings = ExtractSettings(workers=1, ocr=ocr)
    if ocr:  # no read cut short by a loaded machine
        settings = settings.model_copy(update={"ocr_timeout_s": 600.0})
    return gold, extract_document(path, settings).figures


def test_the_outlined_words_of_a_titled_chart_are_read(tmp_path: Path) -> None:
    """survey outlined_text 1000 p1: two framed charts whose labels, ticks and legend names are outlines
    under a title and a source line still set as text (110-120 text-layer characters each, so the old
    "under 60 characters" gate read neither). OCR reads them into figure_text, rendered at 300 dpi: 0 of 40
    words before rules 50-51, 25 at 150 dpi."""
    survey = load_bench("survey_pages")
    gold, figures = _extract(tmp_path, 1000, ocr=True)
    charts = [g for g in gold if g.page == 1]
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title) for f in figures]
    score = survey.PanelScore()
    score.add_words(charts, units, [f"{f.unit.title}\n{f.unit.figure_text}" for f in figures])
    assert len(charts) == 2 and score.words[1] == 40
    assert score.words[0] >= 36, score.errors  # 25 read at 150 dpi, 40 at 300 (rule 52)
    assert all("\n\n" not in (f.unit.figure_text or "") for f in figures)  # outlined lines add no blank lines


def test_two_outlined_charts_side_by_side_stay_two_units(tmp_path: Path) -> None:
    """survey outlined_text 1003 p2: two framed donuts side by side, their legends outlines. The glyph paths,
    drawings, kept either frame from reading as a chart, and the two became one unit; as text lines they
    are each donut's legend."""
    gold, figures = _extract(tmp_path, 1003, ocr=False)
    on_page = sorted((f.unit.bbox[0], f.unit.title) for f in figures if f.unit.page == 2)
    titles = sorted((g.box[0], g.title) for g in gold if g.page == 2)
    assert len(on_page) == len(titles) == 2
    for (_, title), (_, truth) in zip(on_page, titles, strict=True):
        assert title == truth


def test_a_page_of_too_many_runs_keeps_its_paths_as_drawings() -> None:
    """A hostile page of thousands of short glyph runs (3,000 beside 10,000 other paths: 39 CPU-s to lay
    out as text lines) is read as before: no run past OUTLINED_MAX_LINES."""
    words = [
        _word(10 + 20 * (k % 30), 10 + 8 * (k // 30), [2.0, 3.0, 2.5]) for k in range(OUTLINED_MAX_LINES + 1)
    ]
    paths = [box for word in words for box in word]
    runs = glyph_runs(paths, [True] * len(paths), [True] * len(paths))
    assert runs == []
    assert (
        len(glyph_runs(paths[:-3], [True] * (len(paths) - 3), [True] * (len(paths) - 3)))
        == OUTLINED_MAX_LINES
    )
