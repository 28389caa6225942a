"""How much drawing a PDF page asks for, read from its content streams before MuPDF interprets any of it.

A 1 MB PDF can hold 200,000 path operators on one page; reading them as drawings (``get_cdrawings``) costs
seconds and hundreds of MB, and a flate bomb can hide gigabytes of content in a few KB. This module looks
at the page's content streams and the form XObjects it paints, decompressing at most ``max_bytes``, and
estimates the number of painting operators (paths filled or stroked, text shown, inline images, shadings),
each form counted once per use, at any depth of nesting. The PDF extractor uses the estimate to cap the
work per page.
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
STRING_TOKEN = re.compile(rb"\\.|[()]", re.S)
"""What delimits a literal string: its parentheses (nested ones balanced), and escapes."""
HEX_STRING = re.compile(rb"<[0-9A-Fa-f\s]*+>")
REF = re.compile(rb"(\d+)\s+\d+\s+R\b")
MAX_PAGE_CHARACTERS = 1_000_000
"""A page showing more characters is not read: MuPDF keeps about 110 bytes of text page per character (one
``Tj`` of 8 million characters, 8 KB compressed: 13.5 s and 900 MB, nothing found; of 15 million: the
2 GiB worker limit, the whole document lost). A dense page of text has 5,000-20,000."""
MIN_BYTES_PER_OP = 4
"""The shortest painting of a path (``0 0 m S``) takes more bytes than this: a stream of N bytes holds
fewer than N / 4 painting operators, so small pages need no count."""


@dataclass
class PageCost:
    operations: int = 0
    """Painting operators on the page, a form's counted once per use. Counted only when the content could
    hold more than the threshold asked for; below that, the upper bound bytes / MIN_BYTES_PER_OP."""
    content_bytes: int = 0
    """Decompressed content read (each stream once), up to the cap."""
    over_bytes: bool = False
    """The content decompresses to more than the cap: the page is too big to interpret."""
    characters: int = 0
    """Characters the page's strings can show, counted when its content is over MAX_PAGE_CHARACTERS bytes
    (0 below: it cannot show more than its bytes)."""


@dataclass
class _Stream:
    data: bytes
    complete: bool
    uses: Counter[str] = field(default_factory=Counter)
    """Form XObject name -> times painted (``/Fm1 Do``)."""
    operations: int | None = None
    """Painting operators in ``data``, counted when first needed."""
    text_bytes: int | None = None
    """Characters the strings of ``data`` can show, counted when first needed."""


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
        roots = page.get_contents()
        order, edges = self._graph(roots, forms, cost)
        if cost.over_bytes:
            return cost
        times: Counter[int] = Counter(roots)
        for xref in order:  # parents first: each stream's uses are known before its forms are reached
            for child, count in edges[xref]:
                times[child] += times[xref] * count
        painted = [(self._streams[xref], n) for xref, n in times.items() if n]
        glyph_ops = self._type3_glyph_ops(page, cost)
        if cost.over_bytes:
            return cost
        painted_bytes = sum(n * len(stream.data) for stream, n in painted)
        if painted_bytes > MAX_PAGE_CHARACTERS:
            cost.characters = sum(n * self._text_bytes(stream) for stream, n in painted)
        bound = painted_bytes // MIN_BYTES_PER_OP + glyph_ops * painted_bytes
        if bound <= op_threshold:
            cost.operations = bound
        else:
            cost.operations = sum(
                n * (self._operations(stream) + glyph_ops * self._text_bytes(stream)) for stream, n in painted
            )
        return cost

    def _type3_glyph_ops(self, page: pymupdf.Page, cost: PageCost) -> int:
        """The most painting operators one glyph of the page's Type 3 fonts draws (0: none has any).

        A Type 3 glyph is a content stream run at each character shown: a 4 KB font whose glyph draws 2,000
        squares, shown 20,000 times by one ``Tj``, is 40 million paths for MuPDF (1,000 x 1,000 took 43 s
        to read as drawings) though the page's own content counts one operator. Forms a glyph paints are not
        followed."""
        most = 0
        for font in page.get_fonts(full=True):
            if font[2] != "Type3":
                continue
            for proc in self._char_procs(font[0]):
                stream = self._read(proc, cost)
                if stream is None:
                    return 0  # over the byte cap: the page is skipped whatever it paints
                most = max(most, self._operations(stream))
        return most

    def _char_procs(self, font: int) -> list[int]:
        kind, value = self.doc.xref_get_key(font, "CharProcs")
        if kind == "xref":
            value = self.doc.xref_object(int(value.split()[0]))
        return [int(x) for x in REF.findall(value.encode("latin-1"))] if kind in ("dict", "xref") else []

    def _text_bytes(self, stream: _Stream) -> int:
        """Characters the stream's strings can show, at most: one per byte of a literal string, per two
        digits of a hex string."""
        if stream.text_bytes is None:
            stream.text_bytes = string_bytes(stream.data)
        return stream.text_bytes

    def _graph(
        self, roots: list[int], forms: dict[int, dict[str, int]], cost: PageCost
    ) -> tuple[list[int], dict[int, list[tuple[int, int]]]]:
        """The streams ``roots`` paint, directly or through forms at any depth, parents first, and per
        stream the forms it paints (xref, times). Each stream is read once, so forms nested 30 deep that
        each paint the next twice (2**30 paths from 30 objects) cost 30 reads; a form painted inside
        itself is counted once (MuPDF refuses the cycle). Stops when the content passes the byte cap."""
        edges: dict[int, list[tuple[int, int]]] = {}
        done: set[int] = set()
        post: list[int] = []
        for root in roots:
            if root in done or root in edges:
                continue
            edges[root] = self._uses(root, 0, forms, cost)
            stack, on_path = [(root, 0)], {root}
            while stack and not cost.over_bytes:
                xref, i = stack[-1]
                if i == len(edges[xref]):
                    stack.pop()
                    on_path.discard(xref)
                    done.add(xref)
                    post.append(xref)
                    continue
                stack[-1] = (xref, i + 1)
                child = edges[xref][i][0]
                if child in on_path:
                    edges[xref][i] = (child, 0)
                elif child not in done:
                    edges[child] = self._uses(child, child, forms, cost)
                    stack.append((child, 0))
                    on_path.add(child)
        return post[::-1], edges

    def _uses(
        self, xref: int, invoker: int, forms: dict[int, dict[str, int]], cost: PageCost
    ) -> list[tuple[int, int]]:
        """Read the stream ``xref`` (into ``cost``); the forms it paints, as (xref, times)."""
        stream = self._read(xref, cost)
        if stream is None:
            return []
        names = forms.get(invoker, {})
        return [(names[name], count) for name, count in stream.uses.items() if name in names]

    def _operations(self, stream: _Stream) -> int:
        if stream.operations is None:
            stream.operations = len(PAINT_OPS.findall(stream.data))
        return stream.operations

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


def string_bytes(data: bytes) -> int:
    """Bytes inside the literal strings of ``data`` (nested parentheses balanced; one left open runs to the
    end) and half the digits of its hex strings. Linear: a regular expression for nested strings restarted
    at every ``(`` of ``(\\(\\(...`` (quadratic), and backtracked with memory per character (15 million
    characters of one string took 2 GiB). A stream with more delimiters than 2 x MAX_PAGE_CHARACTERS is
    not walked: its length is the bound."""
    if data.count(b"(") + data.count(b")") + data.count(b"\\") > 2 * MAX_PAGE_CHARACTERS:
        return len(data)
    total = depth = start = 0
    for token in STRING_TOKEN.finditer(data):
        char = token.group()[0]
        if char == 0x28:  # (
            start = token.end() if depth == 0 else start
            depth += 1
        elif char == 0x29 and depth:  # )
            depth -= 1
            total += token.start() - start if depth == 0 else 0
    total += len(data) - start if depth else 0
    return total + sum(len(h) // 2 for h in HEX_STRING.findall(data))
