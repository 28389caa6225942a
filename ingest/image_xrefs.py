"""A PDF page's images and paths read cheaply: image xrefs without decoding, path boxes without Rects.

``page.get_image_info(xrefs=True)`` finds each drawn image's xref by decoding every image twice and comparing
MD5s of the pixels: once as drawn on the page, once per image object in the page's resources, on every page
again. That was 1.5 of the 7.5 CPU-s of extracting the corpus's 255 pages. A drawn image reports its pixel
size, and so does each image object of the page (``page.get_images``): when no two image objects of the
page share a size, the drawn image's xref is the one object of its size (0 when none has it), with nothing
decoded. A page where two objects share a size keeps PyMuPDF's pixel comparison, each object decoded once a
document (``page_resources.py``: pages that share one resource dictionary of 400 same-sized photographs
decoded all 400 on every page).

The one case the two ways differ: an inline image (no xref) of exactly the pixel size of an image object of
the same page gets that object's xref here; PyMuPDF gives it 0 unless the pixels are equal. On the
corpus and the tuning part of the new set (604 drawn images) both give the same xrefs.
"""

from __future__ import annotations

from typing import Any

import pymupdf

from figvault.ingest.page_resources import resource_lists


def drawn_images(page: pymupdf.Page) -> list[dict[str, Any]]:
    """``page.get_image_info(xrefs=True)``: the images drawn on the page (bbox, width, height, ..., xref)."""
    infos = page.get_image_info()
    if not infos or not page.parent.is_pdf:
        return infos
    resources = resource_lists(page.parent)
    sizes = resources.image_sizes(page)
    if any(len(sizes.get((info["width"], info["height"]), ())) > 1 for info in infos):
        xref_of_digest = resources.xref_of_digest(page)
        hashed = page.get_image_info(hashes=True)
        return [{**info, "xref": xref_of_digest.get(info["digest"], 0)} for info in hashed]
    return [{**info, "xref": sizes.get((info["width"], info["height"]), [0])[0]} for info in infos]


INFINITE_RECT = (-0x80000000, -0x80000000, 0x7FFFFF80, 0x7FFFFF80)
"""MuPDF's infinite rectangle (pymupdf.FZ_MIN_INF_RECT, FZ_MAX_INF_RECT)."""


def clip_box(
    box: tuple[float, float, float, float], page_box: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """``pymupdf.Rect(box) & page_box``, the same numbers, without building Rects (74,000 drawings on the
    corpus: 0.4 CPU-s of Rect construction). PyMuPDF's rules: an infinite box becomes the page, an empty
    box (x0 >= x1 or y0 >= y1) stays as it is, otherwise MuPDF's fz_intersect_rect (inverted when apart).
    Coordinates from MuPDF are single-precision floats, which min and max keep as they are; MuPDF would
    round other numbers to single precision first."""
    x0, y0, x1, y1 = box
    if tuple(page_box) == INFINITE_RECT:
        return (x0, y0, x1, y1)
    if tuple(box) == INFINITE_RECT or page_box[0] >= page_box[2] or page_box[1] >= page_box[3]:
        return page_box
    if x0 >= x1 or y0 >= y1:
        return (x0, y0, x1, y1)
    return (max(x0, page_box[0]), max(y0, page_box[1]), min(x1, page_box[2]), min(y1, page_box[3]))
