"""A PDF stream's filter chain decoded to at most a given number of bytes, for the filters a content
stream can carry without being a picture: Flate and ASCIIHex in any order, ASCII85 and RunLength first.

MuPDF decodes a whole stream whatever it inflates to: a page's content behind ``[/ASCIIHexDecode
/FlateDecode]`` or a Flate stream with ``/DecodeParms`` that inflated to 1.5 GB took the worker past its
2 GiB and lost the whole document, where a bare Flate bomb skipped its page (a hostile-files audit,
2026-12-07). Here each stage stops one byte past the bound, so the caller can tell "over" from "complete".
A predictor (``/DecodeParms``) never makes a stream longer than its Flate output, so the size found here
bounds what MuPDF then decodes.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections.abc import Callable

HEX_STOP = re.compile(rb"[^0-9A-Fa-f\x00\t\n\x0c\r ]")
"""Where hex data ends: its ``>``, or the first character that is no digit (MuPDF stops there too)."""
WHITE = re.compile(rb"[\x00\t\n\x0c\r ]+")
A85_PART = re.compile(rb"z+|[^z]+")
NAME = re.compile(r"/([^\s/\[\]()<>{}%]+)")
NAMES = re.compile(r"\s*(?:/[^\s/\[\]()<>{}%]+\s*)*")
A85_SLICE = 5 * 65_536
"""ASCII85 characters decoded at a time (whole groups: 5 characters each)."""
FLATE_SLICE = 1_024
"""Compressed bytes inflated at a time: a damaged stream gives what came before the damage."""
SHRINK = 2
"""How much larger than the bound a stage's output may be before the next stage: ASCIIHex halves its
input and ASCII85 takes 5 characters to 4 bytes (a chain shrinking more counts as over: no writer makes
one)."""
SLOW = frozenset({"ASCII85Decode", "A85", "RunLengthDecode", "RL"})
"""Filters decoded in Python (no C decoder in the standard library): only as a chain's first stage (the
file's own bytes; ASCII85 only as many characters as the bound needs: 0.15 CPU-s a MB). Behind Flate they
are taken as over the cap: a 65 KB Flate stream of ASCII85 ``z`` cost 45 s and 870 MiB a page (a review);
no writer makes such content streams. RunLength also past RUN_LENGTH_MAX_INPUT (none seen in any file)."""
RUN_LENGTH = frozenset({"RunLengthDecode", "RL"})
RUN_LENGTH_MAX_INPUT = 4 * 2**20


def _flate(data: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj()
    out = bytearray()
    try:
        for start in range(0, len(data), FLATE_SLICE):
            out += inflater.decompress(data[start : start + FLATE_SLICE], limit - len(out))
            if len(out) >= limit:
                break
    except zlib.error:
        pass  # what came before the damage, which MuPDF draws too
    return bytes(out[:limit])


def _hex(data: bytes, limit: int) -> bytes:
    end = HEX_STOP.search(data)
    digits = WHITE.sub(b"", data[: end.start()] if end else data)[: 2 * limit]
    if len(digits) % 2:
        digits += b"0"  # an odd last digit is followed by an implied 0 (PDF 32000, 7.4.2)
    return binascii.unhexlify(digits)


def _ascii85(data: bytes, limit: int) -> bytes:
    end = data.find(b"~>")
    # 5 characters give 4 bytes (``z`` gives 4 alone): what ``limit`` bytes need, however long the stream
    text = WHITE.sub(b"", data if end < 0 else data[:end])[: 5 * (limit // 4 + 2)]
    out = bytearray()
    try:
        for run in A85_PART.finditer(text):  # ``z`` (4 zero bytes) breaks the groups' alignment
            part = run.group()
            if part[0] == ord("z"):
                out += bytes(4 * min(len(part), limit))
            else:
                for start in range(0, len(part), A85_SLICE):
                    out += base64.a85decode(part[start : start + A85_SLICE])
                    if len(out) >= limit:
                        break
            if len(out) >= limit:
                break
    except ValueError:
        pass  # what came before a bad character
    return bytes(out[:limit])


def _run_length(data: bytes, limit: int) -> bytes:
    out = bytearray()
    i, size = 0, len(data)
    while i < size and len(out) < limit:
        length = data[i]
        if length == 128:  # end of data
            break
        if length < 128:
            out += data[i + 1 : i + 2 + length]
            i += 2 + length
        else:
            out += data[i + 1 : i + 2] * (257 - length)
            i += 2
    return bytes(out[:limit])


DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "FlateDecode": _flate,
    "Fl": _flate,
    "ASCIIHexDecode": _hex,
    "AHx": _hex,
    "ASCII85Decode": _ascii85,
    "A85": _ascii85,
    "RunLengthDecode": _run_length,
    "RL": _run_length,
}


def filter_names(kind: str, value: str) -> list[str] | None:
    """The filter names of a stream's ``/Filter`` (PyMuPDF's ``xref_get_key`` kind and value): [] for none,
    None for a value that is not a name or an array of names."""
    if kind == "null":
        return []
    inner = value.strip().removeprefix("[").removesuffix("]") if kind == "array" else value
    if kind not in ("name", "array") or NAMES.fullmatch(inner) is None:
        return None
    return NAME.findall(inner)  # PyMuPDF writes an array's names with or without spaces between


def decodable(names: list[str]) -> bool:
    """Whether every filter of the chain is one this module decodes."""
    return all(name in DECODERS for name in names)


def decode_bounded(raw: bytes, names: list[str], limit: int) -> tuple[bytes, bool]:
    """``raw`` through the filters ``names`` (each in ``DECODERS``): at most ``limit`` bytes, and whether
    the stream decodes to ``limit`` bytes or more, or is not worth decoding (``SLOW``): then the bytes are
    only its start, or nothing."""
    data = raw
    for index, name in enumerate(names):
        if name in SLOW and (index > 0 or (name in RUN_LENGTH and len(data) > RUN_LENGTH_MAX_INPUT)):
            return b"", True
        bound = limit if index == len(names) - 1 else SHRINK * limit
        data = DECODERS[name](data, bound)
        if len(data) >= bound:
            return data[:limit], True
    return data, False
