"""Rasterise a page region to PNG at a target dpi, lowering the dpi when the region would pass a pixel cap."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import pymupdf
from PIL import Image

from figvault.phash import perceptual_hash


@dataclass(frozen=True)
class RenderedRegion:
    png: bytes
    width: int
    height: int
    dpi: float
    phash: str = ""
    """The perceptual hash of these pixels (``figvault/phash.py``), taken before PNG encoding: ingest stores
    it without decoding the PNG again (the same bits as the decoded PNG's hash: PNG is lossless)."""


def region_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> float:
    """The dpi to render a region of this size: ``dpi``, or lower so that width*height <= max_pixels."""
    if width_pt <= 0 or height_pt <= 0:
        return float(dpi)
    pixels = (width_pt * dpi / 72.0) * (height_pt * dpi / 72.0)
    if pixels <= max_pixels:
        return float(dpi)
    # Shrink a little more than exact so that rounding up to whole pixels stays under the cap.
    return dpi * math.sqrt(max_pixels / pixels) * 0.999


@contextlib.contextmanager
def _graphics_antialiasing_off() -> Iterator[None]:
    """MuPDF draws paths without anti-aliasing inside this block (text keeps it).

    Anti-aliasing is what costs when tens of thousands of long strokes cross a region: 20,000 page-long
    segments took 9.6 s at 150 dpi with it and 0.35 s without. The setting is process-wide in MuPDF, so
    it is restored at once.
    """
    level = pymupdf.mupdf.fz_graphics_aa_level()
    pymupdf.mupdf.fz_set_graphics_aa_level(0)
    try:
        yield
    finally:
        pymupdf.mupdf.fz_set_graphics_aa_level(level)


RenderKey = tuple[int, tuple[float, float, float, float], float, bool]
"""What decides a rendering's pixels: page index, clip (points), dpi drawn at, anti-aliasing."""


class PageRenders:
    """Unit renderings kept for the OCR of the same region, while their page is being read.

    A figure OCR reads is rendered twice: at ``extract.dpi`` for its unit image, then at the resolution of
    its pictures (150-300 dpi), capped at ``extract.ocr_max_pixels``. When both come out at the same clip,
    dpi and anti-aliasing, MuPDF draws the same pixels, so the OCR takes the unit's pixmap instead of
    drawing it again. Kept up to ``max_bytes`` (a page's OCR cap of images at most); each is taken once.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._kept: dict[RenderKey, pymupdf.Pixmap] = {}
        self._bytes = 0

    def keep(self, key: RenderKey, pix: pymupdf.Pixmap) -> None:
        size = pix.stride * pix.height
        if key not in self._kept and self._bytes + size <= self.max_bytes:
            self._kept[key] = pix
            self._bytes += size

    def take(self, key: RenderKey) -> pymupdf.Pixmap | None:
        pix = self._kept.pop(key, None)
        if pix is not None:
            self._bytes -= pix.stride * pix.height
        return pix


def _plan(page: pymupdf.Page, rect: pymupdf.Rect, dpi: int, max_pixels: int) -> tuple[pymupdf.Rect, float]:
    """The clip (``rect`` on the page) and the dpi ``render_pixmap`` draws it at."""
    clip = pymupdf.Rect(rect) & page.rect
    use_dpi = region_dpi(clip.width, clip.height, dpi, max_pixels)
    # MuPDF rounds the clip outward to whole pixels (up to one more per side): shrink until it fits.
    while use_dpi > 1:
        zoom = use_dpi / 72.0
        bound = (clip * pymupdf.Matrix(zoom, zoom)).irect
        if bound.width * bound.height <= max_pixels:
            break
        use_dpi *= 0.98
    return clip, use_dpi


DRAWING_ATTR = "_figvault_drawing"
"""Where a document keeps its last page's display list (``page_drawing``): on the document, so it never
outlives it or serves another document."""


def page_drawing(page: pymupdf.Page) -> pymupdf.DisplayList:
    """The page's display list (its content recorded once), kept on its document while regions of that
    page are drawn: ``page.get_pixmap`` records the whole page again for every call (a page of 200 small
    charts was interpreted 200 times: 3.9 s a region against 0.08 s, a scale audit). The same pixels:
    ``get_pixmap`` is ``get_displaylist(annots=True).get_pixmap(...)``. One page's list at a time; it is
    the page as recorded: code that changes a page (annotations, deleted pages) calls ``forget_drawing``
    first (extraction changes none after it starts rendering)."""
    doc = page.parent
    kept = getattr(doc, DRAWING_ATTR, None)
    if kept is not None and kept[0] == page.number:
        return kept[1]
    setattr(doc, DRAWING_ATTR, None)  # the previous page's list goes before this one is recorded
    drawing = page.get_displaylist(annots=True)
    setattr(doc, DRAWING_ATTR, (page.number, drawing))
    return drawing


def forget_drawing(doc: pymupdf.Document) -> None:
    """Drop the document's kept display list (``page_drawing``), e.g. once its pages are done."""
    if getattr(doc, DRAWING_ATTR, None) is not None:
        setattr(doc, DRAWING_ATTR, None)


def render_pixmap(
    page: pymupdf.Page,
    rect: pymupdf.Rect,
    dpi: int,
    max_pixels: int,
    *,
    antialias: bool = True,
    renders: PageRenders | None = None,
    keep: bool = False,
) -> tuple[pymupdf.Pixmap, float]:
    """RGB pixmap of ``rect`` (points, page coordinates) on ``page`` and the dpi it was drawn at.

    No alpha, so transparent art shows on white. ``antialias=False``: paths drawn without anti-aliasing (for
    regions that hold huge amounts of ink). ``renders``: a kept rendering of the same pixels is taken from
    it instead of drawing again; ``keep``: this one is kept there.
    """
    clip, use_dpi = _plan(page, rect, dpi, max_pixels)
    key: RenderKey = (page.number or 0, tuple(clip), use_dpi, antialias)
    pix = renders.take(key) if renders is not None and not keep else None
    if pix is None:
        zoom = use_dpi / 72.0
        drawing = page_drawing(page)
        with contextlib.nullcontext() if antialias else _graphics_antialiasing_off():
            pix = drawing.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), clip=clip, alpha=False)
    if renders is not None and keep:
        renders.keep(key, pix)
    return pix, use_dpi


def render_region(
    page: pymupdf.Page,
    rect: pymupdf.Rect,
    dpi: int,
    max_pixels: int,
    *,
    antialias: bool = True,
    renders: PageRenders | None = None,
) -> RenderedRegion:
    """PNG of ``rect`` on ``page`` (see ``render_pixmap``); its pixmap is kept in ``renders`` when given."""
    pix, use_dpi = render_pixmap(
        page, rect, dpi, max_pixels, antialias=antialias, renders=renders, keep=renders is not None
    )
    return RenderedRegion(
        png=pix.tobytes("png"),
        width=pix.width,
        height=pix.height,
        dpi=use_dpi,
        phash=perceptual_hash(_pixmap_image(pix)),
    )


def render_image(
    page: pymupdf.Page,
    rect: pymupdf.Rect,
    dpi: int,
    max_pixels: int,
    *,
    antialias: bool = True,
    renders: PageRenders | None = None,
) -> Image.Image:
    """``rect`` on ``page`` as an RGB PIL image, for reading (OCR): the pixels of ``render_region``'s PNG
    without encoding and decoding one; taken from ``renders`` when a unit's rendering there has them."""
    pix, _ = render_pixmap(page, rect, dpi, max_pixels, antialias=antialias, renders=renders)
    return _pixmap_image(pix)


def _pixmap_image(pix: pymupdf.Pixmap) -> Image.Image:
    """An RGB pixmap (``render_pixmap``: no alpha) as a PIL image, the pixels its PNG decodes to."""
    return Image.frombytes("RGB", (pix.width, pix.height), pix.samples, "raw", "RGB", pix.stride)
