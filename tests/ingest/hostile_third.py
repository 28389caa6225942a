"""Generated hostile files of the third pass: costs that hide in what a page refers to rather than in its own
operators (a font's ToUnicode map, a chart's points), a document's own metadata, and pictures that are slow
for OCR. Each file is a few KB to a few MB; the cost is in the reading."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ingest.hostile_fresh import rewrite_pptx


def chart_points_pptx(path: Path, base: bytes, points: int, declared: int | None = None) -> Path:
    """``base`` (a deck with one column chart) whose chart's categories and series hold ``points`` points
    each, and say they hold ``declared`` (default: as many)."""
    count = b'<c:ptCount val="%d"/>' % (points if declared is None else declared)
    values = b"".join(b'<c:pt idx="%d"><c:v>%d</c:v></c:pt>' % (i, i % 17) for i in range(points))
    labels = b"".join(b'<c:pt idx="%d"><c:v>day %d</c:v></c:pt>' % (i, i) for i in range(points))
    numbers = b"<c:numCache><c:formatCode>General</c:formatCode>" + count + values + b"</c:numCache>"
    strings = b"<c:strCache>" + count + labels + b"</c:strCache>"

    def edit(name: str, data: bytes) -> bytes:
        if re.fullmatch(r"ppt/charts/chart\d+\.xml", name):
            data = re.sub(rb"<c:numCache>.*?</c:numCache>", lambda _: numbers, data, flags=re.S)
            data = re.sub(rb"<c:strCache>.*?</c:strCache>", lambda _: strings, data, flags=re.S)
        return data

    return rewrite_pptx(path, base, edit)
