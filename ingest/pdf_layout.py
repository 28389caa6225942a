"""Page layout analysis for PDF figure extraction: where the figures on one page are, and their captions.

Heuristic and fast (no model), in the spirit of PDFFigures 2.0:

1. Graphic atoms: embedded images (decorations already removed by the caller) and vector paths (page
   backgrounds, invisible fills and page-wide rules dropped), merged into clusters when they touch.
2. Captions: text blocks that start with "Figure 3:", "Fig. 3.", "FIGURE 3", "Table 2", ... (captions.py).
3. Each figure caption claims the clusters next to it in its own column: the nearest side (above is
   preferred, as captions usually sit below figures), then every further cluster on that side until body
   text or another caption intervenes. Multi-panel figures thus become one region. Table and listing
   captions claim their clusters too, so tables drawn with rules do not come back as uncaptioned figures.
4. Clusters no caption claimed become uncaptioned figures when they look like one (big enough, not a box
   around a paragraph).
5. Regions grow to the text labels around them (axis titles, legends, panel labels), never into body text.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
import statistics
from collections import Counter
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pymupdf

from figvault.ingest.axis_ticks import EDGE_TICK_SLACK_PT, Tick, is_scale, scale_row, tick_value
from figvault.ingest.boxes import (
    Box,
    BoxGrid,
    box_area,
    box_gap,
    box_intersection,
    box_iou,
    box_union,
    boxes_near,
    centre_in,
    h_overlap,
    merge_touching,
)
from figvault.ingest.captions import CaptionKind, CaptionMatch, match_caption
from figvault.ingest.image_xrefs import clip_box, drawn_images
from figvault.ingest.letter_spacing import close_up, looks_letter_spaced
from figvault.ingest.outlined_text import glyph_runs, run_box
from figvault.ingest.page_text import fold_ligatures
from figvault.ingest.panels import (
    AREA_LABEL_PT,
    KEYED_MAX,
    ROUND_TITLE_REACH,
    STROKE_PT,
    SWATCH_GAP_PT,
    TITLE_ABOVE_PT,
    TITLE_MAX_CHARS,
    TITLE_MAX_LINES,
    Colour,
    base_lines_bottom,
    caption_title,
    has_bar_series,
    has_pie,
    is_chart,
    is_number,
    is_text_grid,
    kpi_row,
    kpi_value,
    match_legends,
    over_another,
    ranked_panel_title,
    ruled_table,
    same_style,
    spaced_bar_runs,
    split_panels,
    title_below,
    title_left,
    wrapped_title,
)
from figvault.ingest.pdf_image_claims import claimed_pixels
from figvault.ingest.plain_legend import ALIGN_SLACK_PT, NAMES_MIN, name_column
from figvault.ingest.shared_axis import BarPanel, borrowed_names

# Text extraction flags: no image payloads (we read image boxes separately, without decoding them).
TEXT_FLAGS = pymupdf.TEXT_PRESERVE_WHITESPACE | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_MEDIABOX_CLIP

CLUSTER_GAP_PT = 3.0
"""Paths and images closer than this belong to the same cluster."""
LOOSE_MERGE_SHARE = 0.12
"""Uncaptioned pieces closer than this share of the page width, no body text between: one figure."""
LABEL_MARGIN_PT = 10.0
"""Text lines this close to a figure region are its labels (axis titles, legends) unless body text."""


@dataclass
class TextLine:
    box: Box
    text: str
    size: float
    bold: bool
    """Every span bold."""
    block: int
    mono: bool = False
    """Set in a monospaced font: code."""
    starts_bold: bool = False
    """The first span is bold ("Fig. 3" in bold, then regular caption text)."""
    key: str = ""
    """Letters only, lower case: equal for a running header on every page whatever its page number."""
    turned: bool = False
    """Not written left to right along the page: an axis title or a slanted category label."""
    colour: Colour | None = None
    """The one colour of its spans (RGB, 0-1), None when they differ."""

    def __post_init__(self) -> None:
        self.key = normalise_running(self.text)


@dataclass
class TextBlock:
    index: int
    box: Box
    lines: list[TextLine]

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class ImageBox:
    box: Box
    source_pixels: int
    key: tuple[Any, ...]
    """Identity across pages (position, size, source dimensions): a repeated key is a logo or background."""
    source_size: tuple[int, int] = (0, 0)
    """Width and height of the embedded image in pixels."""
    xref: int = 0
    """The image object (0 for inline images): the same picture used on many pages shares it."""
    topmost: bool = False
    """A page-covering picture (PAGE_COVER_SHARE) with no text drawn over it: a slide that is a screenshot,
    or a scanned page; a background has the page's text on top (_on_top_of_text)."""


PAGE_COVER_SHARE = 0.9
"""A picture covering this share of the page is its background, its scan, or a screenshot slide."""


@dataclass
class PageContent:
    """What the layout analysis needs from one page, read once."""

    number: int
    """1-based."""
    size: tuple[float, float]
    blocks: list[TextBlock]
    images: list[ImageBox]
    paths: list[Box]
    """Boxes of the visible vector paths that can belong to figures."""
    ruled: list[bool] = field(default_factory=list)
    """Per path: only axis-aligned segments and rectangles (the stuff of table rules and cell shading)."""
    bars: list[bool] = field(default_factory=list)
    """Per path: one filled, coloured rectangle (a bar, a legend swatch, a shaded cell)."""
    fills: list[bool] = field(default_factory=list)
    """Per path: ruled and filled with a colour, one rectangle or several (bars exported one path per
    series colour, shaded cells)."""
    bar_colours: list[tuple[float, ...] | None] = field(default_factory=list)
    """Per path: the fill colour of a filled ruled path (a bar, a legend swatch, a shaded cell) or of a
    filled curved path (a pie's wedge); None for other paths. The segments of a stacked bar and the wedges
    of a pie differ; a legend's swatches repeat its chart's colours."""
    glyph: list[bool] = field(default_factory=list)
    """Per path: a glyph of outlined words (ingest/outlined_text.py), made a text line, not a drawing."""
    outlined: list[tuple[Box, int]] = field(default_factory=list)
    """The lines of outlined words: each one's box and number of glyphs (text lines without text)."""

    @property
    def lines(self) -> list[TextLine]:
        return [line for block in self.blocks for line in block.lines]


@dataclass
class Cluster:
    box: Box
    image_area: float = 0.0
    path_count: int = 0
    free_paths: int = 0
    """Paths with curves or slanted lines: plots and diagrams have them, tables do not."""
    model_only: bool = False
    """Only a layout-model "picture" box, no graphics of its own: usable by a caption, never alone."""
    ink: float = 0.0
    """Sum of the paths' box widths plus heights (points): how much stroking a rendering of it costs."""
    bar: bool = False
    """A single path that is a filled, coloured rectangle (see PageContent.bars)."""
    fill: bool = False
    """A single ruled path filled with a colour (see PageContent.fills)."""
    colour: tuple[float, ...] | None = None
    """The fill colour of a filled path (see PageContent.bar_colours)."""
    atoms: list[Cluster] = field(default_factory=list)
    """The single images and paths this cluster is made of; empty for an atom itself."""

    def merge(self, other: Cluster) -> None:
        if not self.atoms:
            self.atoms = [_atom_copy(self)]
        self.atoms.extend(other.atoms or [other])  # in place: a page of 20,000 paths merges 20,000 times
        self.model_only = self.model_only and other.model_only
        self.box = box_union(self.box, other.box)
        self.image_area += other.image_area
        self.path_count += other.path_count
        self.free_paths += other.free_paths
        self.ink += other.ink


def _atom_copy(cluster: Cluster) -> Cluster:
    return Cluster(
        box=cluster.box,
        image_area=cluster.image_area,
        path_count=cluster.path_count,
        free_paths=cluster.free_paths,
        model_only=cluster.model_only,
        ink=cluster.ink,
        bar=cluster.bar,
        fill=cluster.fill,
        colour=cluster.colour,
    )


@dataclass
class Caption:
    block: TextBlock
    match: CaptionMatch
    text: str


@dataclass
class FigureRegion:
    box: Box
    image_area: float
    path_count: int
    caption: Caption | None = None
    text_lines: list[TextLine] = field(default_factory=list)
    ink: float = 0.0
    """See Cluster.ink."""
    title: str = ""
    """The figure's own title (a chart panel's short title above or inside it); empty when none."""
    panel: bool = False
    """A chart panel (bars, axes or gridlines): never joined to another panel."""
    kpi: bool = False
    """A row of KPI tiles: a panel while the page is laid out (nothing joins it), then no figure."""


def read_page(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> PageContent:
    """Read text blocks, image boxes and drawing boxes of a page (no image is decoded).

    ``textpage``: the page's text page, made with TEXT_FLAGS (one is made when not given)."""
    rect = page.rect
    page_box: Box = (rect.x0, rect.y0, rect.x1, rect.y1)
    blocks = _read_blocks(page, textpage)
    images = _read_images(page)
    covering = [im for im in images if box_area(im.box) >= PAGE_COVER_SHARE * box_area(page_box)]
    if covering:  # rare: the drawing order is read only here
        for image in covering:
            image.topmost = _on_top_of_text(page, image.box)

    paths, ruled, bars, fills, bar_colours = _read_paths(page, page_box)
    # A bar or a legend's swatch (one filled rectangle) is no glyph, however small.
    glyph_like = [c is not None and not bar for c, bar in zip(bar_colours, bars, strict=True)]
    runs = glyph_runs(paths, [not r for r in ruled], glyph_like)
    outlined = [(run_box(paths, run), len(run)) for run in runs]
    blocks += [_outlined_block(len(blocks) + k, box) for k, (box, _) in enumerate(outlined)]
    glyph = [False] * len(paths)
    for i in (i for run in runs for i in run):
        glyph[i] = True
    return PageContent(
        number=page.number + 1,
        size=(rect.width, rect.height),
        blocks=blocks,
        images=images,
        paths=paths,
        ruled=ruled,
        bars=bars,
        fills=fills,
        bar_colours=bar_colours,
        glyph=glyph,
        outlined=outlined,
    )


OUTLINED_CAP_HEIGHT = 0.7
"""A line of glyphs is about this share of its type size high (caps, ascenders; descenders below)."""


def _outlined_block(index: int, box: Box) -> TextBlock:
    """A line of outlined words as a text block of its own without text (layout class "outlined text"):
    placed like a label (a chart's category, tick or legend name), its words are read by OCR
    (pdf._outlined); a drawing it would be, gluing the charts beside it into one and lying apart from its
    own chart's marks as a figure of its own."""
    size = (box[3] - box[1]) / OUTLINED_CAP_HEIGHT
    return TextBlock(
        index=index, box=box, lines=[TextLine(box=box, text="", size=size, bold=False, block=index)]
    )


def _read_blocks(page: pymupdf.Page, textpage: pymupdf.TextPage | None) -> list[TextBlock]:
    """The page's text blocks with their non-blank lines (size, bold, monospace), in reading order."""
    blocks: list[TextBlock] = []
    raw_blocks = page.get_text("dict", flags=TEXT_FLAGS, textpage=textpage)["blocks"]
    chars = _char_lines(page, textpage, raw_blocks)
    for raw in raw_blocks:
        if raw.get("type") != 0:
            continue
        index = len(blocks)
        lines = [
            line
            for raw_line in raw["lines"]
            for piece in _pieces(raw_line, chars.get(id(raw_line)))
            if (line := _read_line(_closed_up(piece, raw_line, chars.get(id(raw_line))), index)) is not None
        ]
        if lines:
            box = lines[0].box
            for line in lines[1:]:
                box = box_union(box, line.box)
            blocks.append(TextBlock(index=index, box=box, lines=lines))
    return blocks


WIDE_GAP = "   "
"""Three spaces in a row: a line that may hold two texts set apart (only such pages are read char by char)."""
WIDE_GAP_EM = 3.0
"""A run of spaces at least this many times the text's size wide parts a line in two."""


def _char_lines(
    page: pymupdf.Page, textpage: pymupdf.TextPage | None, raw_blocks: list[dict[str, Any]]
) -> dict[int, dict[str, Any]]:
    """The lines holding WIDE_GAP or looking letter-spaced (by the id of their line in ``raw_blocks``) read
    again with their characters (rawdict, the same blocks and lines in the same order); empty on a page
    without such a line, which is not read again."""
    wide = {
        (b, k)
        for b, raw in enumerate(raw_blocks)
        for k, line in enumerate(raw.get("lines", ()))
        if any(WIDE_GAP in span["text"] for span in line["spans"]) or looks_letter_spaced(_line_text(line))
    }
    if not wide:
        return {}
    again = page.get_text("rawdict", flags=TEXT_FLAGS, textpage=textpage)["blocks"]
    return {id(raw_blocks[b]["lines"][k]): again[b]["lines"][k] for b, k in wide}


def _line_text(raw_line: dict[str, Any]) -> str:
    return "".join(span["text"] for span in raw_line["spans"])


def _closed_up(
    piece: dict[str, Any], raw_line: dict[str, Any], chars: dict[str, Any] | None
) -> dict[str, Any]:
    """``piece`` of ``raw_line`` (_pieces) with its letter-spaced words closed up (ingest/letter_spacing.py);
    ``chars``: the line read with its characters, when it was (_char_lines)."""
    if chars is None or not looks_letter_spaced(_line_text(piece)):
        return piece
    return close_up(piece, chars if piece is raw_line else piece)


def _pieces(raw_line: dict[str, Any], chars: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Layout class "titles of a row in one line": a word processor writes the titles of two charts side by
    side as one line, spaces (or a tab's worth of them) between; each part over its own chart is a line of
    its own. ``chars``: the line read with its characters (_char_lines), when it holds WIDE_GAP; it is cut
    at each run of spaces WIDE_GAP_EM wide or more (never in monospaced text: code aligns with spaces),
    its parts keeping their spans' styles. Any other line is returned as it is."""
    pieces: list[list[dict[str, Any]]] = [[]]
    for span in chars["spans"] if chars else ():
        run: list[dict[str, Any]] = []
        for char in span["chars"]:
            if char["c"].isspace():
                run.append(char)
                continue
            wide = run and run[-1]["bbox"][2] - run[0]["bbox"][0] >= WIDE_GAP_EM * span["size"]
            if wide and not _is_mono(span) and pieces[-1]:
                pieces.append([])
            elif run:
                pieces[-1].append({**span, "chars": run})
            run = []
            pieces[-1].append({**span, "chars": [char]})
    if len(pieces) < 2:
        return [raw_line]
    return [_raw_piece(raw_line, piece) for piece in pieces]


def _raw_piece(raw_line: dict[str, Any], spans: list[dict[str, Any]]) -> dict[str, Any]:
    """A line of pymupdf's text dict made of the characters of ``spans`` (each a span holding some of its
    characters): its spans with their text and its box."""
    boxes = [char["bbox"] for span in spans for char in span["chars"]]
    box = (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )
    texts = [{**span, "text": "".join(char["c"] for char in span["chars"])} for span in spans]
    return {**raw_line, "spans": texts, "bbox": box}


def _read_line(raw_line: dict[str, Any], block: int) -> TextLine | None:
    """One line of pymupdf's text dict as a TextLine of block ``block``; None when it is blank."""
    spans = [s for s in raw_line["spans"] if s["text"].strip()]
    if not spans:
        return None
    text = fold_ligatures("".join(s["text"] for s in raw_line["spans"]).strip())
    mono = sum(len(s["text"]) for s in spans if _is_mono(s)) >= 0.6 * sum(len(s["text"]) for s in spans)
    colours = {s.get("color") for s in spans}
    return TextLine(
        box=tuple(raw_line["bbox"]),
        text=text,
        size=max(s["size"] for s in spans),
        bold=all(_is_bold(s) for s in spans),
        block=block,
        mono=mono,
        starts_bold=_is_bold(spans[0]),
        turned=tuple(raw_line.get("dir", (1.0, 0.0))) != (1.0, 0.0),
        colour=_rgb(colours.pop()) if len(colours) == 1 else None,
    )


def _rgb(colour: Any) -> Colour | None:
    """A span's colour (pymupdf's sRGB integer) as an RGB triple of 0-1."""
    if not isinstance(colour, int):
        return None
    return tuple(((colour >> shift) & 0xFF) / 255 for shift in (16, 8, 0))


def _read_images(page: pymupdf.Page) -> list[ImageBox]:
    """The boxes of the images drawn on the page, clipped to it (none decoded)."""
    rect = page.rect
    images: list[ImageBox] = []
    for info in drawn_images(page):  # get_image_info(xrefs=True) without decoding (image_xrefs.py)
        clipped = pymupdf.Rect(info["bbox"]) & rect
        if clipped.is_empty:
            continue
        box = (clipped.x0, clipped.y0, clipped.x1, clipped.y1)
        key = (round(box[0]), round(box[1]), round(box[2]), round(box[3]), info["width"], info["height"])
        # an image's data may declare more pixels than its dictionary (JBIG2): its decoder allocates those
        claimed = claimed_pixels(page.parent, info.get("xref") or 0)
        images.append(
            ImageBox(
                box=box,
                source_pixels=max(info["width"] * info["height"], claimed),
                key=key,
                source_size=(info["width"], info["height"]),
                xref=info.get("xref") or 0,
            )
        )
    return images


PAGE_RULE_SHARE = 0.6
"""A thin line at least this share of the page wide (or high) is a page rule unless a drawing touches it."""


def _on_top_of_text(page: pymupdf.Page, box: Box) -> bool:
    """The page's last picture drawn at ``box`` comes after every visible text (MuPDF's drawing order)."""
    log = page.get_bboxlog()
    last_text = max(
        (i for i, (kind, _) in enumerate(log) if kind in ("fill-text", "stroke-text")), default=-1
    )
    drawn = [i for i, (kind, b) in enumerate(log) if kind == "fill-image" and box_iou(tuple(b), box) > 0.9]
    return bool(drawn) and drawn[-1] > last_text


PathFlags = tuple[bool, bool, bool, tuple[float, ...] | None]
"""Per path: ruled, bar, filled, a bar's colour (the PageContent lists of those names)."""


EXTENT_SLACK_PT = 2.0


def _same_extent(a: Box, b: Box) -> bool:
    """Two horizontal strokes span the same width (gridlines of one chart), within EXTENT_SLACK_PT."""
    return abs(a[0] - b[0]) <= EXTENT_SLACK_PT and abs(a[2] - b[2]) <= EXTENT_SLACK_PT


def _read_paths(
    page: pymupdf.Page, page_box: Box
) -> tuple[list[Box], list[bool], list[bool], list[bool], list[tuple[float, ...] | None]]:
    """Boxes of the visible paths that can belong to figures, and per path: ruled, bar, filled, the bar's
    colour (PageContent).

    Page backgrounds and frames are left out, and so are page-wide rules (header and footer separators),
    which would glue unrelated things together, unless another drawing touches them: a chart's axis line
    or gridline as wide as the page carries bars and ticks (layout class "full-width chart axis"); a rule
    of the same extent as one that a plotted series (a curved or slanted path) touches is a gridline of
    that line chart too (layout class "full-width line chart": its series does not reach every gridline).
    """
    width, height = page_box[2] - page_box[0], page_box[3] - page_box[1]
    paths: list[Box] = []
    flags: list[PathFlags] = []
    rules: list[tuple[Box, PathFlags]] = []
    for path in page.get_cdrawings():
        box = clip_box(path["rect"], page_box)  # pymupdf.Rect(path["rect"]) & rect, without the Rects
        if box[2] <= box[0] and box[3] <= box[1]:
            continue
        if not _visible(path) or box_area(box) >= 0.8 * width * height:
            continue
        w, h = box[2] - box[0], box[3] - box[1]
        is_ruled = _is_ruled(path)
        filled = is_ruled and _is_filled(path)
        bar = filled and min(w, h) >= 1.5 and len(path.get("items", ())) <= 4
        wedge = not is_ruled and path.get("fill") is not None and path.get("type") in ("f", "fs")
        path_flags = (is_ruled, bar, filled, tuple(path["fill"]) if filled or wedge else None)
        if min(w, h) <= 2.0 and max(w, h) >= PAGE_RULE_SHARE * (width if w > h else height):
            rules.append((box, path_flags))
            continue
        paths.append(box)
        flags.append(path_flags)
    plotted: list[Box] = []  # full-width rules a plotted series touches: gridlines of a line chart
    rest: list[tuple[Box, PathFlags]] = []
    for rule, rule_flags in rules:
        touching = [k for k, other in enumerate(paths) if boxes_near(rule, other, 1.0)]
        if not touching:
            rest.append((rule, rule_flags))
            continue
        paths.append(rule)
        flags.append(rule_flags)
        if any(not flags[k][0] for k in touching):
            plotted.append(rule)
    for rule, rule_flags in rest:
        if any(_same_extent(rule, p) for p in plotted):
            paths.append(rule)  # a gridline of the same chart the series does not reach
            flags.append(rule_flags)
    return paths, [f[0] for f in flags], [f[1] for f in flags], [f[2] for f in flags], [f[3] for f in flags]


def _is_filled(path: dict[str, Any]) -> bool:
    """Filled with a colour (not white)."""
    fill = path.get("fill") if "f" in path.get("type", "") else None
    return fill is not None and not _is_white(fill)


def _is_ruled(path: dict[str, Any]) -> bool:
    """Only rectangles and horizontal/vertical lines."""
    for item in path.get("items", ()):
        op = item[0]
        if op == "re":
            continue
        if op == "l":
            (x0, y0), (x1, y1) = item[1], item[2]
            if abs(x0 - x1) < 0.5 or abs(y0 - y1) < 0.5:
                continue
        return False
    return True


_MONO_FONT_HINTS = ("mono", "courier", "consol", "code", "menlo", "typewriter", "cmtt", "inconsolata")


_BOLD_FONT_HINTS = ("bold", "black", "heavy", "semibold", "demi", "medi")


def _is_bold(span: dict[str, Any]) -> bool:
    font = span["font"].lower()
    return bool(span["flags"] & 16) or any(hint in font for hint in _BOLD_FONT_HINTS)


def _is_mono(span: dict[str, Any]) -> bool:
    font = span["font"].lower()
    return bool(span["flags"] & 8) or any(hint in font for hint in _MONO_FONT_HINTS)


def _is_white(color: Iterable[float] | None) -> bool:
    return color is not None and all(c >= 0.97 for c in color)


def _visible(path: dict[str, Any]) -> bool:
    """False for paths that draw nothing on a white page: no paint, transparent, or white fill only."""
    stroke = path.get("color") if "s" in path.get("type", "") else None
    fill = path.get("fill") if "f" in path.get("type", "") else None
    if stroke is not None and (path.get("stroke_opacity") or 1.0) <= 0.02:
        stroke = None
    if fill is not None and (path.get("fill_opacity") or 1.0) <= 0.02:
        fill = None
    return not (stroke is None and (fill is None or _is_white(fill)))


def cluster_boxes(clusters: list[Cluster], gap: float) -> list[Cluster]:
    """Merge clusters whose boxes come within ``gap`` of each other, until none do (near-linear: boxes.py)."""
    merged: list[Cluster] = []
    for box, members in merge_touching([c.box for c in clusters], gap):
        first = clusters[members[0]]
        if len(members) == 1:
            merged.append(first)
            continue
        cluster = _atom_copy(first)
        cluster.atoms = list(first.atoms or [first])
        for i in members[1:]:
            cluster.merge(clusters[i])
        cluster.box = box
        merged.append(cluster)
    return merged


RUNNING_MARGIN_SHARE = 0.12
"""A running header or footer stands in the top or bottom margin: its middle within this share of the page
height from the page's top or bottom edge."""
BAND_WIDTH_SHARE = 0.6
"""A drawing at least this share of the page wide and under RUNNING_MARGIN_SHARE of its height is a band
(a footer strip, a header rule): page design, not a chart whose labels a footer could be."""


def in_running_margin(box: Box, page_height: float) -> bool:
    """The box's middle lies in the page's top or bottom margin, where running headers and footers stand."""
    middle = (box[1] + box[3]) / 2
    return middle <= RUNNING_MARGIN_SHARE * page_height or middle >= (1 - RUNNING_MARGIN_SHARE) * page_height


@dataclass
class DocumentStats:
    body_size: float
    """The most common font size (by characters): body text."""
    running_lines: frozenset[str]
    """Normalised texts of lines repeated in the top or bottom margin of many pages: running headers and
    footers. Only lines in that margin count (document_stats), and only they are dropped (is_running)."""

    def is_running(self, line: TextLine, page_height: float) -> bool:
        """A running header or footer: its text repeated in the margin of many pages, and in the margin here
        (the same words elsewhere on the page, a chart's series name in its legend, are the page's)."""
        return line.key in self.running_lines and in_running_margin(line.box, page_height)


def _chart_label(line: TextLine, clusters: list[Cluster], page_size: tuple[float, float]) -> bool:
    """Layout class "repeated chart labels in the margin": a line within LABEL_MARGIN_PT of a drawing (a
    legend name beside its swatch, a category under its axis) belongs to the graphic, even in the page's
    bottom margin where a slide's charts reach (a deck whose every chart names the same series). Bands
    (footer strips, header rules) are page design and keep their running text out, and so are pictures (a
    chart's words over a picture are pixels, and a slide's footer may be set over its full-slide
    screenshot) and drawings under the line itself (a footer's backing or its glyphs drawn again as
    shapes): a label stands beside its drawing."""
    x0, y0, x1, y1 = line.box
    near = (x0 - LABEL_MARGIN_PT, y0 - LABEL_MARGIN_PT, x1 + LABEL_MARGIN_PT, y1 + LABEL_MARGIN_PT)
    pw, ph = page_size
    return any(
        not cl.model_only
        and cl.image_area < 0.5 * box_area(cl.box)
        and box_intersection(near, cl.box) > 0
        and box_intersection(line.box, cl.box) <= 0
        and not (
            cl.box[2] - cl.box[0] >= BAND_WIDTH_SHARE * pw
            and cl.box[3] - cl.box[1] < RUNNING_MARGIN_SHARE * ph
        )
        for cl in clusters
    )


def normalise_running(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalpha())


_BULLETS = frozenset("•▪■●○◦‣–—-*·►➢✓")
_NUMBERED = re.compile(r"^\d{1,2}[.)]\s+\w")


def is_body_block(block: TextBlock, stats: DocumentStats) -> bool:
    """A paragraph of running text (never part of a figure): several lines or long, at body size."""
    chars = sum(len(line.text) for line in block.lines)
    sizes_ok = sum(1 for line in block.lines if line.size >= stats.body_size * 0.9) >= len(block.lines) / 2
    if not sizes_ok:
        return False
    if len(block.lines) >= 2 and chars >= 80:
        return True
    # Bulleted and numbered list items (slides, handbooks) are running text even when short.
    if (block.lines[0].text[:1] in _BULLETS or _NUMBERED.match(block.lines[0].text)) and chars >= 20:
        return True
    # A sentence set larger than the body (a slide's lead-in line "The checks at this stage include:"):
    # figure labels are short or small.
    words = sum(len(line.text.split()) for line in block.lines)
    if words >= 6 and all(line.size >= 1.3 * stats.body_size for line in block.lines):
        return True
    return chars >= 120


def join_lines(lines: list[str]) -> str:
    """Lines of a paragraph as one string; a word hyphenated at a line end ("con-" + "sensus") is rejoined."""
    out = ""
    for line in lines:
        line = " ".join(line.split())
        if out.endswith("-") and line[:1].islower() and len(out) > 1 and out[-2].isalpha():
            out = out[:-1] + line
        else:
            out = f"{out} {line}" if out else line
    return out


def find_captions(content: PageContent) -> list[Caption]:
    captions: list[Caption] = []
    for block in content.blocks:
        first = block.lines[0]
        # A bold label with regular text after it marks a caption even without a delimiter.
        label_is_bold = (first.starts_bold and not first.bold) or (
            first.bold and len(block.lines) > 1 and not all(line.bold for line in block.lines[1:])
        )
        match = match_caption(block.text, label_is_bold=label_is_bold)
        if match is None:
            continue
        captions.append(Caption(block=block, match=match, text=join_lines([ln.text for ln in block.lines])))
    return captions


def _between(a: Box, b: Box, other: Box) -> bool:
    """``other`` lies vertically between boxes a and b (either order) and overlaps them horizontally."""
    top, bottom = (a, b) if a[1] <= b[1] else (b, a)
    lo, hi = top[3], bottom[1]
    mid = (other[1] + other[3]) / 2
    if not (lo - 1 <= mid <= hi + 1):
        return False
    span = (min(a[0], b[0]), 0.0, max(a[2], b[2]), 0.0)
    return h_overlap(span, other) > 0.2 or h_overlap(other, span) > 0.2


@dataclass
class PageLayout:
    """One page, analysed: graphic clusters, captions, and the body text that separates figures."""

    content: PageContent
    clusters: list[Cluster]
    captions: list[Caption]
    body_blocks: set[int]
    barriers: list[Box]
    """Boxes a figure never grows across: body paragraphs and captions."""
    lines: list[TextLine]
    """Text lines without running headers and footers."""
    text_blocks: list[TextBlock]
    """Text outside graphics and captions: headings and paragraphs, where citations and context come from."""
    line_index: BoxGrid = field(default_factory=lambda: BoxGrid([]))
    """``lines`` in a grid: the labels near a region without scanning the page."""
    title_lines: list[TextLine] = field(default_factory=list)
    """The title of a slide-like page (slide_title_lines); empty on other pages."""
    body_size: float = 0.0
    """The document's body text size (DocumentStats.body_size)."""

    cluster_index: BoxGrid = field(default_factory=lambda: BoxGrid([]))
    """``clusters``, ``barriers`` and the captions' boxes in grids (BoxGrid odd_too): what a caption may
    claim and what lies between two boxes, looked up, not scanned (a page of 1,000 captioned charts)."""
    barrier_index: BoxGrid = field(default_factory=lambda: BoxGrid([]))
    caption_index: BoxGrid = field(default_factory=lambda: BoxGrid([]))

    def __post_init__(self) -> None:
        self.line_index = BoxGrid([line.box for line in self.lines])
        self.cluster_index = BoxGrid([cl.box for cl in self.clusters], odd_too=True)
        self.barrier_index = BoxGrid(self.barriers, odd_too=True)
        self.caption_index = BoxGrid([c.block.box for c in self.captions], odd_too=True)


def analyse_page(
    content: PageContent, stats: DocumentStats, model_boxes: list[Box] | None = None
) -> PageLayout:
    """Clusters, captions and body text of a page. ``model_boxes``: the layout model's picture boxes."""
    atoms = [Cluster(box=im.box, image_area=box_area(im.box)) for im in content.images]
    atoms += [
        Cluster(
            box=p,
            path_count=1,
            free_paths=0 if i < len(content.ruled) and content.ruled[i] else 1,
            ink=(p[2] - p[0]) + (p[3] - p[1]),
            bar=i < len(content.bars) and content.bars[i],
            fill=i < len(content.fills) and content.fills[i],
            colour=content.bar_colours[i] if i < len(content.bar_colours) else None,
        )
        for i, p in enumerate(content.paths)
        if not (i < len(content.glyph) and content.glyph[i])
    ]
    clusters = cluster_boxes(atoms, CLUSTER_GAP_PT)
    # Model boxes only fill holes (figures without graphics of their own): where they overlap real
    # graphics they would glue neighbouring figures together, so those are left out.
    holes = [
        Cluster(box=box, model_only=True)
        for box in model_boxes or []
        if not any(box_intersection(box, cl.box) > 0 for cl in clusters)
    ]
    clusters += holes
    captions = find_captions(content)
    caption_blocks = {c.block.index for c in captions}
    cluster_index = BoxGrid([cl.box for cl in clusters], odd_too=True)
    running = {
        id(line)
        for line in content.lines
        if stats.is_running(line, content.size[1]) and not _chart_label(line, clusters, content.size)
    }
    body_blocks = {
        b.index
        for b in content.blocks
        if b.index not in caption_blocks
        and is_body_block(b, stats)
        and not all(id(line) in running for line in b.lines)
        # Text inside a graphic (boxes of text in a diagram) is the figure's, not body text.
        and not _inside_graphic(b.box, clusters, cluster_index)
    }
    barriers = [b.box for b in content.blocks if b.index in body_blocks] + [c.block.box for c in captions]
    lines = [line for line in content.lines if id(line) not in running]
    running_text = [
        b
        for b in content.blocks
        if b.index not in caption_blocks and not _inside_graphic(b.box, clusters, cluster_index)
    ]
    layout = PageLayout(content, clusters, captions, body_blocks, barriers, lines, running_text)
    layout.title_lines = slide_title_lines(content, lines, caption_blocks)
    layout.body_size = stats.body_size
    return layout


def _inside_graphic(box: Box, clusters: list[Cluster], index: BoxGrid) -> bool:
    """At least 0.6 of ``box`` lies in one cluster (``index``: the clusters' grid). A box of no area lies
    in any (0 >= 0), as it did when every cluster was tried."""
    area = box_area(box)
    if area <= 0:
        return bool(clusters)
    return any(box_intersection(box, clusters[i].box) >= 0.6 * area for i in index.near(box))


def _is_link(text: str) -> bool:
    """A web address or path set large on a slide ("aka.ms/xyz"): not a title."""
    return " " not in text.strip() and ("/" in text or text.lower().startswith("www."))


SLIDE_ASPECT = 1.1
"""A page this much wider than high is slide-like (a presentation exported to PDF, a landscape board)."""
SLIDE_TITLE_SIZE = 1.25
"""A slide title is set this much larger than the median text of its page."""
SLIDE_TITLE_MAX_CHARS = 150
SLIDE_TITLE_MAX_LINES = 2
"""A slide title wraps over this many lines at most (more in the largest type: a statement set large)."""


def is_slide_like(size: tuple[float, float]) -> bool:
    """A landscape page, SLIDE_ASPECT times as wide as high: a presentation exported to PDF."""
    return size[0] >= SLIDE_ASPECT * size[1]


def slide_title_lines(
    content: PageContent, lines: list[TextLine], caption_blocks: set[int]
) -> list[TextLine]:
    """The title of a slide-like (landscape) page: the block set in the page's largest type, topmost first.

    ``lines`` are the page's lines without running headers. Empty on portrait pages, pages without a
    clearly larger line, and when the largest type is a paragraph rather than a title.
    """
    candidates = [
        ln
        for ln in lines
        if ln.block not in caption_blocks
        and any(ch.isalpha() for ch in ln.text)
        and not _is_link(ln.text)
        and not is_number(ln.text)  # a KPI tile's value ("9.0x") set in the page's largest type
    ]
    if not is_slide_like(content.size) or not candidates:
        return []
    top = max(ln.size for ln in candidates)
    first = min((ln for ln in candidates if ln.size >= 0.95 * top), key=lambda ln: (ln.box[1], ln.box[0]))
    # Layout class "slide of few words": a chart's numbers are no words, so the title can hold most of
    # the slide's letters; the body's type is then that of the other lines. More lines in the largest
    # type than a title wraps over are a statement set large (the body), as before.
    rest = [ln for ln in candidates if ln.size < 0.95 * top]
    short = len(candidates) - len(rest) <= SLIDE_TITLE_MAX_LINES
    median = _median_size(rest if rest and short else candidates)
    if top < SLIDE_TITLE_SIZE * median and any(ln.size < 0.95 * top for ln in candidates):
        return []  # the largest type is the body's: no title (a slide of big words only keeps its top one)
    if _in_title_row(first, candidates):
        return []
    title = [ln for ln in candidates if ln.block == first.block and ln.size >= 0.9 * top]
    if sum(len(ln.text) for ln in title) > SLIDE_TITLE_MAX_CHARS:
        return []
    wrapped = _title_continued(title, candidates)
    # Lines past the length of a title are the slide's statement set large: the block alone, as before.
    return wrapped if sum(len(ln.text) for ln in wrapped) <= SLIDE_TITLE_MAX_CHARS else title


SLIDE_TITLE_PITCH = 1.3
"""A wrapped title's next line starts within this many line heights of its last line's top."""
NO_TITLE_WRAP = re.compile(
    r"^\s*(?:[•·▪‣◦●■□–—*>]"  # a bullet: the slide's first point, set large
    r"|(?:(?:Q[1-4]|H[12]|FY|[A-Z][a-z]{2,8}\.?)\s*)?[\d./\-–, ]*\d[\d./\-–, ]*$)"  # a date or a number
)
"""A line that does not go on wrapping a title above it, whatever its size (a review: "Quarterly results"
took "March 2025" under it, "Regional sales" a first bullet)."""


def _title_continued(title: list[TextLine], candidates: list[TextLine]) -> list[TextLine]:
    """``title`` and the lines that go on wrapping it, whatever their text block (layout class "wrapped
    slide title": LibreOffice writes a centred title's second line as a block of its own): each next line
    below the last, in its size (within 5 %) and weight, starting within SLIDE_TITLE_PITCH of its line
    heights and overlapping the title's extent across."""
    title = list(title)
    below = sorted((ln for ln in candidates if ln.box[1] > title[-1].box[1]), key=lambda ln: ln.box[1])
    for line in below:
        last = title[-1]
        height = last.box[3] - last.box[1]
        if line.box[1] - last.box[1] > SLIDE_TITLE_PITCH * height:
            break
        extent = (min(ln.box[0] for ln in title), 0.0, max(ln.box[2] for ln in title), 0.0)
        if NO_TITLE_WRAP.match(line.text):
            continue
        if (
            line not in title
            and line.bold == last.bold
            and abs(line.size - last.size) <= 0.05 * last.size
            and h_overlap(line.box, extent) > 0
        ):
            title.append(line)
    return title


def _median_size(lines: list[TextLine]) -> float:
    """The type size of the median letter of ``lines``."""
    by_chars = sorted((ln.size, len(ln.text)) for ln in lines)
    half, seen = sum(n for _, n in by_chars) / 2, 0
    for size, n in by_chars:
        seen += n
        if seen >= half:
            return size
    return by_chars[0][0]


BESIDE_DRAWING_LINES = 3
"""A drawing this many of a line's heights tall, level with the line on its right, is a chart the line
stands beside (its title), not a logo beside a slide's title."""


def _beside_drawing(line: TextLine, graphics: Sequence[Box]) -> bool:
    """A drawing starts level with ``line`` (not above it) on its right and is much taller than it (layout
    class "title left of the chart": a landscape report page without a page title, its top chart's title
    in a column left of it; that title is the chart's, not the page's)."""
    box, height = line.box, line.box[3] - line.box[1]
    return any(
        g[0] >= box[2] - 2
        and box[1] - 0.5 * height <= g[1] <= box[3]
        and g[3] - g[1] >= BESIDE_DRAWING_LINES * height
        for g in graphics
    )


def _in_title_row(line: TextLine, lines: list[TextLine]) -> bool:
    """Another line in ``line``'s style stands in its row, apart from it (layout class "row of panel
    titles": a landscape report page without a page title, its charts' titles side by side in the page's
    largest type, as lines of their own or as the parts of one line cut at a wide gap; none of them is the
    page's title)."""
    box, height = line.box, line.box[3] - line.box[1]
    for other in lines:
        o = other.box
        if other is line or not same_style(other, line):
            continue
        level = min(box[3], o[3]) - max(box[1], o[1]) >= 0.5 * min(height, o[3] - o[1])
        if level and max(o[0] - box[2], box[0] - o[2]) > height:
            return True
    return False


def _nearest_on_side(
    layout: PageLayout, caption: Caption, taken: set[int], above: bool
) -> list[tuple[float, int]]:
    """Clusters on one side of a caption, in its column, nearest first; empty when body text intervenes."""
    cap = caption.block.box
    column = _caption_column(layout, caption)
    found: list[tuple[float, int]] = []
    for i in _in_band_across(layout.cluster_index, column):
        cl = layout.clusters[i]
        if i in taken or (h_overlap(cl.box, column) < 0.3 and h_overlap(column, cl.box) < 0.3):
            continue
        if above and cl.box[3] <= cap[1] + 3:
            found.append((cap[1] - cl.box[3], i))
        elif not above and cl.box[1] >= cap[3] - 3:
            found.append((cl.box[1] - cap[3], i))
        elif _framed_caption(cap, cl.box, above):
            found.append((0.0, i))
    found.sort()
    if not found:
        return []
    gap, first = found[0]
    if gap > 0.25 * layout.content.size[1] or _blocked(layout, cap, layout.clusters[first].box, cap):
        return []
    return found


def _in_band_across(index: BoxGrid, band: Box) -> list[int]:
    """The boxes of ``index`` within ``band``'s extent across, at any height (a superset of those
    overlapping it across: each is tested exactly by the caller)."""
    extent = index.extent or band
    return index.near((band[0], extent[1], band[2], extent[3]))


SIDES = (True, False)
"""Above, below."""


def _framed_caption(cap: Box, frame: Box, above: bool) -> bool:
    """Layout class "caption inside the chart's frame": a framed panel or card holds its numbered title at its
    top (the chart under it) or its caption at its foot (the chart over it): the frame's cluster is the
    figure, on the side of the frame's middle."""
    inside = frame[0] <= cap[0] + 1 and cap[2] <= frame[2] + 1 and frame[1] <= cap[1] and cap[3] <= frame[3]
    middle = (frame[1] + frame[3]) / 2
    return inside and (middle < cap[1] if above else middle > cap[3])


def _caption_column(layout: PageLayout, caption: Caption) -> Box:
    """The horizontal band of the caption's column: a short, left-aligned caption still owns its column.

    The widest body paragraph that starts where the caption starts (same left edge, or the caption inside
    it) gives the column's extent; without body text the caption's own extent is used.
    """
    cap = caption.block.box
    x0, x1 = cap[0], cap[2]
    for index in layout.body_blocks:
        box = layout.content.blocks[index].box
        if box[0] - 6 <= cap[0] <= box[0] + 6 or (box[0] - 6 <= cap[0] and cap[2] <= box[2] + 6):
            x0, x1 = min(x0, box[0]), max(x1, box[2])
    # Layout class "captioned charts side by side": a caption beside it in its row bounds the column (a
    # lead-in paragraph across the page would otherwise give the left caption both charts).
    for k in _in_band_level(layout.caption_index, cap):
        other = layout.captions[k]
        box = other.block.box
        if other is caption or min(box[3], cap[3]) - max(box[1], cap[1]) <= 0:
            continue
        if box[0] >= cap[2]:
            x1 = min(x1, box[0])
        elif box[2] <= cap[0]:
            x0 = max(x0, box[2])
    return (x0, cap[1], x1, cap[3])


def _in_band_level(index: BoxGrid, band: Box) -> list[int]:
    """The boxes of ``index`` within ``band``'s height, anywhere across (a superset of those level with
    it: each is tested exactly by the caller)."""
    extent = index.extent or band
    return index.near((extent[0], band[1], extent[2], band[3]))


def _blocked(layout: PageLayout, a: Box, b: Box, caption_box: Box | None = None) -> bool:
    """A barrier other than ``caption_box`` lies between ``a`` and ``b`` (_between): only those in the band
    between them are tried, its middle within it (a barrier whose middle is not is never between)."""
    top, bottom = (a, b) if a[1] <= b[1] else (b, a)
    band = (min(a[0], b[0]), top[3] - 1, max(a[2], b[2]), bottom[1] + 1)
    if band[1] > band[3]:
        return False  # the boxes overlap in height: no middle lies between them
    return any(
        _between(a, b, layout.barriers[i])
        for i in layout.barrier_index.near(band)
        if layout.barriers[i] != caption_box
    )


CAPTION_SIDE_RATIO = 0.5
"""A caption with graphics on both sides sides with one at most this share of the other's distance away."""


def caption_side_votes(layout: PageLayout) -> Counter[str]:
    """For figure captions with graphics on one side only, or one side's much nearer: which side ("above"/
    "below") the figure was. Layout class "numbered titles over a stack of charts": "Figure 3: ..." set
    right over its chart, the chart before it further up past its source note."""
    votes: Counter[str] = Counter()
    for caption in layout.captions:
        if caption.match.kind is not CaptionKind.FIGURE:
            continue
        above = _nearest_on_side(layout, caption, set(), above=True)
        below = _nearest_on_side(layout, caption, set(), above=False)
        if bool(above) != bool(below):
            votes["above" if above else "below"] += 1
        elif above and below and above[0][0] <= CAPTION_SIDE_RATIO * below[0][0]:
            votes["above"] += 1
        elif above and below and below[0][0] <= CAPTION_SIDE_RATIO * above[0][0]:
            votes["below"] += 1
    return votes


def _claim_for_caption(
    layout: PageLayout, caption: Caption, taken: set[int], figure_above: bool
) -> list[int]:
    """Indexes of the clusters that belong to this caption's figure (or table).

    The document's usual side is tried first (figures above their captions in most documents, tables
    below theirs), the other side only when the usual one has nothing.
    """
    cap = caption.block.box
    usual_above = figure_above if caption.match.kind is CaptionKind.FIGURE else False
    page_height = layout.content.size[1]
    for above in (usual_above, not usual_above):
        ordered = _nearest_on_side(layout, caption, taken, above)
        if not ordered:
            continue
        first = ordered[0][1]
        region = layout.clusters[first].box
        chosen = [first]
        for _, i in ordered[1:]:
            box = layout.clusters[i].box
            # The cheap test first (each only skips the cluster): most of a column is far away.
            near_gap = (region[1] - box[3]) if above else (box[1] - region[3])
            if near_gap > 0.08 * page_height:
                continue
            if _blocked(layout, region, box) or _blocked(layout, cap, box, cap):
                continue
            if any(_frames_caption(layout, box, side) for side in SIDES):
                continue  # a frame holding another caption is that caption's figure
            chosen.append(i)
            region = box_union(region, box)
        return chosen
    return []


def _frames_caption(layout: PageLayout, frame: Box, above: bool) -> bool:
    """Any caption of the page lies in ``frame`` as _framed_caption has it (only those within 1 pt of it
    are tried: a framed caption lies inside it, 1 pt of slack across)."""
    boxes = layout.caption_index.boxes
    return any(_framed_caption(boxes[k], frame, above) for k in layout.caption_index.near(frame, 1))


def _grow_to_labels(
    box: Box,
    layout: PageLayout,
    excluded_blocks: set[int],
    caption_box: Box | None,
    skip: frozenset[int] = frozenset(),
) -> tuple[Box, list[TextLine]]:
    """Extend a region to the label lines around it, and return the lines it then holds.

    ``skip``: indexes into ``layout.lines`` never grown into (other panels' titles)."""
    lines = layout.lines
    for _ in range(3):
        grown = box
        for i in layout.line_index.near(box, LABEL_MARGIN_PT):
            line = lines[i]
            if line.block in excluded_blocks or i in skip:
                continue
            if caption_box is not None and box_intersection(line.box, caption_box) > 0:
                continue
            grown = box_union(grown, line.box)
        if grown == box:
            break
        box = grown
    held = [
        lines[i]
        for i in layout.line_index.near(box)
        if box_intersection(lines[i].box, box) >= 0.5 * box_area(lines[i].box)
    ]
    return box, held


def _merged(clusters: list[Cluster]) -> Cluster:
    first = clusters[0]
    merged = _atom_copy(first)
    merged.atoms = list(first.atoms or [first])
    for cl in clusters[1:]:
        merged.merge(cl)
    return merged


def find_figures(layout: PageLayout, min_figure_pt: float, figure_above: bool = True) -> list[FigureRegion]:
    """The figure regions of one page, captioned ones first, each with its caption when it has one.

    ``figure_above``: this document puts figures above their captions (the side learnt from its pages).
    """
    caption_blocks = {c.block.index for c in layout.captions}
    excluded = layout.body_blocks | caption_blocks
    taken: set[int] = set()
    regions: list[FigureRegion] = []
    # Figures first (they are what we want), then tables/listings claim what is left next to them.
    for caption in sorted(layout.captions, key=lambda c: c.match.kind is not CaptionKind.FIGURE):
        chosen = _claim_for_caption(layout, caption, taken, figure_above)
        if not chosen:
            continue
        taken.update(chosen)
        if caption.match.kind is not CaptionKind.FIGURE:
            continue
        merged = _merged([layout.clusters[i] for i in chosen])
        box, held = _grow_to_labels(merged.box, layout, excluded, caption.block.box)
        title = caption_title(caption.block.lines, box, held)
        regions.append(
            FigureRegion(
                box,
                merged.image_area,
                merged.path_count,
                caption=caption,
                text_lines=held,
                ink=merged.ink,
                title=join_lines([line.text for line in title]),
            )
        )

    # Uncaptioned figures: what no caption claimed and that looks like a figure on its own.
    rest = [cl for i, cl in enumerate(layout.clusters) if i not in taken and not cl.model_only]
    captioned = BoxGrid([r.box for r in regions], odd_too=True)
    rest = [c for c in rest if not _mostly_in(c.box, captioned, range(len(regions)))]
    joined = _release_backdrops(cluster_boxes(rest, 2 * CLUSTER_GAP_PT), layout, min_figure_pt / 3)
    loose = _uncaptioned(layout, _join_gridlines(joined), excluded, min_figure_pt)
    smallest = min_figure_pt
    if layout.title_lines:  # a slide: icons and stickers are decoration, figures are bigger
        smallest = max(min_figure_pt, SLIDE_MIN_FIGURE_SHARE * layout.content.size[0])
    loose = _merge_loose(layout, loose)
    # Each loose region is tried against the regions kept before it: one grid of all, the kept marked.
    known = BoxGrid([r.box for r in regions] + [r.box for r in loose], odd_too=True)
    kept = set(range(len(regions)))
    for k, region in enumerate(loose, start=len(regions)):
        if region.kpi or min(region.box[2] - region.box[0], region.box[3] - region.box[1]) < smallest:
            continue  # a KPI tile row is numbers in boxes, no chart or diagram (issue 13; labels README)
        if not _mostly_in(region.box, known, kept):
            regions.append(region)
            kept.add(k)
    if len(regions) == 1 and _is_divider_icon(layout, regions[0]):
        return []
    return [r for r in regions if not _is_avatar_row(layout, r)]


def _mostly_in(box: Box, index: BoxGrid, among: Container[int]) -> bool:
    """More than half of ``box`` lies in one of the boxes of ``index`` numbered in ``among`` (only those
    near it are tried: more than half of a box lies in what overlaps it)."""
    area = box_area(box)
    return any(box_intersection(box, index.boxes[i]) > 0.5 * area for i in index.near(box) if i in among)


def _release_backdrops(clusters: list[Cluster], layout: PageLayout, speck: float) -> list[Cluster]:
    """Layout class "title on a tinted box over the chart": the box behind a panel's title stands a few
    points over the chart's top, so the wider merge glues it to what stands there, the legend's swatches
    (a legend above the plot) or the top gridline, and takes them from the chart: no swatch keys the
    legend, whose names are then lost, and the gridline ladder misses its top rung, whose tick is lost. A
    cluster made of one filled box holding a line of words (_holds_words) and otherwise only specks
    and strokes, all standing outside the box, is split into its paths again; one gluing a whole chart stays
    whole (the box is then the chart's title band, _title_band), and so does a box with marks inside it:
    layout class "chart on a card", the card's tinted background behind a small chart whose bars are specks
    (a dashboard card's horizontal bars, 6-9 pt each) is the chart's backdrop, not a title's."""
    result: list[Cluster] = []
    for cluster in clusters:
        atoms = cluster.atoms
        backdrops = [a for a in atoms if a.path_count == 1 and a.fill and _holds_words(layout, a.box)]
        marks = [a for a in atoms if not any(a is b for b in backdrops)]
        if (
            len(backdrops) != 1
            or not marks
            or not all(_speck_or_stroke(a, speck) for a in marks)
            or any(centre_in(a.box, backdrops[0].box) for a in marks)
        ):
            result.append(cluster)
            continue
        result += [_atom_copy(atom) for atom in atoms]
    return result


def _speck_or_stroke(atom: Cluster, speck: float) -> bool:
    w, h = atom.box[2] - atom.box[0], atom.box[3] - atom.box[1]
    return atom.path_count == 1 and (max(w, h) < speck or min(w, h) <= STROKE_PT)


def _uncaptioned(
    layout: PageLayout, clusters: list[Cluster], excluded: set[int], min_figure_pt: float
) -> list[FigureRegion]:
    """Uncaptioned candidate regions: clusters split into chart panels, each with its title and labels.

    Titles are found first, so that no panel grows into the title of the panel below it; a slide-like
    page's title is never a panel's label or title (it would glue the panels together). Pieces of a
    labelled-box diagram that are too small alone are tried again together.
    """
    parts, coloured = _sorted_parts(layout, clusters, min_figure_pt)
    parts, kpi_rows = _join_kpi_rows(_join_bar_rows(parts, layout.content.size[1]), layout)
    legends = _keyed_legends(layout, parts, coloured)
    specks = [mark for mark, _ in coloured]
    if layout.title_lines and _beside_drawing(layout.title_lines[0], [p.box for p, chart in parts if chart]):
        layout.title_lines = []  # the page's "slide title" is its top chart's title, left of it
    excluded_titles = {ln.block for ln in layout.title_lines}
    excluded = excluded | excluded_titles
    near_ok = excluded - (_heading_blocks(layout) - excluded_titles)
    # Each part's title looks at the others (O(parts^2)): a page of more parts than a chart grid has
    # (hostile, or a scatter of pieces) is titled as before, without them.
    boxes = [p.box for p, _ in parts] if len(parts) <= TITLE_NEIGHBOURS_MAX else None
    keys = (BoxGrid(specks), specks)
    titles = _part_titles(layout, parts, legends, (excluded, near_ok), boxes, keys)
    taken = frozenset(i for title in titles for i in title)
    rows_beside = _row_neighbours(parts, legends)
    regions: list[FigureRegion] = []
    shape_pieces: list[Cluster] = []
    bar_panels: list[tuple[Cluster, FigureRegion]] = []
    for (part, chart), title, legend in zip(parts, titles, legends, strict=True):
        skip = taken - set(title)
        start = part.box if legend is None else box_union(part.box, legend)
        if chart:
            start, skip = _chart_labels(layout, part, (start, skip, title), (boxes or (), excluded), legend,
                                        rows_beside)  # fmt: skip
        box, held = _grow_to_labels(start, layout, excluded, None, skip)
        if chart:  # a legend's swatches beside the plot, with their labels; the notes under it
            box, held = _with_legend(box, *keys, layout, excluded, skip)
            held += _notes_under(layout, box, excluded | {layout.lines[i].block for i in taken}, held)
        shapes = _labelled_shapes(part, layout)
        table = not chart and not layout.title_lines and _ruled_table(part, held)
        if table or not _looks_like_figure(part, box, held, min_figure_pt, chart, shapes):
            if shapes[0]:
                shape_pieces.append(part)
            continue
        regions.append(_region(layout, part, box, held, chart, title))
        regions[-1].kpi = id(part) in kpi_rows
        if chart:
            bar_panels.append((part, regions[-1]))
    _share_category_names(bar_panels)
    return regions + _shape_regions(layout, shape_pieces, excluded, taken, min_figure_pt)


def _sorted_parts(
    layout: PageLayout, clusters: list[Cluster], min_figure_pt: float
) -> tuple[list[tuple[Cluster, bool]], list[tuple[Box, Colour | None]]]:
    """The clusters split into panel parts (each with whether it is a chart), and the specks (bullets,
    markers, legend swatches, line samples: no figures on their own) with their fill colours."""
    speck = min_figure_pt / 3
    parts: list[tuple[Cluster, bool]] = []
    coloured: list[tuple[Box, Colour | None]] = []
    stacked: list[Cluster] = []
    for cluster in clusters:
        if _speck(cluster, speck, layout):
            coloured.append((cluster.box, _fill_colour(cluster)))
            continue
        if _stacked_keys(cluster, speck, layout):
            stacked.append(cluster)
            continue
        parts += _panels_of(cluster, layout, min_figure_pt)
    for cluster in stacked:
        if _in_legend_grid(cluster, layout, [mark for mark, _ in coloured]):
            parts += _panels_of(cluster, layout, min_figure_pt)  # as before: the row's other keys key it
        else:
            coloured += [(key.box, _fill_colour(key)) for key in cluster.atoms]
    return parts, coloured


def _part_titles(
    layout: PageLayout,
    parts: list[tuple[Cluster, bool]],
    legends: list[Box | None],
    blocks: tuple[set[int], set[int]],
    boxes: list[Box] | None,
    keys: tuple[BoxGrid, list[Box]],
) -> list[tuple[int, ...]]:
    """Each part's title (line indices), found with its neighbours in view (_title_indices, _titles_beside).
    ``blocks``: the excluded blocks, and those a title may stand near (the excluded but headings)."""
    (excluded, near_ok), (grid, specks) = blocks, keys
    titles, ranks, graphics, feet, drawings = [], [], [], [], []
    for (part, chart), legend in zip(parts, legends, strict=True):
        graphic = _widened(layout, part.box, excluded, boxes)
        if chart:
            graphic = _legend_above(graphic, grid, specks)
        if legend is not None:
            graphic = box_union(graphic, legend)
        # A panel picture's edge is its frame: a title printed over its top is its own (_panel_picture).
        picture = not chart and _panel_picture(layout, part)
        framed = picture or (chart and (_framed(part) or _title_band(part, layout)))
        round_plot = chart and has_pie(part.atoms or [part])
        found, rank = _title_indices(
            layout, graphic, near_ok, chart or picture, framed, boxes or (), picture, round_plot
        )
        titles.append(found)
        ranks.append(rank)
        graphics.append(graphic)
        feet.append(_foot(part, graphic, grid, specks) if chart else None)
        drawings.append((part.box[0], graphic[1], part.box[2], graphic[3]))
    _titles_beside(layout, (graphics, drawings, feet), titles, ranks, near_ok, boxes or (), keys)
    return titles


def _chart_labels(
    layout: PageLayout,
    part: Cluster,
    at: tuple[Box, frozenset[int], tuple[int, ...]],
    context: tuple[Sequence[Box], set[int]],
    legend: Box | None,
    rows_beside: tuple[list[Box], list[Box]],
) -> tuple[Box, frozenset[int]]:
    """A chart part's start box and the lines it skips, given ``at`` (its start box, the lines skipped so
    far, its title): its value axis and its labels set apart (rules 48, 55, 56) are its own."""
    start, skip, title = at
    others, excluded = context
    ticks = _tick_column(layout, part.box, others) | _tick_row(layout, part.box, others)
    ticks |= _row_labels(layout, part, others, excluded, rows_beside)
    if legend is None:
        ticks |= _plain_legend(layout, part, others, excluded)
    skip = (skip | _not_panel_labels(layout, start, title)) - ticks
    return _union([start, *(layout.lines[i].box for i in ticks)]), skip


def _shape_regions(
    layout: PageLayout, pieces: list[Cluster], excluded: set[int], taken: frozenset[int], min_figure_pt: float
) -> list[FigureRegion]:
    """Pieces of a labelled-box diagram, too small alone, tried again together."""
    regions: list[FigureRegion] = []
    if len(pieces) <= 1:
        return regions
    for group in cluster_boxes(pieces, LABEL_MARGIN_PT):
        box, held = _grow_to_labels(group.box, layout, excluded, None, taken)
        if group.atoms and _looks_like_figure(
            group, box, held, min_figure_pt, False, _labelled_shapes(group, layout)
        ):
            regions.append(_region(layout, group, box, held, False, ()))
    return regions


def _share_category_names(charts: list[tuple[Cluster, FigureRegion]]) -> None:
    """Small multiples sharing one category axis (ingest/shared_axis.py): a horizontal bar panel without
    category names of its own gets, in its text (not its box), the names of the nearest panel on its left
    whose bar rows line up with its own."""
    bar_charts = [(part, region, _bar_rows(part)) for part, region in charts]
    bar_charts = [chart for chart in bar_charts if len(chart[2]) >= NAMES_MIN]
    if len(bar_charts) < 2:
        return
    panels = [
        BarPanel(_bars_box(part), rows, [(line.box, line.text) for line in region.text_lines])
        for part, region, rows in bar_charts
    ]
    for k, (j, names) in borrowed_names(panels).items():
        region, lender = bar_charts[k][1], bar_charts[j][1]
        region.text_lines += [
            lender.text_lines[i] for i in names if lender.text_lines[i] not in region.text_lines
        ]


def _bars_box(part: Cluster) -> Box:
    return _union([a.box for a in part.atoms if a.bar])


LINE_KEY_WIDTH = 2.0
"""A line chart's legend key (a short stroke, its marker on it) is up to this many specks wide."""


def _speck(cluster: Cluster, speck: float, layout: PageLayout) -> bool:
    """A small mark: under ``speck`` both ways, or a line sample (layout class "line chart legend": a short
    flat stroke, a marker on it, its series name right of it) under LINE_KEY_WIDTH specks wide."""
    w, h = cluster.box[2] - cluster.box[0], cluster.box[3] - cluster.box[1]
    if h >= speck or w >= LINE_KEY_WIDTH * speck:
        return False
    return w < speck or _legend_name(layout, cluster.box) is not None


def _stacked_keys(cluster: Cluster, speck: float, layout: PageLayout) -> bool:
    """Layout class "legend keys stacked tight": a legend's swatches set a few points apart in a column (or
    a row) touch as one cluster, too big for a speck; when every path of it is a speck-sized mark with a
    series name right of it, they are the legend's swatches, one speck each. Not so: a heat map's cells, a
    chart's bars, a lone mark."""
    atoms = cluster.atoms
    if not 2 <= len(atoms) <= KEYED_ENTRIES_MAX or cluster.image_area:
        return False
    for atom in atoms:
        w, h = atom.box[2] - atom.box[0], atom.box[3] - atom.box[1]
        if w >= speck or h >= speck or _legend_name(layout, atom.box) is None:
            return False
    return True


def _in_legend_grid(cluster: Cluster, layout: PageLayout, specks: list[Box]) -> bool:
    """Stacked keys that are the first column of a legend laid out in rows (another swatch level with one of
    them, within LEGEND_ENTRY_GAP_PT of its name): they stay a drawing, as before rule 47, and the row's other
    keys key the chart. Made swatches, the whole grid would be one legend holding a series the chart may not
    draw (a 0 % series has no bar), which no chart matches."""
    for atom in cluster.atoms:
        name = _legend_name(layout, atom.box)
        entry = atom.box if name is None else box_union(atom.box, name)
        for mark in specks:
            level = min(mark[3], entry[3]) > max(mark[1], entry[1])
            if level and 0 <= mark[0] - entry[2] <= LEGEND_ENTRY_GAP_PT:
                return True
    return False


def _fill_colour(cluster: Cluster) -> Colour | None:
    """The one fill colour of a small mark (a swatch drawn as a fill, maybe with an outline), else None."""
    colours = {a.colour for a in cluster.atoms or [cluster] if a.colour is not None}
    return colours.pop() if len(colours) == 1 else None


LEGEND_ENTRY_GAP_PT = 1.5 * LABEL_MARGIN_PT
"""Entries of one legend stand this close at most (a row of entries spaced a swatch's width and more past
LABEL_MARGIN_PT; charts side by side stand further apart, so their legends stay two)."""
KEYED_ENTRIES_MAX = 64
"""Pages with more coloured marks named like legend entries than this are left alone, and pages with more
lines set in their charts' colours read no legend of coloured names (bounded work)."""


def _keyed_legends(
    layout: PageLayout, parts: list[tuple[Cluster, bool]], coloured: list[tuple[Box, Colour | None]]
) -> list[Box | None]:
    """Per part: the box of its legend set apart (panels.match_legends), swatches or line samples and their
    names, or names set in their series' colours (_text_keys), when the part is a chart whose colours hold
    the legend's (layout class "legend set apart, keyed by colour": a round plot's legend at its frame's
    side or foot, a bar, column or line chart's beside it past LABEL_MARGIN_PT, in the gap to the next
    chart), else None. The legend's lines are the chart's labels (its box is where _not_panel_labels
    looks), not the next panel's."""
    legends: list[Box | None] = [None] * len(parts)
    charts = [
        (k, part.box, frozenset(a.colour for a in part.atoms or [part] if a.colour is not None))
        for k, (part, chart) in enumerate(parts)
        if chart
    ]
    charts = [chart for chart in charts if chart[2]]
    marks = [(mark, colour) for mark, colour in coloured if colour is not None]
    if len(marks) > KEYED_ENTRIES_MAX:
        return legends
    texts = _text_keys(layout, frozenset().union(*(own for _, _, own in charts)))
    if len(texts) > KEYED_ENTRIES_MAX:  # a coloured table or list, no legend: the swatches still count
        texts = []
    # A legend's name may be missing from the page's lines (a name repeated at one place on every slide
    # is dropped as a running line): its swatch still holds the legend together.
    entries = [(mark, _legend_name(layout, mark), colour) for mark, colour in marks]
    entries += [(box, box, colour) for box, colour in texts]
    boxes = [mark if name is None else box_union(mark, name) for mark, name, _ in entries]
    # A coloured name stands where a swatch and its gap would be too: it reaches half a line further.
    reach = boxes[: len(marks)] + [
        (b[0] - (b[3] - b[1]) / 2, b[1], b[2] + (b[3] - b[1]) / 2, b[3]) for b, _ in texts
    ]
    groups = [
        (_union([boxes[i] for i in members]), frozenset(entries[i][2] for i in members))
        for _, members in merge_touching(reach, LEGEND_ENTRY_GAP_PT)
        if _is_legend([entries[i] for i in members], len(marks) <= min(members))
    ]
    if len(charts) <= KEYED_MAX:  # more: match_legends leaves the page alone
        groups = [g for g in groups if not _spans_panels(g[0], [box for _, box, _ in charts])]
    rounds = [has_pie(parts[k][0].atoms or [parts[k][0]]) for k, _, _ in charts]
    matched = match_legends([(box, own) for _, box, own in charts], groups, rounds)
    for c, g in matched.items():
        legends[charts[c][0]] = groups[g][0]
    return legends


def _is_legend(entries: list[tuple[Box, Box | None, Colour]], text_only: bool) -> bool:
    """Two entries or more, one of them a named swatch; or, set as coloured names alone, in two colours or
    more that are no greys (one coloured line, or a heading and its subtitle in one brand colour, or a
    grey note by a grey series, keys nothing)."""
    if len(entries) < 2:
        return False
    if text_only:
        return len({colour for _, _, colour in entries if _chroma(colour) >= CHROMA_MIN}) >= 2
    return any(name is not None for _, name, _ in entries)


def _union(boxes: list[Box]) -> Box:
    out = boxes[0]
    for box in boxes[1:]:
        out = box_union(out, box)
    return out


LEGEND_NAME_MAX_WORDS = 5
"""A series name in a legend is this many words at most."""
CHROMA_MIN = 0.15
"""A text colour whose channels spread at least this much is a colour, not a grey (black, white, greys)."""
KEY_DARKEST = 0.3
"""A name set darker than this in every channel is in the labels' ink, whatever fill it may match."""


def _text_keys(layout: PageLayout, fills: frozenset[Colour]) -> list[tuple[Box, Colour]]:
    """Lines set in one of the page's charts' fill colours (layout class "legend of coloured names": the
    series names in their colours, no swatch; a grey series' name in its grey), short as a series name, not
    black: per line, its box and the fill colour it repeats (the text's 8-bit sRGB within one step of the
    fill's, whichever way either was rounded)."""
    by_rgb8 = {_rgb8(fill): fill for fill in fills if len(fill) == 3}
    found: list[tuple[Box, Colour]] = []
    for line in layout.lines:
        colour = line.colour
        if colour is None or line.turned or len(line.text.split()) > LEGEND_NAME_MAX_WORDS:
            continue
        if max(colour) < KEY_DARKEST:  # black and near-black: every label's ink
            continue
        r, g, b = _rgb8(colour)
        steps = itertools.product((0, -1, 1), repeat=3)
        key = next((by_rgb8[k] for d in steps if (k := (r + d[0], g + d[1], b + d[2])) in by_rgb8), None)
        if key is not None:
            found.append((line.box, key))
    return found


def _chroma(colour: Colour) -> float:
    return max(colour) - min(colour)


def _rgb8(colour: Colour) -> tuple[int, int, int]:
    r, g, b = (round(255 * c) for c in colour)
    return r, g, b


def _spans_panels(legend: Box, charts: list[Box]) -> bool:
    """The legend reaches across two charts set side by side (or over two charts one above the other):
    one legend for a grid of panels (layout class "shared legend under the grid"), no one chart's."""
    for lo, hi in ((0, 2), (1, 3)):
        over = [c for c in charts if min(legend[hi], c[hi]) > max(legend[lo], c[lo])]
        if any(min(a[hi], b[hi]) <= max(a[lo], b[lo]) for a, b in itertools.combinations(over, 2)):
            return True
    return False


def _legend_name(layout: PageLayout, mark: Box) -> Box | None:
    """The box of the name that starts right of a legend swatch, level with it; None without one."""
    middle = (mark[1] + mark[3]) / 2
    for i in layout.line_index.near(mark, SWATCH_GAP_PT):
        line = layout.lines[i].box
        if mark[2] - 1 <= line[0] <= mark[2] + SWATCH_GAP_PT and line[1] <= middle <= line[3]:
            return line
    return None


GRIDLINE_SLACK_PT = 1.5
GRIDLINES_MAX = 200
GRIDLINE_CLUSTERS_MAX = 2000
"""Pages with more lone strokes or clusters than these are left alone (bounded work on hostile pages:
each series looks at every lone stroke)."""


def _join_gridlines(clusters: list[Cluster]) -> list[Cluster]:
    """Join a line chart's gridlines to its plotted lines (layout class "line chart on gridlines": lone
    horizontal strokes of one extent that no bar or axis touches, above and below a plotted series (a
    curved or slanted path) drawn across them, at the pitch of the gridlines the series does touch).
    Without this the gridlines above and below the series are dropped as lone strokes, and the panel
    loses its top, its ticks and its title's distance. Strokes without a series across them (a ruled
    table's rules) stay apart."""
    strokes = [
        i
        for i, c in enumerate(clusters)
        if c.path_count == 1 and c.box[3] - c.box[1] <= STROKE_PT < c.box[2] - c.box[0]
    ]
    if not strokes or len(strokes) > GRIDLINES_MAX or len(clusters) > GRIDLINE_CLUSTERS_MAX:
        return clusters
    joined: set[int] = set()
    result = []
    for k, series in enumerate(clusters):
        if k in joined or not (series.free_paths or _bar_series(series)):
            continue
        box, height = series.box, series.box[3] - series.box[1]
        rungs = [
            i
            for i in strokes
            if i not in joined
            and _across(box, clusters[i].box)
            and box[1] - height <= clusters[i].box[1] <= box[3] + height
        ]
        rungs, extent = _one_extent(series, rungs, clusters)
        inner = [a.box[1] for a in series.atoms or [series] if _is_rung(a, extent)] if rungs else []
        rungs = _ladder(inner, {i: clusters[i].box[1] for i in rungs}, box)
        if len(rungs) + len(inner) < 3:
            continue
        result.append(_merged([series] + [clusters[i] for i in rungs]))
        joined.update([k, *rungs])
    return [c for i, c in enumerate(clusters) if i not in joined] + result


def _one_extent(series: Cluster, rungs: list[int], clusters: list[Cluster]) -> tuple[list[int], Box]:
    """The lone strokes of ``rungs`` that span the width most of the series' gridlines span (its own and the
    lone ones), and that width's box. A chart's gridlines share one width; a rule of another width (under a
    panel's title, layout class "title over a rule") is no gridline, and taken as one it set the ladder's
    pitch to its distance from the top gridline, which lost the gridlines under the series: the chart's
    foot (its baseline, bottom tick and x-axis labels) fell outside its unit."""
    extents: list[Box] = []
    for i in rungs:
        if not any(_same_extent(clusters[i].box, e) for e in extents):
            extents.append(clusters[i].box)
    if len(extents) <= 1:
        return rungs, extents[0] if extents else series.box
    votes = [sum(_same_extent(clusters[i].box, e) for i in rungs) for e in extents]
    for atom in series.atoms or [series]:
        for k, extent in enumerate(extents):
            votes[k] += _is_rung(atom, extent)
    extent = extents[max(range(len(extents)), key=votes.__getitem__)]
    return [i for i in rungs if _same_extent(clusters[i].box, extent)], extent


def _bar_series(cluster: Cluster) -> bool:
    """Columns or bars of a series (panels.has_bar_series) drawn over gridlines, without a value-axis line
    (layout class "column chart on gridlines", a chart tool's default): the gridlines above the tallest
    column touch no bar and would be dropped as lone strokes, like those of a line chart's series."""
    return has_bar_series([a.box for a in cluster.atoms if a.bar])


def _ladder(inner: list[float], lone: dict[int, float], series: Box) -> list[int]:
    """The lone rungs that continue the series' gridlines at their pitch, up and down, one after another
    (a chart below on the same extent has its own ladder a gap away)."""
    # The series' own gridlines (two or more) give the pitch: with the lone rungs counted too, the top
    # gridline of a chart stacked a few points below (layout class "stacked line charts", a dashboard)
    # set the pitch to that gap, and no rung of this chart continued it.
    own = [b - a for a, b in itertools.pairwise(sorted(inner)) if b - a > STROKE_PT]
    ys = sorted(inner + list(lone.values()))
    steps = own or [b - a for a, b in itertools.pairwise(ys) if b - a > STROKE_PT]
    if not steps:
        return []
    pitch = min(steps)
    top, bottom = (min(inner), max(inner)) if inner else (series[1], series[3])
    found: list[int] = []
    grown = True
    while grown:
        grown = False
        for i, y in lone.items():
            if i in found:
                continue
            if abs(top - pitch - y) <= GRIDLINE_SLACK_PT or (not inner and top - pitch <= y <= top):
                top, grown = y, True
            elif abs(bottom + pitch - y) <= GRIDLINE_SLACK_PT or (
                not inner and bottom <= y <= bottom + pitch
            ):
                bottom, grown = y, True
            else:
                continue
            found.append(i)
    return found


def _is_rung(atom: Cluster, rung: Box) -> bool:
    """A stroke inside the series' cluster that is a gridline of the same extent as ``rung``."""
    box = atom.box
    thin = atom.path_count == 1 and box[3] - box[1] <= STROKE_PT
    return thin and _same_extent(box, rung)


def _across(series: Box, rung: Box) -> bool:
    """The series lies within the rung's extent across (drawn on the gridlines it spans)."""
    return series[0] >= rung[0] - 2 * GRIDLINE_SLACK_PT and series[2] <= rung[2] + 2 * GRIDLINE_SLACK_PT


TITLE_NEIGHBOURS_MAX = 64
"""Titles are judged against the page's other drawings when it has at most this many (a chart grid has
at most 16 panels a cluster)."""


DIVIDER_ICON_SHARE = 0.25
"""On a slide whose only text is its title, a lone square-ish picture no wider or higher than this share of
the page width is the icon of a section divider (a product logo, a gauge, a mascot): decoration."""
DIVIDER_OTHER_CHARS = 12
"""A section divider carries no text beside its title (a page number or a short tag at most)."""


def _is_divider_icon(layout: PageLayout, region: FigureRegion) -> bool:
    """Layout class "section-divider slide": a title and one square-ish icon (no wider than DIVIDER_ICON_SHARE
    of the page; no lower bound: a small icon alone beside a title is decoration too), nothing else.

    Decks open each section with a slide that shows its title beside a large product icon; the labels
    count such icons as decoration (bench/labels/README.md). A picture with labels, a caption, drawn
    paths, or body text on the slide is content; so is a wide or tall picture (a screenshot, a diagram).
    """
    if not layout.title_lines or region.caption or region.path_count or region.text_lines:
        return False
    w, h = region.box[2] - region.box[0], region.box[3] - region.box[1]
    if max(w, h) > DIVIDER_ICON_SHARE * layout.content.size[0] or not 0.75 * h <= w <= 1.33 * h:
        return False
    title_blocks = {line.block for line in layout.title_lines}
    other = sum(len(line.text) for line in layout.lines if line.block not in title_blocks)
    return other <= DIVIDER_OTHER_CHARS


BAR_ROW_MAX_SHARE = 0.08
"""A bar at most this share of the page high (its thinner side): a survey panel's stacked bar."""
BAR_ROWS_MAX = 32


def _join_bar_rows(parts: list[tuple[Cluster, bool]], page_height: float) -> list[tuple[Cluster, bool]]:
    """Join the bars of one panel drawn apart (layout class "panel of 2-3 stacked bars"): chart parts made
    of bars only, spanning the same width (a 100 % bar each), one under the other with a gap no taller
    than a bar. Without this each bar is a panel of its own, too small to keep. Pages with more than
    BAR_ROWS_MAX such parts are left alone (bounded work on hostile pages)."""
    parts = _join_spaced_bars(parts)
    bars = [
        part for part, chart in parts if chart and 0 < _bar_thickness(part) <= BAR_ROW_MAX_SHARE * page_height
    ]
    if len(bars) < 2 or len(bars) > BAR_ROWS_MAX:
        return parts
    rest = [(part, chart) for part, chart in parts if not any(part is bar for bar in bars)]
    merged = True
    while merged:
        merged = False
        for i, j in itertools.permutations(range(len(bars)), 2):
            if _bar_row_below(bars[i], bars[j]):
                bars[min(i, j)] = _merged([bars[i], bars[j]])
                del bars[max(i, j)]
                merged = True
                break
    return rest + [(bar, True) for bar in bars]


def _join_spaced_bars(parts: list[tuple[Cluster, bool]]) -> list[tuple[Cluster, bool]]:
    """Join lone bars into one chart part (layout class "spaced bar chart", panels.spaced_bar_runs): bars
    without axes set more than the clustering gap apart (a survey's or a consultancy's default) are each a
    one-rectangle part that is no chart, and would be dropped one by one."""
    lone = [k for k, (part, chart) in enumerate(parts) if not chart and _lone_bar(part)]
    runs = spaced_bar_runs([parts[k][0].box for k in lone]) if len(lone) >= 3 else []
    if not runs:
        return parts
    joined = {lone[i] for run in runs for i in run}
    rest = [part for k, part in enumerate(parts) if k not in joined]
    return rest + [(_merged([parts[lone[i]][0] for i in run]), True) for run in runs]


def _lone_bar(part: Cluster) -> bool:
    """A part that is one filled, coloured rectangle."""
    atoms = part.atoms or [part]
    return len(atoms) == 1 and atoms[0].bar


def _join_kpi_rows(
    parts: list[tuple[Cluster, bool]], layout: PageLayout
) -> tuple[list[tuple[Cluster, bool]], set[int]]:
    """Layout class "KPI tiles": a row of tinted tiles, each a big number over its label (panels.kpi_row),
    is a panel of its own, like a chart: the parts holding its tiles join into one part flagged a chart
    panel, so it is titled as one and never glued to the chart beside it (_merge_loose keeps panels
    apart); the ids of the rows' parts come back too (such a row is no figure: find_figures). Text cards
    hold no big number and stay as they are. Pages of more than BAR_ROWS_MAX parts holding tiles are left
    alone (bounded work)."""
    held = [
        (k, tiles)
        for k, (part, chart) in enumerate(parts)
        if not chart and (tiles := _kpi_tiles(layout, part))
    ]
    if not held or len(held) > BAR_ROWS_MAX:
        return parts, set()
    groups: list[tuple[list[int], list[Box]]] = []
    for k, tiles in held:
        for group in groups:
            if kpi_row(group[1] + tiles):
                group[0].append(k)
                group[1].extend(tiles)
                break
        else:
            groups.append(([k], list(tiles)))
    rows = [members for members, tiles in groups if kpi_row(tiles)]
    joined = {k for members in rows for k in members}
    rest = [part for k, part in enumerate(parts) if k not in joined]
    kpi = [_merged([parts[k][0] for k in members]) for members in rows]
    return rest + [(row, True) for row in kpi], {id(row) for row in kpi}


KPI_TILE_MIN_PT = 20.0
"""A KPI tile is at least this wide and tall (a value over a label)."""
KPI_PART_MAX_ATOMS = 24
"""A drawing of more paths than a card of tiles has (a table's shaded cells, a diagram) holds no KPI row."""


def _rounded_tile(atom: Cluster) -> bool:
    """Layout class "KPI tiles with rounded corners": a web page or design tool rounds a tile's corners,
    so the tile is one filled path of lines and curves in a colour (read like a pie's wedge), not a
    rectangle; :func:`_kpi_tiles` still wants a big number over a label inside it."""
    return atom.colour is not None and not _is_white(atom.colour)


def _kpi_tiles(layout: PageLayout, part: Cluster) -> list[Box]:
    """The filled rectangles of a drawing that are KPI tiles: each holds a big number over its label."""
    atoms = part.atoms or [part]
    if len(atoms) > KPI_PART_MAX_ATOMS:
        return []
    tiles = []
    for atom in atoms:
        small = min(atom.box[2] - atom.box[0], atom.box[3] - atom.box[1]) < KPI_TILE_MIN_PT
        if small or atom.path_count != 1 or not (atom.bar or atom.fill or _rounded_tile(atom)):
            continue
        inside = [
            layout.lines[i]
            for i in layout.line_index.near(atom.box)
            if box_intersection(layout.lines[i].box, atom.box) >= 0.8 * box_area(layout.lines[i].box)
        ]
        if kpi_value(inside):
            tiles.append(atom.box)
    return tiles


def _bar_thickness(part: Cluster) -> float:
    """The thickest bar of a drawing made of filled rectangles only (bars, legend swatches); 0 otherwise."""
    atoms = part.atoms or [part]
    if any(not atom.bar for atom in atoms):
        return 0.0
    return max(min(atom.box[2] - atom.box[0], atom.box[3] - atom.box[1]) for atom in atoms)


def _bar_row_below(a: Cluster, b: Cluster) -> bool:
    """``b`` starts right under ``a`` (bars both), as wide, the gap no taller than a bar of ``b``."""
    if abs(a.box[0] - b.box[0]) > 2 or abs(a.box[2] - b.box[2]) > 2:
        return False
    return 0 < b.box[1] - a.box[3] <= _bar_thickness(b)


AVATAR_MAX_SHARE = 0.1
"""Pictures in an avatar row are each at most this share of the page width (headshots, logos)."""


def _is_avatar_row(layout: PageLayout, region: FigureRegion) -> bool:
    """Layout class "row of headshots": three or more small square pictures of one size side by side in
    one row, nothing else (a slide's presenters, a row of logos): the labels count them as decoration.
    A grid of slide thumbnails (16:9 tiles) or pictures of different sizes stays a figure."""
    if region.path_count or region.caption:
        return False
    inside = [im.box for im in layout.content.images if box_intersection(im.box, region.box) > 0]
    if len(inside) < 3 or sum(box_area(b) for b in inside) < 0.95 * region.image_area:
        return False
    side = inside[0][2] - inside[0][0]
    return (
        all(
            abs((b[2] - b[0]) - side) <= 0.05 * side
            and abs((b[3] - b[1]) - side) <= 0.05 * side
            and abs(b[1] - inside[0][1]) <= 0.05 * side
            for b in inside
        )
        and side <= AVATAR_MAX_SHARE * layout.content.size[0]
    )


SLIDE_MIN_FIGURE_SHARE = 0.08
"""On a slide-like page with a title, an uncaptioned figure is at least this share of the page width on
both sides (icons, logos and stickers of 40-70 pt are decoration on a 720-960 pt slide)."""
PICTURE_PANEL_SHARE = 0.06
"""A picture covering this share of the page is a figure of its own: never joined to another such picture
(smaller ones side by side, tiles and icons, are pieces of one graphic)."""


def _panel_picture(layout: PageLayout, part: Cluster) -> bool:
    """Layout class "chart exported as a picture": a picture of PICTURE_PANEL_SHARE of the page (alone, or
    in a frame or on a card of its own) is titled like a chart panel: its title may be printed over the
    picture's blank top (before a heading above it), or inside the top of its frame (a chart tool's export
    keeps its title as text)."""
    if not _big_picture(layout, part, part.box):
        return False
    # On a slide the text beside and over a picture is the slide's points (a bullet left of a screenshot,
    # a heading over it): only a picture in a frame of its own is a panel there.
    return not layout.title_lines or _framed(part)


def _big_picture(layout: PageLayout, part: Cluster, box: Box) -> bool:
    """``box`` (``part`` with its labels) covers PICTURE_PANEL_SHARE of the page and is mostly picture: half
    of it, or all that a frame or card of its own holds (layout class "framed chart picture": a chart
    tool's export clipped to its marks, in a frame drawn taller around it and its title), the pictures
    at least FRAMED_PICTURE_SHARE of it."""
    page_area = layout.content.size[0] * layout.content.size[1]
    if box_area(box) < PICTURE_PANEL_SHARE * page_area:
        return False
    framed = (
        part.path_count == 1 and _framed(part) and part.image_area >= FRAMED_PICTURE_SHARE * box_area(box)
    )
    return framed or part.image_area >= 0.5 * box_area(box)


FRAMED_PICTURE_SHARE = 0.25
"""Pictures alone in a frame or card of their own fill at least this share of it: a picture panel."""


def _region(
    layout: PageLayout, part: Cluster, box: Box, held: list[TextLine], chart: bool, title: tuple[int, ...]
) -> FigureRegion:
    big_picture = _big_picture(layout, part, box) and not _text_cards(part, held)
    region = FigureRegion(
        box, part.image_area, part.path_count, text_lines=held, ink=part.ink, panel=chart or big_picture
    )
    lines = [layout.lines[i] for i in title]
    if lines:
        region.title = join_lines([line.text for line in lines])
    for line in reversed(lines):
        region.box = box_union(region.box, line.box)
        if line not in held:
            held.insert(0, line)
    return region


CARD_TEXT_SHARE = 0.25
"""A drawing whose text-layer lines cover this share of its picture area is text cards on pictures."""


def _text_cards(part: Cluster, held: list[TextLine]) -> bool:
    """Layout class "text cards on pictures": the pictures are rounded boxes or tinted tiles behind the
    slide's own text (a column of cards of an infographic), not pictures in their own right, so they are
    not a picture panel kept apart from its neighbours (PICTURE_PANEL_SHARE): the columns of one
    infographic join. A screenshot carries its words as pixels; a call-out on it covers little."""
    over = sum(box_intersection(line.box, part.box) for line in held)
    return over >= CARD_TEXT_SHARE * part.image_area


SHAPE_MIN_PT = 12.0
SHAPE_LABEL_MAX_CHARS = 60


def _labelled_shapes(cluster: Cluster, layout: PageLayout) -> tuple[int, int]:
    """(closed shapes holding a short label, connectors) among a drawing's paths: a box-and-arrow diagram.

    A shape painted as a fill and an outline counts once; a connector is a thin stroke or a curved or
    slanted path that holds no label (a line, an arrow head)."""
    shapes: set[tuple[int, int, int, int]] = set()
    connectors = 0
    for atom in cluster.atoms or [cluster]:
        if atom.path_count != 1 or atom.image_area:
            continue
        b = atom.box
        w, h = b[2] - b[0], b[3] - b[1]
        if min(w, h) >= SHAPE_MIN_PT:
            inside = [
                layout.lines[i]
                for i in layout.line_index.near(b)
                if box_intersection(layout.lines[i].box, b) >= 0.8 * box_area(layout.lines[i].box)
            ]
            chars = sum(len(line.text) for line in inside)
            if inside and chars <= SHAPE_LABEL_MAX_CHARS:
                shapes.add((round(b[0]), round(b[1]), round(b[2]), round(b[3])))
                continue
        if min(w, h) <= 2.0 or atom.free_paths:
            connectors += 1
    return len(shapes), connectors


def _not_panel_labels(layout: PageLayout, graphic: Box, title: tuple[int, ...]) -> frozenset[int]:
    """Lines near a chart panel that are not its labels: above its own title, or reaching far past its
    sides (a page or section title over several panels). A title set under its chart (layout class "title
    below the chart", its top past the drawing's middle) has the chart's own labels above it: only the
    sides count then."""
    widened = _widened(layout, graphic, set())
    top = min(layout.lines[i].box[1] for i in title) if title else None
    if top is not None and top > (graphic[1] + graphic[3]) / 2:
        top = None
    skip = set()
    for i in layout.line_index.near(graphic, TITLE_ABOVE_PT + 3 * LABEL_MARGIN_PT):
        box = layout.lines[i].box
        inside = min(box[2], widened[2]) - max(box[0], widened[0])
        if (top is not None and box[3] <= top) or inside < 0.5 * (box[2] - box[0]):
            skip.add(i)
    return frozenset(skip)


def _tick_column(layout: PageLayout, plot: Box, others: Sequence[Box]) -> frozenset[int]:
    """The lines of ``plot``'s value axis set apart on its left (ingest/axis_ticks.py): numbers level with it,
    up to ROW_LABEL_SHARE of its width away and nearer to it than to any other drawing of ``others``, that
    make a scale. Empty when they do not."""
    reach = ROW_LABEL_SHARE * (plot[2] - plot[0])
    found: list[tuple[int, float]] = []
    for i in layout.line_index.near(plot, reach):
        box = layout.lines[i].box
        gap = plot[0] - box[2]
        level = plot[1] - EDGE_TICK_SLACK_PT <= (box[1] + box[3]) / 2 <= plot[3] + EDGE_TICK_SLACK_PT
        if not level or not 0 <= gap <= reach or any(_gap_x(box, o) < gap for o in others if o != plot):
            continue
        if (value := tick_value(layout.lines[i].text)) is not None:
            found.append((i, value))
    if not is_scale([(layout.lines[i].box, value) for i, value in found]):
        return frozenset()
    return frozenset(i for i, _ in found)


def _tick_row(layout: PageLayout, plot: Box, others: Sequence[Box]) -> frozenset[int]:
    """The lines of ``plot``'s value axis under it (layout class "value axis under horizontal bars"): its end
    ticks are centred on the plot's edges and its scale runs on past the longest bar, so "0" and "100"
    reach past its sides and _not_panel_labels skipped them. Numbers whose tops stand within LABEL_MARGIN_PT
    under the plot, middles within its sides (EDGE_TICK_SLACK_PT) and nearer to it than to any other
    drawing of ``others``, are its axis's core; the scale goes on at the core's pitch and step, up to the
    plot's width past its sides (ingest/axis_ticks.py: a neighbour's ticks do not carry it on). Empty when
    they make no scale."""
    reach = plot[2] - plot[0]
    row: list[Tick] = []
    for i in layout.line_index.near(plot, max(reach, LABEL_MARGIN_PT)):
        box = layout.lines[i].box
        under = plot[3] - STROKE_PT <= box[1] <= plot[3] + LABEL_MARGIN_PT
        within = plot[0] - reach <= box[0] and box[2] <= plot[2] + reach
        if under and within and (value := tick_value(layout.lines[i].text)) is not None:
            row.append((box, value, i))
    gap = {i: box_gap(box, plot) for box, _, i in row}
    core = [
        (box, value, i)
        for box, value, i in row
        if plot[0] - EDGE_TICK_SLACK_PT <= (box[0] + box[2]) / 2 <= plot[2] + EDGE_TICK_SLACK_PT
        and not any(box_gap(box, o) < gap[i] for o in others if o != plot)
    ]
    scale = scale_row(core, row)
    return frozenset(i for _, _, i in scale)


def _plain_legend(
    layout: PageLayout, part: Cluster, others: Sequence[Box], excluded: set[int]
) -> frozenset[int]:
    """The lines of a round plot's legend of plain names right of it (ingest/plain_legend.py): short lines
    starting within LEGEND_ENTRY_GAP_PT of the pie's right edge, level with it, that make a name column,
    every line of which stands nearer to it than to any other drawing of ``others`` (a bar chart's
    left-aligned category names: the longest stands by its bar). Empty for other charts and without one."""
    plot = part.box
    if not has_pie(part.atoms or [part]):
        return frozenset()
    found = []
    for i in layout.line_index.near(plot, LEGEND_ENTRY_GAP_PT):
        line = layout.lines[i]
        box, gap = line.box, line.box[0] - plot[2]
        if line.block in excluded or line.turned or len(line.text.split()) > LEGEND_NAME_MAX_WORDS:
            continue
        if 0 <= gap <= LEGEND_ENTRY_GAP_PT and plot[1] <= (box[1] + box[3]) / 2 <= plot[3]:
            found.append(i)
    if len(found) > KEYED_ENTRIES_MAX:
        return frozenset()
    column = [found[k] for k in name_column([layout.lines[i].box for i in found])]
    for i in column:
        box = layout.lines[i].box
        if any(_gap_x(box, o) < box[0] - plot[2] for o in others if o != plot):
            return frozenset()
    return frozenset(column)


def _row_labels(
    layout: PageLayout,
    part: Cluster,
    others: Sequence[Box],
    excluded: set[int],
    beside: tuple[list[Box], list[Box]] = ([], []),
) -> frozenset[int]:
    """Layout class "category labels flush left, wrapped": a horizontal bar chart sets its category names
    flush with the panel's left edge and wraps a long one over two lines ("Cost visibility across" /
    "teams"), so no line of the column ends within LABEL_MARGIN_PT of the bars and _not_panel_labels
    skipped them all as past the chart's sides (the unit's box held them: the title is as wide). Lines left
    of the bars, up to ROW_LABEL_SHARE of the chart's width away, starting together (ALIGN_SLACK_PT), each
    level with a bar row (_bar_rows) and nearer to this chart than to any other drawing of ``others``, are
    its labels. A column chart has no bar rows; a neighbour's legend is not level with them. ``beside``
    (_row_neighbours): the page's horizontal bar charts and keyed legends. A bar chart left of the line,
    farther than LABEL_MARGIN_PT, is no rival (layout class "bar charts side by side": its labels stand on
    its own left, its values within the margin of its bars, so the line is the right-hand chart's); a line
    of a keyed legend is that legend's."""
    rows = _bar_rows(part)
    plot = part.box
    reach = ROW_LABEL_SHARE * (plot[2] - plot[0])
    found = []
    for i in layout.line_index.near(plot, reach) if len(rows) >= NAMES_MIN else ():
        line = layout.lines[i]
        box, gap = line.box, plot[0] - line.box[2]
        middle = (box[1] + box[3]) / 2
        if line.block in excluded or line.turned or not LABEL_MARGIN_PT < gap <= reach:
            continue
        if not any(top <= middle <= foot for top, foot in rows):
            continue
        if any(box_intersection(box, legend) > 0 for legend in beside[1]):
            continue
        if not any(_rival(box, gap, o, beside[0]) for o in others if o != plot):
            found.append(i)
    left = statistics.median(layout.lines[i].box[0] for i in found) if found else 0.0
    column = [i for i in found if abs(layout.lines[i].box[0] - left) <= ALIGN_SLACK_PT]
    return frozenset(column) if len(column) >= NAMES_MIN else frozenset()


def _rival(line: Box, gap: float, other: Box, bar_charts: list[Box]) -> bool:
    """``other`` stands nearer to ``line`` than the chart ``gap`` away and may own it: not a horizontal bar
    chart left of it, farther than LABEL_MARGIN_PT (see _row_labels)."""
    near = _gap_x(line, other)
    if near >= gap:
        return False
    return not (near > LABEL_MARGIN_PT and other[2] <= line[0] and other in bar_charts)


def _row_neighbours(
    parts: list[tuple[Cluster, bool]], legends: list[Box | None]
) -> tuple[list[Box], list[Box]]:
    """The boxes of the page's horizontal bar charts (2 bar rows or more) and of its keyed legends."""
    bars = [part.box for part, chart in parts if chart and len(_bar_rows(part)) >= NAMES_MIN]
    return bars, [legend for legend in legends if legend is not None]


def _bar_rows(part: Cluster) -> list[tuple[float, float]]:
    """The vertical spans of a horizontal bar chart's rows: its bars that start at its bars' left edge (the
    value axis), those that touch one another joined (a stacked column's segments are one span)."""
    bars = [a.box for a in part.atoms if a.bar]
    if not bars:
        return []
    base = min(b[0] for b in bars)
    rows: list[list[float]] = []
    for b in sorted((b for b in bars if b[0] - base <= ALIGN_SLACK_PT), key=lambda b: b[1]):
        if rows and b[1] <= rows[-1][1] + STROKE_PT:
            rows[-1][1] = max(rows[-1][1], b[3])
        else:
            rows.append([b[1], b[3]])
    return [(top, foot) for top, foot in rows]


NOTE_LINE = re.compile(r"^(sources?|notes?|base)\s*[:.]", re.IGNORECASE)
"""A chart's note: its data's source ("Source: Gartner survey, 2025"), a note or the base it counts."""
NOTES_BELOW_PT = 2 * LABEL_MARGIN_PT
"""The first note under a chart starts this close below it at most."""


def _notes_under(layout: PageLayout, box: Box, excluded: set[int], held: list[TextLine]) -> list[TextLine]:
    """Layout class "source note under a chart": the lines right under a chart that note its source, base
    or caveats (NOTE_LINE), one under the other, are its words, not its picture: a searcher types "Gartner
    survey" or "IDC chart" for it. Returned to join its text; its box is not grown (the notes are no part
    of the drawing). Stops at the first line that is no note (the next panel's title, body text)."""
    below = sorted(
        (layout.lines[i] for i in layout.line_index.near(box, NOTES_BELOW_PT + LABEL_MARGIN_PT)),
        key=lambda line: line.box[1],
    )
    notes: list[TextLine] = []
    bottom = box[3]
    for line in below:
        b = line.box
        if b[1] < bottom - STROKE_PT or not box[0] - LABEL_MARGIN_PT <= b[0] < box[2] or line in held:
            continue
        if b[1] > bottom + (NOTES_BELOW_PT if not notes else b[3] - b[1]):
            break
        if line.block in excluded or not NOTE_LINE.match(line.text):
            break
        notes.append(line)
        bottom = b[3]
    return notes


def _legend_above(box: Box, grid: BoxGrid, specks: list[Box]) -> Box:
    """A chart's box raised to the legend swatches right above it (layout class "legend above the plot":
    the title stands over the legend row, not over the plot)."""
    top = box[1]
    for i in grid.near(box, LEGEND_ABOVE_PT):
        mark = specks[i]
        if box[1] - LEGEND_ABOVE_PT <= mark[3] <= box[1] + 2 and box[0] - 2 <= mark[0] <= box[2]:
            top = min(top, mark[1])
    return (box[0], top, box[2], box[3])


LEGEND_ABOVE_PT = 2 * LABEL_MARGIN_PT
"""A legend row above a plot stands this close to it at most (bars start half a row under it)."""


def _with_legend(
    box: Box, grid: BoxGrid, specks: list[Box], layout: PageLayout, excluded: set[int], skip: frozenset[int]
) -> tuple[Box, list[TextLine]]:
    """A chart region grown to the small marks (legend swatches) next to it and their labels."""
    near = [specks[i] for i in grid.near(box, LABEL_MARGIN_PT)]
    if not near:
        return _grow_to_labels(box, layout, excluded, None, skip)
    for mark in near:
        box = box_union(box, mark)
    return _grow_to_labels(box, layout, excluded, None, skip)


def _panels_of(cluster: Cluster, layout: PageLayout, min_figure_pt: float) -> list[tuple[Cluster, bool]]:
    """A cluster as its chart panels (each flagged a chart), or whole with whether it is a chart."""
    pictures = _separate_pictures(cluster, layout)
    if len(pictures) > 1:
        return [(picture, False) for picture in pictures]
    line_boxes = [layout.lines[i].box for i in layout.line_index.near(cluster.box)]
    groups = split_panels(cluster, line_boxes, min_figure_pt)
    if len(groups) == 1:
        # A stacked area's labels stand beside its layers, outside the cluster (panels.has_stacked_area).
        labels = [layout.lines[i].box for i in layout.line_index.near(cluster.box, AREA_LABEL_PT)]
        return [(cluster, is_chart(cluster.atoms or [cluster], cluster.box, line_boxes, labels))]
    return [(_merged(group), True) for group in groups]


PICTURE_TILE_GAP_PT = 0.5
"""Tiles of one picture abut (gap <= this); pictures set side by side leave a deliberate gap."""


def _separate_pictures(cluster: Cluster, layout: PageLayout) -> list[Cluster]:
    """A cluster of pictures only, cut where big pictures stand apart by a small gap (layout class "plots
    exported as pictures side by side": a few points between them is spacing, not one picture in tiles).
    Each piece covers PICTURE_PANEL_SHARE of the page; otherwise the cluster stays whole."""
    atoms = cluster.atoms
    if cluster.path_count or len(atoms) < 2:
        return [cluster]
    pieces = cluster_boxes([_atom_copy(a) for a in atoms], PICTURE_TILE_GAP_PT)
    page_area = layout.content.size[0] * layout.content.size[1]
    if len(pieces) < 2 or any(box_area(p.box) < PICTURE_PANEL_SHARE * page_area for p in pieces):
        return [cluster]
    return pieces


FRAME_SLACK_PT = 2.0


def _framed(part: Cluster) -> bool:
    """One path of the drawing is its whole extent: a frame or a card behind the panel."""
    return any(_is_frame(atom, part) for atom in part.atoms or [part])


TITLE_BAND_WIDTH = 0.9
"""A title band spans at least this share of its drawing's width ..."""
TITLE_BAND_HEIGHT = 0.25
"""... and at most this share of its height."""


def _title_band(part: Cluster, layout: PageLayout) -> bool:
    """Layout class "title on a tinted band": the panel's title is written on a filled box across the top of
    its drawing (the chart under it), as a frame's title inside its top: it comes before a line above the
    drawing (the page title). A band holds a line of words (a chart's widest bar at its top holds none)."""
    x0, y0, x1, y1 = part.box
    for atom in part.atoms:
        b = atom.box
        across = b[2] - b[0] >= TITLE_BAND_WIDTH * (x1 - x0)
        low = b[3] - b[1] <= TITLE_BAND_HEIGHT * (y1 - y0)
        at_top = atom.path_count == 1 and abs(b[1] - y0) <= FRAME_SLACK_PT
        if at_top and across and low and _holds_words(layout, b):
            return True
    return False


def _holds_words(layout: PageLayout, box: Box) -> bool:
    """A line of words (3 letters or more) lies inside ``box`` (a descender may pass its foot)."""
    for i in layout.line_index.near(box):
        line, slack = layout.lines[i].box, FRAME_SLACK_PT
        inside = box[0] - slack <= line[0] and line[2] <= box[2] + slack
        inside = inside and box[1] - slack <= line[1] and line[3] <= box[3] + slack
        if inside and sum(ch.isalpha() for ch in layout.lines[i].text) >= 3:
            return True
    return False


def _is_frame(atom: Cluster, part: Cluster) -> bool:
    return atom.path_count == 1 and all(
        abs(a - b) <= FRAME_SLACK_PT for a, b in zip(atom.box, part.box, strict=True)
    )


ROW_LABEL_SHARE = 0.5
"""Category labels left of a chart may end this share of its width short of it (left-aligned labels)."""


def _widened(
    layout: PageLayout, graphic: Box, excluded: set[int], others: Sequence[Box] | None = None
) -> Box:
    """The graphic widened to the labels at its sides (category names left of bars), not heightened.

    Layout class "left-aligned category labels": a survey chart sets its category names (and its value
    axis's ticks) flush with the panel's left edge, up to ROW_LABEL_SHARE of the plot's width left of
    the bars, when no other drawing of ``others`` is as near to them (the next panel of a row) or right
    under them (layout class "charts side by side, one taller": the title over the lower chart on the left
    is level with the taller one's top); on the right, only labels within LABEL_MARGIN_PT (a legend).
    Without ``others``, within LABEL_MARGIN_PT only."""
    x0, x1 = graphic[0], graphic[2]
    reach = max(LABEL_MARGIN_PT, ROW_LABEL_SHARE * (graphic[2] - graphic[0]))
    for i in layout.line_index.near(graphic, reach if others is not None else LABEL_MARGIN_PT):
        box = layout.lines[i].box
        middle = (box[1] + box[3]) / 2
        if layout.lines[i].block in excluded or not graphic[1] <= middle <= graphic[3]:
            continue
        gap = graphic[0] - box[2]
        if box[0] >= graphic[2] + LABEL_MARGIN_PT or gap > reach:
            continue
        if gap > LABEL_MARGIN_PT and any(_gap_x(box, o) <= gap for o in others or () if o != graphic):
            continue
        if gap > LABEL_MARGIN_PT and over_another(box, (graphic,), others or ()):
            continue  # the title over the next chart of a row (its top stands higher than that chart's)
        x0, x1 = min(x0, box[0]), max(x1, box[2])
    return (x0, graphic[1], x1, graphic[3])


def _gap_x(line: Box, other: Box) -> float:
    """How far ``line`` lies from ``other`` across (0 when they overlap across), inf when not level."""
    if min(line[3], other[3]) <= max(line[1], other[1]):
        return float("inf")
    return max(other[0] - line[2], line[0] - other[2], 0.0)


def _title_indices(
    layout: PageLayout,
    graphic: Box,
    excluded: set[int],
    chart: bool,
    framed: bool = False,
    others: Sequence[Box] = (),
    picture: bool = False,
    round_plot: bool = False,
) -> tuple[tuple[int, ...], float]:
    """Indices in ``layout.lines`` of the graphic's own title (panels.ranked_panel_title), with the lines it
    wraps over (panels.wrapped_title), and its rank; empty (rank inf) when it has none. ``picture``: the
    graphic is a panel picture (_panel_picture), whose labels are pixels: a regular-weight title needs the
    body size. ``round_plot``: the chart is a pie or doughnut, whose title may stand farther above it
    (panels.ROUND_TITLE_REACH)."""
    reach = ROUND_TITLE_REACH * (graphic[3] - graphic[1]) if round_plot else 0.0
    near = _title_candidates(layout, graphic, excluded, reach)
    held = [layout.lines[i] for i in near if box_intersection(layout.lines[i].box, graphic) > 0]
    found = ranked_panel_title(
        graphic,
        [layout.lines[i] for i in near],
        held,
        inside=chart,
        framed=framed,
        others=others,
        label_size=layout.body_size if picture else None,
        round_plot=round_plot,
    )
    if found is None:
        return (), math.inf
    if round_plot and found[0] > TITLE_ABOVE_PT:  # far over a pie: nothing between but its base lines
        box = found[1].box
        foot = base_lines_bottom(found[1], [layout.lines[i] for i in near]) or box[3]
        if _text_between(layout, (box[0], box[1], box[2], foot), graphic):
            return (), math.inf
    return _wrapped_indices(layout, found[1], near), found[0]


def _text_between(layout: PageLayout, line: Box, graphic: Box) -> bool:
    """Any text of the page (body text too, which titles are not looked for in) lies between ``line`` and
    the ``graphic`` under it: a heading over a paragraph over a pie is the section's, not the pie's."""
    band = (min(line[0], graphic[0]), line[3] + 1, max(line[2], graphic[2]), graphic[1] - 1)
    if band[3] <= band[1]:
        return False
    return any(box_intersection(layout.lines[i].box, band) > 0 for i in layout.line_index.near(band))


def _title_candidates(layout: PageLayout, graphic: Box, excluded: set[int], reach: float = 0.0) -> list[int]:
    """Lines a title may come from: near the graphic (``reach`` across, when farther than a title's
    lines are looked for over it), not in ``excluded`` blocks."""
    near = layout.line_index.near(graphic, max(reach, TITLE_ABOVE_PT + TITLE_MAX_LINES * TITLE_WRAP_PT))
    return [i for i in near if layout.lines[i].block not in excluded]


def _wrapped_indices(layout: PageLayout, found: TextLine, near: list[int]) -> tuple[int, ...]:
    wrapped = wrapped_title(found, [layout.lines[i] for i in near])
    return tuple(i for line in wrapped for i in near if layout.lines[i] is line)


def _foot(part: Cluster, graphic: Box, grid: BoxGrid, specks: list[Box]) -> Box:
    """A chart's graphic as a title under it is looked for from: its marks without the frame or card around
    them (the title is inside the frame's bottom), lowered to the legend swatches right under them."""
    bottom = graphic[3]
    if _framed(part):
        inner = [a.box[3] for a in part.atoms if not _is_frame(a, part)]
        bottom = max(inner, default=bottom)
    for _ in range(3):  # a legend of two or three rows
        low = bottom
        for i in grid.near((graphic[0], graphic[1], graphic[2], bottom), LEGEND_ABOVE_PT):
            mark = specks[i]
            if bottom - 2 <= mark[1] <= bottom + LEGEND_ABOVE_PT and graphic[0] - 2 <= mark[0] <= graphic[2]:
                low = max(low, mark[3])
        if low == bottom:
            break
        bottom = low
    return (graphic[0], graphic[1], graphic[2], bottom)


def _titles_beside(
    layout: PageLayout,
    charts: tuple[list[Box], list[Box], list[Box | None]],
    titles: list[tuple[int, ...]],
    ranks: list[float],
    excluded: set[int],
    others: Sequence[Box],
    specks: tuple[BoxGrid, list[Box]],
) -> None:
    """Layout classes "title under the chart" and "title left of the chart": a chart (``charts``: each
    part's graphic, its drawing's extent and its foot, _foot; None for other parts) whose title stands
    under it (panels.title_below) or in a column left of it (panels.title_left) takes it when it is nearer
    than the title found over it (a title left of the chart ranks by how far over its top it starts); a
    line between two charts goes to the nearer one (the chart above takes its title from the chart below
    it). ``titles`` and ``ranks`` change in place."""
    found = []
    for k, (graphic, drawing, foot) in enumerate(zip(*charts, strict=True)):
        if foot is None:
            continue
        # Legend swatches: specks, or a legend's swatches clustered into a drawing of their own.
        swatches = [*others, *(specks[1][i] for i in specks[0].near(graphic, graphic[2] - graphic[0]))]
        for left, beside in (
            (False, _title_below_indices(layout, foot, excluded, others, swatches)),
            (True, _title_left_indices(layout, graphic, drawing, excluded, others, swatches)),
        ):
            if beside is not None:
                found.append((beside[0], k, beside[1], left))
    owner = {i: k for k, title in enumerate(titles) for i in title}
    for gap, k, indices, left in sorted(found):
        rivals = {owner[i] for i in indices if i in owner} - {k}
        if gap >= ranks[k] or any(ranks[q] <= gap for q in rivals):
            continue
        if left and any(_over(layout.lines[i].box, charts[0][q]) for q in rivals for i in indices):
            continue  # the title another chart found over itself (a far one over a round plot)
        for q in (*rivals, k):  # lines given up are no one's: a later claim on one takes nothing else
            for i in titles[q]:
                owner.pop(i, None)
        for q in rivals:
            titles[q], ranks[q] = (), math.inf
        titles[k], ranks[k] = indices, gap
        owner.update({i: k for i in indices})


def _over(line: Box, graphic: Box) -> bool:
    """``line`` stands above ``graphic``, at least half of it across it."""
    across = min(line[2], graphic[2]) - max(line[0], graphic[0])
    return line[3] <= graphic[1] and across >= 0.5 * (line[2] - line[0])


def _title_below_indices(
    layout: PageLayout, graphic: Box, excluded: set[int], others: Sequence[Box], swatches: Sequence[Box]
) -> tuple[float, tuple[int, ...]] | None:
    """The chart's title under it, with the lines it wraps over, and its gap; None when the line found heads
    the text under it instead (_heads_text)."""
    near = _title_candidates(layout, graphic, excluded)
    held = [layout.lines[i] for i in near if box_intersection(layout.lines[i].box, graphic) > 0]
    found = title_below(graphic, [layout.lines[i] for i in near], held, others, swatches)
    if found is None:
        return None
    indices = _wrapped_indices(layout, found[1], near)
    if _heads_text(layout, [layout.lines[i] for i in indices], found[0]):
        return None
    return found[0], indices


def _title_left_indices(
    layout: PageLayout,
    graphic: Box,
    drawing: Box,
    excluded: set[int],
    others: Sequence[Box],
    swatches: Sequence[Box],
) -> tuple[float, tuple[int, ...]] | None:
    """The chart's title in a column left of it (panels.title_left), with the lines it wraps over, and its
    rank. Looked for left of the ``drawing`` (the widened ``graphic`` may have taken the title for one of
    its left-aligned labels, _widened); the labels are those of the ``graphic``."""
    near = _title_candidates(layout, graphic, excluded, graphic[2] - graphic[0])
    held = [layout.lines[i] for i in near if box_intersection(layout.lines[i].box, graphic) > 0]
    found = title_left(graphic, [layout.lines[i] for i in near], held, drawing, others, swatches)
    if found is None:
        return None
    indices = _wrapped_indices(layout, found[1], near)
    if any(layout.lines[i].box[2] > drawing[0] + 2 for i in indices):
        return None  # its block reaches over the chart: a paragraph, not a title column
    return found[0], indices


def _heads_text(layout: PageLayout, title: list[TextLine], gap: float) -> bool:
    """A line under a figure heads the paragraph under it (a section heading after a paper's figure) when
    that paragraph is as near to it as the figure is: a heading stands nearer to what it heads."""
    last = max(title, key=lambda line: line.box[3])
    blocks = {line.block for line in title}
    for i in layout.line_index.near(last.box, gap + 1):
        line = layout.lines[i]
        box = line.box
        across = min(box[2], last.box[2]) - max(box[0], last.box[0])
        heads = line.block in layout.body_blocks and line.block not in blocks and across > 0
        if heads and 0 <= box[1] - last.box[3] <= gap:
            return True
    return False


TITLE_WRAP_PT = 16.0
"""Room above a panel for each more line of a wrapped title (its lines are looked for this far up)."""


def _heading_blocks(layout: PageLayout) -> set[int]:
    """Body blocks that are a short heading (a survey question over a chart, a section heading right above
    a figure): a figure's title may come from them, though they are never its labels. A heading is bold,
    or set in one style and not a sentence that ends in a colon or a full stop (a lead-in line, a
    paragraph) nor a list item (layout class "regular-weight chart title": a chart tool's default title
    style is larger than the labels, not bold; panels.ranked_panel_title still wants it larger)."""
    found = set()
    for block in layout.content.blocks:
        lines = _without_subtitle(block.lines)
        chars = sum(len(line.text) for line in lines)
        if block.index not in layout.body_blocks or not lines or len(lines) > TITLE_MAX_LINES:
            continue
        if chars > TITLE_MAX_LINES * TITLE_MAX_CHARS:
            continue
        head, text = lines[0], block.text.rstrip()
        listed = head.text[:1] in _BULLETS or _NUMBERED.match(head.text) is not None
        one_style = all(same_style(line, head) for line in lines)
        if all(line.bold for line in lines) or (one_style and not listed and text[-1:] not in ":."):
            found.add(block.index)
    return found


SUBTITLE_MAX_LINES = 2


def _without_subtitle(lines: list[TextLine]) -> list[TextLine]:
    """A block's heading lines without the smaller lines under them (layout class "titled chart with a
    base line": a survey chart's title over "Base: all respondents (n=1,234)" or a subtitle, set in one
    text block): at most SUBTITLE_MAX_LINES lines at the end, each smaller than the first line and not
    bold where it is."""
    if len(lines) < 2:
        return lines
    head = lines[0]
    end = len(lines)
    while end > 1 and len(lines) - end < SUBTITLE_MAX_LINES and _subtitle_of(lines[end - 1], head):
        end -= 1
    return lines[:end]


def _subtitle_of(line: TextLine, head: TextLine) -> bool:
    return line.size < 0.95 * head.size and not (line.bold and head.bold) and not same_style(line, head)


def _merge_loose(layout: PageLayout, loose: list[FigureRegion]) -> list[FigureRegion]:
    """Join uncaptioned pieces that no body text separates: the parts of one slide graphic, chart panels.

    Slides and posters arrange one visual from several pieces (a chart, its table, a diagram) with wide
    gaps; a paragraph between two pieces means they are separate figures. Each pass lets every piece
    absorb the later pieces it may join (its box growing as it goes); passes repeat until none joins, so
    a page of hundreds of pieces costs a few passes, not one pass per merge.
    """
    gap = LOOSE_MERGE_SHARE * layout.content.size[0]
    merged = True
    while merged:
        merged = False
        pieces: list[FigureRegion | None] = list(loose)
        index = BoxGrid([r.box for r in loose], odd_too=True)
        for i in range(len(pieces)):
            if pieces[i] is not None:
                merged = _absorb_later(layout, pieces, i, index, gap) or merged
        loose = [r for r in pieces if r is not None]
    return loose


def _absorb_later(
    layout: PageLayout, pieces: list[FigureRegion | None], i: int, index: BoxGrid, gap: float
) -> bool:
    """Piece ``i`` absorbs the later pieces it may join, in order, its box growing as it goes; whether it
    absorbed any. Only the later pieces near its box (``index``: the pieces' boxes as the pass began, which
    a later piece keeps until absorbed) are tried, those near it once grown added as it grows: the same
    joins as trying every later piece in turn."""
    start = pieces[i]
    assert start is not None  # the caller's check
    pending = [j for j in index.near(start.box, gap) if j > i]  # sorted: a heap already
    seen = set(pending)
    absorbed = False
    while pending:
        j = heapq.heappop(pending)
        a, b = pieces[i], pieces[j]
        if b is None or (a.panel and b.panel) or not boxes_near(a.box, b.box, gap):
            continue
        if _separated(layout, a.box, b.box):
            continue
        held = a.text_lines + [ln for ln in b.text_lines if ln not in a.text_lines]
        pieces[i] = FigureRegion(
            box_union(a.box, b.box), a.image_area + b.image_area, a.path_count + b.path_count,
            text_lines=held, ink=a.ink + b.ink, title=a.title or b.title, panel=a.panel or b.panel,
        )  # fmt: skip
        pieces[j] = None
        absorbed = True
        grown = box_union(a.box, b.box)
        for part in _grown_parts(a.box, grown):
            for k in index.near(part, gap):
                if k > j and k not in seen:
                    seen.add(k)
                    heapq.heappush(pending, k)
    return absorbed


def _grown_parts(old: Box, new: Box) -> list[Box]:
    """Where ``new`` (which holds ``old``) reaches past ``old``: up to four strips, one a side it grew on.
    A box near ``new`` and not near ``old`` is near one of them, so a piece growing step by step over a
    page of pieces asks about the strips it gains, not again about its whole box. Odd boxes need no care:
    one with a NaN never joins (boxes_near is false), and a strip reaching to infinity is odd, which the
    grid answers with every box (BoxGrid odd_too)."""
    strips = (
        (new[0] < old[0], (new[0], new[1], old[0], new[3])),
        (new[2] > old[2], (old[2], new[1], new[2], new[3])),
        (new[1] < old[1], (new[0], new[1], new[2], old[1])),
        (new[3] > old[3], (new[0], old[3], new[2], new[3])),
    )
    return [strip for grew, strip in strips if grew]


def _separated(layout: PageLayout, a: Box, b: Box) -> bool:
    """Body text or a caption lies in the hull of two pieces, in neither of them."""
    hull = box_union(a, b)
    return any(
        box_intersection(bar, hull) > 0.5 * box_area(bar)
        and box_intersection(bar, a) < 0.5 * box_area(bar)
        and box_intersection(bar, b) < 0.5 * box_area(bar)
        for bar in (layout.barriers[i] for i in layout.barrier_index.near(hull))
    )


def _ruled_table(cluster: Cluster, held: list[TextLine]) -> bool:
    """Rules with rows of text cells between them, the text centred or not (panels.ruled_table).

    Asked on document pages only: on a slide-like page a ruled table beside a picture or chart is a piece
    of the slide's one visual (the corpus's slides label them so), joined to it by _merge_loose."""
    return ruled_table(cluster.atoms or [cluster], cluster.box, [line.box for line in held])


def _looks_like_figure(
    cluster: Cluster,
    box: Box,
    held: list[TextLine],
    min_figure_pt: float,
    chart: bool = False,
    shapes: tuple[int, int] = (0, 0),
) -> bool:
    """``chart``: the drawing holds bars, axes or gridlines (panels.chart_evidence): never a table.
    ``shapes``: its labelled shapes and connectors (_labelled_shapes): 3 shapes, or 2 joined by a
    connector, make a small box-and-arrow diagram a figure although it has few paths."""
    w, h = box[2] - box[0], box[3] - box[1]
    if w < min_figure_pt or h < min_figure_pt:
        return False
    area = box_area(box)
    if cluster.image_area >= 0.25 * area:
        return True
    # Drawings only: a box or two around a paragraph (callouts, shaded notes) is text, and so is a code
    # listing on its shaded background (mostly monospaced lines).
    labelled, connectors = shapes
    diagram = labelled >= 3 or (labelled >= 2 and connectors >= 1)
    if cluster.path_count < 6 and not diagram and not chart:
        return False
    chars = sum(len(line.text) for line in held)
    mono = sum(len(line.text) for line in held if line.mono)
    if len(held) >= 3 and chars and mono >= 0.6 * chars:  # outlined lines have no characters
        return False
    # Rules and shading only, with text in rows and columns: an uncaptioned table.
    if cluster.free_paths == 0 and not chart and _is_text_grid(held):
        return False
    text_area = sum(box_area(line.box) for line in held)
    return text_area < 0.5 * area


def _is_text_grid(lines: list[TextLine]) -> bool:
    """Text laid out as a table (panels.is_text_grid)."""
    return is_text_grid([line.box for line in lines])
