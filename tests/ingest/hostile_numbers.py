"""Generated decks whose XML holds a number that is none: a slide size of ``cy="abc"``, a group offset of
``y="1e9"``, a font size, a bold flag, a picture crop or a chart's point count no reader can take. Each
failed the whole deck with a bare ``ValueError`` or ``InvalidXmlError`` before (a hostile-file audit,
2026-12-07, and its attribute sweep)."""

from __future__ import annotations

import io
import re
from pathlib import Path

from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Inches, Pt

from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_fresh import rewrite_pptx


def three_slides(path: Path) -> Path:
    """Slide 1 a picture, slides 2 and 3 a group diagram each (``Group 2`` on both)."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Photo"
    slide.shapes.add_picture(io.BytesIO(decks.png_bytes()), Inches(2), Inches(2), Inches(4), Inches(3))
    for title, labels in (("Request path", ("Client", "Gateway")), ("Storage", ("Writer", "Disk"))):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
        slide.shapes.title.text = title
        decks.add_group_diagram(slide, labels)
    return decks.save(prs, path)


def nested_groups(path: Path) -> Path:
    """One slide: group ``Outer`` holding a box and group ``Inner`` (itself holding a box beside it)."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Nested"
    outer = slide.shapes.add_group_shape()
    outer.name = "Outer"
    outer.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, Inches(4), Inches(2), Inches(2), Inches(1.5)
    ).text_frame.text = "Out"
    inner = outer.shapes.add_group_shape()
    inner.name = "Inner"
    inner.shapes.add_shape(
        MSO_SHAPE.RECTANGLE, Inches(1), Inches(2), Inches(2), Inches(1.5)
    ).text_frame.text = "In"
    return decks.save(prs, path)


def kpi_and_heading(path: Path) -> Path:
    """Slide 1 two KPI tiles side by side (a 40 pt number over a 12 pt label); slide 2 an untitled chart
    under a bold one-line heading ("Units by region")."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "KPIs"
    for i, (number, label) in enumerate((("42%", "growth"), ("7.1M", "users"))):
        tile = slide.shapes.add_shape(
            MSO_SHAPE.RECTANGLE, Inches(1 + 2.6 * i), Inches(2), Inches(2.5), Inches(2)
        )
        tile.text_frame.text = number
        tile.text_frame.paragraphs[0].runs[0].font.size = Pt(40)
        run = tile.text_frame.add_paragraph().add_run()
        run.text, run.font.size = label, Pt(12)
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Sales"
    data = CategoryChartData()
    data.categories = ["North", "South"]
    data.add_series("Units", (3.0, 7.5))
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2.5), Inches(8), Inches(4), data)
    heading = slide.shapes.add_textbox(Inches(1), Inches(2), Inches(5), Inches(0.4)).text_frame
    heading.text = "Units by region"
    heading.paragraphs[0].runs[0].font.bold = True
    return decks.save(prs, path)


def cropped_picture(path: Path) -> Path:
    """One 300 x 200 picture shown with a tenth cropped off its left."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Photo"
    picture = slide.shapes.add_picture(
        io.BytesIO(decks.png_bytes()), Inches(2), Inches(2), Inches(4), Inches(3)
    )
    picture.crop_left = 0.1
    return decks.save(prs, path)


def with_value(
    path: Path, base: Path, part: str, tag: str, attr: str, value: str | None, after: str = ""
) -> Path:
    """``base`` with attribute ``attr`` of the first ``<tag`` element of member ``part`` (the first after
    ``after`` when given) set to ``value``; ``value`` None: the attribute removed."""

    def edit(name: str, data: bytes) -> bytes:
        if name != part:
            return data
        start = data.index(after.encode()) if after else 0
        found = re.compile(rb"<" + tag.encode() + rb"\b[^>]*>").search(data, start)
        assert found is not None, f"{part} has no <{tag}>"
        opening = b"<" + tag.encode()
        element = re.sub(rb"\s" + attr.encode() + rb'="[^"]*"', b"", found.group(0), count=1)
        if value is not None:
            element = element.replace(
                opening, opening + b" " + attr.encode() + b'="' + value.encode() + b'"', 1
            )
        return data[: found.start()] + element + data[found.end() :]

    return rewrite_pptx(path, base.read_bytes(), edit)


def with_point_counts(path: Path, base: Path, count: str) -> Path:
    """``base`` (a chart deck) with every ``c:ptCount`` of its chart part set to ``count``."""

    def edit(name: str, data: bytes) -> bytes:
        if not name.startswith("ppt/charts/chart"):
            return data
        return re.sub(rb'<c:ptCount val="[^"]*"/>', b'<c:ptCount val="' + count.encode() + b'"/>', data)

    return rewrite_pptx(path, base.read_bytes(), edit)
