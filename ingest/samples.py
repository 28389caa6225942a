"""The demo documents figvault makes itself: a small PDF report and a small PPTX deck.

The PDF has a vector bar chart and a boxes-and-arrows architecture diagram, both drawn with PyMuPDF path
operators (no images), with captions and sentences that cite them. The deck has a native bar chart, a
picture, a grouped diagram of shapes and connectors, slide titles and speaker notes.

The bytes are deterministic (fixed metadata dates, fixed zip timestamps, no random ids), so writing the
samples twice gives identical files and re-running ``figvault demo`` changes nothing.
"""

from __future__ import annotations

import io
import itertools
import re
import zipfile
from datetime import datetime
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw

PDF_NAME = "figvault-demo-report.pdf"
PPTX_NAME = "figvault-demo-deck.pptx"
FIXED_DATE = datetime(2024, 1, 1, 12, 0, 0)
_PDF_DATE = "D:20240101120000Z"
_W3CDTF = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")

REVENUE = {"North": (12.0, 15.5, 14.2, 18.9), "South": (9.1, 11.4, 13.8, 12.2)}
QUARTERS = ("Q1", "Q2", "Q3", "Q4")


def write_sample_documents(folder: Path) -> list[Path]:
    """Write the demo PDF and PPTX into ``folder``; files already holding the same bytes are left alone."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in ((PDF_NAME, sample_pdf_bytes()), (PPTX_NAME, sample_pptx_bytes())):
        target = folder / name
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        written.append(target)
    return written


# --- PDF --------------------------------------------------------------------------------------------


def sample_pdf_bytes() -> bytes:
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)  # A4 portrait
    page.insert_text((56, 70), "Quarterly Operations Report", fontsize=20, fontname="hebo")
    page.insert_textbox(
        pymupdf.Rect(56, 90, 540, 140),
        "Revenue grew in both regions this year. Figure 1 shows quarterly revenue by region; the North "
        "region overtook its plan in Q4.",
        fontsize=10,
    )
    _draw_bar_chart(page, pymupdf.Rect(80, 150, 520, 400))
    page.insert_text((56, 430), "Figure 1: Quarterly revenue by region (million EUR).", fontsize=10)

    page.insert_text((56, 480), "Service architecture", fontsize=14, fontname="hebo")
    page.insert_textbox(
        pymupdf.Rect(56, 490, 540, 530),
        "Requests pass the gateway before reaching the search service, as Figure 2 illustrates.",
        fontsize=10,
    )
    _draw_architecture(page, pymupdf.Rect(80, 540, 520, 720))
    page.insert_text(
        (56, 750), "Figure 2: Request flow from the web client to the vector store.", fontsize=10
    )

    doc.set_metadata(
        {
            "title": "figvault demo report",
            "author": "figvault",
            "creator": "figvault samples",
            "producer": "PyMuPDF",
            "creationDate": _PDF_DATE,
            "modDate": _PDF_DATE,
        }
    )
    data = doc.tobytes(garbage=3, deflate=True, no_new_id=True)
    doc.close()
    return data


def _draw_bar_chart(page: pymupdf.Page, area: pymupdf.Rect) -> None:
    left, bottom = area.x0 + 40, area.y1 - 30
    top, right = area.y0 + 10, area.x1 - 10
    page.draw_line((left, bottom), (right, bottom), color=(0, 0, 0), width=1)
    page.draw_line((left, bottom), (left, top), color=(0, 0, 0), width=1)
    peak = 20.0
    for tick in range(0, 21, 5):
        y = bottom - (bottom - top) * tick / peak
        page.draw_line((left - 4, y), (left, y), color=(0, 0, 0), width=0.5)
        page.insert_text((left - 26, y + 3), str(tick), fontsize=8)
    colors = {"North": (0.27, 0.45, 0.77), "South": (0.93, 0.49, 0.19)}
    slot = (right - left) / len(QUARTERS)
    for qi, quarter in enumerate(QUARTERS):
        for si, (region, values) in enumerate(REVENUE.items()):
            x0 = left + qi * slot + 12 + si * (slot - 24) / 2
            height = (bottom - top) * values[qi] / peak
            page.draw_rect(
                pymupdf.Rect(x0, bottom - height, x0 + (slot - 24) / 2, bottom),
                color=None,
                fill=colors[region],
            )
        page.insert_text((left + qi * slot + slot / 2 - 8, bottom + 14), quarter, fontsize=9)
    page.insert_text((left - 34, top - 2), "M EUR", fontsize=8)
    for si, (region, color) in enumerate(colors.items()):
        y = area.y0 + 14 + si * 14
        page.draw_rect(pymupdf.Rect(right - 70, y - 7, right - 62, y + 1), color=None, fill=color)
        page.insert_text((right - 58, y), region, fontsize=8)


def _draw_architecture(page: pymupdf.Page, area: pymupdf.Rect) -> None:
    boxes = {
        "Web client": pymupdf.Rect(area.x0, area.y0 + 60, area.x0 + 90, area.y0 + 110),
        "API gateway": pymupdf.Rect(area.x0 + 130, area.y0 + 60, area.x0 + 220, area.y0 + 110),
        "Search service": pymupdf.Rect(area.x0 + 260, area.y0 + 60, area.x0 + 350, area.y0 + 110),
        "Vector store": pymupdf.Rect(area.x0 + 260, area.y0 + 135, area.x0 + 350, area.y0 + 180),
        "Auth": pymupdf.Rect(area.x0 + 130, area.y0, area.x0 + 220, area.y0 + 40),
    }
    for name, rect in boxes.items():
        page.draw_rect(rect, color=(0.2, 0.2, 0.2), fill=(0.85, 0.91, 0.97), width=1)
        page.insert_textbox(
            pymupdf.Rect(rect.x0 + 4, rect.y0 + rect.height / 2 - 6, rect.x1 - 4, rect.y1),
            name,
            fontsize=9,
            align=1,
        )
    arrows = [
        ("Web client", "API gateway"),
        ("API gateway", "Search service"),
        ("Search service", "Vector store"),
        ("API gateway", "Auth"),
    ]
    for src, dst in arrows:
        a, b = boxes[src], boxes[dst]
        if abs(a.y0 - b.y0) < 1:  # side by side: arrow from right edge to left edge
            start, end = pymupdf.Point(a.x1, (a.y0 + a.y1) / 2), pymupdf.Point(b.x0, (b.y0 + b.y1) / 2)
        else:  # stacked: arrow between the facing edges
            below = b.y0 > a.y0
            start = pymupdf.Point((a.x0 + a.x1) / 2, a.y1 if below else a.y0)
            end = pymupdf.Point((b.x0 + b.x1) / 2, b.y0 if below else b.y1)
        page.draw_line(start, end, color=(0, 0, 0), width=1.2)
        _arrow_head(page, start, end)


def _arrow_head(page: pymupdf.Page, start: pymupdf.Point, end: pymupdf.Point) -> None:
    direction = end - start
    length = abs(direction) or 1.0
    unit = direction / length
    normal = pymupdf.Point(-unit.y, unit.x)
    base = end - unit * 7
    page.draw_polyline(
        [base + normal * 3.5, end, base - normal * 3.5], color=(0, 0, 0), fill=(0, 0, 0), closePath=True
    )


# --- PPTX -------------------------------------------------------------------------------------------


def sample_pptx_bytes() -> bytes:
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
    from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
    from pptx.util import Inches, Pt

    prs = Presentation()
    props = prs.core_properties
    props.title, props.author = "figvault demo deck", "figvault"
    props.created = props.modified = FIXED_DATE
    props.last_modified_by, props.revision = "figvault", 1
    title_only = prs.slide_layouts[5]

    slide = prs.slides.add_slide(title_only)
    slide.shapes.title.text = "Quarterly revenue by region"
    data = CategoryChartData()
    data.categories = list(QUARTERS)
    for region, values in REVENUE.items():
        data.add_series(region, values)
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.6), Inches(8), Inches(4.6), data
    )
    chart = frame.chart
    chart.has_title = True
    chart.chart_title.text_frame.text = "Revenue (million EUR)"
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.BOTTOM
    chart.legend.include_in_layout = False
    slide.notes_slide.notes_text_frame.text = "North overtook its plan in Q4; South dipped after Q3."

    slide = prs.slides.add_slide(title_only)
    slide.shapes.title.text = "Field photo of the data centre"
    slide.shapes.add_picture(io.BytesIO(sample_picture_png()), Inches(2), Inches(1.6), Inches(6), Inches(4))
    caption = slide.shapes.add_textbox(Inches(2), Inches(5.7), Inches(6), Inches(0.5))
    caption.text_frame.text = "Figure 2: Rack row B after the 2024 upgrade."
    caption.text_frame.paragraphs[0].runs[0].font.size = Pt(14)

    slide = prs.slides.add_slide(title_only)
    slide.shapes.title.text = "Ingest pipeline"
    group = slide.shapes.add_group_shape()
    steps = ("Upload", "Extract", "Encode", "Index")
    boxes = []
    for i, name in enumerate(steps):
        box = group.shapes.add_shape(
            MSO_SHAPE.ROUNDED_RECTANGLE, Inches(0.6 + i * 2.3), Inches(3), Inches(1.7), Inches(1)
        )
        box.text_frame.text = name
        boxes.append(box)
    for left, right in itertools.pairwise(boxes):
        line = group.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, 0, 0, 0, 0)
        line.begin_connect(left, 3)
        line.end_connect(right, 1)
    slide.notes_slide.notes_text_frame.text = (
        "Each step is idempotent; failed files are reported, not retried."
    )

    out = io.BytesIO()
    prs.save(out)
    return _fixed_zip_times(out.getvalue())


def sample_picture_png() -> bytes:
    """A deterministic 'photo': a gradient sky, a row of server racks, blinking lights."""
    img = Image.new("RGB", (640, 420), "white")
    draw = ImageDraw.Draw(img)
    for y in range(420):
        shade = 200 - y // 4
        draw.line([(0, y), (640, y)], fill=(shade // 2, shade // 2 + 20, shade))
    for i in range(6):
        x = 40 + i * 100
        draw.rectangle((x, 90, x + 70, 380), fill=(40, 44, 52), outline=(160, 160, 170), width=2)
        for j in range(10):
            y = 110 + j * 26
            draw.rectangle((x + 8, y, x + 62, y + 16), fill=(70, 74, 84))
            draw.ellipse(
                (x + 50, y + 5, x + 56, y + 11), fill=(60, 220, 90) if (i + j) % 3 else (240, 180, 40)
            )
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _fixed_zip_times(data: bytes) -> bytes:
    """Rewrite a zip with fixed member timestamps (python-pptx stamps the current time).

    Embedded packages (the chart's Excel workbook) are normalised too: xlsxwriter writes the current time
    into their ``docProps/core.xml``.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith((".xlsx", ".docx", ".pptx")):
                body = _fixed_zip_times(body)
            elif info.filename == "docProps/core.xml":
                body = _W3CDTF.sub(rb"\g<1>2024-01-01T12:00:00Z\g<2>", body)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 12, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, body)
    return out.getvalue()
