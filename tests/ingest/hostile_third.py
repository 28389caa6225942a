"""Generated hostile files of the third pass: costs that hide in what a page refers to rather than in its own
operators (a font's ToUnicode map, a chart's points), a document's own metadata, and pictures that are slow
for OCR. Each file is a few KB to a few MB; the cost is in the reading."""

from __future__ import annotations

import io
import random
import re
import zlib
from pathlib import Path

import pymupdf
from PIL import Image, ImageDraw

from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects
from tests.ingest.hostile_fresh import rewrite_pptx

HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
HEADING = b"BT /F1 12 Tf 72 740 Td (Figure 1: a bar chart) Tj ET\n"


def _flate(data: bytes, head: bytes = b"") -> bytes:
    return _stream(zlib.compress(data, 9), head + b" /Filter /FlateDecode")


def bar_chart(fill: bytes = b"0 0 1 rg") -> bytes:
    """Content of a bar chart every reader finds: two axes and six bars of different heights in ``fill``."""
    heights = (120, 300, 200, 420, 80, 250)
    bars = b" ".join(b"%d 200 40 %d re f" % (100 + 60 * i, h) for i, h in enumerate(heights))
    return b"0 0 0 RG 1 w 90 200 m 480 200 l S 90 200 m 90 650 l S " + fill + b" " + bars + b"\n"


def unicode_flood_pdf(path: Path, shown: int, units: int) -> Path:
    """A bar chart page whose font's ToUnicode map turns the code ``a`` into ``units`` letters, and one
    ``Tj`` showing ``shown`` a's (1.5 KB for 500,000 x 100)."""
    target = b"".join(b"%04X" % (0x41 + i % 26) for i in range(units))
    cmap = (
        b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap /CMapName /Flood def"
        b" 1 begincodespacerange <00> <FF> endcodespacerange 1 beginbfchar <61> <" + target + b"> endbfchar"
        b" endcmap CMapName currentdict /CMap defineresource pop end end"
    )
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 6 0 R >>"
    content = HEADING + bar_chart() + b"BT /F1 1 Tf 72 50 Td (" + b"a" * shown + b") Tj ET\n"
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(content), font, _flate(cmap))
    path.write_bytes(_pdf_file(objects))
    return path


def long_info_pdf(path: Path, chars: int) -> Path:
    """A bar chart page whose document info claims a title and an author of ``chars`` characters each."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects.append(b"<< /Title (" + b"T" * chars + b") /Author (" + b"A" * chars + b") >>")
    data = _pdf_file(objects).replace(b"/Root 1 0 R", b"/Root 1 0 R /Info %d 0 R" % len(objects))
    path.write_bytes(data)
    return path


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


def letter_noise_png(seed: int, size: tuple[int, int] = (1500, 1000)) -> bytes:
    """A picture Tesseract is slow on: rows of random small letters on white (a flat background, so OCR
    reads it), 1.5 Mpx: 2-4 CPU-s a read here."""
    rng = random.Random(seed)
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for y in range(0, size[1], 9):
        draw.text((0, y), "".join(rng.choice("abcdefghijklmnopqrstuvwxyz ") for _ in range(300)), fill=0)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def slow_ocr_pdf(path: Path, pages: int) -> Path:
    """``pages`` pages, each one picture of its own that OCR reads slowly (``letter_noise_png``)."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page(width=612, height=792)
        top = 100 + 15 * number  # a picture at one place on many pages would be a logo
        page.insert_image(pymupdf.Rect(100, top, 460, top + 240), stream=letter_noise_png(number))
    doc.save(path)
    doc.close()
    return path


def tiling_pdf(path: Path, step: float, cell: float, paths: int = 1) -> Path:
    """A bar chart page whose bars are filled with a tiling pattern: a ``cell`` pt square cell of ``paths``
    small squares, repeated every ``step`` pt (a step under the cell: copies drawn over each other)."""
    squares = b" ".join(
        b"%g %g %g %g re f" % (i * 3 % cell, i * 7 % cell, cell / 10, cell / 10) for i in range(paths)
    )
    head = b"/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 %g %g] /XStep %g /YStep %g /Resources << >>"
    pattern = _flate(b"0 0 1 rg " + squares, head % (cell, cell, step, step))
    content = HEADING + bar_chart(b"/Pattern cs /P1 scn")
    resources = b"/Font << /F1 5 0 R >> /Pattern << /P1 6 0 R >>"
    path.write_bytes(_pdf_file(one_page_objects(resources, _flate(content), HELVETICA, pattern)))
    return path


def long_path_pdf(path: Path, points: int, clip: bool = False) -> Path:
    """A bar chart page with one path of ``points`` points, stroked (or, ``clip``, clipping the chart): one
    painting operator, 10 MB of content per million points, 80 KB compressed."""
    ups = b"\n".join(b"%d %d l" % (100 + i * 7 % 400, 100 + i * 13 % 500) for i in range(points))
    if clip:
        content = HEADING + b"q 100 100 m\n" + ups + b"\nh W n " + bar_chart() + b"Q\n"
    else:
        content = HEADING + bar_chart() + b"0 0 1 RG 100 100 m\n" + ups + b"\nS\n"
    path.write_bytes(_pdf_file(one_page_objects(b"/Font << /F1 5 0 R >>", _flate(content), HELVETICA)))
    return path


def sixteen_bit_png(lines: tuple[str, ...], size: tuple[int, int] = (900, 360)) -> bytes:
    """A 16-bit greyscale PNG (PIL mode ``I;16``) of dark ``lines`` on a light background, the full 16-bit
    range used (levels x 257)."""
    image = Image.new("L", size, 245)
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((20, 30 + 60 * i), line, fill=20, font_size=32)
    levels = b"".join((v * 257).to_bytes(2, "little") for v in image.tobytes())
    wide = Image.frombytes("I;16", size, levels)
    out = io.BytesIO()
    wide.save(out, "PNG")
    return out.getvalue()
