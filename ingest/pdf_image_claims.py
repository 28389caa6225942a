"""The pixels an image's own data makes its decoder allocate, where that is not the dictionary's size.

A JBIG2 image (``/JBIG2Decode``) is decoded to the page its segments declare (the page information segment)
and to each region they declare; MuPDF then keeps the dictionary's /Width x /Height of it. A 1 KB image of
64 x 64 pixels whose segments claim a 60,000 x 60,000 page and region made jbig2dec allocate and fill 3.6
billion pixels when the figure was rendered: 12.5 CPU-s and 1 GB (two such images: the worker's 2 GiB, the
document lost). Reading the segment headers costs nothing; the extractor skips such an image's figure as
it skips one whose dictionary claims too much (``pdf._drop_decorations``).
"""

from __future__ import annotations

import re
import struct
import zlib

import pymupdf

PAGE_INFO = 48
REGION_TYPES = frozenset({4, 6, 7, 20, 22, 23, 36, 38, 39, 40, 42, 43})
"""Text, halftone, generic and refinement region segments: their data starts with the region's size."""
UNKNOWN_LENGTH = 0xFFFFFFFF
MAX_SEGMENTS = 10_000
"""Segment headers read at most (a real image has a few dozen)."""
FILTER_NAME = re.compile(r"/([^\s/\[\]<>()]+)")
MAX_HEAD_BYTES = 2**20
"""What is decompressed of a JBIG2 stream behind another filter to find its headers."""


def claimed_pixels(doc: pymupdf.Document, xref: int) -> int:
    """The most pixels the image ``xref``'s own data declares (0 when it declares none, is no JBIG2, or its
    objects cannot be read: then MuPDF cannot decode it either, and this check must never fail the page;
    a JBIG2 image whose globals object is missing failed every page it was on, so a whole scanned document
    that MuPDF reads; a hostile-file audit, 2026-12-07)."""
    if xref <= 0:
        return 0
    try:
        filters = FILTER_NAME.findall(doc.xref_get_key(xref, "Filter")[1])
        if not filters or filters[-1] != "JBIG2Decode":
            return 0
        data = _head(doc, xref, filters)
    except (ValueError, RuntimeError):
        return 0
    return jbig2_pixels(_globals(doc, xref) + data)


def _globals(doc: pymupdf.Document, xref: int) -> bytes:
    """The start of the image's JBIG2Globals stream; b"" when it has none or it cannot be read."""
    try:
        kind, globals_ref = doc.xref_get_key(xref, "DecodeParms/JBIG2Globals")
        if kind != "xref":
            return b""
        return (doc.xref_stream(int(globals_ref.split()[0])) or b"")[:MAX_HEAD_BYTES]
    except (ValueError, RuntimeError):
        return b""


def _head(doc: pymupdf.Document, xref: int, filters: list[str]) -> bytes:
    """The JBIG2 data, or its first MAX_HEAD_BYTES behind a Flate filter; b"" behind another chain (MuPDF's
    own bounds apply)."""
    raw = doc.xref_stream_raw(xref) or b""
    if filters == ["JBIG2Decode"]:
        return raw
    if filters == ["FlateDecode", "JBIG2Decode"]:
        try:
            return zlib.decompressobj().decompress(raw, MAX_HEAD_BYTES)
        except zlib.error:
            return b""
    return b""


def jbig2_pixels(data: bytes) -> int:
    """The most pixels a page information or region segment of the embedded JBIG2 stream ``data`` declares
    (the headers of ITU-T T.88 7.2, read until a segment of unknown length or the data's end)."""
    most, at = 0, 0
    for _ in range(MAX_SEGMENTS):
        header = _segment(data, at)
        if header is None:
            break
        kind, start, length = header
        if (kind == PAGE_INFO or kind in REGION_TYPES) and start + 8 <= len(data):
            width, height = struct.unpack_from(">II", data, start)
            most = max(most, width * (0 if height == UNKNOWN_LENGTH else height))
        if length == UNKNOWN_LENGTH:
            break
        at = start + length
    return most


def _segment(data: bytes, at: int) -> tuple[int, int, int] | None:
    """(type, where its data starts, its length) of the segment header at ``at``; None past the data."""
    if at + 6 > len(data):
        return None
    number, flags, referred = struct.unpack_from(">IBB", data, at)
    at += 6
    count = referred >> 5
    if count == 7:  # long form: a 29-bit count, then one retention bit per referred segment and itself
        if at + 3 > len(data):
            return None
        count = struct.unpack_from(">I", data, at - 1)[0] & 0x1FFFFFFF
        at += 3 + (count + 8) // 8
    ref_size = 1 if number <= 256 else 2 if number <= 65536 else 4
    at += count * ref_size + (4 if flags & 0x40 else 1)
    if at + 4 > len(data):
        return None
    (length,) = struct.unpack_from(">I", data, at)
    return flags & 0x3F, at + 4, length
