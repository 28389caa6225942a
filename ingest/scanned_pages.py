"""Units from PDF pages that are one picture: scanned reports, decks saved as pictures, flattened brochures.

Such a page has a picture covering it (``pdf_layout.PAGE_COVER_SHARE``; or strips that abut and cover it
together: ``tiled_cover``) and (almost) no text layer, so the layout analysis sees nothing: every word and
figure is pixels. Before it is read, a page scanned a few degrees off is levelled (``deskew``) and one
scanned sideways or upside down is turned upright (OCR's orientation detection); units are found on the page
as read and their boxes put back on the page as stored (``_Frame``). Three layout classes:

- **slide picture**: a landscape page (``pdf_layout.is_slide_like``) whose words are set large (the median
  OCR line at least SLIDE_TYPE_SHARE of the page height; any landscape page when OCR cannot read): one
  unit, the whole page, titled by its top large line and worded by OCR.
- **scanned page with figures**: a figure is a region of ink that Tesseract's text lines do not explain (the
  page's ink less its confident lines, joined over small gaps; at least ``extract.min_figure_pt`` on both
  sides); short lines at its edges (tick labels, a legend) join it. Its OCR lines are its words, a "Figure
  N" line next to it its caption, the lines above and below it its context.
- **scanned page of text only**: no unit (its OCR words still go into the page text).

A "searchable" scan (a scanner's invisible OCR text layer over each page picture, ``hidden_text_only``) is
read the same way with the text layer's lines instead of Tesseract's (no OCR; its words are the document's).

Work is bounded by ``extract.scanned_max_pages`` pages a document, the OCR caps (``extract.ocr_*``, the
document's deadline through ``DocumentOcr``), and ``extract.scanned_pages = false`` turns it off.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace

import numpy as np
import pymupdf
from PIL import Image
from scipy import ndimage

from figvault.ingest.boxes import Box, box_area, box_union, centre_in, h_overlap, merge_touching
from figvault.ingest.captions import CaptionKind, match_caption
from figvault.ingest.deskew import skew_angle
from figvault.ingest.ocr import DocumentOcr, OcrLine, lines_text, with_ocr
from figvault.ingest.page_ink import ink_mask, paper_level
from figvault.ingest.pdf_layout import PAGE_COVER_SHARE, ImageBox, PageContent, is_slide_like
from figvault.ingest.render import render_image, render_region
from figvault.phash import perceptual_hash
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction, ExtractedFigure, FigureKind, FigureUnit, make_unit_id

SCAN_MAX_TEXT_CHARS = 40
"""A page covered by a picture whose text layer holds fewer characters than this is image-only: a scanner's
page stamp or a page number may be text; a page with a sentence of text over its picture is a designed page
on a background (the layout analysis reads it)."""
SCAN_MAX_TEXT_PT = 18.0
"""... and so is a page with a line of text set this large or larger over its picture, however short: a
divider slide's title on a full-bleed photograph, a designed cover. A scanner's stamp or a Bates number is
set small; a deck saved as pictures has no text layer at all."""
SCAN_MAX_PATHS = 3
"""... and a page with more vector paths than this (visible ones that can belong to figures) is born
digital: a chart drawn over a page-wide shading or backdrop is read by the layout analysis, as before. A
scan or a deck saved as pictures draws none (a scanner's border or a stamp's box at most)."""
OCR_DPI = 300
"""Pages are rendered for OCR at this resolution, lowered to ``extract.ocr_max_pixels`` (about 125 dpi for
a letter page at the default 1.5 Mpx: 10 pt type is 17 px high, which Tesseract reads)."""
SLIDE_TYPE_SHARE = 0.025
"""A landscape page whose median OCR line is at least this share of the page height is a slide: 14-28 pt
type on a 540 pt slide is 2.6-5 %, 10-12 pt body text on a 612 pt landscape page 1.7-2.1 %."""
TEXT_LINE_RISE = 2.5
HEADLINE_ASPECT = 3.0
"""An OCR line taller than TEXT_LINE_RISE times the page's median line and narrower than HEADLINE_ASPECT
times its height is no text line (a short word read in a picture's texture, its box the picture's) and does
not hide ink from the figure finder; a headline over small print is wide for its height."""
CELL_PT = 4.0
"""The figure finder works on cells of this many points ..."""
CELL_INK_SHARE = 0.03
"""... a cell with this share of ink pixels is inked (specks of noise are not) ..."""
JOIN_PT = 14.0
"""... and inked cells this close join one figure (the bars of a chart, a diagram's boxes)."""
CAPTION_REACH = 4.0
"""A "Figure N" line within this many line heights of a figure's top or bottom is its caption ..."""
OTHER_NEARER = 0.5
"""... unless another figure is at most this share of that distance from it (clearly that one's)."""
LABEL_REACH = 1.5
"""A short line (LABEL_MAX_WORDS) within this many line heights of a figure's edge is one of its labels."""
LABEL_MAX_WORDS = 4
CONTEXT_LINES = 6
"""Lines of running text above and below a figure (in its column) that make its context."""
TITLE_SHARE = 0.25
MAX_TEXT_CHARS = 1200
MAX_TITLE_CHARS = 200


TILE_GAP_PT = 2.0
"""Pictures this close (points) abut: the strips or tiles a scanner or a converter wrote one page as."""
TILES_MAX = 64
"""A page painted by more pictures than this is no tiled scan (and is not measured: bounded work)."""
TILE_GRID = 200
"""The page is measured on a grid of this many cells a side for the share its tiles cover."""


def tiled_cover(images: list[ImageBox], size: tuple[float, float]) -> ImageBox | None:
    """Layout class "page in strips or tiles": 2 to TILES_MAX pictures that abut one another (within
    TILE_GAP_PT, one group) and together cover PAGE_COVER_SHARE of the page, none of them alone, are one
    page picture (a scanner writing a page as bands, a converter tiling a flattened page); the largest is
    returned. A collage of photographs keeps gutters between them and is not one."""
    if not 2 <= len(images) <= TILES_MAX:
        return None
    width, height = size
    if width <= 0 or height <= 0:
        return None
    if any(box_area(image.box) >= PAGE_COVER_SHARE * width * height for image in images):
        return None  # one picture covers the page: a scan, a background or a screenshot slide (pdf.py)
    if len(merge_touching([image.box for image in images], TILE_GAP_PT)) != 1:
        return None
    covered = np.zeros((TILE_GRID, TILE_GRID), dtype=bool)
    for image in images:  # cells whose centre lies in a picture
        x0, y0, x1, y1 = image.box
        cols = slice(_cell(x0 / width), _cell(x1 / width))
        rows = slice(_cell(y0 / height), _cell(y1 / height))
        covered[rows, cols] = True
    if covered.mean() < PAGE_COVER_SHARE:
        return None
    return max(images, key=lambda image: box_area(image.box))


def _cell(share: float) -> int:
    """The first grid cell whose centre lies at or past ``share`` of the page side."""
    return min(TILE_GRID, max(0, int(np.ceil(share * TILE_GRID - 0.5))))


def image_only_pages(
    pages: list[PageContent], covers: dict[int, ImageBox], doc: pymupdf.Document
) -> list[PageContent]:
    """The pages whose page-covering picture was dropped as a background (``covers``), that draw at most
    SCAN_MAX_PATHS vector paths, and whose text layer holds fewer than SCAN_MAX_TEXT_CHARS characters, or
    only invisible text (a "searchable" scan: a scanner's OCR layer under the picture,
    ``hidden_text_only``)."""
    return [
        content
        for content in pages
        if content.number in covers
        and len(content.paths) <= SCAN_MAX_PATHS
        and (not _has_text(content) or hidden_text_only(doc[content.number - 1]))
    ]


def _has_text(content: PageContent) -> bool:
    lines = content.lines
    return sum(len(ln.text) for ln in lines) >= SCAN_MAX_TEXT_CHARS or any(
        ln.size >= SCAN_MAX_TEXT_PT and ln.text.strip() for ln in lines
    )


def hidden_text_only(page: pymupdf.Page) -> bool:
    """All the page's text is invisible (render mode 3, or fully transparent): a scanner's OCR layer."""
    spans = page.get_texttrace()
    return bool(spans) and all(span["type"] == 3 or span["opacity"] == 0 for span in spans)


@dataclass
class _Line:
    """An OCR line in page points."""

    box: Box
    read: OcrLine
    from_ocr: bool = True
    """Read by OCR (its words go after the ``[ocr]`` line), not from a searchable scan's text layer."""

    @property
    def text(self) -> str:
        return self.read.text

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class ScannedPages:
    """Reads one document's picture-only pages into units (``capped``, then ``page_units`` per page)."""

    def __init__(
        self,
        doc: pymupdf.Document,
        extraction: DocumentExtraction,
        settings: ExtractSettings,
        ocr: DocumentOcr,
        page_texts: dict[int, str] | None = None,
    ) -> None:
        self.doc, self.extraction, self.settings, self.ocr = doc, extraction, settings, ocr
        self.page_texts = page_texts
        self.frame = _Frame((0.0, 0.0))
        """How the page being read was turned and levelled (``page_units``)."""

    def capped(self, pages: list[PageContent]) -> list[PageContent]:
        """The picture-only ``pages`` to read: the first ``extract.scanned_max_pages``; a warning names the
        rest."""
        cap = self.settings.scanned_max_pages
        if len(pages) > cap:
            self.extraction.warnings.append(
                f"{len(pages)} pages are pictures only (scanned); the first {cap} are read"
                f" (extract.scanned_max_pages), pages {pages[cap].number}-{pages[-1].number} give no units"
            )
        return pages[:cap]

    def page_units(self, content: PageContent) -> list[ExtractedFigure]:
        """The units of one picture-only page (slide picture, scanned page with figures, or none)."""
        page = self.doc[content.number - 1]
        layer = _has_text(content)  # a searchable scan: its hidden text layer gives the lines, no OCR
        read = self.ocr.on or layer
        image = render_image(page, page.rect, OCR_DPI, self.settings.ocr_max_pixels) if read else None
        self.frame = _Frame(content.size)
        if layer:
            lines: list[_Line] | None = [
                _Line(line.box, OcrLine(line.text, (0, 0, 0, 0)), from_ocr=False) for line in content.lines
            ]
        else:
            image, lines = self._read(content, image) if image is not None else (None, None)
            content = replace(content, size=self.frame.size)  # the page as read: upright, level
            if lines and self.page_texts is not None:
                self.page_texts[content.number] = "\n".join(line.text for line in lines)
        heights = sorted(line.height for line in lines or [])
        median = heights[len(heights) // 2] if heights else 0.0
        if is_slide_like(content.size) and (not lines or median >= SLIDE_TYPE_SHARE * content.size[1]):
            return [self._slide_unit(page, content, lines)]
        if lines is None or image is None:
            return []  # no OCR: a scanned document page's text cannot be told from its figures
        text_lines = text_lines_of(lines, median)
        # A figure on a landscape page (a slide in small type) without a title of its own takes the slide's.
        page_title = slide_title(lines, content.size) if is_slide_like(content.size) else ""
        return self._figure_units(page, content, image, text_lines, page_title)

    def _figure_units(
        self,
        page: pymupdf.Page,
        content: PageContent,
        image: Image.Image,
        lines: list[_Line],
        page_title: str,
    ) -> list[ExtractedFigure]:
        """The figures of a scanned page (rendered as ``image``, its text ``lines``)."""
        boxes = labelled(find_figure_boxes(image, content.size, lines, self.settings.min_figure_pt), lines)
        made = [self._figure_unit(page, content, box, lines, boxes) for box in boxes]
        for figure in made:
            if figure is not None and not figure.unit.title:
                figure.unit.title = page_title[:MAX_TITLE_CHARS]
        return [figure for figure in made if figure is not None]

    def _read(self, content: PageContent, image: Image.Image) -> tuple[Image.Image, list[_Line] | None]:
        """The page (rendered as ``image``) as read, levelled (``deskew``) and turned upright (OCR's
        orientation; ``self.frame`` says how), and its OCR lines in its points; None when OCR did not read it
        (off, unavailable, out of time, a photograph)."""
        skew = skew_angle(image) if self.ocr.on else 0.0
        if skew:
            paper = paper_level(np.asarray(image.convert("L")))
            image = image.rotate(skew, Image.Resampling.BICUBIC, fillcolor=(paper,) * 3)
        read, turn = self.ocr.read_upright(content.number, image)
        if turn:
            image = image.rotate(turn, expand=True)
        self.frame = _Frame(content.size, turn, skew)
        if read is None:
            return image, None
        scale = self.frame.size[0] / image.width
        return image, [_Line(_points(line, scale), line) for line in read]

    def _slide_unit(
        self, page: pymupdf.Page, content: PageContent, lines: list[_Line] | None
    ) -> ExtractedFigure:
        title = slide_title(lines or [], content.size)
        return self._unit(
            page, content, (0.0, 0.0, *content.size), title=title, figure_text=_figure_text(lines or [])
        )

    def _figure_unit(
        self, page: pymupdf.Page, content: PageContent, box: Box, lines: list[_Line], boxes: list[Box]
    ) -> ExtractedFigure | None:
        """The unit of the figure at ``box`` among the page's figures ``boxes``; None for a table."""
        inside = [line for line in lines if centre_in(line.box, box)]
        outside = [line for line in lines if not centre_in(line.box, box)]
        caption = caption_lines(box, outside, [other for other in boxes if other != box])
        rest = [line for line in outside if line not in caption]
        caption_text = " ".join(line.text for line in caption)
        match = match_caption(caption_text) if caption_text else None
        if match is not None and match.kind is not CaptionKind.FIGURE:
            return None  # a table or listing drawn with its rules: not a figure (as on born-digital pages)
        return self._unit(
            page,
            content,
            box,
            title=figure_title(box, inside),
            caption=caption_text[:MAX_TEXT_CHARS],
            label=match.label if match and match.kind is CaptionKind.FIGURE else None,
            context=context_text(box, rest),
            figure_text=_figure_text(inside),
        )

    def _unit(
        self, page: pymupdf.Page, content: PageContent, box: Box, **fields: str | None
    ) -> ExtractedFigure:
        """The unit of ``box`` (points of the page as read): its box on the page as stored (what a viewer
        shows), its picture upright."""
        bbox = tuple(round(v, 2) for v in self.frame.to_page(box))
        rendered = render_region(page, pymupdf.Rect(bbox), self.settings.dpi, self.settings.max_image_pixels)
        png, width, height, phash = rendered.png, rendered.width, rendered.height, rendered.phash
        if self.frame.turn:
            png, width, height, phash = _turned(png, self.frame.turn)
        size = self.frame.page_size
        unit = FigureUnit(
            unit_id=make_unit_id(self.extraction.doc_sha256, content.number, FigureKind.RASTER.value, bbox),
            doc=self.extraction.doc,
            doc_sha256=self.extraction.doc_sha256,
            page=content.number,
            page_size=(round(size[0], 2), round(size[1], 2)),
            bbox=bbox,
            kind=FigureKind.RASTER,
            width=width,
            height=height,
            phash=phash,
            meta=self.extraction.meta,
            **fields,
        )
        return ExtractedFigure(unit=unit, png=png)


@dataclass(frozen=True)
class _Frame:
    """How a scanned page was read: levelled by ``skew`` and turned upright by ``turn`` degrees
    (counter-clockwise, as ``Image.rotate``: one rotation about the page's centre, by their sum). Boxes
    found on the page as read (its points: ``size``) go back to the page as stored with ``to_page``."""

    page_size: tuple[float, float]
    turn: int = 0
    skew: float = 0.0

    @property
    def size(self) -> tuple[float, float]:
        width, height = self.page_size
        return (height, width) if self.turn in (90, 270) else (width, height)

    def to_page(self, box: Box) -> Box:
        """The page's box (axis-aligned, within the page) around ``box`` of the page as read."""
        if not self.turn and not self.skew:
            return box
        angle = np.radians(self.turn + self.skew)
        cos, sin = float(np.cos(angle)), float(np.sin(angle))
        (width, height), (read_w, read_h) = self.page_size, self.size
        xs, ys = [], []
        for x, y in ((box[0], box[1]), (box[2], box[1]), (box[0], box[3]), (box[2], box[3])):
            dx, dy = x - read_w / 2, y - read_h / 2
            xs.append(width / 2 + dx * cos - dy * sin)
            ys.append(height / 2 + dx * sin + dy * cos)
        return (max(0.0, min(xs)), max(0.0, min(ys)), min(width, max(xs)), min(height, max(ys)))


def _turned(png: bytes, turn: int) -> tuple[bytes, int, int, str]:
    """A unit's PNG turned upright by ``turn`` degrees: its bytes, size and perceptual hash."""
    image = Image.open(io.BytesIO(png)).rotate(turn, expand=True)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue(), image.width, image.height, perceptual_hash(image)


def _figure_text(lines: list[_Line]) -> str:
    """The words of ``lines``: after an ``[ocr]`` line when OCR read them."""
    words = lines_text([line.read for line in lines])
    return with_ocr("", words) if any(line.from_ocr for line in lines) else words


def text_lines_of(lines: list[_Line], median: float) -> list[_Line]:
    """The lines that are text (they hide their ink from the figure finder): those no taller than
    TEXT_LINE_RISE times the page's ``median`` line, and taller headlines (``_headline``); not a short word
    read in a picture's texture, whose box is the picture's."""
    return [line for line in lines if line.height <= TEXT_LINE_RISE * median or _headline(line)]


def _headline(line: _Line) -> bool:
    """A line in large type (a title over small print) is as wide as HEADLINE_ASPECT times its height."""
    return line.box[2] - line.box[0] >= HEADLINE_ASPECT * line.height


def ocr_lines_in(read: list[OcrLine], size: tuple[int, int], box: Box) -> list[_Line]:
    """OCR lines read in a picture of ``size`` pixels, in the points of ``box``, where it is shown (a
    slide's picture: ``slide_title`` over them)."""
    sx, sy = (box[2] - box[0]) / max(1, size[0]), (box[3] - box[1]) / max(1, size[1])
    return [
        _Line((box[0] + x0 * sx, box[1] + y0 * sy, box[0] + x1 * sx, box[1] + y1 * sy), line)
        for line in read
        for x0, y0, x1, y1 in (line.box,)
    ]


def _points(line: OcrLine, scale: float) -> Box:
    x0, y0, x1, y1 = line.box
    return (x0 * scale, y0 * scale, x1 * scale, y1 * scale)


def slide_title(lines: list[_Line], size: tuple[float, float]) -> str:
    """The slide's title: its topmost line set in (about) its largest type within the top third, joined with
    the line under it in that type (a title wrapped over two lines)."""
    top = [line for line in lines if line.box[1] < size[1] / 3]
    if not top:
        return ""
    tallest = max(line.height for line in top)
    large = sorted((line for line in top if line.height >= 0.8 * tallest), key=lambda line: line.box[1])
    title = [large[0]]
    for line in large[1:2]:
        if line.box[1] - title[-1].box[3] <= 0.6 * tallest:
            title.append(line)
    return " ".join(line.text for line in title)[:MAX_TITLE_CHARS]


def find_figure_boxes(
    image: Image.Image, size: tuple[float, float], lines: list[_Line], min_figure_pt: float
) -> list[Box]:
    """Figure boxes (page points) on a scanned page: regions of ink that the text lines do not cover, cut
    apart by running text (``_is_running``: a caption between two figures), less rules-only regions."""
    grey = np.asarray(image.convert("L"), dtype=np.int16)
    scale = size[0] / image.width  # points a pixel
    drawn = ink_mask(grey)
    ink = drawn.copy()
    barrier = np.zeros_like(ink)
    for line in lines:
        ink[_pixels(line, 0.25, scale)] = False
        if _is_running(line):
            barrier[_pixels(line, 0.6, scale)] = True
    cell = max(1, round(CELL_PT / scale))
    inked = _cells(ink, cell) >= CELL_INK_SHARE
    blocked = _cells(barrier, cell) > 0
    inked &= ~blocked
    reach = max(1, round(JOIN_PT / (cell * scale)))
    joined, _ = ndimage.label(ndimage.binary_dilation(inked, iterations=reach) & ~blocked)
    boxes: list[Box] = []
    for found in ndimage.find_objects(np.where(inked, joined, 0)):
        if found is None:
            continue
        ys, xs = found
        step = cell * scale
        box = (xs.start * step, ys.start * step, xs.stop * step, ys.stop * step)
        if min(box[2] - box[0], box[3] - box[1]) < min_figure_pt:
            continue
        if box_area(box) >= PAGE_COVER_SHARE * size[0] * size[1]:
            continue  # a frame round the whole page or a dark scan border is no figure
        region = slice(ys.start * cell, ys.stop * cell), slice(xs.start * cell, xs.stop * cell)
        if _rules_only(drawn[region], ink[region], scale):
            continue
        boxes.append(box)
    return boxes


RUNNING_WORDS = 6
"""An OCR line of this many words, or a caption line, is running text: figures are not joined across it."""
RULE_SHARE = 0.85
"""A region whose ink (its words left out) lies this much in thin straight rules is a ruled table or a
frame round text, not a figure (a chart's bars, curves and fills are not thin straight rules)."""
RULE_LENGTH_SHARE = 0.3
"""A rule runs across at least this share of its region (and RULE_MIN_PT) ..."""
RULE_MIN_PT = 24.0
RULE_THICK_PT = 2.5
"""... and is thinner than this (a bar or a filled box is not)."""


def _is_running(line: _Line) -> bool:
    return len(line.text.split()) >= RUNNING_WORDS or match_caption(line.text) is not None


def _pixels(line: _Line, pad: float, scale: float) -> tuple[slice, slice]:
    """The pixel rows and columns of ``line``'s box grown by ``pad`` line heights."""
    grow = pad * line.height
    x0, y0 = max(0, round((line.box[0] - grow) / scale)), max(0, round((line.box[1] - grow) / scale))
    x1, y1 = round((line.box[2] + grow) / scale), round((line.box[3] + grow) / scale)
    return slice(y0, y1), slice(x0, x1)


def _cells(mask: np.ndarray, cell: int) -> np.ndarray:
    """The share of set pixels in each ``cell`` x ``cell`` block of ``mask``."""
    rows, cols = mask.shape[0] // cell, mask.shape[1] // cell
    return mask[: rows * cell, : cols * cell].reshape(rows, cell, cols, cell).mean(axis=(1, 3))


def _rules_only(drawn: np.ndarray, ink: np.ndarray, scale: float) -> bool:
    """The region's ink less its words (``ink``) is RULE_SHARE thin horizontal and vertical rules (layout
    class "ruled table"). The rules are found in all it draws (``drawn``): a table's words, cleared, would
    cut its column rules into pieces shorter than a rule."""
    total = int(ink.sum())
    if total == 0:
        return True
    thick = max(1, round(RULE_THICK_PT / scale))
    solid = _opened(_opened(drawn, thick, 0), thick, 1)  # what a thick x thick square fits in: fills, bars
    rules = np.zeros_like(drawn)
    for axis in (0, 1):
        length = max(round(RULE_MIN_PT / scale), round(RULE_LENGTH_SHARE * drawn.shape[axis]))
        rules |= _opened(drawn, length, axis)
    return int((ink & rules & ~solid).sum()) >= RULE_SHARE * total


def _opened(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Morphological opening of ``mask`` by a line of ``length`` pixels along ``axis`` (linear time)."""
    eroded = ndimage.minimum_filter1d(mask.astype(np.uint8), length, axis=axis)
    return ndimage.maximum_filter1d(eroded, length, axis=axis).astype(bool)


def figure_title(box: Box, inside: list[_Line]) -> str:
    """A figure's own title: its topmost line, when that line lies in the top TITLE_SHARE of the figure,
    alone on its row, and holds 2-12 words (a chart's title over its plot; not one of a row of labels)."""
    if not inside:
        return ""
    top = min(inside, key=lambda line: line.box[1])
    if top.box[1] > box[1] + TITLE_SHARE * (box[3] - box[1]) or not 2 <= len(top.text.split()) <= 12:
        return ""
    if any(line is not top and line.box[1] < top.box[3] for line in inside):
        return ""  # another line on its row
    return top.text[:MAX_TITLE_CHARS]


def labelled(found: list[Box], lines: list[_Line]) -> list[Box]:
    """The figure boxes ``found`` grown over their labels (``with_labels``); two regions grown over the same
    labels are one figure (a chart whose bars the finder cut in two, joined by its row of tick labels)."""
    return [box for box, _ in merge_touching([with_labels(box, lines) for box in found], 0.0)]


def with_labels(box: Box, lines: list[_Line]) -> Box:
    """``box`` grown over the short lines at its edges (tick labels, a legend, an axis title) and the lines
    mostly inside it, until none is left to join."""
    joined: set[int] = set()
    grown = True
    while grown:
        grown = False
        for i, line in enumerate(lines):
            if i in joined or not (centre_in(line.box, box) or _is_label_of(line, box)):
                continue
            joined.add(i)
            grown = True
            box = box_union(box, line.box)
    return box


def _is_label_of(line: _Line, box: Box) -> bool:
    if len(line.text.split()) > LABEL_MAX_WORDS or match_caption(line.text):
        return False
    reach = LABEL_REACH * line.height
    near_x = line.box[0] <= box[2] + reach and line.box[2] >= box[0] - reach
    near_y = line.box[1] <= box[3] + reach and line.box[3] >= box[1] - reach
    return near_x and near_y


def caption_lines(box: Box, lines: list[_Line], others: list[Box]) -> list[_Line]:
    """The "Figure N" line nearest the figure's bottom (else top) within CAPTION_REACH line heights, in
    its column, and no nearer to another figure of the page (``others``: the caption between two stacked
    figures is the upper one's), with the lines that continue it (directly under it, as tall)."""
    ordered = sorted(lines, key=lambda line: line.box[1])
    near = [
        line
        for line in ordered
        if h_overlap(line.box, box) > 0
        and _gap(line.box, box) <= CAPTION_REACH * line.height
        and not any(
            h_overlap(line.box, o) > 0 and _gap(line.box, o) < OTHER_NEARER * _gap(line.box, box)
            for o in others
        )
        and match_caption(line.text)
    ]
    if not near:
        return []
    first = min(near, key=lambda line: (line.box[1] < box[1], abs(line.box[1] - box[3])))
    found = [first]
    for line in ordered:
        last = found[-1]
        if line.box[1] <= last.box[1] or line.box[1] - last.box[3] > 0.6 * last.height or len(found) >= 4:
            continue
        if h_overlap(line.box, last.box) > 0 and abs(line.height - last.height) <= 0.3 * last.height:
            found.append(line)
    return found


def _gap(line: Box, box: Box) -> float:
    """The vertical distance between a line and a box (0 when they overlap)."""
    return max(0.0, line[1] - box[3], box[1] - line[3])


def context_text(box: Box, lines: list[_Line]) -> str:
    """The lines of the figure's column right above it and right below it (its caption left out)."""
    column = [line for line in lines if h_overlap(line.box, box) > 0]
    above = sorted((ln for ln in column if ln.box[3] <= box[1]), key=lambda ln: ln.box[3])[-CONTEXT_LINES:]
    below = sorted((ln for ln in column if ln.box[1] >= box[3]), key=lambda ln: ln.box[1])[:CONTEXT_LINES]
    return " ".join(line.text for line in above + below)[:MAX_TEXT_CHARS]
