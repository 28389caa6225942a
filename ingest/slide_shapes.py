"""What a slide is made of: its shapes as geometry (points, slide space) plus a role and their text.

python-pptx reports a group's children in the group's own child coordinate space; ``iter_leaves`` maps
them to slide space through each group's ``off/ext`` and ``chOff/chExt`` (nested groups compose).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lxml import etree
from pptx.oxml.ns import qn

from figvault.ingest.slide_chart import category_labels, plot_series, series_name, series_values
from figvault.ingest.xml_numbers import MAX_XML_INT, shown_value, xml_int

EMU_PER_PT = 12700
CHART_URI = "http://schemas.openxmlformats.org/drawingml/2006/chart"
TABLE_URI = "http://schemas.openxmlformats.org/drawingml/2006/table"
SMARTART_URI = "http://schemas.openxmlformats.org/drawingml/2006/diagram"
_A_T = qn("a:t")
_A_XFRM = qn("a:xfrm")
_FRAMES = {qn("p:xfrm"), _A_XFRM}
"""A graphic frame's own ``p:xfrm``; a shape's is ``a:xfrm`` in its ``spPr`` or ``grpSpPr``."""
_COORDINATES = {
    qn("a:off"): ("x", "y"), qn("a:chOff"): ("x", "y"), qn("a:ext"): ("cx", "cy"), qn("a:chExt"): ("cx", "cy")
}  # fmt: skip
"""The EMU coordinates of a frame's elements (offset, extent, and a group's child offset and extent)."""

# Roles: what a shape contributes to figure detection.
PICTURE, CHART, SMARTART, OBJECT, GROUP, SHAPE, CONNECTOR = (
    "picture", "chart", "smartart", "object", "group", "shape", "connector"
)  # fmt: skip
TEXT, TABLE, PLACEHOLDER = "text", "table", "placeholder"
FRAME = "frame"
"""An autoshape that paints nothing but holds text: laid out as part of a diagram, yet no drawing itself."""
GRAPHIC_ROLES = frozenset({PICTURE, CHART, SMARTART, OBJECT, GROUP, SHAPE, CONNECTOR})
_LINE_GEOMETRIES = {"line", "straightConnector1", "bentConnector2", "bentConnector3", "curvedConnector3"}


@dataclass(frozen=True)
class Box:
    """Axis-aligned box in points, top-left origin."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def area(self) -> float:
        return max(self.width, 0.0) * max(self.height, 0.0)

    def union(self, other: Box) -> Box:
        return Box(
            min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1)
        )

    def intersection_area(self, other: Box) -> float:
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return w * h if w > 0 and h > 0 else 0.0

    def expanded(self, by: float) -> Box:
        return Box(self.x0 - by, self.y0 - by, self.x1 + by, self.y1 + by)

    def touches(self, other: Box) -> bool:
        """Overlap or contact (closed boxes; zero-width lines count)."""
        return self.x0 <= other.x1 and other.x0 <= self.x1 and self.y0 <= other.y1 and other.y0 <= self.y1

    def clipped(self, width: float, height: float) -> Box:
        return Box(max(self.x0, 0.0), max(self.y0, 0.0), min(self.x1, width), min(self.y1, height))

    def as_tuple(self) -> tuple[float, float, float, float]:
        return (round(self.x0, 2), round(self.y0, 2), round(self.x1, 2), round(self.y1, 2))


@dataclass(frozen=True)
class Transform:
    """Child EMU coordinates -> slide EMU coordinates."""

    ox: float = 0.0
    oy: float = 0.0
    sx: float = 1.0
    sy: float = 1.0
    cx: float = 0.0
    cy: float = 0.0

    def point(self, x: float, y: float) -> tuple[float, float]:
        return self.ox + (x - self.cx) * self.sx, self.oy + (y - self.cy) * self.sy

    def then(self, outer: Transform) -> Transform:
        """This transform followed by ``outer`` (a nested group inside its parent)."""
        ox, oy = outer.point(self.ox - self.cx * self.sx, self.oy - self.cy * self.sy)
        return Transform(ox=ox, oy=oy, sx=self.sx * outer.sx, sy=self.sy * outer.sy)


IDENTITY = Transform()


DEFAULT_SLIDE_EMU = (9_144_000, 6_858_000)
"""A deck's slide size where it states none it can be read by: 10 x 7.5 inches (720 x 540 pt), PowerPoint's
4:3 default and python-pptx's; its height is the 16:9 default's too."""


def slide_size(prs: Any) -> tuple[tuple[float, float], list[str]]:
    """The deck's slide width and height in points, and a warning when its ``p:sldSz`` states one that is
    no positive integer (``cy="abc"``: python-pptx's ``slide_height`` raised): that one is read as
    DEFAULT_SLIDE_EMU's. A deck without ``p:sldSz`` is PowerPoint's default size, without a word."""
    found = prs._element.find(qn("p:sldSz"))
    if found is None:
        return (DEFAULT_SLIDE_EMU[0] / EMU_PER_PT, DEFAULT_SLIDE_EMU[1] / EMU_PER_PT), []
    size: list[float] = []
    bad: list[str] = []
    for name, default in zip(("cx", "cy"), DEFAULT_SLIDE_EMU, strict=True):
        raw = found.get(name)
        value = xml_int(raw)
        if value is None or value <= 0:
            bad.append(f"no {name}" if raw is None else f'{name}="{shown_value(raw)}"')
            value = default
        size.append(value / EMU_PER_PT)
    if not bad:
        return (size[0], size[1]), []
    part = str(prs.part.partname).lstrip("/")
    warning = f"{part}: slide size {', '.join(bad)} is no size; read as {size[0]:g} x {size[1]:g} pt"
    return (size[0], size[1]), [warning]


def group_transform(group_element: Any) -> Transform | None:
    """The group's child -> slide mapping; None when a coordinate it needs is no integer (``y="1e9"``):
    the group cannot be placed, as a shape whose position cannot be read (``shape_box``)."""
    xfrm = group_element.find(f"{qn('p:grpSpPr')}/{qn('a:xfrm')}")
    if xfrm is None:
        return IDENTITY
    off, ext = xfrm.find(qn("a:off")), xfrm.find(qn("a:ext"))
    ch_off, ch_ext = xfrm.find(qn("a:chOff")), xfrm.find(qn("a:chExt"))
    if off is None or ext is None:
        return IDENTITY
    if ch_off is None or ch_ext is None:
        at = _coordinates(off)
        return None if at is None else Transform(ox=at[0], oy=at[1], cx=at[0], cy=at[1])
    found = _coordinates(off, ext, ch_off, ch_ext)
    if found is None:
        return None
    ox, oy, w, h, cx, cy, cw, ch = found
    return Transform(ox=ox, oy=oy, sx=w / cw if cw else 1.0, sy=h / ch if ch else 1.0, cx=cx, cy=cy)


def _coordinates(*parts: Any) -> list[int] | None:
    """The coordinates of frame elements (``_COORDINATES``) as integers, 0 for an absent one; None when one
    present is no integer."""
    values: list[int] = []
    for part in parts:
        for name in _COORDINATES.get(part.tag, ()):
            raw = part.get(name)
            value = 0 if raw is None else xml_int(raw)
            if value is None:
                return None
            values.append(value)
    return values


def unreadable_position(shape: Any) -> str | None:
    """The first coordinate of the shape's own frame (``a:off``, ``a:ext``, ``a:chOff``, ``a:chExt``) that
    is no integer, as a warning names it (``<a:off y="1e9">``); None when there is none."""
    for frame in shape._element.iterchildren(tag=etree.Element):
        xfrm = frame if frame.tag in _FRAMES else frame.find(_A_XFRM)
        for part in xfrm.iterchildren(tag=etree.Element) if xfrm is not None else ():
            for name in _COORDINATES.get(part.tag, ()):
                value = part.get(name)
                if value is not None and xml_int(value) is None:
                    return f'<a:{etree.QName(part).localname} {name}="{shown_value(value)}">'
    return None


def shape_box(shape: Any, transform: Transform = IDENTITY) -> Box | None:
    """The shape's frame in slide points; None when it has no position (inherited placeholders excepted),
    or one that cannot be read or placed (no integer, or past xsd:long once mapped to the slide)."""
    try:
        left, top, width, height = shape.left, shape.top, shape.width, shape.height
    except Exception:
        return None
    if left is None or top is None or width is None or height is None:
        return None
    try:
        x0, y0 = transform.point(left, top)
        x1, y1 = transform.point(left + width, top + height)
    except OverflowError:  # python-pptx reads 4,000 digits: more than a float holds
        return None
    if not all(math.isfinite(v) and abs(v) <= MAX_XML_INT for v in (x0, y0, x1, y1)):
        return None  # nested groups' scales multiplied past any slide
    return Box(
        min(x0, x1) / EMU_PER_PT, min(y0, y1) / EMU_PER_PT, max(x0, x1) / EMU_PER_PT, max(y0, y1) / EMU_PER_PT
    )


def iter_leaves(
    shape: Any, transform: Transform = IDENTITY, lost: list[str] | None = None
) -> Iterator[tuple[Any, Box]]:
    """Non-group shapes under ``shape`` (itself when not a group) with their slide-space boxes. A shape or
    group whose position cannot be read is left out (a group with all it holds); ``lost``, when given, gets
    each one's name and bad value (``unreadable_position``) for a warning."""
    if etree.QName(shape._element).localname == "grpSp":
        own = group_transform(shape._element)
        if own is None:
            _note_lost(shape, lost)
            return
        inner = own.then(transform)
        for child in shape.shapes:
            yield from iter_leaves(child, inner, lost)
        return
    box = shape_box(shape, transform)
    if box is not None:
        yield shape, box
    else:
        _note_lost(shape, lost)


def _note_lost(shape: Any, lost: list[str] | None) -> None:
    """Name in ``lost`` a shape left out for a coordinate that is no integer (not one without a frame)."""
    why = unreadable_position(shape) if lost is not None else None
    if lost is not None and why is not None:
        lost.append(f"'{_shape_name(shape)}' ({why})")


def _shape_name(shape: Any) -> str:
    try:
        return shown_value(shape.name or "", 40)
    except Exception:  # a shape without its cNvPr: python-pptx cannot name it
        return "(unnamed)"


def role_of(shape: Any) -> str:
    tag = etree.QName(shape._element).localname
    if tag == "pic":
        return PICTURE
    if tag == "graphicFrame":
        uri = graphic_data_uri(shape)
        return {CHART_URI: CHART, TABLE_URI: TABLE, SMARTART_URI: SMARTART}.get(uri, OBJECT)
    if tag == "grpSp":
        return GROUP if any(role_of(leaf) in GRAPHIC_ROLES for leaf, _ in iter_leaves(shape)) else TEXT
    if tag == "cxnSp":
        return CONNECTOR
    if tag == "sp":
        if shape.is_placeholder:
            return PLACEHOLDER
        geometry = shape._element.find(f"{qn('p:spPr')}/{qn('a:prstGeom')}")
        if geometry is not None and geometry.get("prst") in _LINE_GEOMETRIES:
            return CONNECTOR
        if _is_text_box(shape._element):
            return TEXT
        if not _draws_anything(shape._element):
            return FRAME
        return SHAPE
    return OBJECT if tag == "contentPart" else TEXT


def graphic_data_uri(shape: Any) -> str:
    data = shape._element.find(f"{qn('a:graphic')}/{qn('a:graphicData')}")
    return data.get("uri", "") if data is not None else ""


def _is_text_box(sp: Any) -> bool:
    c_nv = sp.find(f"{qn('p:nvSpPr')}/{qn('p:cNvSpPr')}")
    return c_nv is not None and c_nv.get("txBox") in ("1", "true")


def _draws_anything(sp: Any) -> bool:
    """Whether an autoshape paints a fill or an outline (else it is only a frame for text)."""
    sp_pr = sp.find(qn("p:spPr"))
    style = sp.find(qn("p:style"))
    fills = ("a:solidFill", "a:gradFill", "a:pattFill", "a:blipFill")
    if sp_pr is not None and any(sp_pr.find(qn(f)) is not None for f in fills):
        return True
    if sp_pr is not None and sp_pr.find(qn("a:custGeom")) is not None and style is not None:
        return True
    no_fill = sp_pr is not None and sp_pr.find(qn("a:noFill")) is not None
    line = sp_pr.find(qn("a:ln")) if sp_pr is not None else None
    line_off = line is not None and line.find(qn("a:noFill")) is not None
    if line is not None and any(line.find(qn(f)) is not None for f in fills[:3]):
        return True
    if style is None:
        return False
    fill_ref, ln_ref = style.find(qn("a:fillRef")), style.find(qn("a:lnRef"))
    styled_fill = not no_fill and fill_ref is not None and fill_ref.get("idx", "0") != "0"
    styled_line = not line_off and ln_ref is not None and ln_ref.get("idx", "0") != "0"
    return styled_fill or styled_line


def element_count(element: Any) -> int:
    """XML elements under ``element`` (itself included), counted inside libxml2 without building proxies."""
    return int(element.xpath("count(descendant-or-self::*)"))


def clean_text(text: str) -> str:
    # python-pptx writes soft line breaks as vertical tabs; collapse runs of blank space per line.
    lines = (re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.replace("\x0b", "\n").splitlines())
    return "\n".join(line for line in lines if line)


def shape_text(shape: Any) -> str:
    """Visible text of one shape: text frames, group children, table cells, SmartArt data."""
    role = role_of(shape)
    parts: list[str] = []
    if etree.QName(shape._element).localname == "grpSp":
        for leaf, _ in sorted(iter_leaves(shape), key=lambda lb: (round(lb[1].y0), lb[1].x0)):
            parts.append(shape_text(leaf))
    elif role == TABLE:
        for row in shape.table.rows:
            parts.append(" | ".join(clean_text(cell.text) for cell in row.cells))
    elif role == SMARTART:
        parts.append(smartart_text(shape))
    elif role == CHART:
        parts.append(chart_text(shape.chart))
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        parts.append(clean_text(shape.text_frame.text))
    return "\n".join(p for p in parts if p)


def smartart_text(shape: Any) -> str:
    """Text of a SmartArt graphic, read from its data part (``dgm:relIds r:dm``)."""
    rel_ids = shape._element.find(f"{qn('a:graphic')}/{qn('a:graphicData')}")
    if rel_ids is None or not len(rel_ids):
        return ""
    dm = rel_ids[0].get(qn("r:dm"))
    try:
        part = shape.part.related_part(dm)
        root = etree.fromstring(part.blob, parser=etree.XMLParser(resolve_entities=False, no_network=True))
    except Exception:
        return ""
    texts = [clean_text("".join(t.text or "" for t in p.iter(_A_T))) for p in root.iter(qn("a:p"))]
    return "\n".join(t for t in texts if t)


def chart_text(chart: Any) -> str:
    """Chart type, title, categories and series (names and values) as plain lines."""
    lines: list[str] = []
    with contextlib.suppress(Exception):  # unknown plot kinds raise in python-pptx; the data still counts
        lines.append(f"chart type: {chart.chart_type.name.lower().replace('_', ' ')}")
    title = _chart_title_text(chart)
    if title:
        lines.append(f"title: {title}")
    try:
        for plot in chart.plots:
            categories = category_labels(plot)
            if categories:
                lines.append("categories: " + _capped_list(categories, MAX_CHART_CATEGORIES))
            for series in plot_series(plot):
                values = _capped_list([_format_value(v) for v in series_values(series)], MAX_SERIES_VALUES)
                name = series_name(series)
                lines.append(f"series {name}: {values}" if name else f"series: {values}")
    except Exception:
        pass
    return "\n".join(lines)


MAX_CHART_CATEGORIES = 60
MAX_SERIES_VALUES = 30
"""Names are what people search for; thousands of values of a long series would only bury them."""


def _capped_list(items: list[str], cap: int) -> str:
    shown = ", ".join(items[:cap])
    return f"{shown}, ... ({len(items)} in all)" if len(items) > cap else shown


def chart_title(shape: Any) -> str:
    """The title of the chart in a chart graphic frame ("" when it has none)."""
    try:
        return _chart_title_text(shape.chart)
    except Exception:
        return ""


def _chart_title_text(chart: Any) -> str:
    try:
        if chart.has_title and chart.chart_title.has_text_frame:
            return clean_text(chart.chart_title.text_frame.text).replace("\n", " ")
    except Exception:
        pass
    return ""


def _format_value(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:g}"


def picture_blob(shape: Any) -> bytes | None:
    """The embedded image bytes of a picture shape; None for linked or missing images. A part of a content
    type python-pptx does not list as an image (``image/webp``) is a plain part without ``.image``: its bytes
    are taken as they are (decoded, or not, with the same checks as any picture)."""
    try:
        return shape.image.blob
    except AttributeError:
        pass
    except Exception:
        return None
    try:
        blob = shape.part.related_part(shape._element.blip_rId).blob
    except Exception:
        return None
    return blob if isinstance(blob, bytes) else None


def blob_key(blob: bytes) -> str:
    return hashlib.sha1(blob).hexdigest()
