"""Generated hostile files of the twelfth pass: a page whose /Contents lists 100,000 streams, a page tree
looping back through a middle node, an attachment declaring 1 GiB, an image whose ICC profile inflates to
50 MiB, HTML and zip files named .pdf; deck pictures whose PNG chunks inflate past Pillow's text limit, a
layout and master that name each other, a media part declaring 2 GiB, EMF and WMF headers claiming 2^31
pixels. Each is a few KB to a few MB; the cost is in the reading."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects
from tests.ingest.hostile_fresh import rewrite_pptx

BARS = b"0.2 0.4 0.8 rg " + b" ".join(b"%d 200 40 %d re f" % (100 + 60 * i, 60 + 40 * i) for i in range(6))
TITLE = b" BT /F1 18 Tf 100 600 Td (Figure 1: Units shipped per quarter) Tj ET"
FONT = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>"


def contents_array_pdf(path: Path, streams: int, *, shared: bool = False) -> Path:
    """A bar chart page whose /Contents is an array of ``streams`` streams: the chart, then ``streams - 1``
    that each save and restore the graphics state (distinct objects, or ``shared``: one object listed
    again and again)."""
    chart = _stream(BARS + TITLE)
    empty = _stream(b"q Q")
    more = [empty] if shared else [empty] * (streams - 1)
    others = [b"5 0 R"] * (streams - 1) if shared else [b"%d 0 R" % (5 + i) for i in range(streams - 1)]
    refs = [b"4 0 R", *others]
    objects = one_page_objects(FONT, chart, *more)
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents [" + b" ".join(refs) + b"]")
    path.write_bytes(_pdf_file(objects))
    return path


def ancestor_loop_pdf(path: Path) -> Path:
    """Two chart pages whose tree loops through a middle node: the root lists page 1 and a /Pages node,
    whose /Kids list page 2 and the root again (its own grandparent)."""
    chart = _stream(BARS + TITLE)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /MediaBox [0 0 612 792] /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 6 0 R /Resources << %s >> >>" % FONT,
        b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 2 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 4 0 R /Contents 6 0 R /Resources << %s >> >>" % FONT,
        chart,
    ]
    path.write_bytes(_pdf_file(objects))
    return path


def _inflating_to(marker: bytes, inflated_mb: int) -> bytes:
    """Deflate data inflating to ``inflated_mb`` MiB of ``marker`` repeated, made a MiB at a time."""
    block = marker * (2**20 // len(marker))
    packer = zlib.compressobj(9)
    return b"".join(packer.compress(block) for _ in range(inflated_mb)) + packer.flush()


def attachment_pdf(path: Path, declared: int, inflated_mb: int, marker: bytes) -> Path:
    """A bar chart page with an attached file that declares ``declared`` bytes (/Params /Size) and
    inflates to ``inflated_mb`` MiB of ``marker`` repeated, attached twice: in the document's
    /EmbeddedFiles and by a file attachment annotation on the page."""
    head = b"/Type /EmbeddedFile /Filter /FlateDecode /Params << /Size %d >>" % declared
    spec = b"<< /Type /Filespec /F (data.bin) /UF (data.bin) /EF << /F 5 0 R >> >>"
    annot = b"<< /Type /Annot /Subtype /FileAttachment /Rect [500 700 520 720] /FS 6 0 R /Contents (data) >>"
    objects = one_page_objects(FONT, _stream(BARS + TITLE), _stream(_inflating_to(marker, inflated_mb), head))
    objects += [spec, annot]
    names = b"/Names << /EmbeddedFiles << /Names [(data.bin) 6 0 R] >> >>"
    objects[0] = objects[0].replace(b"/Pages 2 0 R", b"/Pages 2 0 R " + names)
    objects[2] = objects[2].replace(b"/Contents 4 0 R", b"/Contents 4 0 R /Annots [7 0 R]")
    path.write_bytes(_pdf_file(objects))
    return path


def srgb_profile() -> bytes:
    """A real sRGB ICC profile (Pillow's)."""
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def icc_image_pdf(path: Path, profile_mb: int) -> Path:
    """A page with a 300 x 200 picture and a title, the picture's colour space an ICC profile that
    inflates to ``profile_mb`` MiB (a real sRGB profile padded with zeros, its header's size field saying
    so), from about ``profile_mb`` x 1 KB of file."""
    profile = bytearray(srgb_profile())
    total = profile_mb * 2**20
    profile[0:4] = struct.pack(">I", total)
    profile += bytes(total - len(profile))
    packed = zlib.compress(bytes(profile), 9)
    icc = b"<< /N 3 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed) + packed + b"\nendstream"
    pixels = Image.new("RGB", (300, 200), (200, 40, 40))
    for x in range(0, 300, 30):
        pixels.paste((20, 120, 220), (x, 0, x + 15, 200))
    image = _stream(
        zlib.compress(pixels.tobytes()),
        b"/Type /XObject /Subtype /Image /Width 300 /Height 200 /ColorSpace [/ICCBased 6 0 R]"
        b" /BitsPerComponent 8 /Filter /FlateDecode",
    )
    content = _stream(b"q 300 0 0 200 150 300 cm /Im1 Do Q" + TITLE)
    objects = one_page_objects(FONT + b" /XObject << /Im1 5 0 R >>", content, image, icc)
    path.write_bytes(_pdf_file(objects))
    return path


def pretender(path: Path, kind: str) -> Path:
    """A file named ``path`` (``.pdf``) that is not a PDF: ``html``, ``zip`` (of a text file), ``html-pdf``
    (HTML that says ``%PDF-`` in its first KiB, as a page about PDFs may) or ``zip-pdf`` (a zip whose first
    member is a PDF, stored: ``%PDF-`` appears in its first KiB)."""
    html = b"<!DOCTYPE html><html><head><title>Report</title></head><body><p>Quarterly report</p></body>"
    if kind == "html":
        path.write_bytes(html)
    elif kind == "html-pdf":
        path.write_bytes(html.replace(b"<p>", b"<p>Save it as %PDF-1.7 and upload it. "))
    elif kind in ("zip", "zip-pdf"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
            if kind == "zip":
                zf.writestr("notes.txt", "quarterly notes\n")
            else:
                zf.writestr("report.pdf", _pdf_file(one_page_objects(FONT, _stream(BARS + TITLE))))
        path.write_bytes(out.getvalue())
    else:
        raise ValueError(kind)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunk(picture: bytes, kind: str, inflated_mb: int) -> bytes:
    """``picture`` (a PNG) with one more chunk inflating to ``inflated_mb`` MiB: ``zTXt`` (compressed
    text, after the header), ``iCCP`` (a colour profile, after the header) or ``zTXt-late`` (after the
    image data, read when the pixels are)."""
    body = zlib.compress(b"\0" * (inflated_mb * 2**20), 9)
    if kind.startswith("zTXt"):
        chunk = _chunk(b"zTXt", b"Comment\0\0" + body)
    elif kind == "iCCP":
        chunk = _chunk(b"iCCP", b"sRGB\0\0" + body)
    else:
        raise ValueError(kind)
    at = picture.index(b"IEND") - 4 if kind == "zTXt-late" else 8 + 25  # after IHDR (8 + 4 + 4 + 13 + 4)
    return picture[:at] + chunk + picture[at:]


def swapped_picture(path: Path, deck: bytes, blob: bytes) -> Path:
    """``deck`` with its picture member ``ppt/media/image1.png`` replaced by ``blob``."""
    return rewrite_pptx(path, deck, lambda name, data: blob if name == "ppt/media/image1.png" else data)


def master_loop(path: Path, deck: bytes, how: str) -> Path:
    """``deck`` whose slide layouts and masters name each other in a loop: ``self`` (slide layout 1's
    master relationship names layout 1 itself), ``layout`` (the master's first layout relationship names
    the master itself), or ``masters`` (layout 1's master relationship names a second master, a copy of
    the first whose layouts name layout 1)."""

    def edit(name: str, data: bytes) -> bytes:
        if how == "self" and name == "ppt/slideLayouts/_rels/slideLayout1.xml.rels":
            return data.replace(b"../slideMasters/slideMaster1.xml", b"slideLayout1.xml")
        if how == "layout" and name == "ppt/slideMasters/_rels/slideMaster1.xml.rels":
            return data.replace(b"../slideLayouts/slideLayout1.xml", b"slideMaster1.xml", 1)
        return data

    return rewrite_pptx(path, deck, edit)


def lying_member_size(path: Path, deck: bytes, member: str, declared: int) -> Path:
    """``deck`` whose ``member`` declares ``declared`` bytes inflated (in its local header and in the
    central directory), whatever its data holds."""
    from tests.ingest.hostile_eleventh import lying_size

    return lying_size(path, deck, member, declared)


def wmf_placeable(width: int, height: int, inch: int = 96) -> bytes:
    """A placeable WMF whose bounding box is ``width`` x ``height`` units at ``inch`` units an inch."""
    head = struct.pack("<IHhhhhHI", 0x9AC6CDD7, 0, 0, 0, width, height, inch, 0)
    check = 0
    for (word,) in struct.iter_unpack("<H", head[:20]):
        check ^= word
    head += struct.pack("<H", check)
    return head + struct.pack("<HHHIHH", 1, 9, 0x300, 12, 1, 3) + struct.pack("<IH", 3, 0)


def metafile_claiming(path: Path, kind: str, side: int) -> Path:
    """A deck of one vector picture (``emf`` or ``wmf``) whose header claims ``side`` x ``side`` units (the
    deck built around an honest one, its member then swapped: python-pptx refuses to add such a picture)."""
    from tests.ingest import pptx_decks as decks

    label = [("Label", 100, 200, 50)]
    claim = decks.emf_bytes(label, (side, side)) if kind == "emf" else wmf_placeable(side, side, 1)
    return metafile_deck_of(path, claim)


def rle_bitmap_emf(side: int) -> bytes:
    """An EMF of 4,000 x 3,000 units (``pptx_decks.emf_bytes``) whose first record stretches a bitmap
    (EMR_STRETCHDIBITS) claiming ``side`` x ``side`` 8-bit pixels, run-length encoded: its data is only the
    end-of-bitmap code, so a reader that allocates what the header says first pays for all of it."""
    from tests.ingest import pptx_decks as decks

    base = decks.emf_bytes([("Label", 100, 200, 50)])
    header, records = bytearray(base[:88]), base[88:]
    info = struct.pack("<IiiHHIIiiII", 40, side, side, 1, 8, 1, 2, 0, 0, 256, 0) + bytes(1024)  # BI_RLE8
    at_bits = 80 + len(info)
    record = struct.pack("<II4i", 81, at_bits + 4, 0, 0, 400, 300)
    record += struct.pack(
        "<6i6I2i", 0, 0, 0, 0, side, side, 80, len(info), at_bits, 2, 0, 0x00CC0020, 400, 300
    )
    record += info + b"\x00\x01\x00\x00"  # end of bitmap, padded to 4 bytes
    header[48:56] = struct.pack("<II", 88 + len(record) + len(records), 3)  # bytes, records
    return bytes(header) + record + records


def metafile_deck_of(path: Path, blob: bytes) -> Path:
    """A deck of one vector picture whose member is ``blob`` (built around an honest EMF, then swapped)."""
    from tests.ingest import pptx_decks as decks

    base = decks.metafile_deck(path, decks.emf_bytes([("Label", 100, 200, 50)])).read_bytes()
    return rewrite_pptx(path, base, lambda name, data: blob if name.startswith("ppt/media/") else data)


def looping_compound_file() -> bytes:
    """An OLE2 compound file (what an embedded OLE object's data is) of three sectors whose allocation
    table chains sector 0 to 1 and 1 back to 0: a reader walking a stream's chain never reaches its end."""
    head = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16) + struct.pack("<5H", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
    )
    head += struct.pack(
        "<9I", 0, 1, 1, 0, 4096, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0
    )  # FAT of 1 sector, directory at 1
    head += struct.pack("<I", 0) + b"\xff" * 432  # the FAT is sector 0
    table = struct.pack("<2I", 1, 0) + b"\xff" * 504
    return head + table + bytes(512)
