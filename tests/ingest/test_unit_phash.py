"""The units' perceptual hashes come from the extractor, of the pixels it rendered, before PNG encoding: the
same bits as the hash of the decoded PNG (what ingest computed before), without decoding it again."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from figvault.ingest.pdf import extract_pdf_units
from figvault.ingest.pptx import _picture_png, extract_pptx_units
from figvault.ingest.render import render_region
from figvault.phash import is_perceptual_hash, perceptual_hash
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf, figure_png
from tests.ingest import pptx_decks as decks


def test_a_rendered_region_carries_the_hash_of_its_png() -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.insert_image(pymupdf.Rect(60, 80, 540, 400), stream=figure_png(7, (480, 320)))
    page.draw_rect((80, 450, 500, 700), color=(0, 0, 0), fill=(0.2, 0.5, 0.9))
    out = render_region(page, pymupdf.Rect(40, 60, 560, 720), 150, 4_000_000)
    assert is_perceptual_hash(out.phash)
    assert out.phash == perceptual_hash(out.png)


def test_pdf_units_carry_the_hash_of_their_png(tmp_path: Path) -> None:
    path = figure_pdf(tmp_path / "figures.pdf", seed=3, n_figures=3)
    data = path.read_bytes()
    result = extract_pdf_units(path, data, hashlib.sha256(data).hexdigest(), ExtractSettings(ocr=False))
    assert result.figures
    for figure in result.figures:
        assert figure.unit.phash == perceptual_hash(figure.png)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "LA", "P"])
def test_a_slide_picture_carries_the_hash_of_its_png(mode: str) -> None:
    with Image.open(io.BytesIO(figure_png(5, (300, 200)))) as opened:
        img = opened.convert(mode)
    png, _, _, phash = _picture_png(img, object(), 40_000)
    assert phash == perceptual_hash(png)


def test_pptx_picture_units_carry_the_hash_of_their_png(tmp_path: Path) -> None:
    path = decks.picture_deck(tmp_path / "picture.pptx", figure_png(11, (400, 300)))
    data = path.read_bytes()
    settings = ExtractSettings(ocr=False, libreoffice="off")
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert result.figures
    for figure in result.figures:
        assert figure.unit.phash == perceptual_hash(figure.png)


def test_ingest_keeps_the_workers_hash_and_hashes_the_png_where_none_came(tmp_path: Path) -> None:
    from figvault.pipeline.stages import DocSpec, prepare_units

    path = figure_pdf(tmp_path / "figures.pdf", seed=4, n_figures=2)
    data = path.read_bytes()
    extraction = extract_pdf_units(path, data, hashlib.sha256(data).hexdigest(), ExtractSettings(ocr=False))
    first, second = extraction.figures[:2]
    sent = "f" * len(first.unit.phash)  # not these pixels' hash: kept as the worker's, not computed again
    first.unit.phash = sent
    second.unit.phash = "not a hash"  # malformed (or none, from an older worker): hashed from the PNG
    spec = DocSpec(0, path, "d0", "figures.pdf", "t", (), (), "v")
    units, pngs = prepare_units(extraction, spec)
    assert units[0].phash == sent
    assert units[1].phash == perceptual_hash(pngs[1]) != "not a hash"
