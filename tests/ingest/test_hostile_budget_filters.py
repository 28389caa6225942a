"""The page budget's reads stay within its byte cap whatever the filters, and count a picture as a picture.

A hostile-files audit, 2026-12-07: (1) a content bomb behind any filter chain but a bare ``/FlateDecode``
(``/DecodeParms``, ``[/ASCIIHexDecode /FlateDecode]``, ...) was decoded whole by MuPDF: 1.5 GB took the worker
past 2 GiB and the whole document failed, where a bare Flate bomb skipped its page; (2) a picture painted by a
stamp annotation's appearance or a pattern's cell was read as a content stream, decoded whole (a 30000 x 30000
claim: past 2 GiB) and counted as page content: the page and its chart were skipped."""

from __future__ import annotations

import base64
import binascii
import random
import zlib
from pathlib import Path

import pymupdf
import pytest

from figvault.ingest.bounded_filters import decode_bounded, filter_names
from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_budget import ContentBudget
from figvault.settings import ExtractSettings
from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects
from tests.ingest.hostile_third import bar_chart

CAP_MB = 2
FONT = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> "
CAPTIONED_CHART = bar_chart() + b" BT /F1 11 Tf 100 120 Td (Figure 3: Errors per hour) Tj ET"


def _hex(data: bytes) -> bytes:
    return binascii.hexlify(data) + b">"


def _a85(data: bytes) -> bytes:
    return base64.a85encode(data) + b"~>"


CHAINS = {
    "flate with parameters": (b"/Filter /FlateDecode /DecodeParms << /Predictor 1 >>", zlib.compress),
    "hex, then flate": (b"/Filter [/ASCIIHexDecode /FlateDecode]", lambda d: _hex(zlib.compress(d))),
    "ascii85, then flate": (b"/Filter [/ASCII85Decode/FlateDecode]", lambda d: _a85(zlib.compress(d))),
    "flate twice": (b"/Filter [/FlateDecode /FlateDecode]", lambda d: zlib.compress(zlib.compress(d))),
}


def _bomb_then_chart(path: Path, head: bytes, encode, inflated_mb: int) -> Path:
    """Page 1: a content stream of comments inflating to ``inflated_mb`` MiB behind the filters ``head``;
    page 2: a captioned bar chart."""
    bomb = encode(b"%" + b" " * (inflated_mb * 2**20) + b"\n")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 5 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        _stream(bomb, head),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 6 0 R /Resources << %s >> >>" % FONT,
        _stream(CAPTIONED_CHART),
    ]
    path.write_bytes(_pdf_file(objects))
    return path


@pytest.mark.parametrize("chain", sorted(CHAINS))
def test_a_content_bomb_behind_any_filter_chain_is_read_no_further_than_the_cap(
    tmp_path: Path, chain: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    head, encode = CHAINS[chain]
    path = _bomb_then_chart(tmp_path / "bomb.pdf", head, encode, inflated_mb=3 * CAP_MB)
    assert path.stat().st_size < 200_000
    decoded: list[int] = []
    whole = pymupdf.Document.xref_stream

    def measured(doc: pymupdf.Document, xref: int) -> bytes:
        data = whole(doc, xref)
        decoded.append(len(data or b""))
        return data

    monkeypatch.setattr(pymupdf.Document, "xref_stream", measured)
    ex = extract_document(path, ExtractSettings(workers=1, max_page_content_mb=CAP_MB, ocr=False))
    assert ex.warnings == [f"page 1: skipped, its content decompresses past {CAP_MB} MiB"]
    assert [f.unit.page for f in ex.figures] == [2]
    assert max(decoded, default=0) <= CAP_MB * 2**20  # the bomb was never decoded whole


def _stamped_chart(path: Path, width: int, height: int) -> Path:
    """A captioned bar chart whose page carries a stamp annotation painting a ``width`` x ``height`` RGB
    picture (Flate, a few KB) through a form."""
    pixels = zlib.compress(bytes(width * height * 3), 9)
    image = _stream(
        pixels,
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8"
        b" /Filter /FlateDecode" % (width, height),
    )
    form = _stream(
        b"q 200 0 0 150 0 0 cm /Im1 Do Q",
        b"/Type /XObject /Subtype /Form /BBox [0 0 200 150] /Resources << /XObject << /Im1 5 0 R >> >>",
    )
    objects = one_page_objects(FONT, _stream(CAPTIONED_CHART), image, form)
    objects[2] = objects[2][:-3] + b" /Annots [7 0 R] >>"
    objects.append(b"<< /Type /Annot /Subtype /Stamp /Rect [380 620 580 770] /AP << /N 6 0 R >> /F 4 >>")
    path.write_bytes(_pdf_file(objects))
    return path


def test_a_stamp_s_picture_is_a_picture_not_page_content(tmp_path: Path) -> None:
    path = _stamped_chart(tmp_path / "stamp.pdf", 1200, 1000)  # 3.6 MB of pixels, over the 2 MiB cap
    ex = extract_document(path, ExtractSettings(workers=1, max_page_content_mb=CAP_MB, ocr=False))
    assert ex.warnings == []
    assert len(ex.figures) == 1 and ex.figures[0].unit.caption.startswith("Figure 3")
    with pymupdf.open(path) as doc:
        cost = ContentBudget(doc, CAP_MB * 2**20).page_cost(doc[0], 0)
    assert not cost.over_bytes and cost.content_bytes < 10_000


FILTERS = ["FlateDecode", "ASCIIHexDecode", "ASCII85Decode", "RunLengthDecode"]


@pytest.mark.parametrize("names", [[name] for name in FILTERS])
def test_each_filter_decodes_as_mupdf_does_and_stops_at_the_bound(tmp_path: Path, names: list[str]) -> None:
    rng = random.Random(7)
    lines = (b"%d %d m %d %d l S" % tuple(rng.randrange(600) for _ in range(4)) for _ in range(3000))
    content = b" ".join(lines)
    encoded = {
        "FlateDecode": zlib.compress(content),
        "ASCIIHexDecode": _hex(content),
        "ASCII85Decode": _a85(content),
        "RunLengthDecode": _run_length(content),
    }[names[0]]
    objects = one_page_objects(b"", _stream(encoded, b"/Filter /%s" % names[0].encode()))
    path = tmp_path / "page.pdf"
    path.write_bytes(_pdf_file(objects))
    with pymupdf.open(path) as doc:
        assert filter_names(*doc.xref_get_key(4, "Filter")) == names
        raw, mupdf = doc.xref_stream_raw(4), doc.xref_stream(4)
    assert mupdf == content
    assert decode_bounded(raw, names, len(content) + 1) == (content, False)
    short, over = decode_bounded(raw, names, 1000)
    assert over and short == content[:1000]


def _run_length(data: bytes) -> bytes:
    """RunLength encoding: literal runs of up to 128 bytes, and repeats of a byte (2-128 times)."""
    out, i = bytearray(), 0
    while i < len(data):
        run = 1
        while i + run < len(data) and run < 128 and data[i + run] == data[i]:
            run += 1
        if run > 1:
            out += bytes([257 - run, data[i]])
            i += run
        else:
            literal = data[i : i + 128]
            out += bytes([len(literal) - 1]) + literal
            i += len(literal)
    return bytes(out) + b"\x80"


def test_a_damaged_stream_gives_what_comes_before_the_damage() -> None:
    # A review: a chain's stream with a bad character or a damaged middle counted as empty (0 operations)
    # where MuPDF draws what it decoded: 400,000 fills uncounted.
    content = b" ".join(b"%d 200 40 %d re f" % (i % 500, i % 300) for i in range(5000))
    assert decode_bounded(binascii.hexlify(content) + b"g>", ["ASCIIHexDecode"], 10**8) == (content, False)
    packed = zlib.compress(content)
    damaged = packed[: len(packed) // 2] + bytes(range(256))  # zlib: "invalid distance too far back"
    with pytest.raises(zlib.error):
        zlib.decompress(damaged)
    start, over = decode_bounded(damaged, ["FlateDecode"], 10**8)
    assert not over and len(start) > 10_000 and content.startswith(start[:10_000])


def test_ascii85_or_run_length_behind_flate_is_over_without_decoding() -> None:
    # A review: 65 KB of Flate inflating to ASCII85 ``z`` took 45 s and 870 MiB a page in Python.
    assert decode_bounded(zlib.compress(b"z" * 2**19), ["FlateDecode", "ASCII85Decode"], 2**20) == (b"", True)
    assert decode_bounded(zlib.compress(b"\x00a" * 2**20), ["FlateDecode", "RunLengthDecode"], 2**24)[1]
    assert decode_bounded(b"z" * 1000 + b"~>", ["ASCII85Decode"], 2**20) == (bytes(4000), False)


def _painted_by_annotation(path: Path, form_head: bytes, more: list[bytes]) -> Path:
    """A page whose stamp annotation's appearance paints a form of 5,000 fills."""
    fills = b" ".join(b"%d %d 2 2 re f" % (i % 100, i // 100) for i in range(5000))
    form = _stream(fills, form_head)
    appearance = _stream(
        b"/Fm1 Do",
        b"/Type /XObject /Subtype /Form /BBox [0 0 200 150] /Resources << /XObject << /Fm1 5 0 R >> >>",
    )
    objects = one_page_objects(FONT, _stream(CAPTIONED_CHART), form, appearance, *more)
    objects[2] = objects[2][:-3] + b" /Annots [8 0 R] >>"
    objects.insert(7, b"<< /Type /Annot /Subtype /Stamp /Rect [380 620 580 770] /AP << /N 6 0 R >> >>")
    path.write_bytes(_pdf_file(objects))
    return path


@pytest.mark.parametrize("subtype", [b"/Form", b"7 0 R"])
def test_a_form_painted_by_an_annotation_counts_whatever_names_its_subtype(
    tmp_path: Path, subtype: bytes
) -> None:
    # A review: a form whose /Subtype is an indirect object was taken for a picture: 5,000 fills uncounted.
    head = b"/Type /XObject /Subtype %s /BBox [0 0 200 200]" % subtype
    path = _painted_by_annotation(tmp_path / "annot.pdf", head, [b"/Form"])
    with pymupdf.open(path) as doc:
        assert doc.xref_get_key(8, "Subtype") == ("name", "/Stamp")
        cost = ContentBudget(doc, CAP_MB * 2**20).page_cost(doc[0], 0)
    assert cost.operations >= 5000


def test_a_predictor_given_as_dp_is_applied(tmp_path: Path) -> None:
    # A review: MuPDF reads ``/DP`` as ``/DecodeParms``; the budget read the chain without its predictor.
    content = b" ".join(b"%d 200 40 %d re f" % (i % 500, i % 300) for i in range(4000))
    columns = 100
    content += b" " * (-len(content) % columns)
    rows = [content[i : i + columns] for i in range(0, len(content), columns)]
    predicted = b"".join(b"\x00" + row for row in rows)  # PNG predictor, tag 0 (None) on every row
    head = b"/Filter [/ASCIIHexDecode /FlateDecode] /DP [null << /Predictor 12 /Columns %d >>]" % columns
    objects = one_page_objects(b"", _stream(binascii.hexlify(zlib.compress(predicted)) + b">", head))
    path = tmp_path / "dp.pdf"
    path.write_bytes(_pdf_file(objects))
    with pymupdf.open(path) as doc:
        assert doc.xref_stream(4) == content
        cost = ContentBudget(doc, CAP_MB * 2**20).page_cost(doc[0], 0)
    assert cost.operations == content.count(b"re f")


def test_a_long_ascii85_stream_is_read_as_far_as_the_bound_needs() -> None:
    # A review: an ASCII85 content stream of 5.8 MB (4.6 MB of content, under the 16 MiB cap) was refused as
    # "decompresses past 16 MiB" and its page skipped; now only the characters the bound needs are decoded.
    content = random.Random(3).randbytes(9 * 2**19)
    encoded = _a85(content)
    assert len(encoded) > 5 * 2**20
    assert decode_bounded(encoded, ["ASCII85Decode"], 16 * 2**20) == (content, False)
    start, over = decode_bounded(encoded, ["ASCII85Decode"], 2**20)
    assert over and start == content[: 2**20]
