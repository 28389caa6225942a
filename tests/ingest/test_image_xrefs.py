"""drawn_images gives the xrefs PyMuPDF's get_image_info(xrefs=True) gives, without decoding images."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image

from figvault.ingest.image_xrefs import clip_box, drawn_images


def _png(width: int, height: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 40, 200 - shade)).save(out, "PNG")
    return out.getvalue()


def test_xrefs_match_pymupdf_with_and_without_shared_sizes(tmp_path: Path) -> None:
    doc = pymupdf.open()
    logo, photo, twin_a, twin_b = _png(40, 20, 10), _png(300, 200, 90), _png(64, 64, 150), _png(64, 64, 180)
    for number in range(3):
        page = doc.new_page(width=612, height=792)
        page.insert_image(pymupdf.Rect(20, 20, 60, 40), stream=logo)  # the same image object on each page
        page.insert_image(pymupdf.Rect(100, 100 + number * 10, 400, 300), stream=photo)
        if number == 2:  # two image objects of one size: the pixel comparison decides
            page.insert_image(pymupdf.Rect(100, 400, 164, 464), stream=twin_a)
            page.insert_image(pymupdf.Rect(200, 400, 264, 464), stream=twin_b)
    doc.save(tmp_path / "images.pdf")
    doc = pymupdf.open(tmp_path / "images.pdf")
    for page in doc:
        expected = [(tuple(i["bbox"]), i["xref"]) for i in page.get_image_info(xrefs=True)]
        page = doc.reload_page(page)
        got = [(tuple(i["bbox"]), i["xref"]) for i in drawn_images(page)]
        assert got == expected
        assert all(xref for _, xref in got)


def test_clip_box_gives_the_numbers_of_pymupdf_rect_intersection() -> None:
    page = (0.0, 0.0, 612.0, 792.0)
    boxes = [
        (10.5, 20.25, 300.0, 400.0),  # inside
        (-50.0, 700.0, 650.0, 900.0),  # over the edges
        (700.0, 800.0, 900.0, 950.0),  # apart: inverted, as MuPDF gives it
        (100.0, 50.0, 100.0, 500.0),  # a vertical line: empty, kept as it is
        (-20.0, 300.0, 800.0, 300.0),  # a horizontal line past the page: kept as it is
        (300.0, 400.0, 200.0, 100.0),  # inverted
        (-0x80000000, -0x80000000, 0x7FFFFF80, 0x7FFFFF80),  # infinite: the page
    ]
    for box in boxes:
        assert clip_box(box, page) == tuple(pymupdf.Rect(box) & pymupdf.Rect(page))
