"""Small PPTX decks built with python-pptx for the PPTX extractor tests (one job each)."""

from __future__ import annotations

import io
import itertools
import struct
import zlib
from pathlib import Path

from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.util import Inches, Pt

TITLE_ONLY = 5
BLANK = 6


def png_bytes(size: tuple[int, int] = (300, 200), color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    img = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(img)
    draw.ellipse((10, 10, size[0] - 10, size[1] - 10), fill=(20, 120, 220))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, with one tiny (wrong) data chunk."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def save(prs: Presentation, path: Path) -> Path:
    prs.save(str(path))
    return path


def new_deck() -> Presentation:
    prs = Presentation()  # 4:3, 720 x 540 pt
    return prs


def picture_deck(path: Path, blob: bytes | None = None, notes: str = "") -> Path:
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Network overview"
    slide.shapes.add_picture(io.BytesIO(blob or png_bytes()), Inches(2), Inches(2), Inches(4), Inches(3))
    if notes:
        slide.notes_slide.notes_text_frame.text = notes
    return save(prs, path)


def chart_deck(path: Path, points: int = 0) -> Path:
    """A column chart titled "Units per product" on a slide titled "Sales"; ``points``: a long series."""
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Sales"
    data = CategoryChartData()
    if points:
        data.categories = [f"day {i}" for i in range(points)]
        data.add_series("Units sold", [float(i % 17) for i in range(points)])
        data.add_series("Returns", [float(i % 5) for i in range(points)])
    else:
        data.categories = ["Alpha", "Beta", "Gamma"]
        data.add_series("Units sold", (3.0, 7.5, 4.0))
        data.add_series("Returns", (1.0, 0.5, 2.0))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.5), Inches(8), Inches(5), data
    )
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Units per product"
    return save(prs, path)


def add_group_diagram(
    slide: object, labels: tuple[str, ...], top_in: float = 3.0, fill: RGBColor | None = None
) -> None:
    """A group of rounded boxes with text, joined left to right by connectors inside the group."""
    group = slide.shapes.add_group_shape()  # type: ignore[attr-defined]
    boxes = []
    for i, label in enumerate(labels):
        box = group.shapes.add_shape(
            MSO_SHAPE.ROUNDED_RECTANGLE, Inches(0.5 + i * 2.2), Inches(top_in), Inches(1.6), Inches(1)
        )
        box.text_frame.text = label
        if fill is not None:
            box.fill.solid()
            box.fill.fore_color.rgb = fill
        boxes.append(box)
    for left, right in itertools.pairwise(boxes):
        line = group.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, 0, 0, 0, 0)
        line.begin_connect(left, 3)
        line.end_connect(right, 1)


def diagram_deck(path: Path, labels: tuple[str, ...] = ("Client", "Gateway", "Store")) -> Path:
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Request path"
    add_group_diagram(slide, labels)
    return save(prs, path)


def loose_shapes_deck(path: Path) -> Path:
    """Ungrouped boxes joined by connectors: still one diagram."""
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Loose shapes"
    a = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, Inches(1), Inches(2), Inches(1.5), Inches(1))
    b = slide.shapes.add_shape(MSO_SHAPE.OVAL, Inches(5), Inches(4), Inches(1.5), Inches(1))
    a.text_frame.text, b.text_frame.text = "Source", "Sink"
    line = slide.shapes.add_connector(MSO_CONNECTOR.ELBOW, 0, 0, 0, 0)
    line.begin_connect(a, 3)
    line.end_connect(b, 1)
    return save(prs, path)


def hidden_slide_deck(path: Path, fill: RGBColor = RGBColor(0xE0, 0x10, 0x10)) -> Path:
    """Slide 1 visible text, slide 2 hidden (blue box diagram), slide 3 a red box diagram."""
    prs = new_deck()
    first = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    first.shapes.title.text = "Intro"
    hidden = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    hidden.shapes.title.text = "Backup slide"
    add_group_diagram(hidden, ("Hidden A", "Hidden B"), fill=RGBColor(0x10, 0x10, 0xE0))
    hidden._element.set("show", "0")
    third = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    third.shapes.title.text = "Red pipeline"
    add_group_diagram(third, ("Red A", "Red B", "Red C"), fill=fill)
    third.notes_slide.notes_text_frame.text = "Speaker notes about the red pipeline."
    return save(prs, path)


def captioned_picture_deck(path: Path) -> Path:
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Results"
    slide.shapes.add_picture(io.BytesIO(png_bytes()), Inches(2), Inches(1.5), Inches(5), Inches(3.5))
    caption = slide.shapes.add_textbox(Inches(2), Inches(5.2), Inches(5), Inches(0.5))
    caption.text_frame.text = "Figure 4: Latency before and after the cache."
    caption.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    body = slide.shapes.add_textbox(Inches(0.5), Inches(6.3), Inches(9), Inches(0.5))
    body.text_frame.text = "Latency dropped by half."
    return save(prs, path)


def decorated_deck(path: Path, n_slides: int = 5) -> Path:
    """Every slide: a full-slide background picture, the same small logo in a corner, and one real figure."""
    prs = new_deck()
    background = png_bytes((400, 300), (240, 240, 250))
    logo = png_bytes((60, 60), (10, 160, 60))
    for i in range(n_slides):
        slide = prs.slides.add_slide(prs.slide_layouts[BLANK])
        slide.shapes.add_picture(io.BytesIO(background), 0, 0, prs.slide_width, prs.slide_height)
        slide.shapes.add_picture(io.BytesIO(logo), Inches(9.2), Inches(0.1), Inches(0.6), Inches(0.6))
        content = png_bytes((200 + i, 150), (30 * i % 255, 90, 140))
        slide.shapes.add_picture(io.BytesIO(content), Inches(1.5), Inches(1.5), Inches(5), Inches(4))
        note = slide.shapes.add_textbox(Inches(1.5), Inches(6.5), Inches(5), Inches(0.4))
        note.text_frame.text = f"Slide {i + 1} body text"
    return save(prs, path)


def text_only_deck(path: Path) -> Path:
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[1])  # title and content
    slide.shapes.title.text = "Agenda"
    slide.placeholders[1].text_frame.text = "One\nTwo\nThree"
    box = slide.shapes.add_textbox(Inches(1), Inches(6), Inches(5), Inches(0.5))
    box.text_frame.text = "Just words, no figure."
    return save(prs, path)


_SMARTART_FRAME = """<p:graphicFrame xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"
    xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"
    xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
  <p:nvGraphicFramePr>
    <p:cNvPr id="{id}" name="Diagram 1"/><p:cNvGraphicFramePr/><p:nvPr/>
  </p:nvGraphicFramePr>
  <p:xfrm><a:off x="914400" y="1828800"/><a:ext cx="6400800" cy="3200400"/></p:xfrm>
  <a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/diagram">
    <dgm:relIds xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram"
      r:dm="{rid}" r:lo="" r:qs="" r:cs=""/>
  </a:graphicData></a:graphic>
</p:graphicFrame>"""

_SMARTART_DATA = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<dgm:dataModel xmlns:dgm="http://schemas.openxmlformats.org/drawingml/2006/diagram"
    xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">
  <dgm:ptLst>{points}</dgm:ptLst>
</dgm:dataModel>"""


def smartart_deck(path: Path, items: tuple[str, ...] = ("Plan", "Build", "Run")) -> Path:
    """A SmartArt frame whose data part holds ``items`` (no drawing part: text only)."""
    from lxml import etree
    from pptx.opc.constants import RELATIONSHIP_TYPE as RT
    from pptx.opc.package import Part
    from pptx.opc.packuri import PackURI

    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    slide.shapes.title.text = "Delivery cycle"
    points = "".join(
        f'<dgm:pt modelId="{{0000000{i}-0000-0000-0000-000000000000}}"><dgm:t><a:bodyPr/>'
        f"<a:p><a:r><a:t>{item}</a:t></a:r></a:p></dgm:t></dgm:pt>"
        for i, item in enumerate(items)
    )
    part = Part(
        PackURI("/ppt/diagrams/data1.xml"),
        "application/vnd.openxmlformats-officedocument.drawingml.diagramData+xml",
        slide.part.package,
        _SMARTART_DATA.format(points=points).encode(),
    )
    rid = slide.part.relate_to(part, RT.DIAGRAM_DATA)
    frame = etree.fromstring(_SMARTART_FRAME.format(id=99, rid=rid))
    slide.shapes._spTree.append(frame)
    return save(prs, path)


def emf_bytes(runs: list[tuple[str, int, int, int]], size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A Windows enhanced metafile (what Visio and older Office export diagrams as) that draws each
    ``(text, x, y, advance)`` run as an EMR_EXTTEXTOUTW record: x, y its reference point, ``advance`` each
    character's width (logical units), and nothing else. PIL can tell its size but not draw it."""
    records = []
    for text, x, y, advance in runs:
        chars = text.encode("utf-16-le")
        chars += b"\0" * (-len(chars) % 4)
        text_at = 76
        dx_at = text_at + len(chars)
        size_bytes = dx_at + 4 * len(text)
        body = struct.pack("<iiii", x, y - 100, x + advance * len(text), y)  # bounds
        body += struct.pack("<Iff", 1, 1.0, 1.0)  # graphics mode, scales
        body += struct.pack("<iiIII", x, y, len(text), text_at, 0) + struct.pack("<iiii", 0, 0, 0, 0)
        body += struct.pack("<I", dx_at) + chars + struct.pack(f"<{len(text)}i", *[advance] * len(text))
        records.append(struct.pack("<II", 84, size_bytes) + body)
    records.append(struct.pack("<IIIII", 14, 20, 0, 16, 20))  # EMR_EOF
    width, height = size
    header = struct.pack("<II", 1, 88) + struct.pack("<iiii", 0, 0, width - 1, height - 1)
    header += struct.pack("<iiii", 0, 0, width * 2540 // 96, height * 2540 // 96)  # frame, 0.01 mm at 96 dpi
    total = 88 + sum(len(r) for r in records)
    header += b" EMF" + struct.pack("<IIIHHIII", 0x10000, total, len(records) + 1, 1, 0, 0, 0, 0)
    header += struct.pack("<iiii", 1920, 1080, 508, 286)  # device pixels and millimetres
    return header + b"".join(records)


def metafile_deck(path: Path, blob: bytes) -> Path:
    """One slide holding one vector picture (``blob``: EMF or WMF), untitled like an exported diagram."""
    prs = new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[BLANK])
    slide.shapes.add_picture(io.BytesIO(blob), Inches(1), Inches(1), Inches(6), Inches(4.5))
    return save(prs, path)
