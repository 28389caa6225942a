"""How much drawing a PDF page asks for, read from its content streams before MuPDF interprets any of it.

A 1 MB PDF can hold 200,000 path operators on one page; reading them as drawings (``get_cdrawings``) costs
seconds and hundreds of MB, and a flate bomb can hide gigabytes of content in a few KB. This module looks
at the page's content streams and the form XObjects it paints, decompressing at most ``max_bytes``, and
estimates the number of painting operators (paths filled or stroked, text shown, inline images, shadings),
each form counted once per use, at any depth of nesting. The PDF extractor uses the estimate to cap the
work per page. A shading's mesh and sampled functions count against the byte cap, per painting.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pymupdf

from figvault.ingest.bounded_filters import decodable, decode_bounded, filter_names
from figvault.ingest.page_resources import (
    KEPT_DICTIONARIES,
    Recent,
    ResourceKey,
    dictionary_key,
    resource_holder,
    resource_lists,
)
from figvault.ingest.pdf_budget_annots import AnnotationData

PAINT_OPS = re.compile(rb"[\s\])>](?:[fFSsBb]\*?|T[jJ]|BI|sh)(?=[\s\[(/<%]|\Z)")
"""Painting operators: f F f* S s B B* b b* (paths), Tj TJ (text), BI (inline image), sh (shading); an image
painted by ``Do`` counts as one too (``_Stream.images``)."""
PATH_OPS = re.compile(rb"[\s\])>](?:[mlcvy]|re)(?=[\s\[(/<%]|\Z)")
"""Path construction operators: m l c v y re (a point of a path each, a rectangle four)."""
MAX_PAGE_POINTS = 500_000
"""A page whose paths have more points is drawn as one unit without layout analysis, whatever few painting
operators it has: one stroked path of 1,000,000 points (10 MB of content, 80 KB compressed) is one operator,
and took 23 CPU-s and 450 MB to analyse and render (2.6 CPU-s rendered whole at 72 dpi). The densest
corpus or distractor page has far fewer (see docs/extraction.md)."""
FORM_USE = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do(?=[\s\[(/<%]|\Z)")
SHADING_USE = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*sh(?=[\s\[(/<%]|\Z)")
STATE_USE = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*gs(?=[\s\[(/<%]|\Z)")
TRANSFER_KEYS = ("TR", "TR2", "SMask/TR")
"""Where a graphics state names transfer functions: its own, and its soft mask's."""
INLINE_APPEARANCE = re.compile(rb"/AP\s*(<<(?:[^<>]|<<[^<>]*>>)*>>|\d+\s+\d+\s+R)")
"""The appearance dictionary of an annotation written inline in a page's /Annots (or a reference to it)."""
NORMAL_APPEARANCE = re.compile(rb"/N\s*(<<[^<>]*>>|\d+\s+\d+\s+R)")
MESH_TYPES = frozenset("4567")
"""Shading types whose stream is a mesh (free-form and lattice triangles, Coons and tensor patches): MuPDF
decodes it at each painting."""
MAX_FUNCTION_DEPTH = 8
"""Stitching functions followed this deep to the sampled functions they join."""
STRING_TOKEN = re.compile(rb"\\.|[()]", re.S)
"""What delimits a literal string: its parentheses (nested ones balanced), and escapes."""
HEX_STRING = re.compile(rb"<[0-9A-Fa-f\s]*+>")
HEX_DIGITS = re.compile(rb"[0-9A-Fa-f]")
REF = re.compile(rb"(\d+)\s+\d+\s+R\b")
NAMED_REF = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*(\d+)\s+\d+\s+R\b")
"""``/Name 12 0 R`` in a resource dictionary."""
MAX_PATTERN_NESTING = 64
"""Patterns inside patterns' cells followed this deep (each is counted once a page, so depth costs little)."""
MAX_CELL_COPIES = 10**12
"""A bound for a cell whose step is next to nothing (the count is far over any cap already)."""
MAX_PAGE_CHARACTERS = 1_000_000
"""A page showing more characters is not read: MuPDF keeps about 110 bytes of text page per character (one
``Tj`` of 8 million characters, 8 KB compressed: 13.5 s and 900 MB, nothing found; of 15 million: the
2 GiB worker limit, the whole document lost). A dense page of text has 5,000-20,000."""
FREE_PAGE_FONTS = 1_000
"""Fonts a page may use without counting them: the busiest corpus or distractor page uses 72."""
FONT_OPS = 10
"""What each font past FREE_PAGE_FONTS counts, in painting operators: MuPDF loads every font a page uses
(100,000 base-14 fonts shown once each, 13 MB of file: 23 CPU-s to read the text alone, the extraction past
200 s), about 10 times what a painted path costs it."""
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
    points: int = 0
    """Path construction operators (``m l c v y re``: the points of its paths), counted when its content
    could hold more than MAX_PAGE_POINTS (0 below)."""


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
    points: int | None = None
    """Path construction operators in ``data``, counted when first needed."""
    unicode_units: int | None = None
    """Of a ToUnicode CMap: the most UTF-16 units one code maps to, found when first needed."""
    shadings: Counter[str] = field(default_factory=Counter)
    """Shading name -> times painted (``/Sh1 sh``)."""
    states: Counter[str] = field(default_factory=Counter)
    """Graphics state name -> times set (``/GS1 gs``)."""
    images: int = 0
    """``Do`` of what is not a form (an image), each a painting operator: one 4 x 4 image painted 200,000
    times (47 KB of file) counted nothing, and MuPDF listed every painting (8.1 CPU-s, 456 MB). Set when the
    stream's forms are looked up (``_uses``)."""


class ContentBudget:
    """Reads and caches a document's content streams, decompressing at most ``max_bytes`` per page."""

    def __init__(self, doc: pymupdf.Document, max_bytes: int) -> None:
        self.doc = doc
        self.max_bytes = max_bytes
        self._streams: dict[int, _Stream] = {}
        self._tints: dict[ResourceKey, int] = {}
        """Resource dictionary -> the bytes of the sampled functions of its colour spaces."""
        self._named = Recent(8 * KEPT_DICTIONARIES)
        """(Resource dictionary, kind) -> ``_resources``, the last used: pages sharing one dictionary read it
        once (about 6 kinds a dictionary)."""
        self._dictionaries: dict[int, ResourceKey] = {}
        """Resource holder xref -> its resource dictionary (``dictionary_key``)."""
        self._image_spaces: dict[int, str] = {}
        """XObject xref -> its own /ColorSpace when an array or a reference ('' for a name or none)."""
        self._space_objects: dict[int, str | int] = {}
        """Object named by a colour space -> its text when it is an array (a space), else the bytes of the
        sampled functions it is (0 for an ICC profile)."""
        self._glyphs: dict[int, tuple[int, int, bool, int]] = {}
        """Type 3 font xref -> its heaviest glyph's painting operators, the bytes of its glyphs, whether
        they pass the cap alone, and the most shading bytes one glyph decodes (``_type3_glyph_ops``)."""
        self._direct_fonts: dict[tuple[ResourceKey, str], int | None] = {}
        """(resource dictionary, font name) -> the object a direct font dictionary was copied to
        (``_font_object``)."""
        self._annotation_data = AnnotationData(doc)
        self._is_form: dict[int, bool] = {}
        """XObject xref -> whether it is a form (else a picture, which only MuPDF's drawing decodes)."""

    def page_cost(self, page: pymupdf.Page, op_threshold: int) -> PageCost:
        """What painting ``page`` asks for; operators are counted when they could pass ``op_threshold``."""
        forms: dict[int, dict[str, int]] = {}
        for xref, name, invoker, _ in resource_lists(self.doc).xobjects(page):
            forms.setdefault(invoker, {})[name] = xref
        cost = PageCost()
        roots = page.get_contents()
        order, edges = self._graph(roots, forms, cost)
        if cost.over_bytes:
            return cost
        times = _times(roots, order, edges)
        painted = [(self._streams[xref], n) for xref, n in times.items() if n]
        glyph_ops, expansion, glyph_shading, font_ops = self._font_costs(page, cost)
        # what the page's own streams do not show: pattern cells, annotations' appearances, and what MuPDF
        # draws of the annotations that have none (pdf_budget_annots)
        drawn = self._annotation_data.page_cost(page)
        pattern_ops = self._pattern_ops(page, roots, times, cost) + self._annotation_ops(page, cost)
        pattern_ops += drawn.operations + font_ops
        self._shadings_painted(page, roots, times, cost)
        self._colour_spaces(page, times, cost)
        masked = 1 + self._soft_mask_ops(page, roots, times, cost)
        if glyph_shading:  # each character of such a Type 3 font decodes its glyph's shadings again
            shown = sum(n * self._text_bytes(stream) for stream, n in painted)
            cost.content_bytes += min(glyph_shading * shown, 2 * self.max_bytes)
            cost.over_bytes = cost.over_bytes or cost.content_bytes > self.max_bytes
        if cost.over_bytes:
            return cost
        painted_bytes = sum(n * len(stream.data) for stream, n in painted)
        if painted_bytes * expansion > MAX_PAGE_CHARACTERS:
            cost.characters = expansion * sum(n * self._text_bytes(stream) for stream, n in painted)
        cost.characters += drawn.characters
        if painted_bytes // MIN_BYTES_PER_OP > MAX_PAGE_POINTS:
            cost.points = sum(n * self._points(stream) for stream, n in painted)
        bound = (painted_bytes // MIN_BYTES_PER_OP + glyph_ops * painted_bytes) * masked
        if bound <= op_threshold:
            cost.operations = bound + pattern_ops
        else:
            cost.operations = pattern_ops + masked * sum(
                n * (self._operations(stream) + stream.images + glyph_ops * self._text_bytes(stream))
                for stream, n in painted
            )
        return cost

    def _pattern_ops(self, page: pymupdf.Page, roots: list[int], times: Counter[int], cost: PageCost) -> int:
        """What the tiling patterns the page's streams fill with cost: each painting operator from a
        pattern's first selection (``/P1 scn``) on counts its cell (``_cell_ops``). MuPDF's text and
        drawing readers run a cell's content once per filled path (a 5 pt cell of 100,000 squares filling
        six bars: 600,000 paths, past 200 s), and its renderer copies the cell at every step. The page's own
        streams use its resources, a form its own (the page's when it has none); a pattern's cell uses its
        own (``_cell_ops`` follows the patterns it fills with)."""
        if not any(b"scn" in self._streams[x].data or b"SCN" in self._streams[x].data for x in times):
            return 0
        page_patterns = self._patterns(self._resource_holder(page.xref))
        total = 0
        cells: dict[int, int] = {}
        for xref, n in times.items():
            stream = self._streams[xref]
            patterns = page_patterns if xref in roots else self._patterns(xref) or page_patterns
            total += n * self._pattern_fills(stream, patterns, cost, cells, ())
        return total

    def _shadings_painted(
        self, page: pymupdf.Page, roots: list[int], times: Counter[int], cost: PageCost
    ) -> None:
        """Add to ``cost.content_bytes`` what the ``sh`` operators of the page's streams make MuPDF decode
        (``_shading_bytes``), per painting; the page's own streams use its resources, a form its own (the
        page's when it has none)."""
        if not any(self._streams[x].shadings for x in times):
            return
        page_shadings = self._resources(self._resource_holder(page.xref), "Shading")
        for xref, n in times.items():
            shadings = page_shadings if xref in roots else self._resources(xref, "Shading") or page_shadings
            self._paint_shadings(self._streams[xref], n, shadings, cost)

    def _colour_spaces(self, page: pymupdf.Page, times: Counter[int], cost: PageCost) -> None:
        """Add to ``cost.content_bytes`` the sampled functions of the colour spaces in the resources of the
        page and of the forms it paints, once each a page: a Separation or DeviceN space's tint transform is
        a function MuPDF loads whole (16,000,000 x 3 values, 48 KB of file: 321 MB)."""
        for holder in {self._resource_holder(page.xref), *times}:
            key = self._dictionary(holder)
            if key not in self._tints:
                self._tints[key] = self._tint_bytes(holder)
            cost.content_bytes += min(self._tints[key], 2 * self.max_bytes)
        cost.over_bytes = cost.over_bytes or cost.content_bytes > self.max_bytes

    def _soft_mask_ops(
        self, page: pymupdf.Page, roots: list[int], times: Counter[int], cost: PageCost
    ) -> int:
        """The most painting operators the group of a soft mask set by the page's streams draws (0: none
        sets one), its transfer functions counted against the byte cap. MuPDF draws a soft mask's group
        again at each painting done under it, and ``get_cdrawings`` lists the group's paths each time: a
        5 KB page setting, 1,000 times, a mask whose group fills 1,000 squares took 23 CPU-s and 1.5 GB
        (1,000,000 drawings). A bound: every painting of the page counts as masked by the heaviest group."""
        if not any(self._streams[x].states for x in times):
            return 0
        page_states = self._resources(self._resource_holder(page.xref), "ExtGState")
        masks: dict[int, int] = {}
        most = 0
        for xref in times:
            states = page_states if xref in roots else self._resources(xref, "ExtGState") or page_states
            for name in self._streams[xref].states:
                if name in states:
                    most = max(most, self._mask_ops(states[name], cost, masks, 0))
        return min(most, MAX_CELL_COPIES)

    def _mask_ops(self, state: int, cost: PageCost, masks: dict[int, int], depth: int) -> int:
        """What one painting under graphics state ``state`` adds: the painting operators of its soft mask's
        group (the group's forms, patterns and shadings counted as for a pattern's cell; the masks the group
        sets in turn multiply, followed MAX_PATTERN_NESTING deep, a state met again on the way adds
        nothing). Its and its mask's transfer functions (/TR, /TR2: sampled functions MuPDF loads whole)
        count against the byte cap. ``masks``: the states counted so far on this page."""
        if state in masks:
            return masks[state]
        masks[state] = 0  # while it is being counted: a cycle back to it adds nothing
        for key in TRANSFER_KEYS:
            kind, value = self.doc.xref_get_key(state, key)
            if kind in ("xref", "array"):
                cost.content_bytes += min(self._function_bytes((kind, value), 0), 2 * self.max_bytes)
        cost.over_bytes = cost.over_bytes or cost.content_bytes > self.max_bytes
        kind, value = self.doc.xref_get_key(state, "SMask/G")
        if kind != "xref" or depth >= MAX_PATTERN_NESTING:
            return 0
        group = int(value.split()[0])
        stream = self._read(group, cost)
        if stream is None:
            return 0  # over the byte cap: the page is skipped
        own = self._operations(stream) + self._painted_within(group, cost, {}, ())
        states = self._resources(group, "ExtGState")
        inner = max(
            (self._mask_ops(states[n], cost, masks, depth + 1) for n in stream.states if n in states),
            default=0,
        )
        masks[state] = min(own * (1 + inner), MAX_CELL_COPIES)
        return masks[state]

    def _tint_bytes(self, holder: int) -> int:
        """The bytes of the sampled functions of the colour spaces of object ``holder``'s resources: its
        /ColorSpace resources and the own /ColorSpace of each image its /XObject resources name (an image
        in a Separation space whose tint transform samples 16,000,000 x 3 values, 48 KB of file: 365 MB;
        ten such images on one page passed the worker's 2 GiB, the document lost). Each function is
        counted once (MuPDF keeps a function it loaded)."""
        seen: set[int] = set()
        kind, value = self.doc.xref_get_key(holder, "Resources/ColorSpace")
        if kind == "xref":
            value = self.doc.xref_object(int(value.split()[0]))
        total = self._space_bytes(value, seen, 0) if kind in ("dict", "xref") else 0
        for xobject in self._resources(holder, "XObject").values():
            if xobject not in self._image_spaces:  # a form has no /ColorSpace
                kind, value = self.doc.xref_get_key(xobject, "ColorSpace")
                self._image_spaces[xobject] = value if kind in ("array", "xref") else ""
            total += self._space_bytes(self._image_spaces[xobject], seen, 0)
        return total

    def _space_bytes(self, space: str, seen: set[int], depth: int) -> int:
        """The bytes of the sampled functions that colour space ``space`` (the text of a space, an array of
        them or a reference) names, at any depth: a tint transform, an Indexed or DeviceN space's base
        space, a space that is an array object. ``_function_bytes`` counts types 0 and 3 and passes over
        anything else, such as an ICC profile; ``seen``: the objects already counted."""
        total = 0
        for ref in (int(x) for x in REF.findall(space.encode("latin-1"))):
            if ref in seen:
                continue
            seen.add(ref)
            if ref not in self._space_objects:
                body = self.doc.xref_object(ref).lstrip()
                is_space = body.startswith("[")
                function = 0 if is_space else self._function_bytes(("xref", f"{ref} 0 R"), 0)
                self._space_objects[ref] = body if is_space else function
            found = self._space_objects[ref]
            if isinstance(found, int):
                total += found
            elif depth < MAX_FUNCTION_DEPTH:
                total += self._space_bytes(found, seen, depth + 1)
        return total

    def _paint_shadings(self, stream: _Stream, times: int, shadings: dict[str, int], cost: PageCost) -> None:
        for name, count in stream.shadings.items():
            if name in shadings:
                self._add_shading(shadings[name], times * count, cost)

    def _add_shading(self, shading: int, times: int, cost: PageCost) -> None:
        """Count shading ``shading`` painted ``times`` times against the page's byte cap."""
        cost.content_bytes += min(times * self._shading_bytes(shading, cost), 2 * self.max_bytes)
        cost.over_bytes = cost.over_bytes or cost.content_bytes > self.max_bytes

    def _shading_bytes(self, shading: int, cost: PageCost) -> int:
        """What MuPDF decodes to paint shading ``shading`` once: a mesh's stream (types 4-7; a 3.5 MB
        flate stream of 20 million triangles took 19 CPU-s to draw) and the samples of its sampled
        functions (a function-based shading sampling 4,000 x 4,000 RGB values, 48 KB of file: 0.6 CPU-s and
        320 MB; ten on a page: 37 CPU-s). More than the cap when the mesh decompresses past it."""
        total = self._function_bytes(self.doc.xref_get_key(shading, "Function"), 0)
        if self.doc.xref_get_key(shading, "ShadingType")[1].strip() in MESH_TYPES:
            stream = self._streams.get(shading) or self._decompress(shading)
            self._streams[shading] = stream
            total += len(stream.data) if stream.complete else self.max_bytes + 1
        return total

    def _function_bytes(self, key: tuple[str, str], depth: int) -> int:
        """The bytes of samples of the sampled functions (type 0) that ``key`` (a /Function or /Functions
        entry: a function, or an array of them) names, stitching functions (type 3) followed, written
        inline too (a stitching function inside the shading's dictionary: 322 MB uncounted for a function
        of 16,000,000 x 3 values): MuPDF loads a sampled function's values whole (each as a 4-byte float)."""
        kind, value = key
        if kind in ("array", "dict"):  # a dictionary is a function written inline: the ones it stitches
            refs = [int(x) for x in REF.findall(value.encode("latin-1"))]
        else:
            refs = [int(value.split()[0])] if kind == "xref" else []
        total = 0
        for function in refs:
            kind_of = self.doc.xref_get_key(function, "FunctionType")[1].strip()
            if kind_of == "3" and depth < MAX_FUNCTION_DEPTH:
                total += self._function_bytes(self.doc.xref_get_key(function, "Functions"), depth + 1)
            elif kind_of == "0":
                total += _sampled_bytes(self.doc, function)
        return total

    def _pattern_fills(
        self,
        stream: _Stream,
        patterns: dict[str, int],
        cost: PageCost,
        cells: dict[int, int],
        within: tuple[int, ...],
    ) -> int:
        """What ``stream``'s fills with ``patterns`` cost (``_cell_ops`` per fill); ``within``: the patterns
        whose cells ``stream`` is inside (one of them again is a cycle, not followed)."""
        if (b"scn" not in stream.data and b"SCN" not in stream.data) or len(within) >= MAX_PATTERN_NESTING:
            return 0
        total = 0
        for name, pattern in patterns.items():
            uses = self._ops_from_selection(stream, name)
            if not uses or pattern in within:
                continue
            if self.doc.xref_get_key(pattern, "PatternType")[1].strip() == "2":  # each fill paints it
                kind, value = self.doc.xref_get_key(pattern, "Shading")
                if kind == "xref":
                    self._add_shading(int(value.split()[0]), uses, cost)
            else:
                total += uses * self._cell_ops(pattern, cost, cells, within)
        return min(total, MAX_CELL_COPIES)

    def _resource_holder(self, page: int) -> int:
        """The page, or the page-tree node it inherits its resources from (the page when none has them)."""
        return resource_holder(self.doc, page) or page

    def _dictionary(self, holder: int) -> ResourceKey:
        if holder not in self._dictionaries:
            self._dictionaries[holder] = dictionary_key(self.doc, holder)
        return self._dictionaries[holder]

    def _patterns(self, holder: int) -> dict[str, int]:
        """Name -> xref of the patterns in the resources of object ``holder``."""
        return self._resources(holder, "Pattern")

    def _resources(self, holder: int, kind_of: str) -> dict[str, int]:
        """Name -> xref of the ``kind_of`` resources (Pattern, XObject) of object ``holder``; read once a
        resource dictionary (a document's pages may share one dictionary of thousands of images)."""
        key = (self._dictionary(holder), kind_of)
        found: dict[str, int] = self._named.kept(key, lambda: self._read_resources(holder, kind_of))
        return found

    def _read_resources(self, holder: int, kind_of: str) -> dict[str, int]:
        kind, value = self.doc.xref_get_key(holder, f"Resources/{kind_of}")
        if kind == "xref":
            value = self.doc.xref_object(int(value.split()[0]))
        elif kind != "dict":
            return {}
        return {
            m.group(1).decode("latin-1"): int(m.group(2)) for m in NAMED_REF.finditer(value.encode("latin-1"))
        }

    @staticmethod
    def _ops_from_selection(stream: _Stream, name: str) -> int:
        """Painting operators of ``stream`` from its first selection of pattern ``name`` on (0: never
        selected): the fills that may use it."""
        found = re.search(rb"/" + re.escape(name.encode("latin-1")) + rb"\s+(?:scn|SCN)\b", stream.data)
        if found is None:
            return 0
        return len(PAINT_OPS.findall(stream.data, found.start()))

    def _cell_ops(self, pattern: int, cost: PageCost, cells: dict[int, int], within: tuple[int, ...]) -> int:
        """What filling one path with tiling pattern ``pattern`` costs, in painting operators: those of its
        cell's content, plus the copies of the cell that cover each point (its box's area over its step's:
        1 for a cell that tiles without overlap; a 50 pt cell at a 0.05 pt step is 10**6 copies over every
        pixel, 30 CPU-s to render one page of a 1 KB file), plus what its cell's own fills with patterns cost
        (a 1.3 KB page whose bars' cell fills 100 squares with a cell of 1,000: 600,000 paths, past 180 s).
        0 for a shading pattern. ``cells``: the costs found so far on this page (patterns nested 30 deep,
        each filling twice with the next, are 30 lookups); ``within``: the patterns it is nested in."""
        if pattern not in cells:
            cells[pattern] = 0  # while it is being counted: a cycle back to it adds nothing
            cells[pattern] = self._one_cell_ops(pattern, cost, cells, within)
        return cells[pattern]

    def _one_cell_ops(
        self, pattern: int, cost: PageCost, cells: dict[int, int], within: tuple[int, ...]
    ) -> int:
        if self.doc.xref_get_key(pattern, "PatternType")[1].strip() != "1":
            return 0
        stream = self._read(pattern, cost)
        if stream is None:
            return 0  # over the byte cap: the page is skipped
        try:
            x0, y0, x1, y1 = (
                float(v) for v in self.doc.xref_get_key(pattern, "BBox")[1].strip("[] ").split()
            )
            step = abs(
                float(self.doc.xref_get_key(pattern, "XStep")[1])
                * float(self.doc.xref_get_key(pattern, "YStep")[1])
            )
        except ValueError:
            x0 = y0 = x1 = y1 = step = 0.0
        copies = abs((x1 - x0) * (y1 - y0)) / step if step > 0 else 1.0
        own = self._operations(stream) + self._painted_within(pattern, cost, cells, (*within, pattern))
        return min(own + int(min(copies, MAX_CELL_COPIES)), MAX_CELL_COPIES)

    def _painted_within(
        self, xref: int, cost: PageCost, cells: dict[int, int], within: tuple[int, ...]
    ) -> int:
        """Painting operators the stream ``xref`` (a pattern's cell, an annotation's appearance) adds to its
        own: those of the forms it paints, each once per use at any depth, and the fills of it and of those
        forms with tiling patterns (``_pattern_fills``); their shadings count against the byte cap. A form
        names the forms, patterns and shadings it uses in its own resources, else in ``xref``'s;
        ``page.get_xobjects`` lists none of them. A 1.2 KB page whose cell paints a form of 1,000 squares
        100 times counted 67 operations, and MuPDF ran past 190 s on it; one whose cell's form fills 100
        squares with a pattern of 1,000 (1.5 KB) counted 667, and MuPDF ran past 300 s."""
        times: Counter[int] = Counter({xref: 1})
        own = self._forms(xref) or {}
        if self._streams[xref].uses:  # read by the caller
            forms = _OwnForms(lambda form: mine if (mine := self._forms(form)) is not None else own)
            forms[xref] = own
            order, edges = self._graph([xref], forms, cost, invoker=xref)
            times = _times([xref], order, edges)
        patterns, shadings = self._patterns(xref), self._resources(xref, "Shading")
        total = 0
        for x, n in times.items():
            stream = self._streams[x]
            total += n * stream.images + (0 if x == xref else n * self._operations(stream))
            mine = x == xref
            total += n * self._pattern_fills(
                stream, patterns if mine else self._patterns(x) or patterns, cost, cells, within
            )
            if stream.shadings:
                self._paint_shadings(
                    stream, n, shadings if mine else self._resources(x, "Shading") or shadings, cost
                )
        return min(total, MAX_CELL_COPIES)

    def _forms(self, holder: int) -> dict[str, int] | None:
        """Name -> xref of the form XObjects in the resources of object ``holder``; None when it names no
        XObject at all (a form then uses its painter's). Pictures are left out, as the page's own lists
        leave them out: read as content, a stamp annotation's or a pattern cell's 3000 x 2000 JPEG was
        decoded whole and counted as 17 MB of content (the page skipped, its chart lost), and one that
        claimed 30000 x 30000 took the worker past its 2 GiB (a hostile-files audit, 2026-12-07)."""
        named = self._resources(holder, "XObject")
        if not named:
            return None
        for xref in named.values():
            if xref not in self._is_form:
                self._is_form[xref] = self._subtype(xref) != "/Image"  # what MuPDF draws as a form
        return {name: xref for name, xref in named.items() if self._is_form[xref]}

    def _subtype(self, xref: int) -> str:
        """An XObject's /Subtype, followed where it is a reference (a form so written was no longer counted:
        a review)."""
        kind, value = self.doc.xref_get_key(xref, "Subtype")
        if kind == "xref":
            try:
                return self.doc.xref_object(int(value.split()[0])).strip()
            except (ValueError, RuntimeError):
                return ""
        return value.strip()

    def _annotation_ops(self, page: pymupdf.Page, cost: PageCost) -> int:
        """Painting operators of the page's annotations' appearance streams (the normal appearance, every
        state) and the forms they paint: MuPDF draws them with the page, and an annotation of 300,000
        squares (700 KB) cost 4.2 CPU-s and 540 MB uncounted."""
        total = 0
        cells: dict[int, int] = {}
        for appearance in self._appearances(page):
            stream = self._read(appearance, cost)
            if stream is None:
                return 0  # over the byte cap: the page is skipped
            total += self._operations(stream) + self._painted_within(appearance, cost, cells, ())
        return min(total, MAX_CELL_COPIES)

    def _appearances(self, page: pymupdf.Page) -> list[int]:
        """The normal appearance streams (every state) of the page's annotations. MuPDF gives an annotation
        written inline in the page's /Annots (no object of its own) the xref 0, which it refuses to look
        into, but draws it: its appearance is read from the array's text (an inline annotation of 300,000
        squares, uncounted, cost 4.0 CPU-s and 530 MB)."""
        values: list[str] = []
        inline = False
        for annotation, _, _ in page.annot_xrefs():
            if annotation <= 0:
                inline = True
                continue
            kind, value = self.doc.xref_get_key(annotation, "AP/N")
            values += [value] if kind in ("xref", "dict") else []
        if inline:
            kind, annots = self.doc.xref_get_key(page.xref, "Annots")
            if kind == "xref":
                annots = self.doc.xref_object(int(annots.split()[0]))
            for found in INLINE_APPEARANCE.finditer(annots.encode("latin-1")):
                ap = found.group(1)
                if ap.endswith(b"R"):
                    kind, normal = self.doc.xref_get_key(int(ap.split()[0]), "N")
                    values += [normal] if kind in ("xref", "dict") else []
                elif normal_found := NORMAL_APPEARANCE.search(ap):
                    values.append(normal_found.group(1).decode("latin-1"))
        return [int(x) for value in values for x in REF.findall(value.encode("latin-1"))]

    def _font_costs(self, page: pymupdf.Page, cost: PageCost) -> tuple[int, int, int, int]:
        """What the page's fonts multiply: the most painting operators one Type 3 glyph draws (0: none has
        any), the most shading bytes one decodes (``_type3_glyph_ops``), the most characters one code of
        a font's ToUnicode map stands for (1 for real fonts, 2-3 for ligatures; ``_unicode_expansion``); and
        what loading them costs, in operations (FONT_OPS for each past FREE_PAGE_FONTS). Each font is
        looked up once a page."""
        glyph_ops, expansion, shading = 0, 1, 0
        fonts = resource_lists(self.doc).fonts(page)
        for font in fonts:
            xref = self._font_object(page, font[0], font[4], font[6])
            if xref is None:
                continue
            if font[2] == "Type3":
                ops, bytes_ = self._type3_glyph_ops(xref, cost)
                glyph_ops, shading = max(glyph_ops, ops), max(shading, bytes_)
            expansion = max(expansion, self._unicode_expansion(xref, cost))
            if cost.over_bytes:  # the page is skipped whatever it paints
                return 0, 1, 0, 0
        return glyph_ops, expansion, shading, FONT_OPS * max(0, len(fonts) - FREE_PAGE_FONTS)

    def _font_object(self, page: pymupdf.Page, xref: int, name: str, referencer: int) -> int | None:
        """The object number of the font ``name`` of the page (or of the form ``referencer``); None when it
        cannot be found. A font dictionary written directly in the resources (legal, no object number of
        its own: MuPDF lists it as xref 0) is copied into a new object of the in-memory document, so that it
        is counted as any other: looking its keys up by xref 0 raised ``bad xref`` and lost the page
        ('page 1: unreadable (bad xref)'), and a direct Type 3 font is counted like an indirect one."""
        if xref:
            return xref
        holder = referencer or self._resource_holder(page.xref)
        key = (self._dictionary(holder), name)  # pages sharing a dictionary share its copies
        if key not in self._direct_fonts:
            kind, value = self.doc.xref_get_key(holder, f"Resources/Font/{name}")
            copy = None
            if kind == "dict":
                copy = self.doc.get_new_xref()
                self.doc.update_object(copy, value)
            self._direct_fonts[key] = copy
        return self._direct_fonts[key]

    def _unicode_expansion(self, font: int, cost: PageCost) -> int:
        """The most UTF-16 units one code of ``font``'s ToUnicode CMap maps to (its longest hex string, a
        code included, in 4-digit units; 1 when it has no CMap stream). A 1.5 KB PDF mapping one code to
        100 characters, shown 500,000 times, is 50 million characters for MuPDF's text page: the 2 GiB worker
        limit, the document lost, though the page shows half the MAX_PAGE_CHARACTERS cap of bytes."""
        kind, value = self.doc.xref_get_key(font, "ToUnicode")
        if kind != "xref":
            return 1
        stream = self._read(int(value.split()[0]), cost)
        if stream is None:
            return 1
        if stream.unicode_units is None:
            digits = (len(HEX_DIGITS.findall(h)) for h in HEX_STRING.findall(stream.data))
            stream.unicode_units = max(1, max(digits, default=0) // 4)
        return stream.unicode_units

    def _type3_glyph_ops(self, font: int, cost: PageCost) -> tuple[int, int]:
        """The most painting operators one glyph of the Type 3 font ``font`` draws, and the most bytes of
        shadings (``sh``, with the font's own resources) one glyph decodes.

        A Type 3 glyph is a content stream run at each character shown: a 4 KB font whose glyph draws 2,000
        squares, shown 20,000 times by one ``Tj``, is 40 million paths for MuPDF (1,000 x 1,000 took 43 s
        to read as drawings) though the page's own content counts one operator. Forms a glyph paints are not
        followed. The glyphs are read once a document (a font of 100,000 glyph programs shared by 300 pages
        was read on each: 34.7 CPU-s); each page using the font counts their bytes against its cap. A
        glyph's fills with tiling patterns count their cells as the page's do, and its shadings per character:
        a glyph painting a mesh of 200,000 triangles, shown 1,000 times (1.5 KB of file), was one operator a
        character: 5.2 CPU-s for 20 characters, past 200 s for 1,000)."""
        if font not in self._glyphs:
            alone = PageCost()
            most = shading = 0
            patterns, shadings, cells = self._patterns(font), self._resources(font, "Shading"), {}
            for proc in self._char_procs(font):
                stream = self._read(proc, alone)
                if stream is None:
                    break
                ops = self._operations(stream) + self._pattern_fills(stream, patterns, alone, cells, ())
                most = max(most, ops)
                shading = max(
                    shading,
                    sum(
                        n * self._shading_bytes(shadings[s], alone)
                        for s, n in stream.shadings.items()
                        if s in shadings
                    ),
                )
            self._glyphs[font] = (most, alone.content_bytes, alone.over_bytes, shading)
        most, read, over, shading = self._glyphs[font]
        cost.content_bytes += read
        if over or cost.content_bytes > self.max_bytes:
            cost.over_bytes = True
            return 0, 0  # over the byte cap: the page is skipped whatever it paints
        return most, shading

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
        self, roots: list[int], forms: dict[int, dict[str, int]], cost: PageCost, invoker: int = 0
    ) -> tuple[list[int], dict[int, list[tuple[int, int]]]]:
        """The streams ``roots`` paint, directly or through forms at any depth, parents first, and per
        stream the forms it paints (xref, times). Each stream is read once, so forms nested 30 deep that
        each paint the next twice (2**30 paths from 30 objects) cost 30 reads; a form painted inside
        itself is counted once (MuPDF refuses the cycle). Stops when the content passes the byte cap.
        ``invoker``: whose resources name the forms ``roots`` paint (0: the page's, a pattern's xref)."""
        edges: dict[int, list[tuple[int, int]]] = {}
        done: set[int] = set()
        post: list[int] = []
        for root in roots:
            if root in done or root in edges:
                continue
            edges[root] = self._uses(root, invoker, forms, cost)
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
        stream.images = sum(count for name, count in stream.uses.items() if name not in names)
        return [(names[name], count) for name, count in stream.uses.items() if name in names]

    def _points(self, stream: _Stream) -> int:
        if stream.points is None:
            stream.points = len(PATH_OPS.findall(stream.data))
        return stream.points

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

    def _has_parameters(self, xref: int) -> bool:
        """Whether the stream's filters take parameters (a predictor): ``/DecodeParms``, or ``/DP`` as MuPDF
        reads it too."""
        return any(self.doc.xref_get_key(xref, key)[0] != "null" for key in ("DecodeParms", "DP"))

    def _decompress(self, xref: int) -> _Stream:
        """The stream's bytes, never more than the cap (plus one byte to tell that it is over)."""
        limit = self.max_bytes + 1
        names = filter_names(*self.doc.xref_get_key(xref, "Filter"))
        if names is not None and decodable(names):
            data, over = decode_bounded(self.doc.xref_stream_raw(xref) or b"", names, limit)
            if not over and self._has_parameters(xref):
                data = self.doc.xref_stream(xref) or b""  # a predictor, applied by MuPDF: no longer
        else:  # LZW, a filter given by reference, a picture's (rare in content streams): MuPDF decodes them
            data, over = self.doc.xref_stream(xref) or b"", False
        complete = not over and len(data) < limit
        stream = _Stream(data=data[: self.max_bytes], complete=complete)
        if complete and b"Do" in data:
            stream.uses.update(m.decode("latin-1") for m in FORM_USE.findall(data))
        if complete and b"sh" in data:
            stream.shadings.update(m.decode("latin-1") for m in SHADING_USE.findall(data))
        if complete and b"gs" in data:
            stream.states.update(m.decode("latin-1") for m in STATE_USE.findall(data))
        return stream


def _times(roots: list[int], order: list[int], edges: dict[int, list[tuple[int, int]]]) -> Counter[int]:
    """How often each stream is painted: ``roots`` once each, forms per use (``ContentBudget._graph``)."""
    times: Counter[int] = Counter(roots)
    for xref in order:  # parents first: each stream's uses are known before its forms are reached
        for child, count in edges[xref]:
            times[child] += times[xref] * count
    return times


class _OwnForms(dict[int, dict[str, int]]):
    """Invoker xref -> the forms its resources name, read when first asked (``_graph``'s ``forms`` for a
    pattern's cell, whose forms ``page.get_xobjects`` does not list)."""

    def __init__(self, read: Callable[[int], dict[str, int]]) -> None:
        super().__init__()
        self._read = read

    def get(self, xref: int, default: dict[str, int] | None = None) -> dict[str, int]:  # type: ignore[override]
        if xref not in self:
            self[xref] = self._read(xref)
        return self[xref]


def _sampled_bytes(doc: pymupdf.Document, function: int) -> int:
    """The bytes of the values sampled function ``function`` holds: its grid's size (/Size) times its
    outputs (/Range pairs) times its /BitsPerSample, whatever its stream's length."""
    try:
        size = [int(v) for v in doc.xref_get_key(function, "Size")[1].strip("[] ").split()]
        outputs = len(doc.xref_get_key(function, "Range")[1].strip("[] ").split()) // 2
        bits = int(doc.xref_get_key(function, "BitsPerSample")[1])
    except ValueError:
        return 0  # MuPDF refuses such a function
    total = max(1, outputs) * max(1, bits)
    for side in size:
        total *= max(1, min(side, 2**31))
    return min(total // 8, 2**62)


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
