"""OCR reads a figure's unit rendering when it would draw the same pixels (ingest.render.PageRenders)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.ingest import pdf
from figvault.ingest.extract import extract_document
from figvault.ingest.render import PageRenders, render_image, render_region
from figvault.settings import ExtractSettings
from tests.ingest.test_ocr import needs_tesseract, picture_pdf, text_picture

RECT = pymupdf.Rect(41.3, 47.9, 390.2, 191.7)  # odd sizes: rows not a multiple of 4 bytes


def _counting_draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every rasterisation: a page's display list drawn (``Page.get_pixmap`` draws one too)."""
    draws: list[int] = []
    real = pymupdf.DisplayList.get_pixmap
    monkeypatch.setattr(pymupdf.DisplayList, "get_pixmap", lambda *a, **k: draws.append(1) or real(*a, **k))
    return draws


def test_ocr_takes_the_units_rendering_at_the_same_dpi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = pymupdf.open(picture_pdf(tmp_path / "p.pdf", [(text_picture(), (50, 50, 383, 183))]))[0]
    fresh = render_image(page, RECT, 150, 1_500_000, antialias=False)
    draws = _counting_draws(monkeypatch)
    renders = PageRenders(max_bytes=10_000_000)
    unit = render_region(page, RECT, 150, 4_000_000, antialias=False, renders=renders)
    image = render_image(page, RECT, 150, 1_500_000, antialias=False, renders=renders)
    assert len(draws) == 1  # the OCR image was not drawn again
    assert (image.size, image.tobytes()) == (fresh.size, fresh.tobytes())
    assert (unit.width, unit.height) == image.size
    render_image(page, RECT, 150, 1_500_000, antialias=False, renders=renders)
    assert len(draws) == 2  # taken once: a second read draws


@pytest.mark.parametrize(
    ("ocr_dpi", "ocr_cap", "antialias"),
    [(300, 1_500_000, True), (150, 50_000, True), (150, 1_500_000, False)],
)
def test_other_pixels_are_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ocr_dpi: int, ocr_cap: int, antialias: bool
) -> None:
    """Another dpi, a pixel cap that lowers the dpi, or other anti-aliasing: not the unit's pixels."""
    page = pymupdf.open(picture_pdf(tmp_path / "p.pdf", [(text_picture(), (50, 50, 383, 183))]))[0]
    fresh = render_image(page, RECT, ocr_dpi, ocr_cap, antialias=antialias)
    draws = _counting_draws(monkeypatch)
    renders = PageRenders(max_bytes=10_000_000)
    render_region(page, RECT, 150, 4_000_000, renders=renders)
    image = render_image(page, RECT, ocr_dpi, ocr_cap, antialias=antialias, renders=renders)
    assert len(draws) == 2
    assert (image.size, image.tobytes()) == (fresh.size, fresh.tobytes())


def test_renderings_past_the_byte_budget_are_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = pymupdf.open(picture_pdf(tmp_path / "p.pdf", [(text_picture(), (50, 50, 383, 183))]))[0]
    draws = _counting_draws(monkeypatch)
    renders = PageRenders(max_bytes=1000)
    render_region(page, RECT, 150, 4_000_000, renders=renders)
    render_image(page, RECT, 150, 1_500_000, renders=renders)
    assert len(draws) == 2


@needs_tesseract
def test_extraction_draws_a_150_dpi_picture_once_and_reads_the_same_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 900 pixels over 432 points: 150 dpi, the unit's resolution, so OCR reads the unit's rendering.
    path = picture_pdf(tmp_path / "p.pdf", [(text_picture(), (72, 100, 504, 273))])
    draws = _counting_draws(monkeypatch)
    kept = extract_document(path, ExtractSettings(workers=1))
    assert len(kept.figures) == 1 and len(draws) == 1
    monkeypatch.setattr(pdf, "_ocr_renders", lambda settings: PageRenders(max_bytes=0))  # nothing kept
    drawn = extract_document(path, ExtractSettings(workers=1))
    assert len(draws) == 3
    assert "Replication lag" in kept.figures[0].unit.figure_text
    assert kept.figures[0].unit.figure_text == drawn.figures[0].unit.figure_text
    assert kept.figures[0].unit.title == drawn.figures[0].unit.title
