"""A PNG's pixels without its text and colour-profile chunks, before Pillow opens it.

Pillow inflates a PNG's ``zTXt``, ``iTXt`` and ``iCCP`` chunks when it opens the file (those before the
image data) or loads it (those after), and refuses the picture when one inflates past
``PngImagePlugin.MAX_TEXT_CHUNK`` (1 MiB; 64 MiB of text in all). Its refusal bounds the cost, but the
picture was lost: a deck picture whose 30 KB PNG carried a comment inflating to 100 MiB was not decoded at
all (``safety.image_size`` said "not an image") and became a sketch without a word (twelfth hostile pass).
Nothing here reads a PNG's text or profile (pixels are decoded as stored, never colour-managed), so those
chunks are left out before Pillow sees the bytes; the rest of the file is kept byte for byte.
"""

from __future__ import annotations

SIGNATURE = b"\x89PNG\r\n\x1a\n"
METADATA_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"iCCP"})
"""Text (plain, compressed, international) and the embedded colour profile."""


def without_metadata(blob: bytes) -> bytes:
    """``blob`` unchanged unless it is a PNG holding a chunk of METADATA_CHUNKS; then the same PNG without
    them. A chunk whose length runs past the end, and what follows it, is kept as it is (Pillow then
    judges the file). Only the chunks' headers are read: a deck painting one 12 MB picture thousands of
    times asked this each time, and a scan of the whole picture for each chunk name was 33 ms a call."""
    if not blob.startswith(SIGNATURE):
        return blob
    spans, dropped, at = [], False, len(SIGNATURE)
    while at + 12 <= len(blob):
        end = at + 12 + int.from_bytes(blob[at : at + 4], "big")  # length, type, data, CRC
        if end > len(blob):
            break
        metadata = blob[at + 4 : at + 8] in METADATA_CHUNKS
        dropped |= metadata
        spans.append((at, end, metadata))
        at = end
    if not dropped:
        return blob
    kept = [blob[start:end] for start, end, metadata in spans if not metadata]
    return b"".join([SIGNATURE, *kept, blob[at:]])
