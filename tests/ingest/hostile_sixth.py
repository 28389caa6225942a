"""Generated hostile files of the sixth pass: annotations MuPDF draws from their data (no appearance stream),
JBIG2 images whose segments claim more than their dictionary. Each file is a few KB to a few MB; the cost is
in the drawing."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def _with_annotations(path: Path, annotations: list[bytes], *more: bytes) -> Path:
    """A bar chart page whose /Annots lists ``annotations`` (objects 6, 7, ...), then the objects ``more``."""
    objects = one_page_objects(
        b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA, *annotations, *more
    )
    refs = b" ".join(b"%d 0 R" % (6 + i) for i in range(len(annotations)))
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents 4 0 R /Annots [%s]" % refs)
    path.write_bytes(_pdf_file(objects))
    return path


def _points(n: int) -> bytes:
    return b" ".join(b"%d %d" % (100 + (i * 7) % 400, 100 + (i * 13) % 600) for i in range(n))


def ink_pdf(path: Path, points: int, strokes: int = 1, shared: bool = False) -> Path:
    """A bar chart page with one Ink annotation without appearance stream: ``strokes`` strokes of ``points``
    points each, written out, or (``shared``) each a reference to one array object of ``points`` points."""
    if shared:
        ink = b"[%s]" % b" ".join([b"7 0 R"] * strokes)
        more: tuple[bytes, ...] = (b"[%s]" % _points(points),)
    else:
        ink = b"[%s]" % b" ".join([b"[%s]" % _points(points)] * strokes)
        more = ()
    annotation = b"<< /Type /Annot /Subtype /Ink /Rect [100 100 500 700] /C [1 0 0] /InkList %s >>" % ink
    return _with_annotations(path, [annotation], *more)


def free_text_pdf(path: Path, annotations: int, chars: int) -> Path:
    """A bar chart page with ``annotations`` FreeText annotations without appearance stream, each of
    ``chars`` characters of words for MuPDF to lay out."""
    text = (b"word " * (chars // 5 + 1))[:chars]
    annotation = (
        b"<< /Type /Annot /Subtype /FreeText /Rect [100 100 500 700] /DA (/Helv 6 Tf 0 g)"
        b" /Contents (%s) >>" % text
    )
    return _with_annotations(path, [annotation] * annotations)


def _jbig2_segment(number: int, kind: int, data: bytes) -> bytes:
    """An embedded JBIG2 segment of page 1 that refers to no other segment (ITU-T T.88 7.2)."""
    return struct.pack(">IBBBI", number, kind, 0, 1, len(data)) + data


def jbig2_pdf(path: Path, side: int, flate: bool = False, parms: bytes = b"") -> Path:
    """A bar chart page showing a 64 x 64 JBIG2 image whose segments declare a ``side`` x ``side`` page and
    generic region (the region's data: a few zero bytes); ``flate``: the stream deflated first; ``parms``:
    more of the image's dictionary (a ``/DecodeParms``)."""
    page_info = struct.pack(">IIIIBH", side, side, 0, 0, 0, 0)
    region = struct.pack(">IIIIB", side, side, 0, 0, 0) + bytes([0, 3, 0xFF, 0xFD, 0xFF, 2, 0xFE, 0xFE, 0xFE])
    data = _jbig2_segment(0, 48, page_info) + _jbig2_segment(1, 38, region + b"\0" * 64)
    filters = b"[/FlateDecode /JBIG2Decode]" if flate else b"/JBIG2Decode"
    head = b"/Type /XObject /Subtype /Image /Width 64 /Height 64 /ColorSpace /DeviceGray /BitsPerComponent 1"
    image = _stream(zlib.compress(data) if flate else data, head + b" /Filter " + filters + parms)
    content = _flate(HEADING + bar_chart() + b" q 200 0 0 200 300 300 cm /Im1 Do Q")
    objects = one_page_objects(b"/Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >>", content, HELVETICA, image)
    path.write_bytes(_pdf_file(objects))
    return path


def page_count_pdf(path: Path, count: int, kids: bytes = b"[3 0 R]") -> Path:
    """A bar chart page under a page tree whose root says /Count ``count`` and lists ``kids``."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects[1] = b"<< /Type /Pages /Kids %s /Count %d >>" % (kids, count)
    path.write_bytes(_pdf_file(objects))
    return path


def text_field_pdf(path: Path, chars: int, need_appearances: bool, inherited: bool = False) -> Path:
    """A bar chart page with a text field whose value holds ``chars`` characters under an empty appearance
    stream; its form says /NeedAppearances when ``need_appearances``. ``inherited``: the widget has no
    appearance and no value of its own, its parent field (object 7) has the value."""
    value = b"/V (%s)" % (b"word " * (chars // 5 + 1))[:chars]
    field = (
        b"<< /Type /Annot /Subtype /Widget /FT /Tx /Ff 4096 /T (f1) /Rect [100 100 500 700]"
        b" /DA (/Helv 4 Tf 0 g) %s >>" % (b"/Parent 7 0 R" if inherited else value + b" /AP << /N 7 0 R >>")
    )
    appearance = _stream(b"", b"/Type /XObject /Subtype /Form /BBox [0 0 400 600]")
    parent = b"<< /FT /Tx /T (form) /Kids [6 0 R] %s >>" % value
    objects = one_page_objects(
        b"/Font << /F1 5 0 R >>",
        _flate(HEADING + bar_chart()),
        HELVETICA,
        field,
        parent if inherited else appearance,
    )
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents 4 0 R /Annots [6 0 R]")
    form = b" /AcroForm << /Fields [6 0 R] /DA (/Helv 4 Tf 0 g)%s >>" % (
        b" /NeedAppearances true" if need_appearances else b""
    )
    objects[0] = objects[0].replace(b" >>", form + b" >>", 1)
    path.write_bytes(_pdf_file(objects))
    return path
