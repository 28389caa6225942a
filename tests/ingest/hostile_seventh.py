"""Generated hostile files of the seventh pass: work MuPDF does outside the page's own operators that the
page budget did not count: an image's own colour space, soft masks (their group and transfer function),
shadings and patterns a Type 3 glyph paints; slides and notes of millions of XML elements. Each file is a few
KB to a few MB; the cost is in the drawing or the parse."""

from __future__ import annotations

import io
import random
import re
import zipfile
import zlib
from pathlib import Path

from pptx.util import Inches

from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects, rects_content
from tests.ingest.hostile_fifth import mesh_data
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def sampled_function(values: int, outputs: int = 3) -> bytes:
    """A one-input sampled function of ``values`` x ``outputs`` 8-bit values (zeros: deflated 1,000 to 1)."""
    samples = zlib.compress(bytes(values * outputs), 9)
    head = b"/FunctionType 0 /Domain [0 1] /Range [%s] /Size [%d] /BitsPerSample 8 /Filter /FlateDecode" % (
        b" ".join([b"0 1"] * outputs),
        values,
    )
    return _stream(samples, head)


def image_space_pdf(path: Path, values: int, space: str, images: int = 1) -> Path:
    """A bar chart page showing ``images`` 64 x 64 images, each with its own /ColorSpace (written in the
    image) a ``space`` (Separation, Indexed over a Separation, or DeviceN) whose tint transform samples
    ``values`` x 3 values (objects 6, 8, ...: image, function)."""
    spaces = {
        "Separation": (b"[/Separation /Spot /DeviceRGB %d 0 R]", b"\x80"),
        "Indexed": (b"[/Indexed [/Separation /Spot /DeviceRGB %d 0 R] 1 <00ff>]", b"\x01"),
        "DeviceN": (b"[/DeviceN [/Spot] /DeviceRGB %d 0 R]", b"\x80"),
    }
    colour_space, pixel = spaces[space]
    head = b"/Type /XObject /Subtype /Image /Width 64 /Height 64 /BitsPerComponent 8 /ColorSpace "
    more: list[bytes] = []
    for i in range(images):
        more += [_flate(pixel * 64 * 64, head + colour_space % (7 + 2 * i)), sampled_function(values + i)]
    paint = b"".join(b"q 40 0 0 40 %d 300 cm /Im%d Do Q\n" % (60 + 45 * i, i) for i in range(images))
    names = b" ".join(b"/Im%d %d 0 R" % (i, 6 + 2 * i) for i in range(images))
    resources = b"/Font << /F1 5 0 R >> /XObject << %s >>" % names
    objects = one_page_objects(resources, _flate(HEADING + bar_chart() + paint), HELVETICA, *more)
    path.write_bytes(_pdf_file(objects))
    return path


def soft_mask_pdf(
    path: Path, uses: int, group_paths: int = 0, transfer_values: int = 0, depth: int = 1
) -> Path:
    """A bar chart page that sets, ``uses`` times, a graphics state (6) whose soft mask's group (7) fills
    ``group_paths`` squares, each time painting one small square. ``depth`` > 1: that group sets, before its
    squares, a state whose mask's group is the same again (objects 8, 9, ...), ``depth`` groups in all.
    ``transfer_values``: the first mask's transfer function (the last object) samples that many values."""
    head = b"/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Group << /S /Transparency /CS /DeviceGray >>"
    more: list[bytes] = []
    for level in range(depth):
        inner = level + 1 < depth
        transfer = b" /TR %d 0 R" % (6 + 2 * depth) if transfer_values and level == 0 else b""
        more.append(
            b"<< /Type /ExtGState /SMask << /S /Luminosity /G %d 0 R%s >> >>" % (7 + 2 * level, transfer)
        )
        resources = b" /Resources << /ExtGState << /GS1 %d 0 R >> >>" % (8 + 2 * level) if inner else b""
        more.append(
            _flate((b"/GS1 gs " if inner else b"") + b"1 g " + rects_content(group_paths), head + resources)
        )
    if transfer_values:
        more.append(sampled_function(transfer_values, outputs=1))
    paint = b"".join(b"q /GS1 gs %d %d 2 2 re f Q\n" % (i * 7 % 600, i * 13 % 780) for i in range(uses))
    resources = b"/Font << /F1 5 0 R >> /ExtGState << /GS1 6 0 R >>"
    content = _flate(HEADING + bar_chart() + paint)
    path.write_bytes(_pdf_file(one_page_objects(resources, content, HELVETICA, *more)))
    return path


def type3_shading_pdf(path: Path, shown: int, triangles: int) -> Path:
    """A bar chart page showing ``shown`` characters of a Type 3 font whose one glyph paints a mesh shading
    (type 4) of ``triangles`` triangles named in the font's own resources."""
    glyph = _stream(b"10 0 d0 /Sh1 sh")
    mesh = _flate(
        mesh_data(triangles),
        b"/ShadingType 4 /ColorSpace /DeviceRGB /BitsPerCoordinate 16 /BitsPerComponent 8 /BitsPerFlag 8"
        b" /Decode [0 612 0 792 0 1 0 1 0 1]",
    )
    font = (
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 10 10] /FontMatrix [0.1 0 0 0.1 0 0]"
        b" /CharProcs << /g 7 0 R >> /Resources << /Shading << /Sh1 8 0 R >> >>"
        b" /Encoding << /Type /Encoding /Differences [97 /g] >> /FirstChar 97 /LastChar 97 /Widths [10] >>"
    )
    content = HEADING + bar_chart() + b"BT /F3 12 Tf 72 100 Td (%s) Tj ET\n" % (b"a" * shown)
    resources = b"/Font << /F1 5 0 R /F3 6 0 R >>"
    objects = one_page_objects(resources, _flate(content), HELVETICA, font, glyph, mesh)
    path.write_bytes(_pdf_file(objects))
    return path


def element_flood_pptx(path: Path, paragraphs: int, part: str = "ppt/slides/slide1.xml") -> Path:
    """A deck of two slides (a text box with notes, then a diagram) whose ``part`` (slide 1 or its notes
    slide) has its first text body stuffed with ``paragraphs`` one-run paragraphs (3 elements each) of
    random words (deflated about 10 to 1: under the zip bomb guard's ratio)."""
    prs = decks.new_deck()
    first = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    first.shapes.title.text = "Notes"
    first.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(3)).text_frame.text = "some text"
    first.notes_slide.notes_text_frame.text = "speaker notes"
    second = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    second.shapes.title.text = "Request path"
    decks.add_group_diagram(second, ("Client", "Gateway", "Store"))
    base = io.BytesIO()
    prs.save(base)
    out = io.BytesIO()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == part:
                flood = b"".join(b"<a:p><a:r><a:t>%s</a:t></a:r></a:p>" % w for w in _words(paragraphs))
                data, count = re.subn(rb"(<p:txBody>.*?<a:lstStyle/>)", rb"\1" + flood, data, count=1)
                assert count == 1, f"{part} has no text body to stuff"
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def _words(n: int) -> list[bytes]:
    """``n`` random lowercase words of 4-8 letters (a fixed seed)."""
    letters = random.Random(7).randbytes(8 * n).translate(bytes(97 + i % 26 for i in range(256)))
    return [letters[8 * i : 8 * i + 4 + i % 5] for i in range(n)]


def many_fonts_pdf(path: Path, fonts: int) -> Path:
    """A bar chart page whose resources name ``fonts`` distinct Helvetica font objects (6, 7, ...), each
    showing one letter."""
    names = b" ".join(b"/F%d %d 0 R" % (i, 6 + i) for i in range(fonts))
    text = b"".join(
        b"BT /F%d 1 Tf %d %d Td (a) Tj ET\n" % (i, 50 + i % 500, 50 + (i // 500) % 700) for i in range(fonts)
    )
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Name /X%d >>"
    objects = one_page_objects(
        b"/Font << /F1 5 0 R " + names + b" >>",
        _flate(HEADING + bar_chart() + text),
        HELVETICA,
        *[font % i for i in range(fonts)],
    )
    path.write_bytes(_pdf_file(objects))
    return path


def many_series_pptx(path: Path, series: int) -> Path:
    """A deck of one native bar chart (``pptx_decks.chart_deck``) whose first series is repeated ``series``
    times, each with its own index and order."""
    base = decks.chart_deck(path.with_suffix(".base.pptx"))
    out = io.BytesIO()
    with zipfile.ZipFile(base) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            found = (
                re.search(rb"<c:ser>.*?</c:ser>", data, re.S)
                if item.filename.startswith("ppt/charts/")
                else None
            )
            if found is not None:
                one = found.group(0)
                copies = (
                    one.replace(b'<c:idx val="0"/>', b'<c:idx val="%d"/>' % i).replace(
                        b'<c:order val="0"/>', b'<c:order val="%d"/>' % i
                    )
                    for i in range(series)
                )
                data = data[: found.start()] + b"".join(copies) + data[found.end() :]
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path
