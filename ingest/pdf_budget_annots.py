"""What the annotations MuPDF draws without an appearance stream ask for (``pdf_budget`` counts the rest).

An annotation without a normal appearance (``/AP /N``) is drawn from its data: MuPDF writes an appearance
for it when it draws the page, so the page's streams, and the appearance streams ``pdf_budget`` reads, do not
show that work. An Ink annotation of 1,000,000 points (8 MB of file) cost 24.5 CPU-s and 540 MB (4.9 s to read
as drawings, 12 s to render at 72 dpi); 200 FreeText annotations of 50,000 characters, 7.8 CPU-s and 1 GB.
So each such annotation counts one painting operation, plus one per point of its geometry (an ink stroke,
a polygon's vertices, a markup's quadrilaterals, a line's ends), and the text MuPDF lays out into it (a
FreeText's contents, a form field's value and options; their bytes, a bound) counts as characters shown.
A form whose /AcroForm says /NeedAppearances has every field drawn that way, appearance stream or not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pymupdf

DRAWN_SUBTYPES = frozenset(
    {
        *("Text", "FreeText", "Line", "Square", "Circle", "Polygon", "PolyLine", "Highlight", "Underline"),
        *("Squiggly", "StrikeOut", "Redact", "Stamp", "Caret", "Ink", "FileAttachment", "Sound", "Widget"),
    }
)
"""The annotation types MuPDF writes an appearance for (a Link or Popup draws nothing)."""
GEOMETRY_KEYS = ("InkList", "Vertices", "QuadPoints", "L", "Path")
"""Where an annotation keeps the points of what it draws (two numbers a point)."""
TEXT_KEYS = {"FreeText": ("Contents", "RC", "DS"), "Widget": ("V", "Opt", "DV")}
"""The strings MuPDF lays out into an annotation's appearance, by type."""
NUMBER = re.compile(rb"[-+]?(?:\d+\.?\d*|\.\d+)")
REF = re.compile(rb"(\d+)\s+\d+\s+R\b")
HIDDEN = 2
"""The /F flag of an annotation that is not drawn."""
MAX_REF_DEPTH = 2
"""References followed inside a value: an Ink list is an array of arrays, either of which may be an object."""
MAX_FIELD_DEPTH = 32
"""Parent fields climbed for an inherited value (a cycle of parents ends there)."""


@dataclass
class DrawnCost:
    operations: int = 0
    characters: int = 0


class AnnotationData:
    """Counts the data of a document's annotations that have no appearance stream; referenced objects are
    read once a document, however often they are named (an Ink list naming one big array 1,000,000 times)."""

    def __init__(self, doc: pymupdf.Document) -> None:
        self.doc = doc
        self._numbers: dict[int, int] = {}
        self._strings: dict[int, int] = {}
        # A form asking for new appearances: MuPDF writes every field's again from its value, whatever /AP it
        # has (a 3 MB value under an empty appearance: 4.4 CPU-s, 436 MB, uncounted).
        catalog = doc.pdf_catalog()
        redraw = doc.xref_get_key(catalog, "AcroForm/NeedAppearances")[1] if catalog > 0 else ""
        self._fields_redrawn = redraw == "true"

    def page_cost(self, page: pymupdf.Page) -> DrawnCost:
        """The operations and characters of the page's annotations MuPDF draws from their data."""
        cost = DrawnCost()
        inline = False
        for xref, _, _ in page.annot_xrefs():
            if xref <= 0:
                inline = True
            elif self._drawn_from_data(xref):
                self._add(xref, cost)
        if inline:
            self._add_inline(page, cost)
        return cost

    def _drawn_from_data(self, xref: int) -> bool:
        subtype = self.doc.xref_get_key(xref, "Subtype")[1].lstrip("/")
        if subtype not in DRAWN_SUBTYPES:
            return False
        redrawn = subtype == "Widget" and self._fields_redrawn
        if not redrawn and self.doc.xref_get_key(xref, "AP/N")[0] in ("xref", "dict"):
            return False
        flags = self.doc.xref_get_key(xref, "F")[1]
        return not (flags.isdigit() and int(flags) & HIDDEN)

    def _add(self, xref: int, cost: DrawnCost) -> None:
        subtype = self.doc.xref_get_key(xref, "Subtype")[1].lstrip("/")
        cost.operations += 1
        for key in GEOMETRY_KEYS:
            numbers = self._count(self._value(xref, key), self._numbers, _numbers, MAX_REF_DEPTH)
            cost.operations += numbers // 2
        for key in TEXT_KEYS.get(subtype, ()):
            value = self._inherited(xref, key) if subtype == "Widget" else self._value(xref, key)
            cost.characters += self._count(value, self._strings, len, MAX_REF_DEPTH)

    def _add_inline(self, page: pymupdf.Page, cost: DrawnCost) -> None:
        """Annotations written inline in the page's /Annots (no object of their own): all the array's numbers
        and strings are counted, whether or not the annotation has an appearance (a bound, read once)."""
        kind, annots = self.doc.xref_get_key(page.xref, "Annots")
        if kind == "xref":
            annots = self.doc.xref_object(int(annots.split()[0]))
        text = REF.sub(b" ", _bytes(annots))
        cost.operations += text.count(b"/Subtype") + _numbers(text) // 2
        cost.characters += len(text)

    def _inherited(self, xref: int, key: str) -> bytes:
        """The value of ``key`` in the widget or, when it has none, in the nearest field above it (/Parent): a
        form field's value is inherited, and MuPDF draws a widget from its parent field's."""
        for _ in range(MAX_FIELD_DEPTH):
            if value := self._value(xref, key):
                return value
            kind, parent = self.doc.xref_get_key(xref, "Parent")
            if kind != "xref":
                break
            xref = int(parent.split()[0])
        return b""

    def _value(self, xref: int, key: str) -> bytes:
        kind, value = self.doc.xref_get_key(xref, key)
        return b"" if kind == "null" else _bytes(value)

    def _count(self, text: bytes, memo: dict[int, int], measure: Callable[[bytes], int], depth: int) -> int:
        """``measure`` of ``text`` with the objects it references measured too (each object once a
        document, ``depth`` references deep)."""
        total = measure(REF.sub(b" ", text))
        for found in REF.finditer(text) if depth else ():
            ref = int(found.group(1))
            if ref not in memo:
                memo[ref] = 0  # a cycle of references counts once
                if 0 < ref < self.doc.xref_length():
                    memo[ref] = self._count(self._object(ref), memo, measure, depth - 1)
            total += memo[ref]
        return total

    def _object(self, xref: int) -> bytes:
        try:
            return _bytes(self.doc.xref_object(xref, compressed=True))
        except (RuntimeError, ValueError):
            return b""


def _numbers(text: bytes) -> int:
    return len(NUMBER.findall(text))


def _bytes(text: str) -> bytes:
    """PyMuPDF's text of a value as bytes (a string's characters may be any Unicode: at least one byte each,
    so its length stays a bound of the characters shown)."""
    return text.encode("utf-8", "surrogatepass")
