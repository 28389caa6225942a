"""Where a PDF page draws its images, and which image object (xref) each one is, without decoding them.

``page.get_image_info(xrefs=True)`` finds each drawn image's xref by decoding every image twice and comparing
MD5s of the pixels: once as drawn on the page, once per image object in the page's resources, on every page
again. That was 1.5 of the 7.5 CPU-s of extracting the corpus's 255 pages. A drawn image reports its pixel
size, and so does each image object of the page (``page.get_images``): when no two image objects of the
page share a size, the drawn image's xref is the one object of its size (0 when none has it), with nothing
decoded. A page where two objects share a size keeps PyMuPDF's pixel comparison.

The one case the two ways differ: an inline image (no xref) of exactly the pixel size of an image object of
the same page gets that object's xref here; PyMuPDF gives it 0 unless the pixels are equal. On the
corpus and the tuning part of the new set (604 drawn images) both give the same xrefs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pymupdf


def drawn_images(page: pymupdf.Page) -> list[dict[str, Any]]:
    """``page.get_image_info(xrefs=True)``: the images drawn on the page (bbox, width, height, ..., xref)."""
    infos = page.get_image_info()
    if not infos or not page.parent.is_pdf:
        return infos
    objects = page.get_images(full=True)
    sizes = Counter((width, height) for _, _, width, height, *_ in objects)
    if any(sizes[info["width"], info["height"]] > 1 for info in infos):
        return page.get_image_info(xrefs=True)
    xref_of = {(width, height): xref for xref, _, width, height, *_ in objects}
    return [{**info, "xref": xref_of.get((info["width"], info["height"]), 0)} for info in infos]
