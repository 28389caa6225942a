"""Generated hostile files of the eleventh pass: XML entities in every part of a deck, zip entries whose
declared sizes lie, a content-types part that lies about a part's kind, a zip of 100,000 entries, a slide
of 50,000 shapes; PDFs with a 1 x 100,000 picture or a page rewritten by an incremental update."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from pathlib import Path

import pymupdf

from tests.generated_docs import figure_pdf
from tests.ingest.hostile_docs import _pdf_file, one_page_objects
from tests.ingest.hostile_fresh import SLIDE1, rewrite_pptx

LAUGHS = b'<!ENTITY l0 "lol">' + b"".join(
    b'<!ENTITY l%d "%s">' % (i, (b"&l%d;" % (i - 1)) * 10) for i in range(1, 11)
)
EXTERNAL = b'<!ENTITY xxe SYSTEM "file:///etc/hostname">'
ENTITIES = {"laughs": (LAUGHS, b"&l10;"), "external": (EXTERNAL, b"&xxe;")}
SLIDE_TYPE = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"


def xml_parts(deck: bytes) -> list[str]:
    """The members of ``deck`` that are XML (parts and relationships)."""
    with zipfile.ZipFile(io.BytesIO(deck)) as zf:
        return [n for n in zf.namelist() if n.endswith((".xml", ".rels"))]


def _with_entity(data: bytes, kind: str) -> bytes:
    """The XML part ``data`` declaring the entities of ``kind`` and using one as text at its root's end."""
    dtd, use = ENTITIES[kind]
    body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", data, count=1)
    root = re.match(rb"\s*<([\w:]+)", body)
    assert root is not None, data[:80]
    end = body.rfind(b"</")
    body = body[:end] + use + body[end:]
    return b'<?xml version="1.0"?><!DOCTYPE ' + root.group(1) + b" [" + dtd + b"]>" + body


def entity_in_part(path: Path, deck: bytes, part: str, kind: str) -> Path:
    """``deck`` whose member ``part`` declares and uses the entities of ``kind`` (``laughs``: 10**10
    "lol"s from 1 KB; ``external``: a server file)."""
    return rewrite_pptx(path, deck, lambda name, data: _with_entity(data, kind) if name == part else data)


def lying_size(path: Path, deck: bytes, member: str, declared: int) -> Path:
    """``deck`` whose ``member`` declares ``declared`` bytes inflated (in its local header and in the central
    directory) whatever its data holds."""
    data = bytearray(deck)
    with zipfile.ZipFile(io.BytesIO(deck)) as zf:
        local = zf.getinfo(member).header_offset
    data[local + 22 : local + 26] = declared.to_bytes(4, "little")
    name, at = member.encode(), 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if bytes(data[at + 46 : at + 46 + length]) == name:
            data[at + 24 : at + 28] = declared.to_bytes(4, "little")
        at += 4
    path.write_bytes(bytes(data))
    return path


def lying_type(path: Path, deck: bytes, part: str, content_type: str) -> Path:
    """``deck`` whose ``[Content_Types].xml`` gives ``part`` (its override, or the default of its
    extension) the type ``content_type``."""

    def edit(name: str, data: bytes) -> bytes:
        if name != "[Content_Types].xml":
            return data
        override = re.escape(b'PartName="/' + part.encode() + b'" ContentType="') + rb'[^"]*'
        data, count = re.subn(
            override,
            lambda m: m.group(0).split(b'ContentType="')[0] + b'ContentType="' + content_type.encode(),
            data,
        )
        if count:
            return data
        ext = part.rsplit(".", 1)[-1].encode()
        return re.sub(
            rb'(Extension="' + ext + rb'" ContentType=")[^"]*', rb"\g<1>" + content_type.encode(), data
        )

    return rewrite_pptx(path, deck, edit)


def many_entries(path: Path, deck: bytes, entries: int) -> Path:
    """``deck`` with ``entries`` more empty members."""
    out = io.BytesIO(deck)
    with zipfile.ZipFile(out, "a") as zf:
        for i in range(entries):
            zf.writestr(f"x/{i}", b"")
    path.write_bytes(out.getvalue())
    return path


def many_shapes(path: Path, deck: bytes, shapes: int) -> Path:
    """``deck`` whose slide 1 holds ``shapes`` more small rectangles."""
    one = (
        b'<p:sp><p:nvSpPr><p:cNvPr id="%d" name="s"/><p:cNvSpPr/><p:nvPr/></p:nvSpPr><p:spPr><a:xfrm>'
        b'<a:off x="%d" y="0"/><a:ext cx="10" cy="10"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/>'
        b"</a:prstGeom></p:spPr></p:sp>"
    )
    added = b"".join(one % (1000 + i, 10 * i) for i in range(shapes))

    def edit(name: str, data: bytes) -> bytes:
        return data.replace(b"</p:spTree>", added + b"</p:spTree>", 1) if name == SLIDE1 else data

    return rewrite_pptx(path, deck, edit)


def line_image_pdf(path: Path, width: int, height: int) -> Path:
    """A one-page PDF painting a grey picture of ``width`` x ``height`` pixels over a 300 pt square."""
    pixels = zlib.compress(b"\x80" * (width * height))
    image = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray"
        b" /BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % (width, height, len(pixels))
        + pixels
        + b"\nendstream"
    )
    content = b"q 300 0 0 300 100 100 cm /Im0 Do Q"
    contents = b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream"
    path.write_bytes(_pdf_file(one_page_objects(b"/XObject << /Im0 5 0 R >>", contents, image)))
    return path


def rewritten_pdf(path: Path, words: str) -> Path:
    """A figure PDF whose page 1 an incremental update (a second xref after the first) rewrote: ``words``
    drawn on it, a revision only the update holds."""
    figure_pdf(path, seed=3)
    with pymupdf.open(path) as doc:
        doc[0].insert_text((72, 800), words, fontsize=11)
        doc.saveIncr()
    return path
