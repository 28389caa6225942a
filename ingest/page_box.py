"""Whether a PDF page's box can show what the page draws.

A page is shown through its box (MediaBox, scaled by /UserUnit). MuPDF takes an empty MediaBox as US
letter, but a /UserUnit of 0 makes the page 0 x 0 pt, a box of 0.001 pt becomes 1 x 1 pt, and a box such as
[0 0 -612 -792] lies beside the page's drawing: either way nothing is drawn inside, so no unit comes out,
and without these checks no warning said why.
"""

from __future__ import annotations

import pymupdf

MIN_PAGE_SIDE = 3.0
"""The smallest page side PDF allows (ISO 32000-1, annex C: 3 units); under it nothing can be shown."""


def _box_names(page: pymupdf.Page) -> str:
    """The page's MediaBox and UserUnit as written (inherited ones as MuPDF reads them)."""
    kind, media = page.parent.xref_get_key(page.xref, "MediaBox")
    media = media if kind != "null" else "[{:g} {:g} {:g} {:g}]".format(*page.mediabox)
    kind, unit = page.parent.xref_get_key(page.xref, "UserUnit")
    return f"MediaBox {media}" + (f", UserUnit {unit}" if kind != "null" else "")


def too_small(page: pymupdf.Page) -> str | None:
    """Why nothing on ``page`` can be shown, when its box is under MIN_PAGE_SIDE on a side (None: not)."""
    rect = page.rect
    if rect.width >= MIN_PAGE_SIDE and rect.height >= MIN_PAGE_SIDE:
        return None
    return (
        f"its page box is {rect.width:g} x {rect.height:g} pt ({_box_names(page)}; a page is at least"
        f" {MIN_PAGE_SIDE:g} x {MIN_PAGE_SIDE:g} pt): nothing on it can be shown"
    )


def drawn_outside(page: pymupdf.Page) -> str | None:
    """Why a page that showed nothing has no unit when all it draws lies outside its box (None: it draws
    nothing, or something inside). Ask only of a page that showed nothing: it reads the page's drawing
    boxes again."""
    x0, y0, x1, y1 = page.rect
    boxes = [box for _, box in page.get_bboxlog()]
    if not boxes or any(b[0] <= x1 and b[2] >= x0 and b[1] <= y1 and b[3] >= y0 for b in boxes):
        return None  # a box touching the page, a hairline of no width included
    return f"all it draws lies outside its page box ({_box_names(page)}): nothing is shown, no unit"
