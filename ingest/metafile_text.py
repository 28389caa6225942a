"""The words of a vector picture (EMF, EMF+ or WMF): its text records, read without drawing it.

Office decks carry diagrams exported from Visio or drawn in an older Office as Windows metafiles. Such a
picture is a list of drawing records, and its labels are text records (``EMR_EXTTEXTOUTW``, EMF+
``DrawString``, WMF ``TEXTOUT``), not pixels: PIL cannot decode it, so OCR never sees it, and without this
the unit of a network diagram carries no word of its own. Reading the records gives the words exactly, at
the cost of one pass over the bytes (no rendering, no Tesseract).

Records are read in file order; runs on one baseline that follow each other closely are joined into one
line (generators often write a label word by word or glyph by glyph). The work is bounded: at most
MAX_RECORDS records (EMF+ records inside comments included), and reading stops once MAX_TEXT_CHARS visible
characters are found; a malformed record ends the reading, keeping what was read. Anything that is not a
metafile gives no words.
"""

from __future__ import annotations

import struct
import unicodedata
from dataclasses import dataclass

MAX_RECORDS = 200_000
MAX_TEXT_CHARS = 1500
EMF_SIGNATURE = b" EMF"
"""At offset 40 of an EMF header record (type 1)."""
WMF_PLACEABLE = 0x9AC6CDD7
EMR_HEADER, EMR_EOF, EMR_COMMENT = 1, 14, 70
EMR_EXTTEXTOUTA, EMR_EXTTEXTOUTW = 83, 84
EMF_PLUS = b"EMF+"
EMFPLUS_DRAWSTRING = 0x401C
META_TEXTOUT, META_EXTTEXTOUT = 0x0521, 0x0A32
ETO_OPAQUE, ETO_CLIPPED, ETO_PDY = 0x0002, 0x0004, 0x2000


@dataclass(frozen=True)
class TextRun:
    """One text record: its characters, where it starts and (when the record says) where it ends."""

    text: str
    x: float
    y: float
    end_x: float | None = None
    height: float = 0.0


def metafile_text(blob: bytes) -> str:
    """The lines of words in an EMF, EMF+ or WMF picture; empty for anything else or a picture without
    text records."""
    if is_emf(blob):
        runs = _emf_runs(blob)
    elif _wmf_start(blob) is not None:
        runs = _wmf_runs(blob)
    else:
        return ""
    return "\n".join(_lines(runs))[:MAX_TEXT_CHARS]


def is_emf(blob: bytes) -> bool:
    header = len(blob) >= 88 and struct.unpack_from("<I", blob, 0)[0] == EMR_HEADER
    return header and blob[40:44] == EMF_SIGNATURE


class _Runs:
    """The text runs read so far and the records read. Reading stops at MAX_RECORDS records, EMF+ records
    inside comments counted too (a 42 MB comment of 10^6 DrawString records took 3.8 CPU-s and 356 MB), or
    once the runs hold MAX_TEXT_CHARS visible characters: the words are cut there, later runs cannot
    change them."""

    def __init__(self) -> None:
        self.runs: list[TextRun] = []
        self.records = 0
        self.chars = 0

    @property
    def full(self) -> bool:
        return self.records >= MAX_RECORDS or self.chars >= MAX_TEXT_CHARS

    def add(self, run: TextRun | None) -> None:
        self.records += 1
        if run is not None:
            self.runs.append(run)
            self.chars += len(_visible(run.text))


def _emf_runs(blob: bytes) -> list[TextRun]:
    found = _Runs()
    offset = 0
    while not found.full:
        if offset + 8 > len(blob):
            break
        kind, size = struct.unpack_from("<II", blob, offset)
        if size < 8 or size % 4 or offset + size > len(blob) or kind == EMR_EOF:
            break
        record = blob[offset : offset + size]
        if kind in (EMR_EXTTEXTOUTA, EMR_EXTTEXTOUTW):
            found.add(_emf_text_record(record, wide=kind == EMR_EXTTEXTOUTW))
        elif kind == EMR_COMMENT and record[12:16] == EMF_PLUS:
            found.add(None)  # the comment is a record too: comments with no EMF+ record inside count
            _emf_plus_runs(record[16:], found)
        else:
            found.add(None)
        offset += size
    return found.runs


def _emf_text_record(record: bytes, *, wide: bool) -> TextRun | None:
    """EMR_EXTTEXTOUT[AW]: bounds (16), graphics mode, x/y scale (12), then EMRTEXT: reference point (8),
    character count, string offset, options, rectangle (16), advances offset."""
    if len(record) < 76:
        return None
    x, y, count, text_at, options = struct.unpack_from("<iiIII", record, 36)
    dx_at = struct.unpack_from("<I", record, 72)[0]
    width = 2 if wide else 1
    if count == 0 or text_at + count * width > len(record):
        return None
    raw = record[text_at : text_at + count * width]
    text = raw.decode("utf-16-le" if wide else "cp1252", errors="replace")
    top, bottom = struct.unpack_from("<i", record, 12)[0], struct.unpack_from("<i", record, 20)[0]
    step = 2 if options & ETO_PDY else 1
    end_x = None
    if dx_at and dx_at + 4 * count * step <= len(record):
        advances = struct.unpack_from(f"<{count * step}i", record, dx_at)[::step]
        end_x = float(x + sum(advances))
    return TextRun(text, float(x), float(y), end_x, float(abs(bottom - top)))


def _emf_plus_runs(data: bytes, found: _Runs) -> None:
    """EMF+ records inside one EMR_COMMENT, into ``found``: DrawString is brush, format, length, layout
    rectangle (4 floats), then the UTF-16 string."""
    offset = 0
    while offset + 12 <= len(data) and not found.full:
        kind, _flags, size, data_size = struct.unpack_from("<HHII", data, offset)
        if size < 12 or offset + size > len(data):
            break
        run = None
        if kind == EMFPLUS_DRAWSTRING and data_size >= 28:
            count = struct.unpack_from("<I", data, offset + 20)[0]
            left, top, width, height = struct.unpack_from("<ffff", data, offset + 24)
            start = offset + 40
            if start + 2 * count <= offset + size:
                text = data[start : start + 2 * count].decode("utf-16-le", errors="replace")
                run = TextRun(text, left, top + height, left + width, height)
        found.add(run)
        offset += size


def _wmf_start(blob: bytes) -> int | None:
    """Where a WMF's records start (after its 18-byte header and the optional 22-byte placeable header)."""
    start = 22 if len(blob) >= 22 and struct.unpack_from("<I", blob, 0)[0] == WMF_PLACEABLE else 0
    if len(blob) < start + 18:
        return None
    kind, header_words = struct.unpack_from("<HH", blob, start)
    if kind not in (1, 2) or header_words != 9:
        return None
    return start + 18


def _wmf_runs(blob: bytes) -> list[TextRun]:
    found = _Runs()
    offset = _wmf_start(blob) or 0
    while not found.full:
        if offset + 6 > len(blob):
            break
        words, function = struct.unpack_from("<IH", blob, offset)
        size = 2 * words
        if size < 6 or offset + size > len(blob) or function == 0:
            break
        found.add(_wmf_text_record(blob[offset + 6 : offset + size], function))
        offset += size
    return found.runs


def _wmf_text_record(params: bytes, function: int) -> TextRun | None:
    if function == META_TEXTOUT and len(params) >= 2:
        count = struct.unpack_from("<H", params, 0)[0]
        padded = count + (count % 2)
        if 2 + padded + 4 > len(params):
            return None
        y, x = struct.unpack_from("<hh", params, 2 + padded)
        return TextRun(params[2 : 2 + count].decode("cp1252", errors="replace"), float(x), float(y))
    if function == META_EXTTEXTOUT and len(params) >= 8:
        y, x, count, options = struct.unpack_from("<hhHH", params, 0)
        start = 8 + (8 if options & (ETO_OPAQUE | ETO_CLIPPED) else 0)
        if start + count > len(params):
            return None
        return TextRun(params[start : start + count].decode("cp1252", errors="replace"), float(x), float(y))
    return None


def _lines(runs: list[TextRun]) -> list[str]:
    """Runs joined into lines: a run continues the line when it sits on the same baseline and starts where
    the previous run ended (glued when it starts within a fifth of the text height, after a space when
    within one height); any other run starts a new line."""
    lines: list[str] = []
    current = ""
    previous: TextRun | None = None
    for run in runs:
        text = _visible(run.text)
        if not text:
            continue
        joint = _joint(previous, run)
        if joint is None:
            if current:
                lines.append(current)
            current = text
        else:
            current += joint + text
        previous = run
    if current:
        lines.append(current)
    return lines


def _visible(text: str) -> str:
    """A run's words without what no one types: control characters, combining marks and private-use code
    points (icon fonts draw their symbols as such characters); empty when no letter or digit is left."""
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] not in "CM" or ch == " ")
    words = " ".join(kept.split())
    return words if any(ch.isalnum() for ch in words) else ""


def _joint(previous: TextRun | None, run: TextRun) -> str | None:
    """What joins ``run`` to the line of ``previous``: "" (glued), " ", or None (a new line)."""
    if previous is None or previous.end_x is None:
        return None
    height = max(previous.height, run.height, 1.0)
    if abs(run.y - previous.y) > 0.2 * height:
        return None
    distance = run.x - previous.end_x
    if -0.2 * height <= distance <= 0.2 * height:
        return ""
    return " " if 0 < distance <= height else None
