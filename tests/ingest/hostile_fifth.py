"""Generated hostile files of the fifth pass: annotations written inline in a page's /Annots, patterns
selected inside the forms a pattern's cell paints, mesh and function-based shadings. Each file is a few KB
to a few MB; the cost is in the reading."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects, rects_content
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def inline_annotation_pdf(path: Path, squares: int) -> Path:
    """A bar chart page whose /Annots holds, written inline (no object number), a square annotation whose
    normal appearance stream (object 6) fills ``squares`` squares."""
    appearance = _flate(
        b"0 0 1 rg " + rects_content(squares), b"/Type /XObject /Subtype /Form /BBox [0 0 612 792]"
    )
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA, appearance)
    annotation = b"<< /Type /Annot /Subtype /Square /Rect [100 100 500 700] /AP << /N 6 0 R >> >>"
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents 4 0 R /Annots [%s]" % annotation)
    path.write_bytes(_pdf_file(objects))
    return path


def pattern_in_cell_form_pdf(path: Path, fills: int, inner_paths: int) -> Path:
    """A bar chart page whose bars are filled with a tiling pattern (6) whose cell paints a form (7) that
    fills ``fills`` squares with a second pattern (8), named in the form's own resources, whose cell holds
    ``inner_paths`` squares."""
    head = b"/PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 5 5] /XStep 5 /YStep 5"
    outer = _flate(b"/Fm Do", head + b" /Resources << /XObject << /Fm 7 0 R >> >>")
    squares = b" ".join(b"%g %g 0.5 0.5 re f" % (i * 3 % 5, i * 7 % 5) for i in range(fills))
    form = _flate(
        b"/Pattern cs /Q scn " + squares,
        b"/Type /XObject /Subtype /Form /BBox [0 0 5 5] /Resources << /Pattern << /Q 8 0 R >> >>",
    )
    cells = b" ".join(b"%g %g 0.5 0.5 re f" % (i * 3 % 5, i * 7 % 5) for i in range(inner_paths))
    inner = _flate(b"0 0 1 rg " + cells, head + b" /Resources << >>")
    content = HEADING + bar_chart(b"/Pattern cs /P1 scn")
    resources = b"/Font << /F1 5 0 R >> /Pattern << /P1 6 0 R >>"
    objects = one_page_objects(resources, _flate(content), HELVETICA, outer, form, inner)
    path.write_bytes(_pdf_file(objects))
    return path


def mesh_data(triangles: int) -> bytes:
    """Free-form triangles (shading type 4) of 8-bit flags, 16-bit coordinates and 8-bit RGB, 24 bytes
    each: ``triangles`` small triangles over the page (1,000 placed ones repeated: the stream deflates
    about 140 to 1)."""
    out = bytearray()
    for i in range(min(triangles, 1000)):
        x, y = (i * 37) % 60000, (i * 101) % 60000
        for dx, dy in ((0, 0), (900, 0), (0, 900)):
            out += struct.pack(">BHHBBB", 0, x + dx, y + dy, i % 256, 64, 200)
    return bytes(out) * (triangles // 1000) + bytes(out[: 24 * (triangles % 1000)])


def mesh_shading_pdf(path: Path, triangles: int, as_pattern: bool = False) -> Path:
    """A bar chart page that paints a type 4 mesh shading (6) of ``triangles`` triangles over the page with
    ``sh`` (``as_pattern``: as a shading pattern (7) filling the bars instead)."""
    mesh = _flate(
        mesh_data(triangles),
        b"/ShadingType 4 /ColorSpace /DeviceRGB /BitsPerCoordinate 16 /BitsPerComponent 8 /BitsPerFlag 8"
        b" /Decode [0 612 0 792 0 1 0 1 0 1]",
    )
    if as_pattern:
        content = HEADING + bar_chart(b"/Pattern cs /P1 scn")
        resources = b"/Font << /F1 5 0 R >> /Pattern << /P1 7 0 R >>"
        pattern = b"<< /PatternType 2 /Shading 6 0 R >>"
        objects = one_page_objects(resources, _flate(content), HELVETICA, mesh, pattern)
    else:
        content = HEADING + bar_chart() + b"q /Sh1 sh Q\n"
        resources = b"/Font << /F1 5 0 R >> /Shading << /Sh1 6 0 R >>"
        objects = one_page_objects(resources, _flate(content), HELVETICA, mesh)
    path.write_bytes(_pdf_file(objects))
    return path


def sampled_shading_pdf(path: Path, side: int, stitched: bool = False) -> Path:
    """A bar chart page that paints a function-based shading (type 1) whose function samples a
    ``side`` x ``side`` grid of 8-bit RGB (flate: a few KB for millions of samples); ``stitched``: an axial
    shading whose function, written inline, stitches one sampled function of ``side`` x ``side`` values."""
    samples = zlib.compress(bytes(side * side * 3), 9)
    domain, size = (b"[0 1]", b"%d" % (side * side)) if stitched else (b"[0 1 0 1]", b"%d %d" % (side, side))
    function = (
        b"<< /FunctionType 0 /Domain %s /Range [0 1 0 1 0 1] /Size [%s] /BitsPerSample 8"
        b" /Filter /FlateDecode /Length %d >>\nstream\n"
        % (domain, size, len(samples))
        + samples
        + b"\nendstream"
    )
    shading = b"<< /ShadingType 1 /ColorSpace /DeviceRGB /Domain [0 1 0 1] /Matrix [612 0 0 792 0 0]"
    shading += b" /Function 7 0 R >>"
    if stitched:
        shading = b"<< /ShadingType 2 /ColorSpace /DeviceRGB /Coords [0 0 612 0] /Function << /FunctionType 3"
        shading += b" /Domain [0 1] /Functions [7 0 R] /Bounds [] /Encode [0 1] >> >>"
    content = HEADING + bar_chart() + b"q /Sh1 sh Q\n"
    resources = b"/Font << /F1 5 0 R >> /Shading << /Sh1 6 0 R >>"
    objects = one_page_objects(resources, _flate(content), HELVETICA, shading, function)
    path.write_bytes(_pdf_file(objects))
    return path


def image_flood_pdf(path: Path, draws: int) -> Path:
    """A bar chart page that paints one 4 x 4 image XObject ``draws`` times, each at its own place (30
    bytes of content a draw, deflated about 400 to 1)."""
    image = _stream(
        b"\x00\xff\x00\xff" * 4,
        b"/Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceGray /BitsPerComponent 8",
    )
    paint = b"".join(b"q 4 0 0 4 %d %d cm /Im1 Do Q\n" % (i * 7 % 600, i * 13 % 780) for i in range(draws))
    resources = b"/Font << /F1 5 0 R >> /XObject << /Im1 6 0 R >>"
    objects = one_page_objects(resources, _flate(HEADING + bar_chart() + paint), HELVETICA, image)
    path.write_bytes(_pdf_file(objects))
    return path


def odd_encryption_pdf(path: Path, encrypt: bytes) -> Path:
    """A bar chart page whose trailer names ``encrypt`` (the inside of an /Encrypt dictionary, object 6)."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects.append(b"<< " + encrypt + b" >>")
    file_id = b"<00112233445566778899aabbccddeeff>"
    trailer = b"/Root 1 0 R /Encrypt 6 0 R /ID [%s %s] >>" % (file_id, file_id)
    path.write_bytes(_pdf_file(objects).replace(b"/Root 1 0 R >>", trailer))
    return path


def tint_pdf(path: Path, values: int) -> Path:
    """A bar chart page whose bars are filled in a Separation colour space whose tint transform is a
    sampled function (6) of ``values`` x 3 values."""
    samples = zlib.compress(bytes(values * 3), 9)
    function = (
        b"<< /FunctionType 0 /Domain [0 1] /Range [0 1 0 1 0 1] /Size [%d] /BitsPerSample 8"
        b" /Filter /FlateDecode /Length %d >>\nstream\n" % (values, len(samples)) + samples + b"\nendstream"
    )
    resources = b"/Font << /F1 5 0 R >> /ColorSpace << /CS0 [/Separation /Spot /DeviceRGB 6 0 R] >>"
    objects = one_page_objects(resources, _flate(HEADING + bar_chart(b"/CS0 cs 1 scn")), HELVETICA, function)
    path.write_bytes(_pdf_file(objects))
    return path
