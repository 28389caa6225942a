"""Small generated documents that ask for a lot of work: dense drawings, operator floods, content bombs."""

from __future__ import annotations

import gzip
import io
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pymupdf

PAGE = (612.0, 792.0)


def random_segments(n: int, seed: int = 0) -> list[tuple[float, float, float, float]]:
    """Endpoints of ``n`` line segments scattered over a letter page: nearly all cross each other."""
    rnd = random.Random(seed)
    return [
        (rnd.uniform(60, 550), rnd.uniform(200, 740), rnd.uniform(60, 550), rnd.uniform(200, 740))
        for _ in range(n)
    ]


def _append_content(doc: pymupdf.Document, page: pymupdf.Page, content: bytes) -> None:
    if page.get_contents():
        xref = page.get_contents()[0]
        doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + content)
        return
    xref = doc.get_new_xref()
    doc.update_object(xref, "<<>>")
    doc.update_stream(xref, content)
    doc.xref_set_key(page.xref, "Contents", f"{xref} 0 R")


def segments_pdf(path: Path, n: int = 20_000, pages: int = 1, heading: str = "Dense drawing") -> Path:
    """Pages each holding ``n`` overlapping line segments (one path each) under a heading."""
    doc = pymupdf.open()
    for number in range(pages):
        page = doc.new_page(width=PAGE[0], height=PAGE[1])
        page.insert_text((72, 60), heading, fontsize=18)
        ops = [b"q 0 0 0 RG 0.5 w"]
        for x0, y0, x1, y1 in random_segments(n, seed=number):
            # PDF space has its origin bottom left.
            ops.append(f"{x0:.1f} {792 - y0:.1f} m {x1:.1f} {792 - y1:.1f} l S".encode())
        _append_content(doc, page, b"\n".join([*ops, b"Q"]))
    doc.save(path, deflate=True)
    doc.close()
    return path


def rects_content(n: int) -> bytes:
    """``n`` tiny filled squares, one path each, in rows over the page."""
    ops = [b"0.2 0.4 0.8 rg"]
    ops += [f"{50 + (i * 7) % 500} {50 + (i // 72 * 3) % 690} 2 2 re f".encode() for i in range(n)]
    return b"\n".join(ops)


def flood_pdf(path: Path, per_page: list[int]) -> Path:
    """One page per entry, holding that many separate filled squares (0: a plain bar chart page)."""
    doc = pymupdf.open()
    for n in per_page:
        page = doc.new_page(width=PAGE[0], height=PAGE[1])
        if n:
            _append_content(doc, page, rects_content(n))
        else:
            for i, h in enumerate((120, 200, 160, 240)):
                page.draw_rect((150 + i * 70, 500 - h, 200 + i * 70, 500), color=None, fill=(0.2, 0.4, 0.8))
            page.draw_line((140, 500), (440, 500), color=(0, 0, 0))
            page.draw_line((140, 240), (140, 500), color=(0, 0, 0))
    doc.save(path, deflate=True)
    doc.close()
    return path


def form_flood_pdf(path: Path, paths_in_form: int, uses: int) -> Path:
    """A form XObject of ``paths_in_form`` squares painted ``uses`` times: few bytes, much drawing."""
    form = zlib.compress(rects_content(paths_in_form))
    content = b"\n".join(b"q 1 0 0 1 0 0 cm /Fm0 Do Q" for _ in range(uses))
    objects = one_page_objects(
        b"/XObject << /Fm0 5 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(form)
        + form
        + b"\nendstream",
    )
    path.write_bytes(_pdf_file(objects))
    return path


def content_bomb_pdf(path: Path, inflated_mb: int) -> Path:
    """Page 1: a content stream of comments inflating to ``inflated_mb`` MiB from a few KB; page 2 normal."""
    bomb = zlib.compress(b"%" + b" " * (inflated_mb * 2**20) + b"\n", 9)
    bars = b"\n".join(b"%d 300 40 %d re f" % (120 + 55 * i, 60 + 30 * i) for i in range(6))
    normal = b"0 0 1 rg\n" + bars + b"\n0 G 110 300 m 460 300 l S 110 300 m 110 560 l S"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Filter /FlateDecode /Length %d >>\nstream\n" % len(bomb) + bomb + b"\nendstream",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(normal) + normal + b"\nendstream",
    ]
    path.write_bytes(_pdf_file(objects))
    return path


def _stream(data: bytes, head: bytes = b"") -> bytes:
    return b"<< %s /Length %d >>\nstream\n" % (head, len(data)) + data + b"\nendstream"


_TEXT = _stream(b"BT /F1 24 Tf 72 700 Td (Figure 1: page) Tj ET")


def page_tree_pdf(path: Path, kind: str, pages: int = 100_000) -> Path:
    """A PDF whose page tree is hostile. ``many``: ``pages`` pages sharing one content stream (about 100
    bytes a page); ``cycle``: the root lists itself among its kids; ``dag``: five levels of ten references
    to one node, i.e. 100,000 pages from seven objects."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R >>"
    if kind == "many":
        kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
        root = b"<< /Type /Pages /MediaBox [0 0 612 792] /Kids [%s] /Count %d >>" % (kids, pages)
        leaf = b"<< /Type /Page /Parent 2 0 R /Contents 3 0 R >>"
        objects = [catalog, root, _TEXT] + [leaf] * pages
    elif kind == "cycle":
        root = b"<< /Type /Pages /MediaBox [0 0 612 792] /Kids [2 0 R 3 0 R] /Count 2 >>"
        objects = [catalog, root, b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R >>", _TEXT]
    elif kind == "dag":
        levels = [
            b"<< /Type /Pages /MediaBox [0 0 612 792] /Kids [%s] /Count %d >>"
            % (b" ".join([b"%d 0 R" % (3 + k)] * 10), 10 ** (5 - k))
            for k in range(5)
        ]
        objects = [catalog, *levels, b"<< /Type /Page /Parent 6 0 R /Contents 8 0 R >>", _TEXT]
    else:
        raise ValueError(kind)
    path.write_bytes(_pdf_file(objects))
    return path


def huge_image_pdf(path: Path, codec: str) -> Path:
    """One page showing an image that claims 60,000 x 60,000 pixels, from a few bytes (``flate`` or
    ``jbig2``)."""
    if codec == "flate":
        image = _stream(
            zlib.compress(b"\0" * 1000), b"/Filter /FlateDecode /ColorSpace /DeviceRGB /BitsPerComponent 8"
        )
    else:
        image = _stream(b"\0" * 64, b"/Filter /JBIG2Decode /ColorSpace /DeviceGray /BitsPerComponent 1")
    image = image.replace(b"<< ", b"<< /Type /XObject /Subtype /Image /Width 60000 /Height 60000 ", 1)
    objects = one_page_objects(
        b"/XObject << /Im1 5 0 R >>", _stream(b"q 400 0 0 400 100 200 cm /Im1 Do Q"), image
    )
    path.write_bytes(_pdf_file(objects))
    return path


def huge_page_pdf(path: Path, side: int = 14_400, lines: int = 300) -> Path:
    """One ``side`` x ``side`` pt page (14,400: the largest the PDF standard allows, 200 inches) with a
    caption and ``lines`` long parallel lines, each reaching most of the way up the page."""
    step = side // lines // 2
    drawing = b" ".join(
        b"%d 100 m %d %d l S" % (100 + i * step, 200 + i * step, side - 200) for i in range(lines)
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents 4 0 R >>" % (side, side),
        _stream(b"BT /F1 24 Tf 72 700 Td (Figure 1: a poster) Tj ET 0 0 1 RG " + drawing),
    ]
    path.write_bytes(_pdf_file(objects))
    return path


def nested_forms_pdf(path: Path, depth: int = 30) -> Path:
    """One page painting a form that strokes a line and paints the next form twice, ``depth`` deep: 2**depth
    - 1 strokes for MuPDF to draw, from ``depth`` small objects."""
    forms = []
    for level in range(depth):
        last = level == depth - 1
        body = b"0 0 1 RG 10 10 m 100 100 l S" + (b"" if last else b" /F Do /F Do")
        resources = b"" if last else b" /Resources << /XObject << /F %d 0 R >> >>" % (6 + level)
        forms.append(_stream(body, b"/Type /XObject /Subtype /Form /BBox [0 0 612 792]" + resources))
    objects = one_page_objects(b"/XObject << /F 5 0 R >>", _stream(b"/F Do"), *forms)
    path.write_bytes(_pdf_file(objects))
    return path


def one_page_objects(resources: bytes, contents: bytes, *more: bytes) -> list[bytes]:
    """The objects of a one-page US-letter PDF: catalog (1), page tree (2), the page (3) with
    ``resources`` (the inside of its /Resources dictionary; empty: none), its content stream object
    ``contents`` (4), then ``more`` (5, 6, ...)."""
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
    page += (b" /Resources << " + resources + b" >>" if resources else b"") + b" >>"
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        page,
        contents,
        *more,
    ]


def _pdf_file(objects: list[bytes]) -> bytes:
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def paragraph_flood_pptx(path: Path, paragraphs: int, base: bytes) -> Path:
    """``base`` (a deck) with its first text frame on slide 1 stuffed with ``paragraphs`` paragraphs."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                flood = b"<a:p><a:r><a:t>x</a:t></a:r></a:p>" * paragraphs
                data, count = re.subn(rb"(<p:txBody>.*?<a:lstStyle/>)", rb"\1" + flood, data, count=1)
                assert count == 1, "slide 1 has no text body to stuff"
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def slide_bomb_pptx(path: Path, base: bytes, inflated_mb: int) -> Path:
    """``base`` (a deck) whose slide 1 inflates to ``inflated_mb`` MiB of XML (whitespace inside its root
    element) from well under 1 % of that on disk: a zip bomb to whatever reads the slide. Written in
    chunks, so making it does not hold the inflated bytes."""
    chunk = b" " * 2**20
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename != "ppt/slides/slide1.xml":
                zout.writestr(item, data)
                continue
            head, tail = data.split(b"<p:cSld", 1)
            with zout.open(item.filename, "w", force_zip64=True) as slide:
                slide.write(head)
                for _ in range(inflated_mb):
                    slide.write(chunk)
                slide.write(b"<p:cSld" + tail)
    return path


def linked_picture_pptx(path: Path, base: bytes, target: str) -> Path:
    """``base`` (a deck whose slide 1 embeds one picture) with that picture linked to ``target`` instead
    (``TargetMode="External"``: a path or URL the program opening the deck would load)."""
    rel = (
        '<Relationship Id="rIdLinked" Target="{}" TargetMode="External" Type='
        '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"/></Relationships>'
    ).format(target.replace("&", "&amp;").replace('"', "&quot;"))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                data, count = re.subn(rb'r:embed="rId\d+"', b'r:link="rIdLinked"', data, count=1)
                assert count == 1, "slide 1 has no embedded picture"
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data = data.replace(b"</Relationships>", rel.encode())
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def picture_part_outside_pptx(path: Path, base: bytes, target: str) -> Path:
    """``base`` (a deck whose slide 1 embeds one picture) whose picture relationship, still internal
    (no TargetMode), names ``target`` (a path or URI outside the package) and whose picture part is gone."""
    target = target.replace("&", "&amp;").replace('"', "&quot;")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename.startswith("ppt/media/"):
                continue
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data, count = re.subn(rb'Target="\.\./media/[^"]+"', f'Target="{target}"'.encode(), data)
                assert count == 1, "slide 1 has no picture relationship"
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def svg_picture_pptx(path: Path, base: bytes, svg: bytes, *, gzipped: bool = False) -> Path:
    """``base`` (a deck whose slide 1 embeds one PNG picture) with that picture's bytes replaced by ``svg``
    (named ``.svg``, or ``.svgz`` gzipped): an SVG may itself point at files and URLs."""
    suffix = ".svgz" if gzipped else ".svg"
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        pictures = [n for n in zin.namelist() if n.startswith("ppt/media/") and n.endswith(".png")]
        assert len(pictures) == 1, pictures
        renamed = pictures[0].removesuffix(".png") + suffix
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == pictures[0]:
                zout.writestr(renamed, gzip.compress(svg) if gzipped else svg)
                continue
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":  # targets are relative: ../media/...
                data = data.replace(
                    pictures[0].removeprefix("ppt").encode(), renamed.removeprefix("ppt").encode()
                )
            if item.filename == "[Content_Types].xml":
                types = b'<Default Extension="svg" ContentType="image/svg+xml"/>'
                types += b'<Default Extension="svgz" ContentType="image/svg+xml"/>'
                data = data.replace(b"</Types>", types + b"</Types>")
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_OLE_FRAME = (
    '<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="9" name="Object 8"/><p:cNvGraphicFramePr/><p:nvPr/>'
    '</p:nvGraphicFramePr><p:xfrm><a:off x="6000000" y="1828800"/><a:ext cx="2000000" cy="1500000"/></p:xfrm>'
    '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole">'
    '<p:oleObj name="Worksheet" r:id="rIdOut" progId="Excel.Sheet.12" imgW="2000000" imgH="1500000">'
    '<p:link updateAutomatic="1"/></p:oleObj></a:graphicData></a:graphic></p:graphicFrame>'
)
LINK_KINDS: dict[str, tuple[str, bytes, bytes]] = {
    # kind: (relationship type, the slide's XML where the reference goes, what it becomes)
    "video": (
        "video",
        b"<p:nvPr/></p:nvPicPr>",
        b'<p:nvPr><a:videoFile r:link="rIdOut"/></p:nvPr></p:nvPicPr>',
    ),
    "audio": (
        "audio",
        b"<p:nvPr/></p:nvPicPr>",
        b'<p:nvPr><a:audioFile r:link="rIdOut"/></p:nvPr></p:nvPicPr>',
    ),
    "hyperlink": ("hyperlink", b"<a:r><a:t>", b'<a:r><a:rPr><a:hlinkClick r:id="rIdOut"/></a:rPr><a:t>'),
    "linked-ole": ("oleObject", b"</p:spTree>", _OLE_FRAME.encode() + b"</p:spTree>"),
}
"""Relationships outside the package that a deck may hold besides a linked picture (``linked_picture_pptx``):
a linked video or sound, a hyperlink on the title, a linked OLE object set to update when opened."""


def external_link_pptx(path: Path, base: bytes, kind: str, target: str, *, mode: str = "External") -> Path:
    """``base`` (``pptx_decks.picture_deck``) whose slide 1 also refers to ``target`` as a ``kind`` of
    ``LINK_KINDS``, through a relationship of TargetMode ``mode`` ("External"; "Internal": a package part
    named by an absolute URL, which no program may take for a link)."""
    rel_type, old, new = LINK_KINDS[kind]
    rel = '<Relationship Id="rIdOut" Target="{}" TargetMode="{}" Type="{}{}"/></Relationships>'.format(
        target.replace("&", "&amp;").replace('"', "&quot;"), mode, _REL, rel_type
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                assert old in data, f"slide 1 has no {old!r}"
                data = data.replace(old, new, 1)
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data = data.replace(b"</Relationships>", rel.encode())
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def ole_object_pptx(path: Path, base: bytes, payload: bytes, preview_link: str | None = None) -> Path:
    """``base`` (``pptx_decks.picture_deck``) with an embedded OLE object beside its picture: ``payload``
    as ``ppt/embeddings/oleObject1.bin`` and, as its preview, the deck's picture (embedded), or a picture
    linked to ``preview_link``."""
    blip = 'r:link="rIdPreview"' if preview_link else 'r:embed="rId2"'
    frame = _OLE_FRAME.replace('<p:link updateAutomatic="1"/>', "<p:embed/>" + _OLE_PREVIEW.format(blip))
    rels = f'<Relationship Id="rIdOut" Type="{_REL}oleObject" Target="../embeddings/oleObject1.bin"/>'
    if preview_link:
        target = preview_link.replace("&", "&amp;").replace('"', "&quot;")
        rels += f'<Relationship Id="rIdPreview" Type="{_REL}image" Target="{target}" TargetMode="External"/>'
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                data = data.replace(b"</p:spTree>", frame.encode() + b"</p:spTree>")
            if item.filename == "ppt/slides/_rels/slide1.xml.rels":
                data = data.replace(b"</Relationships>", rels.encode() + b"</Relationships>")
            if item.filename == "[Content_Types].xml":
                ole = b'<Override PartName="/ppt/embeddings/oleObject1.bin" ContentType="application/vnd.'
                ole += b'openxmlformats-officedocument.oleObject"/>'
                data = data.replace(b"</Types>", ole + b"</Types>")
            zout.writestr(item, data)
        zout.writestr("ppt/embeddings/oleObject1.bin", payload)
    path.write_bytes(out.getvalue())
    return path


_OLE_PREVIEW = (
    '<p:pic><p:nvPicPr><p:cNvPr id="0" name=""/><p:cNvPicPr/><p:nvPr/></p:nvPicPr><p:blipFill><a:blip {}/>'
    '<a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr><a:xfrm><a:off x="6000000" y="1828800"/>'
    '<a:ext cx="2000000" cy="1500000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>'
    "</p:pic>"
)
"""The picture an OLE object is shown by (``{}``: its blip's reference)."""


def svg_linking(target: str) -> bytes:
    """An SVG whose one element is a picture loaded from ``target``."""
    return (
        (
            '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200"'
            ' height="200"><image x="0" y="0" width="200" height="200" xlink:href="{}"/></svg>'
        )
        .format(target.replace("&", "&amp;").replace('"', "&quot;"))
        .encode()
    )


def svg_linking_through_its_dtd(target: str, how: str) -> bytes:
    """An SVG whose picture's href to ``target`` is not in its elements but in its DOCTYPE: an ATTLIST
    default (``how`` "default") or an internal entity that carries the ``<image>`` (``how`` "entity")."""
    quoted = target.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#39;")
    image = "<image x='0' y='0' width='200' height='200'{}/>"
    if how == "default":
        dtd, body = f'<!ATTLIST image xlink:href CDATA "{quoted}">', image.format("")
    else:
        href = f" href='{quoted}'"  # SVG 2's href: a prefix is not declared inside an entity
        dtd, body = f'<!ENTITY picture "{image.format(href)}">', "&picture;"
    return (
        '<?xml version="1.0"?><!DOCTYPE svg [' + dtd + ']><svg xmlns="http://www.w3.org/2000/svg"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="200">' + body + "</svg>"
    ).encode()


def many_parts_zip(parts: int) -> bytes:
    """A zip (zip64 end records) whose central directory lists ``[Content_Types].xml`` and ``parts``
    entries named ``ppt/a``, all pointing at one empty local part: about 48 bytes a part on disk, a
    ``ZipInfo`` each to whatever lists it."""
    name, types = b"ppt/a", b"[Content_Types].xml"
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name

    def central(entry: bytes) -> bytes:
        return (
            struct.pack(
                "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(entry), 0, 0, 0, 0, 0, 0
            )
            + entry
        )

    directory = central(types) + central(name) * parts
    count = parts + 1
    end64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, len(directory), len(local)
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, len(local) + len(directory), 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + directory + end64 + locator + end


def nested_group_pptx(path: Path, base: bytes, depth: int) -> Path:
    """``base`` (a deck whose slide 1 holds one group shape) with that group wrapped in ``depth`` more
    groups, each with the same group properties."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "ppt/slides/slide1.xml":
                group = re.search(rb"<p:grpSp>.*</p:grpSp>", data, re.S)
                assert group is not None, "slide 1 has no group shape"
                head = re.search(rb"<p:nvGrpSpPr>.*?</p:grpSpPr>", group.group(0), re.S)
                assert head is not None
                wrapped = (b"<p:grpSp>" + head.group(0)) * depth + group.group(0) + b"</p:grpSp>" * depth
                data = data.replace(group.group(0), wrapped)
            zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def actions_pdf(path: Path, base: Path, url: str, outside: Path, marker: Path, *, script_loops: bool) -> Path:
    """``base`` (a PDF) with everything a reader might act on that points outside it: an open action that
    launches ``touch marker`` then runs JavaScript (``app.launchURL``, ``submitForm`` to ``url``, and an
    endless loop when ``script_loops``), links to ``url``, to a program (/Launch) and into the file
    ``outside`` (/GoToR), a text field whose calculate and format scripts loop, an XFA form whose picture
    is at ``url`` and which includes ``outside``, and an attached (embedded) file."""
    doc = pymupdf.open(base)
    page = doc[0]
    links: list[dict[str, object]] = [
        {"kind": pymupdf.LINK_URI, "uri": f"{url}/uri"},
        {"kind": pymupdf.LINK_LAUNCH, "file": "/usr/bin/touch"},
        {"kind": pymupdf.LINK_GOTOR, "file": str(outside), "page": 0, "to": pymupdf.Point(0, 0)},
    ]
    for i, link in enumerate(links):
        page.insert_link({**link, "from": pymupdf.Rect(56, 700 + 20 * i, 300, 716 + 20 * i)})
    doc.embfile_add("attached.txt", ATTACHED_WORDS, filename="attached.txt")
    loop = "while (true) {}" if script_loops else ""
    script = doc.get_new_xref()
    doc.update_object(
        script,
        f"<< /S /JavaScript /JS (app.launchURL('{url}/js'); this.submitForm('{url}/submit'); {loop}) >>",
    )
    launch = doc.get_new_xref()
    doc.update_object(
        launch,
        f"<< /S /Launch /Unix << /F (/usr/bin/touch) /P ({marker}) >> /F (/usr/bin/touch)"
        f" /Next {script} 0 R >>",
    )
    catalog = doc.pdf_catalog()
    doc.xref_set_key(catalog, "OpenAction", f"{launch} 0 R")
    field = doc.get_new_xref()
    doc.update_object(
        field,
        "<< /Type /Annot /Subtype /Widget /FT /Tx /T (total) /V (1) /Rect [56 780 200 800] /P "
        f"{page.xref} 0 R /AA << /C << /S /JavaScript /JS (while (true) {{}}) >>"
        " /F << /S /JavaScript /JS (while (true) {}) >> >> >>",
    )
    doc.xref_set_key(
        page.xref,
        "Annots",
        f"[{' '.join(f'{x} 0 R' for x in [*(x for x, *_ in page.annot_xrefs()), field])}]",
    )
    xfa = doc.get_new_xref()
    doc.update_object(xfa, "<< >>")
    doc.update_stream(
        xfa,
        (
            '<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><template><subform><draw><value>'
            f'<image href="{url}/xfa"/></value></draw></subform></template>'
            f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{outside.as_uri()}" parse="text"/>'
            "</xdp:xdp>"
        ).encode(),
    )
    doc.xref_set_key(catalog, "AcroForm", f"<< /Fields [{field} 0 R] /XFA {xfa} 0 R /NeedAppearances true >>")
    doc.save(path)
    return path


ATTACHED_WORDS = b"Platypus-4242 words of an attached file"
"""The text of ``actions_pdf``'s embedded file: not on any page, so in no unit or page text."""


def direct_fonts_pdf(path: Path, base: Path) -> Path:
    """``base`` with each font of its first page written into the page's resources as a direct dictionary
    (legal PDF, no object number of its own) instead of a reference to a font object."""
    doc = pymupdf.open(base)
    page = doc[0]
    kind, resources = doc.xref_get_key(page.xref, "Resources")
    holder, prefix = (int(resources.split()[0]), "") if kind == "xref" else (page.xref, "Resources/")
    for xref, *_, name, _encoding, _referencer in page.get_fonts(full=True):
        doc.xref_set_key(holder, f"{prefix}Font/{name}", doc.xref_object(xref, compressed=True))
    doc.save(path, garbage=1)  # the font objects, no longer referenced, are dropped
    return path
