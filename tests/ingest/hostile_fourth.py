"""Generated hostile files of the fourth pass: page boxes that show nothing, text nodes over libxml2's limit,
patterns nested in pattern cells, and slow OCR against the document's deadline. Each file is a few KB to
a few MB; the cost is in the reading."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects, rects_content
from tests.ingest.hostile_fresh import rewrite_pptx
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def page_box_pdf(path: Path, box: bytes) -> Path:
    """A bar chart page whose ``/MediaBox`` entry is ``box`` (the array, and what follows it, such as
    ``/UserUnit 0``)."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects[2] = objects[2].replace(b"[0 0 612 792]", box)
    path.write_bytes(_pdf_file(objects))
    return path


def long_text_pptx(path: Path, base: bytes, text_bytes: int, unit: bytes = "é&amp;".encode()) -> Path:
    """``base`` (a deck from ``pptx_decks``) with a text box at the foot of slide 1 holding ``unit``
    repeated to ``text_bytes`` bytes in one ``<a:t>`` (default: a 2-byte letter and an entity, so that a
    cut lands inside one of them)."""
    text = unit * (text_bytes // len(unit))
    box = (
        b'<p:sp><p:nvSpPr><p:cNvPr id="9" name="Notes"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr>'
        b'<a:xfrm><a:off x="457200" y="5943600"/><a:ext cx="8229600" cy="457200"/></a:xfrm></p:spPr>'
        b"<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>" + text + b"</a:t></a:r></a:p></p:txBody></p:sp>"
    )

    def edit(name: str, data: bytes) -> bytes:
        return data.replace(b"</p:spTree>", box + b"</p:spTree>") if name == "ppt/slides/slide1.xml" else data

    return rewrite_pptx(path, base, edit)


def nested_tiling_pdf(path: Path, outer_fills: int, inner_paths: int, depth: int = 2) -> Path:
    """A bar chart page whose bars are filled with a tiling pattern whose 5 pt cell fills ``outer_fills``
    squares with a second pattern, and so on ``depth`` patterns deep; the innermost cell holds
    ``inner_paths`` squares. Each pattern names the next in its own resources (object 6 is the outermost)."""
    head = b"/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 5 5] /XStep 5 /YStep 5 /Resources << %s >>"
    squares = b" ".join(b"%g %g 0.5 0.5 re f" % (i * 3 % 5, i * 7 % 5) for i in range(inner_paths))
    patterns = [_flate(b"0 0 1 rg " + squares, head % b"")]
    fills = b" ".join(b"%g %g 0.5 0.5 re f" % (i * 3 % 5, i * 7 % 5) for i in range(outer_fills))
    for level in range(1, depth):  # object 6 + level paints with object 6 + level + 1
        inner = b"/Pattern << /Q 6 0 R >>".replace(b"6", b"%d" % (6 + depth - level))
        patterns.insert(0, _flate(b"/Pattern cs /Q scn " + fills, head % inner))
    content = HEADING + bar_chart(b"/Pattern cs /P1 scn")
    resources = b"/Font << /F1 5 0 R >> /Pattern << /P1 6 0 R >>"
    path.write_bytes(_pdf_file(one_page_objects(resources, _flate(content), HELVETICA, *patterns)))
    return path


def emf_plus_bytes(texts: list[str]) -> bytes:
    """An EMF (``pptx_decks.emf_bytes``) whose one EMR_COMMENT holds an EMF+ DrawString record per text
    (an empty text: a record that draws nothing), each on a line of its own."""
    plus = bytearray()
    for i, text in enumerate(texts):
        chars = text.encode("utf-16-le")
        size = 40 + len(chars)
        plus += struct.pack("<HHIIIII", 0x401C, 0, size, size - 12, 0, 0, len(text))
        plus += struct.pack("<ffff", 10.0, 20.0 * i, 400.0, 10.0) + chars
    comment = struct.pack("<III", 70, 16 + len(plus), len(plus) + 4) + b"EMF+" + bytes(plus)
    base = decks.emf_bytes([])
    return base[:88] + comment + base[88:]


def repeated_slide_pptx(path: Path, base: bytes, entries: int) -> Path:
    """``base`` (a one-slide deck) whose presentation.xml lists its slide ``entries`` times."""
    listed = b"".join(b'<p:sldId id="%d" r:id="\\1"/>' % (256 + i) for i in range(entries))

    def edit(name: str, data: bytes) -> bytes:
        if name != "ppt/presentation.xml":
            return data
        return re.sub(
            rb'<p:sldIdLst><p:sldId id="\d+" r:id="(\w+)"/></p:sldIdLst>',
            b"<p:sldIdLst>" + listed + b"</p:sldIdLst>",
            data,
        )

    return rewrite_pptx(path, base, edit)


def form_in_cell_pdf(path: Path, uses: int, form_paths: int) -> Path:
    """A bar chart page whose bars are filled with a tiling pattern whose 5 pt cell paints a form of
    ``form_paths`` squares ``uses`` times (the form named in the pattern's own resources)."""
    head = b"/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 5 5] /XStep 5 /YStep 5"
    pattern = _flate(b" ".join([b"/Fm Do"] * uses), head + b" /Resources << /XObject << /Fm 7 0 R >> >>")
    squares = b" ".join(b"%g %g 0.5 0.5 re f" % (i * 3 % 5, i * 7 % 5) for i in range(form_paths))
    form = _flate(b"0 0 1 rg " + squares, b"/Type /XObject /Subtype /Form /BBox [0 0 5 5]")
    content = HEADING + bar_chart(b"/Pattern cs /P1 scn")
    resources = b"/Font << /F1 5 0 R >> /Pattern << /P1 6 0 R >>"
    path.write_bytes(_pdf_file(one_page_objects(resources, _flate(content), HELVETICA, pattern, form)))
    return path


def type3_shared_pdf(path: Path, glyphs: int, pages: int) -> Path:
    """``pages`` bar chart pages (one page object listed ``pages`` times) showing three characters of a
    Type 3 font of ``glyphs`` glyph programs, each a filled square."""
    procs = [_stream(b"10 0 0 0 10 10 d1 0 0 10 10 re f") for _ in range(glyphs)]
    charprocs = b"<< " + b" ".join(b"/g%d %d 0 R" % (i, 8 + i) for i in range(glyphs)) + b" >>"
    codes = b"[0 " + b" ".join(b"/g%d" % (i % glyphs) for i in range(256)) + b"]"
    font = (
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 10 10] /FontMatrix [0.1 0 0 0.1 0 0] /CharProcs 7 0 R"
        b" /Encoding << /Type /Encoding /Differences " + codes + b" >> /FirstChar 0 /LastChar 255"
        b" /Widths [" + b" ".join([b"10"] * 256) + b"] >>"
    )
    content = HEADING + bar_chart() + b"BT /F3 12 Tf 72 100 Td (abc) Tj ET\n"
    objects = one_page_objects(
        b"/Font << /F1 5 0 R /F3 6 0 R >>", _flate(content), HELVETICA, font, charprocs
    )
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join([b"3 0 R"] * pages), pages)
    path.write_bytes(_pdf_file([*objects, *procs]))
    return path


def annotation_pdf(path: Path, squares: int, inline: bool = False) -> Path:
    """A bar chart page with a square annotation whose normal appearance stream fills ``squares`` squares
    (flate: 700 KB for 300,000); ``inline``: with a link annotation written inside the page's /Annots too."""
    appearance = _flate(
        b"0 0 1 rg " + rects_content(squares), b"/Type /XObject /Subtype /Form /BBox [0 0 612 792]"
    )
    annotation = b"<< /Type /Annot /Subtype /Square /Rect [100 100 500 700] /AP << /N 7 0 R >> >>"
    objects = one_page_objects(
        b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA, annotation, appearance
    )
    link = b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] >>" if inline else b""
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents 4 0 R /Annots [6 0 R %s]" % link)
    path.write_bytes(_pdf_file(objects))
    return path
