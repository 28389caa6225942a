"""A plain sketch of slide shapes with PIL, for when LibreOffice is not installed.

Not a renderer: boxes with their solid fill colour, outlines, connector lines, embedded pictures, chart
bars from the chart's own data, and the shapes' text. Enough for an image encoder to see "boxes and
arrows" or "a bar chart", and for a person to recognise the figure; docs/pptx.md says so.
"""

from __future__ import annotations

import io
import math
from typing import Any

from PIL import Image, ImageDraw, ImageFont
from pptx.oxml.ns import qn

from figvault.errors import UnsafeFileError
from figvault.ingest.safety import open_image_checked
from figvault.ingest.slide_chart import category_labels, plot_series, series_values
from figvault.ingest.slide_shapes import (
    CHART,
    CONNECTOR,
    PICTURE,
    Box,
    clean_text,
    iter_leaves,
    picture_blob,
    role_of,
)

SKETCH_MAX_SOURCE_PIXELS = 50_000_000
_OUTLINE = (90, 90, 90)


def sketch_region(shapes: list[Any], region: Box, dpi: int, max_pixels: int) -> tuple[bytes, int, int] | None:
    """PNG of ``shapes`` drawn inside ``region`` (slide points); None for an empty region."""
    if region.width <= 0 or region.height <= 0:
        return None
    zoom = dpi / 72
    if region.area * zoom * zoom > max_pixels:
        zoom = math.sqrt(max_pixels / region.area)
    size = (max(1, round(region.width * zoom)), max(1, round(region.height * zoom)))
    canvas = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(8, round(10 * zoom)))

    def to_px(box: Box) -> tuple[float, float, float, float]:
        return ((box.x0 - region.x0) * zoom, (box.y0 - region.y0) * zoom,
                (box.x1 - region.x0) * zoom, (box.y1 - region.y0) * zoom)  # fmt: skip

    for shape in shapes:
        for leaf, box in iter_leaves(shape):
            x0, y0, x1, y1 = to_px(box)
            role = role_of(leaf)
            if role == PICTURE:
                _paste_picture(canvas, leaf, (x0, y0, x1, y1))
            elif role == CONNECTOR:
                _draw_connector(draw, leaf, (x0, y0, x1, y1), zoom)
            elif role == CHART:
                _draw_chart(draw, leaf, (x0, y0, x1, y1), font)
            else:
                fill = _solid_fill(leaf)
                if fill is not None or role not in ("text", "frame"):
                    draw.rectangle((x0, y0, max(x0, x1), max(y0, y1)), fill=fill, outline=_OUTLINE)
            text = (
                clean_text(leaf.text_frame.text)
                if getattr(leaf, "has_text_frame", False) and leaf.has_text_frame
                else ""
            )
            if text and role != CHART:
                draw.multiline_text((x0 + 2 * zoom, y0 + 2 * zoom), text, fill="black", font=font)
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue(), size[0], size[1]


def _solid_fill(shape: Any) -> str | None:
    sp_pr = shape._element.find(qn("p:spPr"))
    color = sp_pr.find(f"{qn('a:solidFill')}/{qn('a:srgbClr')}") if sp_pr is not None else None
    return f"#{color.get('val')}" if color is not None and len(color.get("val", "")) == 6 else None


def _paste_picture(canvas: Image.Image, shape: Any, px: tuple[float, float, float, float]) -> None:
    """The picture scaled into ``px``; its outline when it cannot be decoded, or is larger than a sketch
    decodes (``SKETCH_MAX_SOURCE_PIXELS``): a 60 MP camera photo in a diagram failed the whole deck as a
    decompression bomb (a hostile-file audit, 2026-12-07), where a deck's pictures over the extraction's
    own limit are skipped with a warning before this (``safety.without_oversized_images``)."""
    blob = picture_blob(shape)
    w, h = round(px[2] - px[0]), round(px[3] - px[1])
    try:
        img = open_image_checked(blob, SKETCH_MAX_SOURCE_PIXELS, keep_pixels=4 * w * h) if blob else None
    except UnsafeFileError:
        img = None
    if img is None or w < 1 or h < 1:
        ImageDraw.Draw(canvas).rectangle(px, outline=_OUTLINE)
        return
    # keep_pixels 4 w h: decoded with at least w x h pixels (4/9 of it), so never enlarged.
    # Through RGBA: palette images with transparency keep it, and paste() uses it as the mask.
    rgba = img.convert("RGBA").resize((w, h))
    canvas.paste(rgba, (round(px[0]), round(px[1])), rgba)


def _draw_connector(
    draw: ImageDraw.ImageDraw, shape: Any, px: tuple[float, float, float, float], zoom: float
) -> None:
    x0, y0, x1, y1 = px
    xfrm = shape._element.find(f"{qn('p:spPr')}/{qn('a:xfrm')}")
    flip_h = xfrm is not None and xfrm.get("flipH") == "1"
    flip_v = xfrm is not None and xfrm.get("flipV") == "1"
    start = (x1 if flip_h else x0, y1 if flip_v else y0)
    end = (x0 if flip_h else x1, y0 if flip_v else y1)
    draw.line((start, end), fill=_OUTLINE, width=max(1, round(zoom)))


def _draw_chart(
    draw: ImageDraw.ImageDraw, shape: Any, px: tuple[float, float, float, float], font: ImageFont.ImageFont
) -> None:
    """Title, then bars of every series side by side per category (scaled to the largest value), labelled.

    A chart of more categories than the frame has pixel columns draws the highest value of each column's
    categories, and labels at most one category per line height of width: a native chart of 100,000 points
    drew 100,000 bars and 100,000 labels (52 of the 107 CPU-s of a 300,000-point deck, load 25)."""
    x0, y0, x1, y1 = px
    draw.rectangle(px, outline=_OUTLINE)
    try:
        chart = shape.chart
        plots = list(chart.plots)
        series = [[v or 0.0 for v in series_values(s)] for plot in plots for s in plot_series(plot)]
        categories = category_labels(plots[0]) if plots else []
        title = chart.chart_title.text_frame.text if chart.has_title else ""
    except Exception:  # a chart python-pptx cannot read stays an empty frame
        return
    series = [s for s in series if s]
    if not series:
        return
    line = font.size if hasattr(font, "size") else 10
    top_y = y0 + line * 2
    if title:
        draw.text(((x0 + x1) / 2, y0 + line * 0.5), title, fill="black", font=font, anchor="ma")
    base_y = y1 - line * 2 if categories else y1
    peak = max(max(s) for s in series) or 1.0
    step = math.ceil(max(len(s) for s in series) / max(1.0, x1 - x0))  # categories per pixel column
    series = [[max(s[i : i + step]) for i in range(0, len(s), step)] for s in series]
    n_cat = max(len(s) for s in series)
    slot = (x1 - x0) / n_cat
    bar = slot * 0.8 / len(series)
    palette = ["#4472c4", "#ed7d31", "#a5a5a5", "#ffc000", "#5b9bd5", "#70ad47"]
    for si, values in enumerate(series):
        for ci, value in enumerate(values):
            left = x0 + ci * slot + slot * 0.1 + si * bar
            # A frame lower than its title and label lines leaves the bars no room (not less than none:
            # PIL refused the upside-down box, failing the deck; a 30 pt chart under a heading)
            height = max(base_y - top_y, 0.0) * max(value, 0.0) / peak
            draw.rectangle((left, base_y - height, left + bar, base_y), fill=palette[si % len(palette)])
    every = math.ceil(n_cat / max(1.0, (x1 - x0) / line))  # labels at least a line's height apart
    for ci in range(0, min(n_cat, math.ceil(len(categories) / step)), every):
        label = categories[ci * step]
        draw.text((x0 + (ci + 0.5) * slot, base_y + line * 0.5), label, fill="black", font=font, anchor="ma")
