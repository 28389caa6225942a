"""How much drawing a PDF page asks for, read from its content streams before MuPDF interprets any of it.

A 1 MB PDF can hold 200,000 path operators on one page; reading them as drawings (``get_cdrawings``) costs
seconds and hundreds of MB, and a flate bomb can hide gigabytes of content in a few KB. This module looks
at the page's content streams and the form XObjects it paints, decompressing at most ``max_bytes``, and
estimates the number of painting operators (paths filled or stroked, text shown, inline images, shadings),
each form counted once per use. The PDF extractor uses the estimate to cap the work per page.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass, field

import pymupdf

PAINT_OPS = re.compile(rb"[\s\])>](?:[fFSsBb]\*?|T[jJ]|BI|sh)(?=[\s\[(/<%]|\Z)")
"""Painting operators: f F f* S s B B* b b* (paths), Tj TJ (text), BI (inline image), sh (shading)."""
FORM_USE = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do(?=[\s\[(/<%]|\Z)")
MIN_BYTES_PER_OP = 4
"""The shortest painting of a path (``0 0 m S``) takes more bytes than this: a stream of N bytes holds
fewer than N / 4 painting operators, so small pages need no count."""
MAX_FORM_DEPTH = 8


@dataclass
class PageCost:
    operations: int = 0
    """Painting operators on the page, a form's counted once per use. Counted only when the content could
    hold more than the threshold asked for; below that, the upper bound bytes / MIN_BYTES_PER_OP."""
    content_bytes: int = 0
    """Decompressed content read (each stream once), up to the cap."""
    over_bytes: bool = False
    """The content decompresses to more than the cap: the page is too big to interpret."""


@dataclass
class _Stream:
    data: bytes
    complete: bool
    uses: Counter[str] = field(default_factory=Counter)
    """Form XObject name -> times painted (``/Fm1 Do``)."""


class ContentBudget:
    """Reads and caches a document's content streams, decompressing at most ``max_bytes`` per page."""

    def __init__(self, doc: pymupdf.Document, max_bytes: int) -> None:
        self.doc = doc
        self.max_bytes = max_bytes
        self._streams: dict[int, _Stream] = {}

    def page_cost(self, page: pymupdf.Page, op_threshold: int) -> PageCost:
        """What painting ``page`` asks for; operators are counted when they could pass ``op_threshold``."""
        forms: dict[int, dict[str, int]] = {}
        for xref, name, invoker, _ in page.get_xobjects():
            forms.setdefault(invoker, {})[name] = xref
        cost = PageCost()
        painted: list[tuple[_Stream, int]] = []
        for xref in page.get_contents():
            self._collect(xref, 0, 1, forms, cost, painted, 0)
            if cost.over_bytes:
                return cost
        bound = sum(times * len(stream.data) for stream, times in painted) // MIN_BYTES_PER_OP
        if bound <= op_threshold:
            cost.operations = bound
        else:
            cost.operations = sum(times * len(PAINT_OPS.findall(stream.data)) for stream, times in painted)
        return cost

    def _collect(
        self,
        xref: int,
        invoker: int,
        times: int,
        forms: dict[int, dict[str, int]],
        cost: PageCost,
        painted: list[tuple[_Stream, int]],
        depth: int,
    ) -> None:
        """Add the stream ``xref`` (painted ``times`` times) and the forms it paints, depth first."""
        stream = self._read(xref, cost)
        if stream is None:
            return
        painted.append((stream, times))
        if depth >= MAX_FORM_DEPTH:
            return
        names = forms.get(invoker, {})
        for name, count in stream.uses.items():
            child = names.get(name)
            if child is not None and child != xref:
                self._collect(child, child, times * count, forms, cost, painted, depth + 1)
                if cost.over_bytes:
                    return

    def _read(self, xref: int, cost: PageCost) -> _Stream | None:
        stream = self._streams.get(xref)
        if stream is None:
            stream = self._decompress(xref)
            self._streams[xref] = stream
        cost.content_bytes += len(stream.data)
        if not stream.complete or cost.content_bytes > self.max_bytes:
            cost.over_bytes = True
            return None
        return stream

    def _decompress(self, xref: int) -> _Stream:
        """The stream's bytes, never more than the cap (plus one byte to tell that it is over)."""
        limit = self.max_bytes + 1
        kind, value = self.doc.xref_get_key(xref, "Filter")
        params = self.doc.xref_get_key(xref, "DecodeParms")[0]
        if kind == "null":
            data = self.doc.xref_stream_raw(xref) or b""
        elif value.strip("[] ") == "/FlateDecode" and params == "null":
            try:
                data = zlib.decompressobj().decompress(self.doc.xref_stream_raw(xref) or b"", limit)
            except zlib.error:
                data = b""  # MuPDF will not draw a broken stream either
        else:  # other filters (rare in content streams): MuPDF decodes them
            data = self.doc.xref_stream(xref) or b""
        complete = len(data) < limit
        stream = _Stream(data=data[: self.max_bytes], complete=complete)
        if complete and b"Do" in data:
            stream.uses.update(m.decode("latin-1") for m in FORM_USE.findall(data))
        return stream
