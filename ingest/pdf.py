"""Figure units from PDF files (PyMuPDF, opened by `pdf_open`): find figures per page, context, PNGs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from functools import reduce
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image

from figvault.errors import ExtractionError, one_line
from figvault.ingest import page_box
from figvault.ingest.boxes import Box, BoxGrid, box_area, box_contains, box_intersection, box_union, h_overlap
from figvault.ingest.captions import CaptionKind, CitationIndex
from figvault.ingest.ocr import MAX_OCR_CHARS, DocumentOcr, lines_text, with_ocr
from figvault.ingest.page_resources import forget_resource_lists
from figvault.ingest.page_text import pdf_page_text
from figvault.ingest.panels import picture_title
from figvault.ingest.pdf_budget import MAX_PAGE_CHARACTERS, MAX_PAGE_POINTS, ContentBudget, PageCost
from figvault.ingest.pdf_layout import (
    PAGE_COVER_SHARE,
    TEXT_FLAGS,
    DocumentStats,
    FigureRegion,
    ImageBox,
    PageContent,
    PageLayout,
    TextLine,
    analyse_page,
    caption_side_votes,
    find_figures,
    in_running_margin,
    is_slide_like,
    join_lines,
    read_page,
)
from figvault.ingest.pdf_open import open_pdf
from figvault.ingest.render import PageRenders, forget_drawing, render_image, render_region
from figvault.ingest.scanned_pages import SCAN_MAX_TEXT_CHARS, ScannedPages, image_only_pages, tiled_cover
from figvault.settings import ExtractSettings
from figvault.units import (
    DocumentExtraction,
    DocumentMeta,
    ExtractedFigure,
    FigureKind,
    FigureUnit,
    make_unit_id,
)

PDF_MIME = "application/pdf"
MAX_CAPTION_CHARS = 1000
MAX_TITLE_CHARS = 200
MAX_CONTEXT_CHARS = 1200
MAX_FIGURE_TEXT_CHARS = 2000
DAMAGED_PDF = (
    "damaged PDF (truncated or badly written: its cross-reference table was rebuilt); pages, pictures or"
    " text may be missing"
)
ANTIALIAS_MAX_INK_PT = 1_000_000
"""A region whose paths' boxes sum to more width + height than this (points) is drawn without path
anti-aliasing: 1,000,000 pt of strokes cost about a second at 150 dpi with it (20,000 segments crossing a
page: 8,000,000 pt, 9.6 s with, 0.4 s without)."""


def extract_pdf_units(
    path: Path, data: bytes, sha256: str, settings: ExtractSettings, page_texts: dict[int, str] | None = None
) -> DocumentExtraction:
    """Every figure of a PDF as a unit with its PNG. Raises ExtractionError (one line) for unreadable PDFs.

    ``page_texts``, when given, is filled as ``page_text.page_texts`` would, from the text pages extraction
    reads anyway.
    """
    repaired: list[str] = []
    doc = open_pdf(data, repaired)
    try:
        meta = read_meta(doc)
        extraction = DocumentExtraction(path=str(path), doc=Path(path).name, doc_sha256=sha256, meta=meta)
        extraction.warnings.extend(repaired)
        if doc.is_repaired:  # MuPDF reads what it can of a broken file without a word: say so
            extraction.warnings.append(DAMAGED_PDF)
        pages, heavy = _read_pages(doc, settings, extraction.warnings, page_texts)
        bombs, covers = _drop_decorations(pages, settings, extraction.warnings, FramedPictures(doc))
        readable = [p for p in pages if p is not None]
        scans = image_only_pages(readable, covers, doc) if settings.scanned_pages else []
        stats = document_stats(readable)
        layouts = _analyse_pages(doc, pages, stats, settings, extraction.warnings)
        document = _DocumentContext(
            doc=doc,
            extraction=extraction,
            settings=settings,
            headings=_HeadingTracker(stats),
            citations=CitationIndex({layout.content.number: _page_text(layout, stats) for layout in layouts}),
            figure_above=_figures_above_captions(layouts),
            bombs=bombs,
            ocr=DocumentOcr(settings, extraction),
        )
        scanned = {content.number for content in scans}
        for layout in layouts:
            if layout.content.number not in scanned:
                extraction.figures.extend(_page_figures(document, layout))
        if scans:
            reader = ScannedPages(doc, extraction, settings, document.ocr, page_texts)
            extraction.figures.extend(_scanned_figures(reader, scans))
        for number in heavy:
            extraction.figures.append(_whole_page_figure(doc[number - 1], extraction, settings))
        extraction.figures.sort(key=lambda f: f.unit.page)
        return extraction
    except pymupdf.mupdf.FzErrorBase as exc:  # MuPDF's own error classes: the file's structure, not a bug
        _fail_if_out_of_memory(exc)
        raise ExtractionError(f"corrupt PDF: {one_line(exc)}") from exc
    finally:
        forget_drawing(doc)  # its last page's display list, before the document it was recorded from
        forget_resource_lists(doc)
        doc.close()


def _analyse_pages(
    doc: pymupdf.Document,
    pages: list[PageContent | None],
    stats: DocumentStats,
    settings: ExtractSettings,
    warnings: list[str],
) -> list[PageLayout]:
    model_boxes = layout_model_pictures(doc, warnings) if settings.use_layout_model else {}
    layouts: list[PageLayout] = []
    for content in pages:
        if content is None:
            continue
        try:
            layouts.append(analyse_page(content, stats, model_boxes.get(content.number)))
        except Exception as exc:
            _fail_if_out_of_memory(exc)
            warnings.append(f"page {content.number}: layout analysis failed ({one_line(exc)})")
    return layouts


def _scanned_figures(reader: ScannedPages, pages: list[PageContent]) -> list[ExtractedFigure]:
    """The units of the picture-only pages (``scanned_pages``); a failure costs its page only."""
    figures: list[ExtractedFigure] = []
    for content in reader.capped(pages):
        try:
            figures.extend(reader.page_units(content))
        except Exception as exc:
            _fail_if_out_of_memory(exc)
            reader.extraction.warnings.append(
                f"page {content.number}: picture-only page not read ({one_line(exc)})"
            )
    return figures


@dataclass
class _DocumentContext:
    """What every page of one document needs to turn its regions into units."""

    doc: pymupdf.Document
    extraction: DocumentExtraction
    settings: ExtractSettings
    headings: _HeadingTracker
    citations: CitationIndex
    figure_above: bool
    bombs: dict[int, list[Box]]
    ocr: DocumentOcr


def _page_figures(document: _DocumentContext, layout: PageLayout) -> list[ExtractedFigure]:
    """The units of one page, rendered, their words read by OCR where the text layer has none."""
    content, warnings = layout.content, document.extraction.warnings
    page_headings = document.headings.read(layout)
    try:
        regions = find_figures(layout, document.settings.min_figure_pt, document.figure_above)
    except Exception as exc:  # a layout bug on one odd page must not cost the document
        _fail_if_out_of_memory(exc)
        warnings.append(f"page {content.number}: no figures ({one_line(exc)})")
        return []
    made: list[tuple[FigureRegion, ExtractedFigure]] = []
    # Every figure without a title of its own takes the slide's, alone or among several (issue 13: "a
    # slide's graphic units carry the slide title as title"; the PPTX path does the same).
    slide_title = join_lines([line.text for line in layout.title_lines])
    renders = _ocr_renders(document.settings) if document.ocr.on else None
    for region in regions:
        if any(box_intersection(region.box, bomb) > 0 for bomb in document.bombs.get(content.number, [])):
            warnings.append(f"page {content.number}: figure skipped, it holds an image over the pixel limit")
            continue
        try:
            figure = _make_figure(
                document.doc,
                content,
                region,
                document.extraction,
                page_headings,
                document.citations,
                document.settings,
                title=region.title or slide_title,
                renders=renders if renders is not None and _needs_ocr(region, content) else None,
            )
        except Exception as exc:
            _fail_if_out_of_memory(exc)
            warnings.append(f"page {content.number}: figure not rendered ({one_line(exc)})")
            continue
        made.append((region, figure))
    if renders is not None:
        slide = bool(layout.title_lines) or is_slide_like(content.size)  # a slide may have no title
        stickers = _read_words(document, content, made, renders, slide=slide)
        dropped = {id(figure) for figure in stickers}
        made = [(region, figure) for region, figure in made if id(figure) not in dropped]
    return [figure for _, figure in made]


def _ocr_renders(settings: ExtractSettings) -> PageRenders:
    """A page's unit renderings kept for its OCR: at most the page's cap of OCR images (RGB)."""
    return PageRenders(max_bytes=settings.ocr_max_per_page * settings.ocr_max_pixels * 3)


OCR_TEXT_LAYER_ENOUGH = 60
"""A figure whose text layer holds this many characters has its words already: no OCR. For a figure that
is mostly picture, only the characters drawn over its pictures count (_needs_ocr)."""
OCR_PICTURE_SHARE = 0.3
"""A figure whose pictures cover this share of its box is mostly picture (_needs_ocr)."""
OCR_OUTLINED_MIN_PATHS = 200
"""A drawing without text-layer words but with this many small paths may have its glyphs as outlines."""
OCR_GLYPH_MAX_PT = 30.0
"""Outlined glyphs are small: their paths' boxes average under this width + height (points)."""
OCR_OUTLINED_MIN_GLYPHS = 24
"""A drawing with this many glyphs of outlined words (about four labels) may be read by OCR (_outlined)."""
OCR_OUTLINED_TEXT_RATIO = 4
"""...when its text layer, its title left out, holds at most this many characters a glyph: the report's
furniture around the chart (a subtitle, a base line, the source line: 40-120 characters against 25-200
glyphs), not its labels. A chart with text-layer labels has no glyph runs (its markers are one shape)."""


STICKER_MAX_SHARE = 0.125
"""A wordless picture on a slide covering at most this share of the page is a sticker (see _is_sticker)."""


def _is_sticker(region: FigureRegion, page_size: tuple[float, float]) -> bool:
    """Layout class "wordless sticker": on a slide, a picture in which OCR read no word (flat clip-art, an
    icon, a key or a cloud drawn beside the text, a QR code), with no text, title or caption of its own and
    at most STICKER_MAX_SHARE of the page, is decoration. OCR reads only pictures on a flat background
    (ocr.worth_reading): a photograph is never read, so never a sticker."""
    area = box_area(region.box)
    if region.caption is not None or region.title or region.text_lines:
        return False
    return region.image_area >= 0.5 * area and area <= STICKER_MAX_SHARE * page_size[0] * page_size[1]


def _needs_ocr(region: FigureRegion, content: PageContent) -> bool:
    """Whether the figure's words may be pixels only. Layout class "picture beside its own text": a
    screenshot, a photo or a chart image on a slide with a heading, a callout or a few labels in the text
    layer around it. Those words say nothing of what the picture shows, so a mostly-picture figure is read
    unless the text layer drawn *over its pictures* already holds the words (a slide's text on a background
    image, a chart image with real vector labels). A drawing is read when its words may be outlines
    (_outlined)."""
    if region.image_area >= OCR_PICTURE_SHARE * box_area(region.box):
        return _chars_over_pictures(region, content.images) < OCR_TEXT_LAYER_ENOUGH
    return _outlined(region, content)


def _outlined(region: FigureRegion, content: PageContent) -> bool:
    """Layout class "outlined text" (ingest/outlined_text.py): a drawing with few text-layer characters and
    many small paths, or one holding OCR_OUTLINED_MIN_GLYPHS glyphs of outlined words, its text layer
    besides its own title being at most OCR_OUTLINED_TEXT_RATIO characters a glyph (a chart exported with
    its labels as outlines, its title, a subtitle or base line and the source line still set as text)."""
    chars = sum(len(line.text) for line in region.text_lines)
    small = region.ink < OCR_GLYPH_MAX_PT * region.path_count
    if chars < OCR_TEXT_LAYER_ENOUGH and region.path_count >= OCR_OUTLINED_MIN_PATHS and small:
        return True
    glyphs = _outlined_glyphs(region, content)
    if glyphs < OCR_OUTLINED_MIN_GLYPHS:
        return False
    own = sum(len(line.text) for line in region.text_lines if not _in_title(line.text, region.title))
    return own <= OCR_OUTLINED_TEXT_RATIO * glyphs


def _outlined_glyphs(region: FigureRegion, content: PageContent) -> int:
    """Glyphs of the page's outlined lines inside the region (PageContent.outlined)."""
    return sum(count for box, count in content.outlined if box_contains(region.box, box))


def _in_title(text: str, title: str) -> bool:
    """A text line that is (a line of) the figure's title."""
    return bool(text.strip()) and text.strip() in title


def _images_in(region: FigureRegion, images: list[ImageBox]) -> list[ImageBox]:
    """The page's pictures that are the figure's: at least half of each lies in its box."""
    return [im for im in images if box_intersection(im.box, region.box) >= 0.5 * box_area(im.box)]


def _pictures(region: FigureRegion, images: list[ImageBox]) -> list[Box]:
    return [im.box for im in _images_in(region, images)]


def _chars_over_pictures(region: FigureRegion, images: list[ImageBox]) -> int:
    """Characters of the figure's text-layer lines that lie mostly on one of its pictures."""
    pictures = _pictures(region, images)
    return sum(
        len(line.text)
        for line in region.text_lines
        if any(box_intersection(line.box, picture) >= 0.5 * box_area(line.box) for picture in pictures)
    )


def _ocr_region(region: FigureRegion, images: list[ImageBox]) -> FigureRegion:
    """What OCR reads of a figure: all of it, or only its pictures when the text layer around them holds
    OCR_TEXT_LAYER_ENOUGH characters (those words are known; read again they would only repeat them, and a
    chart's vector labels and ticks read twice push its other words down)."""
    pictures = _pictures(region, images)
    if sum(len(line.text) for line in region.text_lines) < OCR_TEXT_LAYER_ENOUGH or not pictures:
        return region
    x0, y0, x1, y1 = reduce(box_union, pictures)
    r = region.box
    return replace(region, box=(max(x0, r[0]), max(y0, r[1]), min(x1, r[2]), min(y1, r[3])))


def _read_words(
    document: _DocumentContext,
    content: PageContent,
    made: list[tuple[FigureRegion, ExtractedFigure]],
    renders: PageRenders,
    slide: bool,
) -> list[ExtractedFigure]:
    """OCR the page's figures that need it, biggest first (DocumentOcr caps them per page); a unit's
    rendering in ``renders`` is read when it has the pixels OCR would draw. Returns the stickers found
    (_is_sticker): pictures on a slide in which OCR read no word."""
    page = document.doc[content.number - 1]
    stickers: list[ExtractedFigure] = []
    wanted = [pair for pair in made if _needs_ocr(pair[0], content)]
    wanted.sort(key=lambda p: -box_area(p[0].box))
    for region, figure in wanted:
        if not document.ocr.wants(content.number):
            continue  # the page's cap is reached, or the document's time for OCR: render no more for it
        try:
            read_region = _ocr_region(region, content.images)
            image = _ocr_image(page, content, read_region, document.settings, renders)
        except Exception as exc:
            _fail_if_out_of_memory(exc)
            continue
        unit = figure.unit
        read = document.ocr.read(content.number, image)
        if read == [] and slide and _is_sticker(region, content.size):
            stickers.append(figure)
            continue
        lines = read or []
        text = with_ocr(unit.figure_text, lines_text(lines))
        unit.figure_text = text[: MAX_FIGURE_TEXT_CHARS + MAX_OCR_CHARS]
        # A heading printed inside the picture is its own title, before the slide's (no caption, no title).
        title = None if region.title or region.caption else picture_title(
            [(line.heading, line.box) for line in lines], image.height
        )  # fmt: skip
        if title:
            unit.title = title[:MAX_TITLE_CHARS]
    return stickers


OCR_MIN_DPI, OCR_MAX_DPI = 150, 300


def _ocr_image(
    page: pymupdf.Page,
    content: PageContent,
    region: FigureRegion,
    settings: ExtractSettings,
    renders: PageRenders | None = None,
) -> Image.Image:
    """The region rendered for OCR: at the resolution of the pictures in it (150-300 dpi), a drawing of
    outlined words at 300 dpi (rule 52), pixel-capped."""
    dpi = float(OCR_MIN_DPI)
    for image in _images_in(region, content.images):
        width_pt = image.box[2] - image.box[0]
        if width_pt > 0:
            dpi = max(dpi, image.source_size[0] / width_pt * 72)
    if _outlined_glyphs(region, content) >= OCR_OUTLINED_MIN_GLYPHS:
        dpi = OCR_MAX_DPI  # outlined labels are set at 6-8 pt: at 150 dpi Tesseract misreads them
    dpi = min(dpi, OCR_MAX_DPI)
    return render_image(
        page,
        pymupdf.Rect(region.box),
        round(dpi),
        settings.ocr_max_pixels,
        antialias=region.ink <= ANTIALIAS_MAX_INK_PT,
        renders=renders,
    )


HEAVY_PAGE_FACTOR = 4
"""A page with more than this many times ``max_page_drawing_ops`` is skipped, not even rendered."""
HEAVY_PAGE_DPI = 72
"""Resolution cap of a page rendered whole because it holds too much drawing to analyse."""


@dataclass(frozen=True)
class _OverBudget:
    reason: str
    """What the page's warning says after ``page N:``."""
    whole_page: bool
    """Rendered as one unit of the whole page, without layout analysis (else skipped)."""


def _over_budget(cost: PageCost, settings: ExtractSettings) -> _OverBudget | None:
    """Whether a page of ``cost`` is skipped (its content decompresses past ``max_page_content_mb``, it shows
    more than MAX_PAGE_CHARACTERS characters or paints more than HEAVY_PAGE_FACTOR times
    ``max_page_drawing_ops``) or rendered whole (over ``max_page_drawing_ops``, or its paths hold more than
    MAX_PAGE_POINTS points), and why; None when it is within the budget."""
    cap = settings.max_page_drawing_ops
    if cost.over_bytes:
        limit_mb = settings.max_page_content_mb
        return _OverBudget(f"skipped, its content decompresses past {limit_mb} MiB", False)
    if cost.characters > MAX_PAGE_CHARACTERS:
        shows = f"{cost.characters:,} characters (more than {MAX_PAGE_CHARACTERS:,})"
        return _OverBudget(f"skipped, it shows {shows}", False)
    if cost.operations > HEAVY_PAGE_FACTOR * cap:
        limit = f"more than {HEAVY_PAGE_FACTOR} x extract.max_page_drawing_ops = {cap:,}"
        return _OverBudget(f"skipped, {cost.operations:,} drawing operations ({limit})", False)
    whole = "rendered as one unit, without layout analysis"
    if cost.operations > cap:
        return _OverBudget(
            f"{cost.operations:,} drawing operations (extract.max_page_drawing_ops = {cap:,}): {whole}", True
        )
    if cost.points > MAX_PAGE_POINTS:
        return _OverBudget(f"paths of {cost.points:,} points (more than {MAX_PAGE_POINTS:,}): {whole}", True)
    return None


def _read_pages(
    doc: pymupdf.Document, settings: ExtractSettings, warnings: list[str], texts: dict[int, str] | None = None
) -> tuple[list[PageContent | None], list[int]]:
    """Each page's content (None: unreadable, skipped or too heavy), and the pages to render whole.

    The work per page is capped before MuPDF interprets anything (pdf_budget): a page over the budget is
    skipped or becomes one unit of the whole page, without layout analysis (``_over_budget``), and a
    warning names it. ``texts`` gets the text of every page not skipped (page_text.pdf_page_text).
    ExtractionError when no page at all could be read.
    """
    budget = ContentBudget(doc, settings.max_page_content_mb * 2**20)
    cap = settings.max_page_drawing_ops
    pages: list[PageContent | None] = []
    heavy: list[int] = []
    unreadable: list[str] = []
    for index in range(doc.page_count):
        number = index + 1
        try:
            page = doc[index]  # loading walks the page tree: a cycle or a damaged node fails this page only
            if (small := page_box.too_small(page)) is not None:
                warnings.append(f"page {number}: skipped, {small}")
                pages.append(None)
                continue
            verdict = _over_budget(budget.page_cost(page, cap), settings)
            if verdict is not None:
                warnings.append(f"page {number}: {verdict.reason}")
                if verdict.whole_page:
                    heavy.append(number)
                    if texts is not None:
                        texts[number] = pdf_page_text(page)
            else:
                textpage = page.get_textpage(flags=TEXT_FLAGS)
                content = read_page(page, textpage)
                shown = content.blocks or content.images  # paths are kept wherever they lie
                if not shown and (outside := page_box.drawn_outside(page)) is not None:
                    warnings.append(f"page {number}: {outside}")
                pages.append(content)
                if texts is not None:
                    texts[number] = pdf_page_text(page, textpage)
                continue
        except Exception as exc:  # one damaged page must not cost the rest of the document
            _fail_if_out_of_memory(exc)
            warnings.append(f"page {number}: unreadable ({one_line(exc)})")
            unreadable.append(one_line(exc))
        pages.append(None)
    if unreadable and len(unreadable) == doc.page_count:
        # Not a document without figures ("indexed, 0 units"): a damaged file (a download cut short).
        which = "its page" if doc.page_count == 1 else f"none of its {doc.page_count} pages"
        raise ExtractionError(
            f"corrupt PDF: {which} could {'not ' if doc.page_count == 1 else ''}be read ({unreadable[0]})"
        )
    return pages, heavy


def _whole_page_figure(
    page: pymupdf.Page, extraction: DocumentExtraction, settings: ExtractSettings
) -> ExtractedFigure:
    """One unit for a page too heavy to analyse: the page, at low resolution, paths not anti-aliased."""
    rect = page.rect
    bbox = (0.0, 0.0, round(rect.width, 2), round(rect.height, 2))
    dpi = min(settings.dpi, HEAVY_PAGE_DPI)
    rendered = render_region(page, rect, dpi, settings.max_image_pixels, antialias=False)
    number = page.number + 1
    unit = FigureUnit(
        unit_id=make_unit_id(extraction.doc_sha256, number, FigureKind.VECTOR.value, bbox),
        doc=extraction.doc,
        doc_sha256=extraction.doc_sha256,
        page=number,
        page_size=(bbox[2], bbox[3]),
        bbox=bbox,
        kind=FigureKind.VECTOR,
        width=rendered.width,
        height=rendered.height,
        phash=rendered.phash,
        meta=extraction.meta,
    )
    return ExtractedFigure(unit=unit, png=rendered.png)


def layout_model_pictures(doc: pymupdf.Document, warnings: list[str]) -> dict[int, list[Box]]:
    """Page number -> ``picture`` boxes of PyMuPDF's ONNX layout model (opt-in: slow, see the docs).

    The boxes join the page's graphic clusters so that a caption can claim a figure the drawings alone do
    not show (text-only figures, figures of glyphs); on their own they never become units.
    """
    try:
        if "pymupdf.layout" in sys.modules and sys.modules["pymupdf.layout"] is None:
            del sys.modules["pymupdf.layout"]  # deferred at import (figvault/ingest/__init__.py)
        import pymupdf4llm

        pymupdf4llm.use_layout(True)  # imports and activates pymupdf.layout
        data = json.loads(pymupdf4llm.to_json(doc))
    except Exception as exc:  # the model is an extra signal: without it, extraction goes on
        warnings.append(f"layout model unavailable ({one_line(exc)}); heuristic layout only")
        return {}
    found: dict[int, list[Box]] = defaultdict(list)
    for page in data.get("pages", []):
        for box in page.get("boxes", []):
            if box.get("boxclass") == "picture":
                found[int(page["page_number"])].append((box["x0"], box["y0"], box["x1"], box["y1"]))
    return found


def _figures_above_captions(layouts: list[PageLayout]) -> bool:
    """Whether this document sets figures above their captions (the common style), learnt from its pages."""
    votes: Counter[str] = Counter()
    for layout in layouts:
        votes.update(caption_side_votes(layout))
    return votes["below"] <= votes["above"]


_MUPDF_NO_MEMORY = ("malloc (", "calloc (", "realloc (", "out of memory")


def _fail_if_out_of_memory(exc: BaseException) -> None:
    """Re-raise a failed allocation as MemoryError: under a worker's memory limit that is the document's
    failure (pipeline/extract_worker.py says so), not one damaged page to skip with a warning."""
    if isinstance(exc, MemoryError) or any(mark in str(exc) for mark in _MUPDF_NO_MEMORY):
        raise MemoryError(one_line(exc)) from exc


_PDF_DATE = re.compile(
    r"^(?:D:|(?=\d{8}))(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz]|[+\-]\d{2}'?\d{2}'?)?"
)
_OTHER_DATES = ("%a %b %d %H:%M:%S %Y", "%a %b %d %H:%M:%S %Z %Y")
"""Creation dates some producers write instead of the PDF form: C's ``ctime`` ("Mon Mar 25 14:30:13 2013",
LaTeX toolchains and old converters), also with ``UTC`` or ``GMT``. Read as they were, no date range ever
matched such a document (a first-hour walk, 2026-12-06). Slashed dates are left unknown: 03/04/2013 is
March or April depending on who wrote it."""


def pdf_date_to_iso(value: str | None) -> str | None:
    """``D:20211117103000+01'00'`` -> ``2021-11-17T10:30:00+01:00`` (the ``D:`` may be missing); an ISO 8601
    date or one of ``_OTHER_DATES`` as ISO; None when absent or unparseable."""
    if not value:
        return None
    m = _PDF_DATE.match(value.strip())
    if m is None:
        return _other_date(value.strip())
    year, month, day, hour, minute, second, tz = m.groups()
    iso = f"{year}-{month or '01'}-{day or '01'}T{hour or '00'}:{minute or '00'}:{second or '00'}"
    if tz:
        if tz in "Zz":
            iso += "Z"
        else:
            digits = tz.replace("'", "")
            iso += f"{digits[:3]}:{digits[3:5] or '00'}"
    return iso


def _other_date(text: str) -> str | None:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text).isoformat()
    for form in _OTHER_DATES:
        with contextlib.suppress(ValueError):
            return datetime.strptime(text, form).isoformat()
    return None


def read_meta(doc: pymupdf.Document) -> DocumentMeta:
    info = doc.metadata or {}
    return DocumentMeta(
        title=(info.get("title") or "").strip() or None,
        author=(info.get("author") or "").strip() or None,
        created=pdf_date_to_iso(info.get("creationDate")),
        mime=PDF_MIME,
        pages=doc.page_count,
    )


OWN_PICTURE_SHARE = 0.5
"""A place and size that many pages fill with a picture is a logo or background unless at least this share
of those pages each show a picture of their own (bytes no other page of the frame has) with visible text
beside it (a title, a caption: SCAN_MAX_TEXT_CHARS characters outside the frame): then it is content in a
fixed frame (layout class "one picture per page in one frame": a chart per page in an appendix, a deck of
same-sized screenshots saved as PDF, a catalog). A scan's pages (a picture, a stamp, a text layer under or
over it) stay a scan's (``scanned_pages``), a frame under FRAME_MIN_PT a logo or badge. The corpus and
distractors' repeated frames show 1 picture, or 7 speaker photos on 29 slides (0.24)."""

FRAME_MIN_PT = 100.0
"""... both sides of the frame: a page-number badge, a letterhead or a logo stored again per page is smaller
(a chart or screenshot is larger)."""


class FramedPictures:
    """Tells a frame of pictures of their own (``OWN_PICTURE_SHARE``) from a logo's or a scan's: an image
    object's stored (still compressed) bytes are hashed once, the same picture embedded again as another
    object has the same bytes; inline images (no object) are one "inline" picture and an unreadable object
    one "unreadable" picture, as before."""

    def __init__(self, doc: pymupdf.Document) -> None:
        self.doc = doc
        self.digests: dict[int, str] = {}

    def content(self, box: Box, pictures: dict[int, int], pages: dict[int, PageContent]) -> bool:
        """Whether a frame at ``box`` showing ``pictures`` (page number -> image object) is content."""
        needed = OWN_PICTURE_SHARE * len(pictures)
        if min(box[2] - box[0], box[3] - box[1]) < FRAME_MIN_PT or len(set(pictures.values())) < needed:
            return False  # cheap answers first: no bytes read
        shown = Counter(self._digest(xref) for xref in pictures.values())
        own = [n for n, xref in pictures.items() if shown[self._digest(xref)] == 1]
        return len(own) >= needed and sum(1 for n in own if _text_beside(pages[n], box)) >= needed

    def _digest(self, xref: int) -> str:
        if not xref:
            return "inline"
        if xref not in self.digests:
            try:
                self.digests[xref] = hashlib.sha256(self.doc.xref_stream_raw(xref) or b"").hexdigest()
            except Exception:  # a damaged object: MuPDF's own error types
                self.digests[xref] = "unreadable"
        return self.digests[xref]


def _text_beside(content: PageContent, box: Box) -> bool:
    """The page's text outside ``box`` holds a sentence (a scan's text layer lies under or over its picture,
    and its stamp or page number is shorter)."""
    outside = (len(line.text) for line in content.lines if box_intersection(line.box, box) <= 0)
    return sum(outside) >= SCAN_MAX_TEXT_CHARS


def _frame_box(key: tuple[Any, ...]) -> Box:
    """The box of an image position key (``ImageBox.key``: rounded box, then pixel size)."""
    x0, y0, x1, y1 = (float(v) for v in key[:4])
    return (x0, y0, x1, y1)


def _drop_decorations(
    pages: list[PageContent | None],
    settings: ExtractSettings,
    warnings: list[str],
    frames: FramedPictures,
) -> tuple[dict[int, list[Box]], dict[int, ImageBox]]:
    """Remove logos, backgrounds and tiny images from the pages' image lists; return decompression bombs,
    and by page the page-covering picture dropped as a background that is not one image object on many
    pages (a scan's page: ``scanned_pages``).

    A logo or background is the same picture at the same place on many pages (``frames`` tells pictures
    of their own apart: ``OWN_PICTURE_SHARE``), or the same image object on many pages wherever it sits
    (a mascot or logo moved around from slide to slide); a tiny image is an icon or bullet. Images over the
    source pixel limit are never rendered: their boxes are returned so that a figure containing one is
    skipped.
    """
    readable = [p for p in pages if p is not None]
    by_number = {content.number: content for content in readable}
    pages_with: dict[tuple[object, ...], set[int]] = defaultdict(set)
    pictures_at: dict[tuple[object, ...], dict[int, int]] = defaultdict(dict)  # key -> page -> image object
    for content in readable:
        for image in content.images:
            pages_with[image.key].add(content.number)
            pictures_at[image.key].setdefault(content.number, image.xref)
            if image.xref:
                pages_with[("xref", image.xref)].add(content.number)
    threshold = max(3.0, settings.repeated_image_pages * len(pages))
    repeated = {
        key
        for key, found in pages_with.items()
        if len(found) >= threshold
        and (key[0] == "xref" or not frames.content(_frame_box(key), pictures_at[key], by_number))
    }
    screenshots = _screenshot_slides(readable)
    tiny = settings.min_figure_pt / 3
    bombs: dict[int, list[Box]] = defaultdict(list)
    covers: dict[int, ImageBox] = {}
    for content in readable:
        page_area = content.size[0] * content.size[1]
        tiles = tiled_cover(content.images, content.size)
        if tiles is not None and not any(("xref", image.xref) in repeated for image in content.images):
            covers[content.number] = tiles  # the strips of one page picture (a scan written in bands)
        kept = []
        for image in content.images:
            w, h = image.box[2] - image.box[0], image.box[3] - image.box[1]
            if image.source_pixels > settings.max_source_image_pixels:
                bombs[content.number].append(image.box)
                warnings.append(
                    f"page {content.number}: embedded image of {image.source_pixels:,} pixels skipped "
                    f"(limit {settings.max_source_image_pixels:,})"
                )
                continue
            covering = box_area(image.box) >= PAGE_COVER_SHARE * page_area and image not in screenshots
            if covering and ("xref", image.xref) not in repeated:
                # Every page of a scan has its picture at one place and size (a repeated key); only the same
                # image object on many pages is one background.
                covers[content.number] = image
            if image.key in repeated or ("xref", image.xref) in repeated or covering or max(w, h) < tiny:
                continue
            if _is_edge_band(image.box, content.size) or _is_corner_mark(image.box, content.size):
                continue
            kept.append(image)
        content.images = _without_inline_glyphs(kept, content)
    return bombs, covers


INLINE_GLYPH_HEIGHT = 2.0
"""A picture set in a text line is at most this many times as high as the line (an emoji's image box
carries transparent margins around its glyph)."""
INLINE_LINE_WIDTH = 1.5
"""... and the line is at least this many times as wide as the picture (a sentence, not a label)."""


def _without_inline_glyphs(images: list[ImageBox], content: PageContent) -> list[ImageBox]:
    """The images less those set inside a line of text (layout class "inline pictogram": an emoji or icon
    at the end of a sentence on a slide, a symbol in running text): they are type, not figures. Such a
    picture has its vertical middle within the line, is at most INLINE_GLYPH_HEIGHT times the line's
    height, and touches the line (within one line height of its ends); the line is INLINE_LINE_WIDTH
    times as wide as the picture. Left alone, emojis at the ends of neighbouring lines join into one
    "figure", or glue a row of headshots to themselves."""
    lines = content.lines
    if not images or not lines:
        return images
    grid = BoxGrid([line.box for line in lines])
    reach = max(line.box[3] - line.box[1] for line in lines)  # a line's reach is one line height
    return [image for image in images if not any(
        _in_line(image.box, lines[i].box) for i in grid.near(image.box, reach)
    )]  # fmt: skip


def _in_line(picture: Box, line: Box) -> bool:
    height, line_height = picture[3] - picture[1], line[3] - line[1]
    if line_height <= 0 or height > INLINE_GLYPH_HEIGHT * line_height:
        return False
    if not line[1] <= (picture[1] + picture[3]) / 2 <= line[3]:
        return False
    if line[2] - line[0] < INLINE_LINE_WIDTH * (picture[2] - picture[0]):
        return False
    return picture[0] <= line[2] + line_height and picture[2] >= line[0] - line_height


SCREENSHOT_PAGES_SHARE = 0.25
"""A document with page-covering pictures on more than this share of its pages is scanned (or its slides
have picture backgrounds): its page-covering pictures stay backgrounds."""


def _screenshot_slides(pages: list[PageContent]) -> list[ImageBox]:
    """Page-covering pictures that are figures (layout class "screenshot slide"): a slide shown as one
    full-page screenshot, drawn over the template's footer. Only pictures with no text on top
    (ImageBox.topmost), and only in documents where few pages are covered by a picture (a scan or a
    deck of picture backgrounds has them on most pages)."""
    covered = [[im for im in content.images if im.topmost] for content in pages]
    if sum(1 for found in covered if found) > SCREENSHOT_PAGES_SHARE * len(pages):
        return []
    return [im for found in covered for im in found]


CORNER_MARK_SHARE = 0.12
"""A picture in a page corner smaller than this share of the page width is a logo or sticker."""
CORNER_MARGIN_SHARE = 0.03
"""... in a corner: within this share of the page width (or height) of two edges."""


def _is_corner_mark(box: Box, page_size: tuple[float, float]) -> bool:
    """A small picture tucked into a page corner (a logo, an event badge): page design, not a figure."""
    pw, ph = page_size
    if max(box[2] - box[0], box[3] - box[1]) >= CORNER_MARK_SHARE * pw:
        return False
    near_x = box[0] <= CORNER_MARGIN_SHARE * pw or box[2] >= pw - CORNER_MARGIN_SHARE * pw
    near_y = box[1] <= CORNER_MARGIN_SHARE * ph or box[3] >= ph - CORNER_MARGIN_SHARE * ph
    return near_x and near_y


EDGE_BAND_SHARE = 0.3
"""An edge band (side bar, banner) is narrower than this share of the page across it."""


def _is_edge_band(box: Box, page_size: tuple[float, float]) -> bool:
    """A strip along a page edge spanning the whole page (side bars, banners): page design, not a figure."""
    pw, ph = page_size
    w, h = box[2] - box[0], box[3] - box[1]
    touches = box[0] <= 2 or box[1] <= 2 or box[2] >= pw - 2 or box[3] >= ph - 2
    # A strip: as long as the page, and narrow across it (a full-height screenshot beside a slide's text
    # spans the page too, but it is a third of the page wide or more).
    strip = (w >= 0.95 * pw and h < EDGE_BAND_SHARE * ph) or (h >= 0.95 * ph and w < EDGE_BAND_SHARE * pw)
    return touches and strip


def document_stats(pages: list[PageContent]) -> DocumentStats:
    sizes: Counter[float] = Counter()
    line_pages: dict[str, set[int]] = defaultdict(set)
    for content in pages:
        for line in content.lines:
            sizes[round(line.size, 1)] += len(line.text)
            if line.key and in_running_margin(line.box, content.size[1]):
                line_pages[line.key].add(content.number)
    body = sizes.most_common(1)[0][0] if sizes else 10.0
    threshold = max(3, 0.3 * len(pages))
    running = frozenset(k for k, found in line_pages.items() if len(found) >= threshold)
    return DocumentStats(body_size=body, running_lines=running)


def _page_text(layout: PageLayout, stats: DocumentStats) -> str:
    """Running text of a page for citation search: no captions, figure labels, running headers."""
    parts = []
    for block in layout.text_blocks:
        lines = [ln.text for ln in block.lines if not stats.is_running(ln, layout.content.size[1])]
        if lines:
            parts.append("\n".join(lines))
    return "\n\n".join(parts)


class _HeadingTracker:
    """Page and section headings, carried across pages (a section started on page 3 goes on to page 4)."""

    def __init__(self, stats: DocumentStats) -> None:
        self.stats = stats
        self.current: str | None = None

    def is_heading_line(self, line: TextLine) -> bool:
        if len(line.text) > 100 or line.key in self.stats.running_lines:
            return False
        return line.size >= self.stats.body_size * 1.15 or (
            line.bold and line.size >= self.stats.body_size * 0.9
        )

    def read(self, layout: PageLayout) -> _PageHeadings:
        """Headings on this page: the heading-like lines (larger or bold) that open a text block."""
        found: list[tuple[float, Box, str]] = []
        for block in layout.text_blocks:
            heads: list[str] = []
            for line in block.lines:
                if not self.is_heading_line(line):
                    break
                heads.append(line.text)
            text = " ".join(heads)
            if heads and 3 <= len(text) <= 150 and sum(ch.isalpha() for ch in text) >= 3:
                found.append((block.box[1], block.box, text))
        found.sort(key=lambda h: (h[1][0] > layout.content.size[0] / 2, h[0]))  # reading order, 2 columns
        before = self.current
        if found:
            self.current = found[-1][2]
        return _PageHeadings(carried=before, on_page=found)


class _PageHeadings:
    def __init__(self, carried: str | None, on_page: list[tuple[float, Box, str]]) -> None:
        self.carried = carried
        self.on_page = on_page
        """(top, box, text) in reading order."""

    def page_heading(self, region: Box) -> str | None:
        """The page's first heading when it sits above the figure (a slide title, a page title)."""
        if self.on_page and self.on_page[0][0] <= region[1]:
            return self.on_page[0][2]
        return None

    def section_for(self, region: Box) -> str | None:
        """The heading of the section the figure is in: the last heading before it in reading order."""
        before = [
            text
            for top, box, text in self.on_page
            if (top <= region[1] and h_overlap(box, region) > 0) or box[2] <= region[0]
        ]
        return before[-1] if before else self.carried


def _context(
    region: FigureRegion,
    content: PageContent,
    headings: _PageHeadings,
    citations: CitationIndex,
) -> str:
    parts: list[str] = []
    for heading in (headings.page_heading(region.box), headings.section_for(region.box)):
        if heading and heading not in parts:
            parts.append(heading)
    if region.caption is not None:
        # Citing sentences: this page first, then its neighbours, then the rest of the document.
        for sentences in citations.citing_by_page(region.caption.match, content.number):
            for sentence in sentences:
                if sentence not in parts:
                    parts.append(sentence)
            if len(parts) >= 5:
                break
    return "\n".join(parts)[:MAX_CONTEXT_CHARS]


def _kind(region: FigureRegion) -> FigureKind:
    area = box_area(region.box)
    if region.image_area <= 0.02 * area:
        return FigureKind.VECTOR
    if region.path_count >= 6 and region.image_area < 0.9 * area:
        return FigureKind.MIXED
    return FigureKind.RASTER


def _make_figure(
    doc: pymupdf.Document,
    content: PageContent,
    region: FigureRegion,
    extraction: DocumentExtraction,
    headings: _PageHeadings,
    citations: CitationIndex,
    settings: ExtractSettings,
    title: str = "",
    renders: PageRenders | None = None,
) -> ExtractedFigure:
    """``title``: the region's own title, else the title of its slide-like page. ``renders``: the
    rendering is kept there for the region's OCR."""
    page = doc[content.number - 1]
    bbox = tuple(round(v, 2) for v in region.box)
    kind = _kind(region)
    # Tens of thousands of long strokes make anti-aliasing the whole cost of a rendering (render.py).
    antialias = region.ink <= ANTIALIAS_MAX_INK_PT
    rendered = render_region(
        page,
        pymupdf.Rect(region.box),
        settings.dpi,
        settings.max_image_pixels,
        antialias=antialias,
        renders=renders,
    )
    caption = region.caption
    figure_text = "\n".join(line.text for line in region.text_lines if line.text)  # outlined lines: no text
    unit = FigureUnit(
        unit_id=make_unit_id(extraction.doc_sha256, content.number, kind.value, bbox),
        doc=extraction.doc,
        doc_sha256=extraction.doc_sha256,
        page=content.number,
        page_size=(round(content.size[0], 2), round(content.size[1], 2)),
        bbox=bbox,
        kind=kind,
        label=caption.match.label if caption and caption.match.kind is CaptionKind.FIGURE else None,
        title=title[:MAX_TITLE_CHARS],
        caption=caption.text[:MAX_CAPTION_CHARS] if caption else "",
        context=_context(region, content, headings, citations),
        figure_text=figure_text[:MAX_FIGURE_TEXT_CHARS],
        width=rendered.width,
        height=rendered.height,
        phash=rendered.phash,
        meta=extraction.meta,
    )
    return ExtractedFigure(unit=unit, png=rendered.png)
