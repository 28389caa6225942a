"""Small generated PDFs for the service tests: raster figures with captions, distinct per document."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw

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


def figure_pdf(path: Path, seed: int, n_figures: int = 2) -> Path:
    """A one-page PDF with ``n_figures`` captioned raster figures about topics picked by ``seed``."""
    rng = random.Random(seed)
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    page.insert_text((56, 60), f"Report {seed}", fontsize=16)
    for i in range(n_figures):
        top = 90 + i * 360
        topic = rng.choice(TOPICS)
        page.insert_image(pymupdf.Rect(100, top, 460, top + 240), stream=figure_png(seed * 100 + i))
        page.insert_text((100, top + 262), f"Figure {i + 1}: {topic} in report {seed}.", fontsize=10)
    path.write_bytes(doc.tobytes())
    return path
