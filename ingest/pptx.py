"""Figure units of a PPTX deck (python-pptx), rendered through LibreOffice where they are drawn shapes.

A slide's figure is found from its shapes, not its pixels:

1. Every shape gets a role (picture, chart, SmartArt, group, autoshape, connector; text box, table,
   placeholder). Decorations go first: full-slide backgrounds under other content, and logos (the same
   image at the same spot on many slides).
2. Graphic shapes that touch or nearly touch (a tolerance of 5% of the slide's short side) are clustered:
   a diagram of boxes, icons and connectors becomes ONE unit, not one per shape.
3. Text boxes and tables lying mostly inside a cluster belong to it (its bbox and ``figure_text``);
   labels just beside it add their text only. A "Figure 2: ..." text box near it is its caption.
4. Slide title, body placeholders, the remaining text and the speaker notes are the unit's ``context``.

A cluster that is one picture is kind ``picture`` and its image is the embedded blob; a cluster dominated
by a native chart is kind ``chart``; everything else is kind ``diagram``, cropped from the LibreOffice
rendering of the slide (or sketched from the shapes when LibreOffice is not installed).
"""

from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image
from pptx.oxml.ns import qn

from figvault.errors import UnsafeFileError
from figvault.ingest import slide_render
from figvault.ingest.boxes import BoxGrid, merge_touching
from figvault.ingest.captions import CaptionKind, match_caption
from figvault.ingest.metafile_text import metafile_text
from figvault.ingest.ocr import DocumentOcr, lines_text, with_ocr
from figvault.ingest.panels import TITLE_ABOVE_PT, kpi_row, one_kpi_value
from figvault.ingest.pdf import OCR_PICTURE_SHARE, OCR_TEXT_LAYER_ENOUGH, STICKER_MAX_SHARE
from figvault.ingest.pptx_open import open_presentation
from figvault.ingest.safety import (
    check_image_pixels,
    decodable,
    image_size,
    listed_slides,
    open_image_checked,
    opened_pptx,
    repeated_slides,
)
from figvault.ingest.scanned_pages import SCAN_MAX_TEXT_CHARS, ocr_lines_in, slide_title
from figvault.ingest.slide_shapes import (
    CHART,
    CONNECTOR,
    FRAME,
    GRAPHIC_ROLES,
    PICTURE,
    PLACEHOLDER,
    SHAPE,
    TABLE,
    TEXT,
    Box,
    blob_key,
    chart_title,
    clean_text,
    element_count,
    iter_leaves,
    picture_blob,
    role_of,
    shape_text,
    slide_size,
)
from figvault.ingest.slide_sketch import sketch_region
from figvault.ingest.xml_numbers import xml_int
from figvault.phash import perceptual_hash
from figvault.settings import ExtractSettings
from figvault.units import (
    DocumentExtraction,
    DocumentMeta,
    ExtractedFigure,
    FigureKind,
    FigureUnit,
    make_unit_id,
)

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
CLUSTER_TOLERANCE = 0.05
"""Shapes closer than this share of the slide's short side belong to one figure."""
BACKGROUND_SHARE = 0.9
"""A picture or shape covering this share of the slide, with content on top, is a background."""
LOGO_MAX_SHARE = 0.05
"""A repeated image smaller than this share of the slide is a logo; larger repeated ones are content."""
MAX_CONTEXT_CHARS = 2000
PICTURE_KEEP_FACTOR = 4
"""A picture is decoded with at most about this many times ``extract.max_image_pixels`` (a slide's crop
may show a quarter of it); a bigger one is decoded at a reduced scale (``safety.open_image_checked``)."""
_TITLE_TYPES = {"TITLE", "CENTER_TITLE", "VERTICAL_TITLE"}
_FOOTER_TYPES = {"DATE", "FOOTER", "SLIDE_NUMBER", "HEADER"}


@dataclass
class Member:
    """One top-level shape of a slide."""

    shape: Any
    box: Box
    role: str
    z: int
    text: str = ""
    blob: bytes | None = None


@dataclass
class Cluster:
    members: list[Member]
    box: Box
    joined: list[Member] = field(default_factory=list)
    """Text boxes and tables inside the figure (bbox and figure_text)."""
    nearby: list[Member] = field(default_factory=list)
    """Labels beside the figure (figure_text only)."""
    caption: Member | None = None


@dataclass
class SlideInfo:
    number: int
    slide: Any
    members: list[Member]
    title: str
    context_parts: list[str]
    notes: str


def extract_pptx_units(path: Path, data: bytes, sha256: str, settings: ExtractSettings) -> DocumentExtraction:
    """Figure units of one PPTX file. Raises ExtractionError (one-line reason) for bad or hostile input."""
    readable, changed = opened_pptx(data, settings.max_pptx_uncompressed_mb)
    prs, readable, unread = open_presentation(readable)
    (slide_w, slide_h), size_unread = slide_size(prs)
    meta = _document_meta(prs, len(prs.slides))
    result = DocumentExtraction(path=str(path), doc=Path(path).name, doc_sha256=sha256, meta=meta)
    result.warnings += changed + unread + size_unread
    listed, repeats = listed_slides(prs)
    result.warnings += [repeated_slides(repeats)] if repeats else []
    slides = [_read_slide(i, slide, settings, result.warnings) for i, slide in listed]
    hidden = {i for i, slide in listed if slide._element.get("show") in ("0", "false")}

    logos = _repeated_images(slides, settings.repeated_image_pages)
    roving = _roving_images(slides, slide_w * slide_h)
    plans: list[tuple[SlideInfo, Cluster]] = []
    for info in slides:
        members = _drop_decorations(info.members, logos, slide_w, slide_h, roving)
        for cluster in _clusters(members, slide_w, slide_h, settings.min_figure_pt):
            plans.append((info, cluster))

    deck = _render_if_needed(readable, plans, len(prs.slides), hidden, settings, result)
    ocr = DocumentOcr(settings, result)
    try:
        for info, cluster in plans:
            figure = _make_figure(info, cluster, result, sha256, (slide_w, slide_h), deck, settings, ocr)
            if figure is not None:
                result.figures.append(figure)
    finally:
        if deck is not None:
            deck.close()
    return result


def _document_meta(prs: Any, pages: int) -> DocumentMeta:
    props = prs.core_properties
    created = props.created.isoformat() if props.created else None
    return DocumentMeta(
        title=props.title or None, author=props.author or None, created=created, mime=PPTX_MIME, pages=pages
    )


def _read_slide(number: int, slide: Any, settings: ExtractSettings, warnings: list[str]) -> SlideInfo:
    members: list[Member] = []
    title = ""
    context_parts: list[str] = []
    lost: list[str] = []
    elements = element_count(slide._element)
    if elements > settings.max_slide_elements:  # hostile: reading its text alone took seconds
        warnings.append(
            f"slide {number}: skipped, {elements:,} XML elements"
            f" (extract.max_slide_elements = {settings.max_slide_elements:,})"
        )
        return SlideInfo(number=number, slide=slide, members=[], title="", context_parts=[], notes="")
    for z, shape in enumerate(slide.shapes):
        role = role_of(shape)
        if role == PLACEHOLDER:
            kind = _placeholder_type(shape)
            text = clean_text(shape.text_frame.text) if shape.has_text_frame else ""
            if kind in _TITLE_TYPES and text and not title:
                title = text.replace("\n", " ")
            elif text and kind not in _FOOTER_TYPES:
                context_parts.append(text)
            continue
        box = _drawn_box(shape, lost)
        if box is None:
            continue
        member = Member(shape=shape, box=box, role=role, z=z, text=shape_text(shape))
        if role == PICTURE:
            member.blob = picture_blob(shape)
            if member.blob == b"":  # no bytes (a part the zip bomb guard emptied): it draws nothing
                continue
        # Pictures inside groups are decoded too: check them all. One over the pixel limit is never decoded:
        # its shape is left out with a warning, as a PDF's figure holding one (LibreOffice gets a
        # placeholder for it: safety.without_oversized_images).
        blobs = [picture_blob(leaf) for leaf, _ in iter_leaves(shape) if role_of(leaf) == PICTURE]
        sizes = [size for size in (image_size(b) for b in blobs if b is not None) if size is not None]
        limit = settings.max_source_image_pixels
        oversized = [w * h for w, h in sizes if w * h > limit]
        if oversized:
            what = "picture" if role == PICTURE else f"{role} holding a picture"
            warnings.append(
                f"slide {number}: {what} of {max(oversized):,} pixels skipped"
                f" (limit {limit:,}: extract.max_source_image_pixels)"
            )
            continue
        for size in sizes:  # what is left to refuse: a header that declares an empty size
            check_image_pixels(*size, limit, what=f"a picture on slide {number}")
        members.append(member)
    warnings += [_unplaced(number, lost)] if lost else []
    notes = ""
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = clean_text(slide.notes_slide.notes_text_frame.text)
    return SlideInfo(
        number=number, slide=slide, members=members, title=title, context_parts=context_parts, notes=notes
    )


def _drawn_box(shape: Any, lost: list[str]) -> Box | None:
    """A group's box is the union of what it draws: its stored frame can be stale in generated files. What
    cannot be placed (``iter_leaves``) is left out and named in ``lost``."""
    leaves = [box for _, box in iter_leaves(shape, lost=lost)]
    return _union(leaves) if leaves else None


def _unplaced(number: int, lost: list[str]) -> str:
    """The warning for the shapes of slide ``number`` left out for a position that cannot be read."""
    if len(lost) == 1:
        return f"slide {number}: shape {lost[0]} left out: its position cannot be read"
    more = f"{lost[0]} and {len(lost) - 1:,} more"
    return f"slide {number}: {len(lost):,} shapes left out: their positions cannot be read ({more})"


def _placeholder_type(shape: Any) -> str:
    try:
        return shape.placeholder_format.type.name
    except Exception:
        return ""


def _repeated_images(slides: list[SlideInfo], share: float) -> set[tuple[str, int, int]]:
    """(image, position) pairs placed identically on many slides: template logos and backgrounds."""
    slides_with: Counter[tuple[str, int, int]] = Counter()
    for info in slides:
        seen = {_placement(m) for m in info.members if m.blob is not None}
        slides_with.update(seen)
    needed = max(3, math.ceil(share * len(slides)))
    return {key for key, count in slides_with.items() if count >= needed}


ROVING_MIN_SLIDES = 3
"""A picture shown on this many slides at two sizes or more is a mascot or section icon (_roving_images)."""
ROVING_MAX_SHARE = 0.15
"""... unless it is once shown on at least this share of the slide: then it is some slide's main graphic
(a chart repeated as thumbnails on agenda or recap slides). Mascots and section icons stay under 0.12."""


def _roving_images(slides: list[SlideInfo], slide_area: float) -> set[str]:
    """Pictures shown on ROVING_MIN_SLIDES slides or more at different sizes, never large: a mascot or
    section icon moved and resized from slide to slide (biggest on its section's divider, small in a
    corner after it).

    Content shown again (a repeated diagram or screenshot) keeps its size; so does a template logo. A
    picture shown large once (ROVING_MAX_SHARE) is that slide's main graphic, whatever its thumbnails
    elsewhere (layout class "recap thumbnails")."""
    slides_with: dict[str, set[int]] = defaultdict(set)
    sizes: dict[str, set[tuple[int, int]]] = defaultdict(set)
    largest: dict[str, float] = defaultdict(float)
    for info in slides:
        for m in info.members:
            if m.blob is not None:
                key = blob_key(m.blob)
                slides_with[key].add(info.number)
                sizes[key].add((round(m.box.width / 7.2), round(m.box.height / 7.2)))  # 0.1 inch
                largest[key] = max(largest[key], m.box.width * m.box.height / slide_area)
    return {
        key
        for key, found in slides_with.items()
        if len(found) >= ROVING_MIN_SLIDES and len(sizes[key]) >= 2 and largest[key] < ROVING_MAX_SHARE
    }


def _placement(member: Member) -> tuple[str, int, int]:
    # Rounded to 0.1 inch: a template places its logo at the same spot, give or take an EMU.
    return blob_key(member.blob or b""), round(member.box.x0 / 7.2), round(member.box.y0 / 7.2)


def _drop_decorations(
    members: list[Member],
    logos: set[tuple[str, int, int]],
    w: float,
    h: float,
    roving: set[str] | None = None,
) -> list[Member]:
    slide = Box(0, 0, w, h)
    kept: list[Member] = []
    for m in members:
        if m.role not in GRAPHIC_ROLES:
            kept.append(m)
            continue
        if m.box.intersection_area(slide) <= 0 and m.box.area > 0:
            continue  # parked off the slide: never shown
        share = m.box.intersection_area(slide) / (w * h)
        if m.blob is not None and _placement(m) in logos and (share < LOGO_MAX_SHARE or share >= 0.8):
            continue
        if m.blob is not None and roving and blob_key(m.blob) in roving:
            continue
        if share >= BACKGROUND_SHARE and m.role in (PICTURE, "shape"):
            on_top = [o for o in members if o.z > m.z and o is not m and (o.text or o.role in GRAPHIC_ROLES)]
            if on_top and not (m.role == PICTURE and _little_text(on_top)):
                continue  # a full-slide picture with content drawn over it is the backdrop
        kept.append(m)
    return kept


def _little_text(on_top: list[Member]) -> bool:
    """Layout class "slide saved as a picture" (a slide pasted as a screenshot): what is drawn over a
    full-slide picture is text boxes of fewer than SCAN_MAX_TEXT_CHARS characters in all (a stamp, a slide
    number), as on a PDF page that is one picture (``scanned_pages``); more text or any graphic makes the
    picture the slide's backdrop."""
    if any(o.role in GRAPHIC_ROLES for o in on_top):
        return False
    return sum(len(o.text) for o in on_top) < SCAN_MAX_TEXT_CHARS


class _DisjointSets:
    """Union-find over indexes 0..n-1."""

    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        self.parent[self.find(j)] = self.find(i)


def _clusters(members: list[Member], w: float, h: float, min_pt: float) -> list[Cluster]:
    """Connected groups of graphic shapes; a text box or table touching two graphics bridges them."""
    tol = CLUSTER_TOLERANCE * min(w, h)
    captions = [m for m in members if m.role == TEXT and _figure_caption(m.text)]
    graphics = [m for m in members if m.role in GRAPHIC_ROLES]
    texts = [
        m for m in members
        if (m.role in (TEXT, FRAME) and m.text and m not in captions) or m.role == TABLE
    ]  # fmt: skip
    nodes = graphics + texts
    sets = _linked(nodes, len(graphics), tol)
    components: dict[int, list[Member]] = defaultdict(list)
    for i, m in enumerate(nodes):
        components[sets.find(i)].append(m)

    clusters = [c for c in (_cluster_of(part, w, h) for part in components.values()) if c is not None]
    clusters = _merge_overlapping(clusters, w, h)
    clusters = _merge_panels(clusters, w, h)
    for cluster in clusters:
        _take_attached_text(cluster, w, h)
    clusters = _merge_overlapping(clusters, w, h)
    clusters = [c for c in clusters if c.box.width >= min_pt and c.box.height >= min_pt and not _kpi_row(c)]
    _attach_captions(clusters, captions, tol)
    clusters.sort(key=lambda c: (round(c.box.y0), c.box.x0))
    return clusters


def _kpi_row(cluster: Cluster) -> bool:
    """Layout class "KPI tiles", as on PDF pages (pdf_layout._join_kpi_rows): two or more filled shapes in
    a row, each holding one big number over its label, and no other drawing. Numbers in boxes are no chart
    or diagram (issue 13), so no figure; their words stay in the slide's context."""
    drawn = [m for m in cluster.members if m.role in GRAPHIC_ROLES]
    return (
        len(drawn) >= 2
        and all(m.role == SHAPE and _kpi_tile(m.shape) for m in drawn)
        and kpi_row([_tuple(m.box) for m in drawn])
    )


def _kpi_tile(shape: Any) -> bool:
    """A shape whose paragraphs hold one value set much larger than the rest (panels.one_kpi_value); a
    paragraph whose size the shape does not set (inherited from the theme) makes it no tile: unknown."""
    if not getattr(shape, "has_text_frame", False):
        return False
    lines = []
    for paragraph in shape.text_frame.paragraphs:
        sizes = [size for size in (_font_size(run) for run in paragraph.runs) if size is not None]
        if paragraph.text.strip():
            if len(sizes) != len(paragraph.runs):
                return False
            lines.append((paragraph.text, max(sizes)))
    return one_kpi_value(lines)


def _font_size(run: Any) -> float | None:
    """The run's own font size in points; None where it sets none, or one that is no integer (``sz="1e9"``:
    python-pptx's ``font.size`` raised, failing the deck)."""
    properties = run._r.find(qn("a:rPr"))
    size = xml_int(properties.get("sz")) if properties is not None else None
    return size / 100 if size is not None else None


def _linked(nodes: list[Member], n_graphics: int, tol: float) -> _DisjointSets:
    """``nodes`` (graphics first) linked when within ``tol``, closest pairs first. Edges run graphic-graphic
    and graphic-text only: a column of text boxes is no figure by itself.

    Layout class "native charts side by side on a slide" (a grid of charts, a chart beside a picture or
    under a row of KPI tiles): a native chart is a whole figure in its frame, so a group holding one joins
    another graphic only where their boxes overlap (a logo or callout drawn on the chart), never across a
    gap or through a text box between them; closest pairs first, so a title or source note joins the
    chart it sits against. Slides without a native chart link as before, in any order (no sort: a
    diagram's thousands of links cost what they did)."""
    sets = _DisjointSets(len(nodes))
    charted = [m.role == CHART for m in nodes]
    drawn = [i < n_graphics for i in range(len(nodes))]
    grid = BoxGrid([_tuple(m.box) for m in nodes])
    pairs = [(i, j) for i, a in enumerate(nodes[:n_graphics]) for j in grid.near(_tuple(a.box), tol) if j > i]
    if not any(charted):
        for i, j in pairs:
            sets.union(i, j)
        return sets
    for gap, i, j in sorted((_gap(nodes[i].box, nodes[j].box), i, j) for i, j in pairs):
        ri, rj = sets.find(i), sets.find(j)
        if ri == rj:
            continue
        apart = gap >= 0 or j >= n_graphics  # only two graphics' overlapping boxes join a chart to more
        if apart and ((charted[ri] and drawn[rj]) or (charted[rj] and drawn[ri])):
            continue
        sets.union(ri, rj)
        charted[ri] = charted[ri] or charted[rj]
        drawn[ri] = drawn[ri] or drawn[rj]
    return sets


def _gap(a: Box, b: Box) -> float:
    """How far apart two boxes are (the larger of the two axes' gaps); negative when they overlap."""
    return max(a.x0 - b.x1, b.x0 - a.x1, a.y0 - b.y1, b.y0 - a.y1)


def _cluster_of(component: list[Member], w: float, h: float) -> Cluster | None:
    graphics = [m for m in component if m.role in GRAPHIC_ROLES]
    if not graphics or (all(m.role == CONNECTOR for m in graphics) and len(graphics) < 3):
        return None  # text alone, or a rule / separator line
    solid = graphics + [m for m in component if m.role in (FRAME, TABLE)]
    box = _union(m.box for m in solid).clipped(w, h)
    cluster = Cluster(members=sorted(graphics, key=lambda m: m.z), box=box)
    for t in sorted((m for m in component if m not in graphics), key=lambda m: m.z):
        inside = t.box.intersection_area(box) / (t.box.area or 1.0)
        if t.role in (FRAME, TABLE) or inside >= 0.5:
            cluster.joined.append(t)
        else:
            cluster.nearby.append(t)
    cluster.box = _union([box, *(t.box for t in cluster.joined)]).clipped(w, h)
    return cluster


def _merge_overlapping(clusters: list[Cluster], w: float, h: float) -> list[Cluster]:
    """Figures whose boxes overlap are one figure (a diagram drawn across another's frame)."""
    merged: list[Cluster] = []
    # A negative gap: boxes must overlap by more than a hair, touching edges do not count.
    for _, indexes in merge_touching([_tuple(c.box) for c in clusters], -1e-6):
        first = clusters[indexes[0]]
        for i in indexes[1:]:
            other = clusters[i]
            first.members = sorted(first.members + other.members, key=lambda m: m.z)
            first.joined += other.joined
            first.nearby += other.nearby
            first.box = first.box.union(other.box).clipped(w, h)
        merged.append(first)
    return merged


def _tuple(box: Box) -> tuple[float, float, float, float]:
    return (box.x0, box.y0, box.x1, box.y1)


PANEL_MIN = 3
"""This many similar figures side by side (or stacked) are the panels of one infographic."""
PANEL_SIZE_RATIO = 3.0


def _merge_panels(clusters: list[Cluster], w: float, h: float) -> list[Cluster]:
    """Merge rows (or columns) of >= PANEL_MIN similar-sized figures: icon rows, panel grids. A native
    chart is a figure of its own (layout class "native charts side by side", ``_linked``): no panel."""
    charted = [any(m.role == CHART for m in c.members) for c in clusters]
    rest = [c for c, chart in zip(clusters, charted, strict=True) if not chart]
    return [c for c, chart in zip(clusters, charted, strict=True) if chart] + _merge_rows(rest, w, h)


def _merge_rows(clusters: list[Cluster], w: float, h: float) -> list[Cluster]:
    for horizontal in (True, False):
        if len(clusters) < PANEL_MIN:
            return clusters
        sets = _DisjointSets(len(clusters))
        for i, a in enumerate(clusters):
            for j in range(i + 1, len(clusters)):
                if _aligned(a.box, clusters[j].box, horizontal):
                    sets.union(i, j)
        groups: dict[int, list[Cluster]] = defaultdict(list)
        for i, c in enumerate(clusters):
            groups[sets.find(i)].append(c)
        merged: list[Cluster] = []
        for group in groups.values():
            if len(group) < PANEL_MIN:
                merged.extend(group)
                continue
            first = group[0]
            for other in group[1:]:
                first.members = sorted(first.members + other.members, key=lambda m: m.z)
                first.joined += other.joined
                first.nearby += other.nearby
                first.box = first.box.union(other.box).clipped(w, h)
            merged.append(first)
        clusters = merged
    return clusters


def _aligned(a: Box, b: Box, horizontal: bool) -> bool:
    if max(a.area, b.area) > PANEL_SIZE_RATIO * max(min(a.area, b.area), 1e-6):
        return False
    if horizontal:
        overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
        return overlap >= 0.5 * min(a.height, b.height)
    overlap = min(a.x1, b.x1) - max(a.x0, b.x0)
    return overlap >= 0.5 * min(a.width, b.width)


def _take_attached_text(cluster: Cluster, w: float, h: float) -> None:
    """Titles and descriptions set above or below a figure, within its width, are part of it."""
    box = cluster.box
    attached = [t for t in cluster.nearby if _horizontal_overlap(box, t.box) >= 0.5 * max(t.box.width, 1e-6)]
    if not attached:
        return
    cluster.nearby = [t for t in cluster.nearby if t not in attached]
    cluster.joined += attached
    cluster.box = _union([box, *(t.box for t in attached)]).clipped(w, h)


def _figure_caption(text: str) -> Any:
    match = match_caption(text)
    return match if match is not None and match.kind == CaptionKind.FIGURE else None


def _union(boxes: Any) -> Box:
    boxes = list(boxes)
    out = boxes[0]
    for b in boxes[1:]:
        out = out.union(b)
    return out


def _attach_captions(clusters: list[Cluster], captions: list[Member], tol: float) -> None:
    """A "Figure 2: ..." text box is the caption of the figure right above or below it."""
    for t in captions:
        candidates = [c for c in clusters if _horizontal_overlap(c.box, t.box) > 0]
        if not candidates:
            continue
        best = min(candidates, key=lambda c: _vertical_gap(c.box, t.box))
        gap = _vertical_gap(best.box, t.box)
        if gap > 3 * tol:
            continue
        if best.caption is None or gap < _vertical_gap(best.box, best.caption.box):
            best.caption = t


def _vertical_gap(a: Box, b: Box) -> float:
    return max(b.y0 - a.y1, a.y0 - b.y1, 0.0)


def _horizontal_overlap(a: Box, b: Box) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def _kind(cluster: Cluster) -> FigureKind:
    members = cluster.members
    if len(members) == 1 and members[0].role == PICTURE and not cluster.joined:
        return FigureKind.PICTURE
    chart_area = sum(m.box.intersection_area(cluster.box) for m in members if m.role == CHART)
    if chart_area >= 0.5 * cluster.box.area:
        return FigureKind.CHART
    return FigureKind.DIAGRAM


def _render_if_needed(
    data: bytes,
    plans: list[tuple[SlideInfo, Cluster]],
    n_slides: int,
    hidden: set[int],
    settings: ExtractSettings,
    result: DocumentExtraction,
) -> slide_render.RenderedDeck | None:
    needs = [c for _, c in plans if _kind(c) != FigureKind.PICTURE or not decodable(c.members[0].blob or b"")]
    if not needs:
        return None
    soffice = slide_render.find_soffice(settings.libreoffice)
    if soffice is None:
        off = settings.libreoffice == "off"
        result.warnings.append(slide_render.SOFFICE_OFF if off else slide_render.SOFFICE_MISSING)
        return None
    try:
        return slide_render.render_deck(data, n_slides, hidden, soffice, settings)
    except slide_render.RenderError as exc:
        result.warnings.append(f"{result.doc}: {exc}; chart and diagram units are sketched instead")
        return None


def _decoded_picture(cluster: Cluster, settings: ExtractSettings) -> Image.Image | None:
    return _decoded(cluster.members[0].blob, settings)


def _decoded(blob: bytes | None, settings: ExtractSettings) -> Image.Image | None:
    if blob is None:
        return None
    try:
        keep = PICTURE_KEEP_FACTOR * settings.max_image_pixels
        return open_image_checked(blob, settings.max_source_image_pixels, keep_pixels=keep)
    except UnsafeFileError:
        raise
    except Exception:
        return None


def _make_figure(
    info: SlideInfo,
    cluster: Cluster,
    result: DocumentExtraction,
    sha256: str,
    slide_size: tuple[float, float],
    deck: slide_render.RenderedDeck | None,
    settings: ExtractSettings,
    ocr: DocumentOcr,
) -> ExtractedFigure | None:
    kind = _kind(cluster)
    bbox = cluster.box.as_tuple()
    picture = _decoded_picture(cluster, settings) if kind == FigureKind.PICTURE else None
    image = _figure_image(info, cluster, picture, slide_size, deck, settings)
    if image is None:
        result.warnings.append(
            f"{result.doc}: slide {info.number}: a {kind.value} unit has no image; skipped"
        )
        return None
    png, width, height, phash = image
    words = _figure_words(info, cluster, kind, picture, slide_size, settings, ocr)
    if words is None:
        return None
    figure_text, ocr_title = words
    caption = clean_text(cluster.caption.text).replace("\n", " ") if cluster.caption else ""
    match = _figure_caption(caption) if caption else None
    unit = FigureUnit(
        unit_id=make_unit_id(sha256, info.number, kind.value, bbox),
        doc=result.doc,
        doc_sha256=sha256,
        page=info.number,
        page_size=(round(slide_size[0], 2), round(slide_size[1], 2)),
        bbox=bbox,
        kind=kind,
        label=match.label if match else None,
        title=_title(info, cluster, kind) or ocr_title,
        caption=caption,
        context=_context(info, cluster),
        figure_text=figure_text,
        width=width,
        height=height,
        phash=phash,
        meta=result.meta,
    )
    return ExtractedFigure(unit=unit, png=png)


def _figure_image(
    info: SlideInfo,
    cluster: Cluster,
    picture: Image.Image | None,
    slide_size: tuple[float, float],
    deck: slide_render.RenderedDeck | None,
    settings: ExtractSettings,
) -> tuple[bytes, int, int, str] | None:
    """The figure's PNG, width, height and perceptual hash ("": hashed from the PNG at ingest): its own
    picture's pixels, else its region of the rendered slide, else a sketch of its shapes; None: none."""
    if picture is not None:
        image = _picture_png(picture, cluster.members[0].shape, settings.max_image_pixels)
        if image is not None:
            return image
    if deck is not None:
        image = slide_render.crop_region_png(
            deck, info.number, cluster.box.as_tuple(), slide_size, settings.dpi, settings.max_image_pixels
        )
        if image is not None:
            return image
    sketch = sketch_region(
        [m.shape for m in cluster.members + cluster.joined],
        cluster.box,
        settings.dpi,
        settings.max_image_pixels,
    )
    return None if sketch is None else (*sketch, "")


def _figure_words(
    info: SlideInfo,
    cluster: Cluster,
    kind: FigureKind,
    picture: Image.Image | None,
    slide_size: tuple[float, float],
    settings: ExtractSettings,
    ocr: DocumentOcr,
) -> tuple[str, str] | None:
    """The figure's words (its shapes' text, a metafile's text records, OCR of a picture that is most of it)
    and the title OCR gives a slide saved as a picture ("" if none); None: a wordless sticker, no unit."""
    figure_parts = [m.text for m in cluster.members + cluster.joined + cluster.nearby if m.text]
    # A vector picture (EMF/WMF: a Visio or older Office diagram) carries its labels as text records.
    figure_parts += [metafile_text(m.blob) for m in cluster.members if m.blob is not None]
    figure_text = _dedupe_lines("\n".join(figure_parts))
    to_read = _picture_to_read(cluster)
    if to_read is None or _chars_over(to_read, cluster) >= OCR_TEXT_LAYER_ENOUGH:
        return figure_text, ""
    # A picture's words are pixels: screenshots, exported diagrams (ingest/ocr.py).
    source = (
        picture if picture is not None and to_read is cluster.members[0] else _decoded(to_read.blob, settings)
    )
    read = ocr.read(info.number, source) if source is not None else None
    if read == [] and kind == FigureKind.PICTURE and _is_sticker(cluster, figure_text, slide_size):
        return None
    figure_text = with_ocr(figure_text, lines_text(read or []))
    ocr_title = ""
    if read and source is not None and _covers_slide(to_read, slide_size):
        # A slide saved as a picture without a title placeholder is titled as its PDF page would be.
        ocr_title = slide_title(ocr_lines_in(read, source.size, to_read.box.as_tuple()), slide_size)
    return figure_text, ocr_title


def _picture_to_read(cluster: Cluster) -> Member | None:
    """The picture OCR reads in a figure that is mostly picture (its pictures cover OCR_PICTURE_SHARE of its
    box), the largest; None for a drawing. Layout class "picture beside its own text", as in PDFs
    (pdf._needs_ocr): a screenshot or chart image with a heading, a description or callouts beside it."""
    pictures = [m for m in cluster.members if m.role == PICTURE and m.blob is not None]
    covered = sum(m.box.intersection_area(cluster.box) for m in pictures)
    if not pictures or covered < OCR_PICTURE_SHARE * cluster.box.area:
        return None
    return max(pictures, key=lambda m: m.box.area)


def _covers_slide(picture: Member, slide_size: tuple[float, float]) -> bool:
    """The picture covers BACKGROUND_SHARE of the slide: the slide is that picture."""
    slide = Box(0, 0, *slide_size)
    return picture.box.intersection_area(slide) >= BACKGROUND_SHARE * slide_size[0] * slide_size[1]


def _chars_over(picture: Member, cluster: Cluster) -> int:
    """Characters of the figure's text drawn over ``picture`` (text boxes lying mostly on it, and a vector
    picture's own text records): the text beside it says nothing of what the picture shows."""
    over = [
        m.text
        for m in cluster.members + cluster.joined + cluster.nearby
        if m is not picture and m.text and m.box.intersection_area(picture.box) >= 0.5 * m.box.area
    ]
    return sum(len(text) for text in over) + len(metafile_text(picture.blob) if picture.blob else "")


def _is_sticker(cluster: Cluster, figure_text: str, slide_size: tuple[float, float]) -> bool:
    """Layout class "wordless sticker" (as pdf._is_sticker): a lone picture in which OCR read no word, with
    no text or caption of its own, covering at most STICKER_MAX_SHARE of the slide (clip-art, a mascot's
    sticker, a stopwatch icon) is decoration."""
    if len(cluster.members) != 1 or cluster.joined or cluster.caption is not None or figure_text.strip():
        return False
    return cluster.box.area <= STICKER_MAX_SHARE * slide_size[0] * slide_size[1]


def _title(info: SlideInfo, cluster: Cluster, kind: FigureKind) -> str:
    """A chart's own title when the unit is a native chart that has one (its chart title, else a bold line
    set right above it: _heading_above), else the slide's title."""
    if kind == FigureKind.CHART:
        charts = [member for member in cluster.members if member.role == CHART]
        for member in charts:
            if own := chart_title(member.shape):
                return own
        if len(charts) == 1 and (heading := _heading_above(charts[0], cluster)):
            return heading
    return info.title


HEADING_WORDS_MAX = 12
"""A chart's heading is short (as a PDF panel's title, at most 12 words)."""


def _heading_above(chart: Member, cluster: Cluster) -> str:
    """Layout class "title text box over a chart", as on the slide saved as PDF (a panel's title there is
    its own short bold line right above it): a text box of the chart's cluster, one bold line of at most
    HEADING_WORDS_MAX words, standing within TITLE_ABOVE_PT above the chart and over it; the nearest."""
    found = []
    for member in cluster.members + cluster.joined:
        box, text = member.box, member.text.strip()
        gap = chart.box.y0 - box.y1
        if member.role != TEXT or not text or "\n" in text or len(text.split()) > HEADING_WORDS_MAX:
            continue
        over = _horizontal_overlap(box, chart.box) >= 0.5 * box.width
        if -2.0 <= gap <= TITLE_ABOVE_PT and over and _all_bold(member.shape):
            found.append((gap, text))
    return min(found)[1] if found else ""


def _all_bold(shape: Any) -> bool:
    """Every run with text of the shape is bold (set on the run); a group of text boxes is not read."""
    if not getattr(shape, "has_text_frame", False):
        return False
    runs = [run for p in shape.text_frame.paragraphs for run in p.runs if run.text.strip()]
    return bool(runs) and all(_bold(run) for run in runs)


def _bold(run: Any) -> bool:
    """The run sets itself bold (python-pptx's ``font.bold`` raised on a value other than its four)."""
    properties = run._r.find(qn("a:rPr"))
    return properties is not None and properties.get("b") in ("1", "true")


def _context(info: SlideInfo, cluster: Cluster) -> str:
    used = {id(m) for m in cluster.joined + cluster.nearby}
    if cluster.caption is not None:
        used.add(id(cluster.caption))
    free_text = [
        m.text for m in info.members if m.role in (TEXT, FRAME, TABLE) and id(m) not in used and m.text
    ]
    parts = [info.title, *info.context_parts, *free_text]
    if info.notes:
        parts.append(f"Notes: {info.notes}")
    text = _dedupe_lines("\n".join(p for p in parts if p))
    return text[:MAX_CONTEXT_CHARS]


def _dedupe_lines(text: str) -> str:
    seen: set[str] = set()
    out: list[str] = []
    for line in text.splitlines():
        if line and line not in seen:
            seen.add(line)
            out.append(line)
    return "\n".join(out)


def _picture_png(img: Image.Image, shape: Any, max_pixels: int) -> tuple[bytes, int, int, str]:
    """The picture as shown: the slide's crop applied, flattened to RGB(A), capped at ``max_pixels``; its PNG,
    size and perceptual hash (of these pixels, which the lossless PNG decodes to: none decoded again)."""
    img = _apply_crop(img, shape)
    if img.mode not in ("RGB", "RGBA", "L", "LA"):
        img = img.convert("RGBA" if "transparency" in img.info or img.mode in ("P", "PA") else "RGB")
    if img.width * img.height > max_pixels:
        factor = math.sqrt(max_pixels / (img.width * img.height))
        size = (max(1, int(img.width * factor)), max(1, int(img.height * factor)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    img.save(out, format="PNG", optimize=False)
    return out.getvalue(), img.width, img.height, perceptual_hash(img)


def _apply_crop(img: Image.Image, shape: Any) -> Image.Image:
    try:
        left, right = shape.crop_left, shape.crop_right
        top, bottom = shape.crop_top, shape.crop_bottom
    except Exception:
        return img
    if not any((left, right, top, bottom)) or not all(map(math.isfinite, (left, right, top, bottom))):
        return img  # python-pptx reads "nan%" and "1e999%" as floats: no crop to apply
    w, h = img.size
    box = (
        int(w * max(left, 0)),
        int(h * max(top, 0)),
        int(w * (1 - max(right, 0))),
        int(h * (1 - max(bottom, 0))),
    )
    if box[2] - box[0] < 1 or box[3] - box[1] < 1:
        return img
    return img.crop(box)
