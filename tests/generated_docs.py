"""Small generated PDFs for the service tests: raster figures with captions, distinct per document."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pymupdf
from PIL import Image, ImageDraw

Box = tuple[float, float, float, float]

TOPICS = (
    "revenue by region",
    "network architecture",
    "patient enrollment",
    "turbine vibration",
    "soil moisture",
    "customer churn",
    "memory bandwidth",
    "river discharge",
    "hiring pipeline",
    "solar output",
    "ticket backlog",
    "crop yield",
)


def figure_png(seed: int, size: tuple[int, int] = (240, 160)) -> bytes:
    rng = random.Random(seed)
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x0, y0 = rng.randrange(size[0] - 20), rng.randrange(size[1] - 20)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x0, y0, x0 + rng.randrange(10, 60), y0 + rng.randrange(10, 60)), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def damaged_pdf(whole: bytes) -> bytes:
    """``whole`` (a PDF) whose ``startxref`` points nowhere: MuPDF rebuilds its cross-reference table and
    reads it whole, with the damaged-PDF warning. (Cut in half, a one-page PDF's page cannot be read at all,
    and such a file fails: ``ingest/pdf.py``.)"""
    at = whole.rfind(b"startxref")
    return whole[:at] + b"startxref\n999999999\n%%EOF\n"


def figure_pdf(path: Path, seed: int, n_figures: int = 2, pages: int = 1) -> Path:
    """A PDF of ``pages`` pages, each with ``n_figures`` (at most 2) captioned raster figures about topics
    picked by ``seed``."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    for p in range(pages):
        page = doc.new_page(width=595, height=842)
        page.insert_text((56, 60), f"Report {seed}", fontsize=16)
        for i in range(n_figures):
            top = 90 + i * 360
            topic = rng.choice(TOPICS)
            n = p * n_figures + i  # the first page's figures are those of a one-page report
            page.insert_image(pymupdf.Rect(100, top, 460, top + 240), stream=figure_png(seed * 100 + n))
            page.insert_text((100, top + 262), f"Figure {n + 1}: {topic} in report {seed}.", fontsize=10)
    path.write_bytes(doc.tobytes())
    return path


PANEL_COLOURS = ((0.16, 0.38, 0.71), (0.93, 0.49, 0.19), (0.6, 0.6, 0.6), (0.98, 0.75, 0.2))


def _panel_title(page: pymupdf.Page, box: Box, title: str | None) -> float:
    """A chart panel's optional bold title at the box's top left, wrapped where it holds a newline; returns
    where the plot may start."""
    x0, y0 = box[0], box[1]
    if not title:
        return y0
    lines = title.split("\n")
    for k, line in enumerate(lines):
        page.insert_text((x0, y0 + 11 + 13 * k), line, fontsize=11, fontname="hebo")
    return y0 + 20 + 13 * (len(lines) - 1)


def stacked_bar_panel(
    page: pymupdf.Page, box: tuple[float, float, float, float], title: str | None, seed: int
) -> tuple[float, float, float, float]:
    """A survey-report chart panel drawn as vectors: an optional bold title, horizontal stacked bars (filled
    rectangles only, no axis lines), category labels on the left and a legend of coloured squares below.
    Returns the box the panel covers (title included)."""
    rng = random.Random(seed)
    x0, y0, x1, y1 = box
    top = _panel_title(page, box, title)
    bars_left, bars_right = x0 + 34, x1 - 5
    rows = 4
    row_h = (y1 - top - 16) / rows
    for r in range(rows):
        by = top + r * row_h
        page.insert_text((x0, by + row_h / 2 + 3), f"Group {chr(65 + r)}", fontsize=7)
        shares = [rng.uniform(0.1, 1.0) for _ in PANEL_COLOURS]
        left = bars_left
        for share, colour in zip(shares, PANEL_COLOURS, strict=True):
            width = (bars_right - bars_left) * 0.95 * share / sum(shares)
            page.draw_rect((left, by + 2, left + width, by + row_h - 2), color=None, fill=colour)
            left += width
    legend_y = y1 - 10
    for k, colour in enumerate(PANEL_COLOURS):
        lx = x0 + 5 + k * (x1 - x0 - 10) / len(PANEL_COLOURS)
        page.draw_rect((lx, legend_y, lx + 6, legend_y + 6), color=None, fill=colour)
        page.insert_text((lx + 9, legend_y + 6), f"Answer {k + 1}", fontsize=7)
    return (x0, y0, x1, y1)


def share_bar_panel(
    page: pymupdf.Page, box: tuple[float, float, float, float], title: str | None, seed: int, bars: int = 1
) -> tuple[float, float, float, float]:
    """A survey chart panel of ``bars`` 100 % stacked bars (an answer split into shares, each share printed
    in its segment), 8 pt apart, with their legend of coloured squares right under them, no axes. Returns
    the box."""
    rng = random.Random(seed)
    x0, y0, x1, _ = box
    top = _panel_title(page, box, title) + 10
    for _bar in range(bars):
        shares = [rng.uniform(0.1, 1.0) for _ in PANEL_COLOURS]
        left = x0 + 5
        for share, colour in zip(shares, PANEL_COLOURS, strict=True):
            width = (x1 - x0 - 10) * share / sum(shares)
            page.draw_rect((left, top, left + width, top + 28), color=None, fill=colour)
            page.insert_text((left + 2, top + 17), f"{round(100 * share / sum(shares))}%", fontsize=7)
            left += width
        top += 36
    for k, colour in enumerate(PANEL_COLOURS):
        lx = x0 + 5 + k * (x1 - x0 - 10) / len(PANEL_COLOURS)
        page.draw_rect((lx, top + 2, lx + 6, top + 8), color=None, fill=colour)
        page.insert_text((lx + 9, top + 8), f"Answer {k + 1}", fontsize=7)
    return (x0, y0, x1, top + 8)


def survey_page_pdf(
    path: Path,
    titles: tuple[str | None, ...],
    page_title: str = "Production readiness at a glance",
    backdrop: bool = False,
    size: tuple[float, float] = (792, 612),
    draw: Callable[..., Box] | None = None,
) -> tuple[Path, list[Box]]:
    """One page of a survey or KPI report: a page title, then chart panels in a two-column grid, no captions.

    ``backdrop``: the panels sit on one shared shaded card (a dashboard background that touches them all).
    ``draw``: the panel drawer, ``(page, box, title, seed)`` (default :func:`stacked_bar_panel`).
    Returns the file and the boxes the panels cover (as the drawer returns them), in ``titles`` order."""
    doc = pymupdf.open()
    page = doc.new_page(width=size[0], height=size[1])
    page.insert_text((36, 40), page_title, fontsize=20, fontname="hebo")
    width, height = (size[0] - 36 * 2 - 30) / 2, 170
    boxes = []
    for i, _ in enumerate(titles):
        col, row = i % 2, i // 2
        x0, y0 = 36 + col * (width + 30), 56 + row * (height + 24)
        boxes.append((x0, y0, x0 + width, y0 + height))
    if backdrop:
        page.draw_rect((30, 50, size[0] - 30, boxes[-1][3] + 6), color=None, fill=(0.94, 0.95, 0.97))
    drawn = [
        (draw or stacked_bar_panel)(page, box, title, seed=i)
        for i, (title, box) in enumerate(zip(titles, boxes, strict=True))
    ]
    path.write_bytes(doc.tobytes())
    return path, drawn


def gridded_bar_panel(
    page: pymupdf.Page,
    box: tuple[float, float, float, float],
    title: str | None,
    seed: int,
    rows: int = 2,
    path_per_series: bool = False,
) -> tuple[float, float, float, float]:
    """A survey chart panel with vertical gridlines (0-100 %) on a value axis behind horizontal bars, no
    curved path.

    Category labels right-aligned left of the bars, tick labels under the gridlines, the title at the
    panel's left edge. ``rows``: bars (two answers, "Yes" / "No", are no bar series of three).
    ``path_per_series``: each colour's bar segments are one path of several rectangles, as some chart
    tools export them (so no bar is a path of its own). Returns the box."""
    rng = random.Random(seed)
    x0, y0, x1, y1 = box
    top = _panel_title(page, box, title)
    left, right, bottom = x0 + 28, x1 - 8, y1 - 12
    page.draw_line((left, bottom), (right, bottom), color=(0.5, 0.5, 0.5), width=0.8)  # the value axis
    for k in range(5):
        gx = left + k * (right - left) / 4
        page.draw_line((gx, top), (gx, bottom), color=(0.8, 0.8, 0.8), width=0.5)
        page.insert_text((gx - 6, y1 - 2), f"{25 * k}%", fontsize=6)
    colours = PANEL_COLOURS[:3] if path_per_series else PANEL_COLOURS[:1]
    shapes = {colour: page.new_shape() for colour in colours}  # per bar, unless path_per_series
    row_h = (bottom - top) / rows
    for r in range(rows):
        by = top + r * row_h
        label = ("Yes", "No", "Unsure", "Other")[r % 4]  # right-aligned to the bars
        page.insert_text(
            (left - 3 - pymupdf.get_text_length(label, fontsize=7), by + row_h / 2 + 3), label, fontsize=7
        )
        start = left
        for colour in colours:
            width = (right - left) * rng.uniform(0.15, 0.9) / len(colours)
            shapes[colour].draw_rect((start, by + 3, start + width, by + row_h - 3))
            if not path_per_series:
                shapes[colour].finish(color=None, fill=colour)
            start += width
    for colour, shape in shapes.items():
        shape.finish(color=None, fill=colour)
        shape.commit()
    return (x0, y0, x1, y1)


def ruled_table(page: pymupdf.Page, box: Box, rows: int = 5, cols: int = 3, centred: bool = False) -> None:
    """A table set as text in ruled cells: a shaded header band, a rule under every row, no outer frame.

    ``centred``: each cell's text centred in it (then the cells of a column start at different x)."""
    x0, y0, x1, y1 = box
    row_h, col_w = (y1 - y0) / rows, (x1 - x0) / cols
    grey = (0.3, 0.3, 0.3)
    page.draw_rect((x0, y0, x1, y0 + row_h), color=None, fill=(0.85, 0.88, 0.95))
    for r in range(rows):
        page.draw_line((x0, y0 + (r + 1) * row_h), (x1, y0 + (r + 1) * row_h), color=grey, width=0.6)
        for c in range(cols):
            lead = ("", "all ", "most of the ")[(r + c) % 3]  # cells of different widths
            text = f"Column {c + 1}" if r == 0 else f"{lead}{r * 37 + c} nodes"
            indent = (col_w - pymupdf.get_text_length(text, fontsize=8)) / 2 if centred else 4
            page.insert_text((x0 + c * col_w + indent, y0 + r * row_h + row_h / 2 + 3), text, fontsize=8)
    for c in range(1, cols):
        page.draw_line((x0 + c * col_w, y0), (x0 + c * col_w, y1), color=grey, width=0.6)


def titled_picture_png(title: str | None, lines: tuple[str, ...], width_pt: float = 420) -> bytes:
    """A screenshot-like PNG (a plot or a documentation page exported as a picture): a large heading at
    its top, when ``title``, over smaller lines of text. Drawn by MuPDF, so only pixels remain."""
    doc = pymupdf.open()
    page = doc.new_page(width=width_pt, height=60 + 26 * len(lines))
    page.draw_rect(page.rect, color=None, fill=(0.97, 0.97, 0.99))
    if title:
        page.insert_text((14, 34), title, fontsize=24, fontname="hebo", color=(0.1, 0.1, 0.2))
    for i, line in enumerate(lines):
        page.insert_text((14, 70 + i * 26), line, fontsize=12, fontname="helv", color=(0.1, 0.1, 0.2))
    png = page.get_pixmap(dpi=150).tobytes("png")
    doc.close()
    return png


def clip_art_png(size: int = 240, photo: bool = False) -> bytes:
    """A sticker: a key drawn in two flat colours on white, no word in it (clip-art, an icon). ``photo``:
    the same key under camera-like noise over every pixel (a photograph, not flat)."""
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    gold, dark = (240, 190, 40), (150, 110, 20)
    draw.ellipse((20, 20, 120, 120), fill=gold, outline=dark, width=6)
    draw.ellipse((55, 55, 85, 85), fill=(255, 255, 255), outline=dark, width=4)
    draw.rectangle((110, 60, size - 20, 80), fill=gold, outline=dark, width=4)
    for x in (size - 60, size - 35):
        draw.rectangle((x, 80, x + 14, 115), fill=gold, outline=dark, width=3)
    if photo:
        rng = random.Random(5)
        noise = Image.new("RGB", image.size)
        noise.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(size * size)])
        image = Image.blend(image, noise, 0.45)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def pie_panel(page: pymupdf.Page, centre: tuple[float, float], radius: float, title: str) -> Box:
    """A survey pie chart drawn as vectors: four filled wedges in the panel colours around ``centre``, a
    bold title centred above it, a legend of coloured squares at its right. Returns the box it covers."""
    cx, cy = centre
    width = pymupdf.get_text_length(title, fontname="hebo", fontsize=11)
    page.insert_text((cx - width / 2, cy - radius - 12), title, fontsize=11, fontname="hebo")
    start = 0.0
    for colour, share in zip(PANEL_COLOURS, (0.4, 0.3, 0.2, 0.1), strict=True):
        end = start + 360 * share
        arc = [start + (end - start) * k / 24 for k in range(25)]
        points = [
            (cx + radius * math.cos(math.radians(a)), cy + radius * math.sin(math.radians(a))) for a in arc
        ]
        shape = page.new_shape()
        shape.draw_polyline(
            [pymupdf.Point(cx, cy), *(pymupdf.Point(p) for p in points), pymupdf.Point(cx, cy)]
        )
        shape.finish(color=None, fill=colour, closePath=True)
        shape.commit()
        start = end
    for k, colour in enumerate(PANEL_COLOURS):
        y = cy - 20 + 12 * k
        page.draw_rect((cx + radius + 6, y, cx + radius + 12, y + 6), color=None, fill=colour)
        page.insert_text((cx + radius + 15, y + 6), f"Answer {k + 1}", fontsize=7)
    return (min(cx - radius, cx - width / 2), cy - radius - 22, cx + radius + 50, cy + radius)


def noise_pdf(path: Path, seed: int) -> Path:
    """A one-page PDF with a captioned photo of noise: about 2.8 MiB of figure image once extracted."""
    rng = np.random.default_rng(seed)
    png = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(png, "PNG")
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_image(pymupdf.Rect(60, 90, 540, 570), stream=png.getvalue())
    page.insert_text((60, 600), f"Figure 1: site photo number {seed}.", fontsize=10)
    path.write_bytes(doc.tobytes())
    return path
