"""Integers read from a deck's XML attributes, tolerant of what a damaged or hostile file writes there.

``int()`` (and python-pptx, which calls it) raises on a value that is no integer: a slide size of
``cy="abc"`` or a group offset of ``y="1e9"`` failed the whole deck with a bare ``ValueError: invalid
literal for int()`` (a hostile-file audit, 2026-12-07), and a value of 400 digits, read, overflowed the
float arithmetic after it. Here such a value is None, and each reader says what that means for it (a
default slide size, a shape left out), with a warning where something is lost.
"""

from __future__ import annotations

import re

MAX_XML_INT = 2**63 - 1
"""xsd:long, the widest integer type of the OOXML schemas (EMU coordinates, point counts): a value past it
is no value a writer meant, and read, it overflowed float arithmetic (``int too large to convert``)."""
_INTEGER = re.compile(r"\s*[+-]?0{0,64}[0-9]{1,19}\s*")
"""What xsd:long allows (surrounding whitespace as XML Schema collapses it, leading zeros: a review found a
deck so written lose its figure), in ASCII digits: ``int()`` takes ``1_000`` and other scripts' digits,
which no writer of OOXML emits."""


def xml_int(text: str | None) -> int | None:
    """``text`` (an attribute's value) as an integer within xsd:long; None when absent or anything else
    (``"1e9"``, ``""``, ``"abc"``, ``"2.5"``, 20 digits or more)."""
    if text is None or not _INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if -MAX_XML_INT - 1 <= value <= MAX_XML_INT else None


def shown_value(text: str, limit: int = 24) -> str:
    """An attribute's value as a warning quotes it: at most ``limit`` characters (a hostile one can be
    megabytes), those that print nothing (line breaks, controls) escaped: a warning is one line."""
    cut = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[:limit])
    return cut + ("..." if len(text) > limit else "")
