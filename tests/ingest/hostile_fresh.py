"""Generated hostile files of the classes not covered by ``hostile_docs``: XML entities in a deck, package
parts missing or repeated, pictures whose cost is in their decoding, encrypted PDFs, Type 3 fonts and text
floods, cyclic outlines, lying stream lengths. Each is a few KB to a few MB; the cost is in the reading."""

from __future__ import annotations

import io
import re
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pymupdf
from PIL import Image

from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects

SLIDE1 = "ppt/slides/slide1.xml"


def rewrite_pptx(path: Path, base: bytes, edit: Callable[[str, bytes], bytes | None]) -> Path:
    """``base`` (a deck) with each member passed through ``edit(name, data)`` (None: left out)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = edit(item.filename, zin.read(item.filename))
            if data is not None:
                zout.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


def _with_doctype(slide: bytes, dtd: bytes, text: bytes) -> bytes:
    """Slide XML with ``dtd`` declared and the first text run replaced by ``text``."""
    slide = re.sub(rb"<\?xml[^>]*\?>", b"", slide, count=1)
    slide = b'<?xml version="1.0"?><!DOCTYPE p:sld [' + dtd + b"]>" + slide
    slide, count = re.subn(rb"<a:t>[^<]*</a:t>", b"<a:t>" + text + b"</a:t>", slide, count=1)
    assert count == 1, "slide 1 has no text run"
    return slide


def entity_pptx(path: Path, base: bytes, kind: str) -> Path:
    """``base`` whose slide 1 declares entities: ``laughs`` (ten levels of ten: 10**10 "lol"s from 1 KB)
    or ``external`` (a SYSTEM entity naming a server file, ``/etc/hostname``) used in a text run."""
    if kind == "laughs":
        dtd = b'<!ENTITY l0 "lol">' + b"".join(
            b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10) for i in range(1, 11)
        )
        use = b"&l10;"
    else:
        dtd, use = b'<!ENTITY xxe SYSTEM "file:///etc/hostname">', b"&xxe;"

    def edit(name: str, data: bytes) -> bytes:
        return _with_doctype(data, dtd, use) if name == SLIDE1 else data

    return rewrite_pptx(path, base, edit)


def package_pptx(path: Path, base: bytes, kind: str) -> Path:
    """``base`` with a broken package: ``no_types`` (no ``[Content_Types].xml``), ``self_rel`` (slide 1's
    rels point at slide 1 as a slide, a cycle), ``twice`` (the presentation lists slide 1 twice),
    ``duplicate`` (a second, different member named like slide 1)."""
    if kind == "duplicate":
        rewrite_pptx(path, base, lambda _n, d: d)
        with zipfile.ZipFile(path, "a") as zf, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns of the duplicate name: it is the point
            zf.writestr(SLIDE1, b"<not-a-slide/>")
        return path

    def edit(name: str, data: bytes) -> bytes | None:
        if kind == "no_types" and name == "[Content_Types].xml":
            return None
        if kind == "self_rel" and name == "ppt/slides/_rels/slide1.xml.rels":
            rel = (
                b'<Relationship Id="rIdSelf" Target="slide1.xml" Type="http://schemas.openxmlformats.org/'
                b'officeDocument/2006/relationships/slide"/></Relationships>'
            )
            return data.replace(b"</Relationships>", rel)
        if kind == "twice" and name == "ppt/presentation.xml":
            found = re.search(rb"<p:sldId [^>]*/>", data)
            assert found is not None
            again = re.sub(rb'id="\d+"', b'id="9999"', found.group(0))
            return data.replace(found.group(0), found.group(0) + again)
        return data

    return rewrite_pptx(path, base, edit)


def many_slides_pptx(path: Path, base: bytes, slides: int) -> Path:
    """``base`` (a deck) followed by ``slides`` empty slides, each a part of its own on the first slide's
    layout: a deck of 10,000 slides of nothing is about 2 MB."""
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        layout_rels = zf.read("ppt/slides/_rels/slide1.xml.rels")
    layout = re.search(rb'<Relationship [^>]*slideLayout"?[^>]*/>', layout_rels)
    assert layout is not None
    empty = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><p:sld xmlns:a="http://schemas.openxmlformats'
        b'.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships'
        b'" xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"><p:cSld><p:spTree><p:nvGrpSpPr>'
        b'<p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr><p:grpSpPr/></p:spTree></p:cSld>'
        b"</p:sld>"
    )
    rels = b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    rels += layout.group(0) + b"</Relationships>"
    slide_type = b"application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
    first = 1000  # new part numbers, past the deck's own

    def edit(name: str, data: bytes) -> bytes:
        numbers = range(first, first + slides)
        if name == "ppt/presentation.xml":
            ids = b"".join(b'<p:sldId id="%d" r:id="rIdE%d"/>' % (3000 + i, i) for i in numbers)
            return data.replace(b"</p:sldIdLst>", ids + b"</p:sldIdLst>")
        if name == "ppt/_rels/presentation.xml.rels":
            listed = b"".join(
                b'<Relationship Id="rIdE%d" Target="slides/slide%d.xml" Type="http://schemas.openxmlformats'
                b'.org/officeDocument/2006/relationships/slide"/>' % (i, i)
                for i in numbers
            )
            return data.replace(b"</Relationships>", listed + b"</Relationships>")
        if name == "[Content_Types].xml":
            types = b"".join(
                b'<Override PartName="/ppt/slides/slide%d.xml" ContentType="%s"/>' % (i, slide_type)
                for i in numbers
            )
            return data.replace(b"</Types>", types + b"</Types>")
        return data

    rewrite_pptx(path, base, edit)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        for i in range(first, first + slides):
            zf.writestr(f"ppt/slides/slide{i}.xml", empty)
            zf.writestr(f"ppt/slides/_rels/slide{i}.xml.rels", rels)
    return path


def picture_swap_pptx(path: Path, base: bytes, blob: bytes, suffix: str) -> Path:
    """``base`` (a deck whose slide 1 embeds one PNG) with that picture's bytes replaced by ``blob``
    (named with ``suffix``)."""
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        pictures = [n for n in zf.namelist() if n.startswith("ppt/media/") and n.endswith(".png")]
    assert len(pictures) == 1, pictures
    renamed = pictures[0].removesuffix(".png") + suffix

    def edit(name: str, data: bytes) -> bytes:
        if name == pictures[0]:
            return blob
        if name == "ppt/slides/_rels/slide1.xml.rels":
            return data.replace(
                pictures[0].removeprefix("ppt").encode(), renamed.removeprefix("ppt").encode()
            )
        if name == "[Content_Types].xml":
            ext = suffix.lstrip(".").encode()
            return data.replace(
                b"</Types>", b'<Default Extension="%s" ContentType="image/%s"/></Types>' % (ext, ext)
            )
        return data

    out = rewrite_pptx(path, base, edit)
    with zipfile.ZipFile(out) as zf:  # the renamed member: rewrite_pptx kept the old name
        members = {n: zf.read(n) for n in zf.namelist()}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(renamed if name == pictures[0] else name, data)
    return out


def flat_picture(size: tuple[int, int], fmt: str, **save: object) -> bytes:
    """A real picture of one colour (it compresses to little) of ``size`` pixels."""
    buf = io.BytesIO()
    Image.new("RGB", size, (250, 250, 250)).save(buf, fmt, **save)
    return buf.getvalue()


def type3_pdf(path: Path, paths_per_glyph: int, glyphs: int, recursive: bool = False) -> Path:
    """One page showing ``glyphs`` characters of a Type 3 font whose one glyph draws ``paths_per_glyph``
    squares (``d0``: coloured, so each use is interpreted again); ``recursive``: the glyph also shows
    itself."""
    proc = b"500 0 d0 " + b" ".join(
        b"%d %d 5 5 re f" % (i % 90 * 10, i // 90 % 90 * 10) for i in range(paths_per_glyph)
    )
    if recursive:
        proc += b" BT /T3 1 Tf (a) Tj ET"
    text = b"BT /T3 0.01 Tf 72 400 Td (" + b"a" * glyphs + b") Tj ET"
    font = (
        b"<< /Type /Font /Subtype /Type3 /FontBBox [0 0 1000 1000] /FontMatrix [0.001 0 0 0.001 0 0]"
        b" /CharProcs << /a 6 0 R >> /Encoding << /Type /Encoding /Differences [97 /a] >>"
        b" /FirstChar 97 /LastChar 97 /Widths [500] /Resources << /Font << /T3 5 0 R >> >> >>"
    )
    objects = one_page_objects(
        b"/Font << /T3 5 0 R >>",
        _stream(zlib.compress(text), b"/Filter /FlateDecode"),
        font,
        _stream(zlib.compress(proc), b"/Filter /FlateDecode"),
    )
    path.write_bytes(_pdf_file(objects))
    return path


def text_flood_pdf(path: Path, chars: int) -> Path:
    """One page whose one text-showing operator shows ``chars`` characters (a few KB compressed)."""
    text = b"BT /F1 1 Tf 72 400 Td (" + b"x" * chars + b") Tj ET"
    objects = one_page_objects(
        b"/Font << /F1 5 0 R >>",
        _stream(zlib.compress(text, 9), b"/Filter /FlateDecode"),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    )
    path.write_bytes(_pdf_file(objects))
    return path


def tiny_images_pdf(path: Path, images: int) -> Path:
    """One page painting one 4 x 4 picture ``images`` times, each at its own place."""
    pixels = zlib.compress(bytes(range(48)))
    uses = b"\n".join(
        b"q 4 0 0 4 %d %d cm /Im1 Do Q" % (20 + i % 140 * 4, 20 + i // 140 % 180 * 4) for i in range(images)
    )
    objects = one_page_objects(
        b"/XObject << /Im1 5 0 R >>",
        _stream(zlib.compress(uses), b"/Filter /FlateDecode"),
        _stream(
            pixels,
            b"/Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceRGB"
            b" /BitsPerComponent 8 /Filter /FlateDecode",
        ),
    )
    path.write_bytes(_pdf_file(objects))
    return path


def cyclic_outline_pdf(path: Path) -> Path:
    """A readable one-page PDF whose outline items point at each other (Next and First in a ring)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R /Outlines 5 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        _stream(b"BT /F1 24 Tf 72 700 Td (Figure 1: page) Tj ET"),
        b"<< /Type /Outlines /First 6 0 R /Last 7 0 R /Count 2 >>",
        b"<< /Title (a) /Parent 5 0 R /Next 7 0 R /First 7 0 R /Dest [3 0 R /Fit] >>",
        b"<< /Title (b) /Parent 5 0 R /Next 6 0 R /First 6 0 R /Dest [3 0 R /Fit] >>",
    ]
    path.write_bytes(_pdf_file(objects))
    return path


def lying_length_pdf(path: Path) -> Path:
    """A one-page PDF whose content stream declares a /Length of 2**40 bytes (it has 40)."""
    content = b"BT /F1 24 Tf 72 700 Td (Figure 1: page) Tj ET"
    objects = one_page_objects(b"", b"<< /Length 1099511627776 >>\nstream\n" + content + b"\nendstream")
    path.write_bytes(_pdf_file(objects))
    return path


def actions_pdf(path: Path) -> Path:
    """A PDF with an open action running JavaScript, a link annotation launching a program and an embedded
    file: all must stay unread and unrun."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Figure 1: with actions", fontsize=12)
    doc.embfile_add("secret.txt", b"EMBEDDED-SECRET-TEXT", filename="secret.txt")
    page.insert_link(
        {"kind": pymupdf.LINK_LAUNCH, "from": pymupdf.Rect(72, 100, 200, 120), "file": "/bin/sh"}
    )
    doc.save(path)
    doc.close()
    data = path.read_bytes()
    js = b"/OpenAction << /S /JavaScript /JS (app.alert\\('x'\\)) >> /Type /Catalog"
    path.write_bytes(data.replace(b"/Type/Catalog", js, 1) if b"/Type/Catalog" in data else data)
    return path


def encrypted_pdf(path: Path, user_password: str) -> Path:
    """A figure page saved with AES-256; ``user_password`` "" needs no password to open (owner only)."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Figure 1: encrypted", fontsize=12)
    page.draw_rect((100, 200, 400, 500), fill=(0.2, 0.4, 0.8))
    doc.save(path, encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="owner-secret", user_pw=user_password)
    doc.close()
    return path
