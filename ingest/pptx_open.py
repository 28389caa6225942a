"""python-pptx's ``Presentation`` of a checked package, a slide whose XML cannot be read left out.

python-pptx parses every part when it opens a deck, so one slide whose XML libxml2 refuses (nested deeper
than it parses, an entity expansion it stops, a part cut short) failed the whole deck, where a PDF loses
only its bad page (a hostile-file audit, 2026-12-07). Such a slide is now read as an empty one (its place,
number and relationships kept: the other slides are read and numbered as before), with a warning; a
damaged layout, master or other part still fails the deck, as its damage reaches every slide.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import Any

from lxml import etree

from figvault.errors import ExtractionError, one_line
from figvault.ingest import pptx_parts
from figvault.ingest.safety import EMPTY_SHAPE_TREE, with_parts_replaced

_EMPTY_SLIDE = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<p:sld xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"'
    b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    b' xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main">'
    + EMPTY_SHAPE_TREE % {b"p": b"p:"}
    + b"</p:sld>"
)
_OBJECT_REPR = re.compile(r"(file )?'?<[\w.]+ object at 0x[0-9a-fA-F]+>'?")
_PLAIN_WORDS = (
    (re.compile(r"Excessive depth in document: (\d+).*"), r"XML nested deeper than \1 levels"),
    (
        re.compile(r"Maximum entity amplification factor exceeded.*"),
        "XML entity expansion refused (its amplification is over the parser's limit)",
    ),
)
"""libxml2's messages without the hints meant for programmers (``use XML_PARSE_HUGE option``)."""


def open_presentation(data: bytes) -> tuple[Any, bytes, list[str]]:
    """The deck, the package it was opened from (``data``, or it with its unreadable slides emptied: what a
    renderer should read too) and a warning for each slide left out. ExtractionError when the package
    cannot be read otherwise, or no slide of it can. One pass, whatever the number of bad slides: the
    slide parts parsed once, replaced together, the deck opened again once (opened again per bad slide,
    20 of them cost 2.8 s on a 400-slide deck; a review)."""
    try:
        return _presentation(data), data, []
    except etree.XMLSyntaxError as exc:
        first = exc
    slides = pptx_parts.slide_parse_errors(data)
    bad = {part: reason for part, reason in slides.items() if reason}
    if not bad:  # another part (a layout, a master: every slide's) or no slide part at all
        raise _unreadable(first, pptx_parts.unparsed_part(data, str(first))) from None
    if len(bad) == len(slides):  # no slide of the deck readable: as a PDF none of whose pages is
        part = next(iter(bad))  # the first in the deck's order
        raise _refused(bad[part], part)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        data = with_parts_replaced(zf, dict.fromkeys(bad, _EMPTY_SLIDE))
    try:
        prs = _presentation(data)
    except etree.XMLSyntaxError as exc:
        raise _unreadable(exc, pptx_parts.unparsed_part(data, str(exc))) from None
    unread = "slide not read, its XML is unreadable"
    return prs, data, [f"{part}: {unread} ({_plain(reason)})" for part, reason in bad.items()]  # deck order


def _presentation(data: bytes) -> Any:
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        return Presentation(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, zipfile.BadZipFile, zlib.error, ValueError) as exc:
        # zlib.error: a member whose deflate data is damaged (its CRC is checked only at its end); an
        # XMLSyntaxError (no ValueError) goes to the caller, which finds the part
        raise _unreadable(exc, None) from None


def _unreadable(exc: Exception, part: str | None) -> ExtractionError:
    # python-pptx names the file it was given: here an in-memory object, whose repr shows an address;
    # and a parse error names no part (a picture typed as a slide: "Start tag expected, '<' not found").
    return _refused(_OBJECT_REPR.sub("the package", one_line(exc)), part)


def _refused(reason: str, part: str | None) -> ExtractionError:
    reason = _plain(reason)
    return ExtractionError(f"not a readable PPTX package: {f'{part}: {reason}' if part else reason}")


def _plain(message: str) -> str:
    for pattern, words in _PLAIN_WORDS:
        message = pattern.sub(words, message)
    return message
