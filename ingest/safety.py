"""Guards against hostile documents: zip bombs, decompression-bomb images, odd zip member names.

Each check runs before the expensive step it protects (python-pptx inflating the package, PIL decoding
pixels) and raises :class:`UnsafeFileError` with a one-line reason, so one bad file fails alone.
"""

from __future__ import annotations

import bisect
import io
import math
import re
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import numpy as np
from lxml import etree
from PIL import Image

from figvault.errors import UnsafeFileError, UnsupportedFileError
from figvault.ingest.png_chunks import without_metadata
from figvault.ingest.pptx_parts import check_part_kinds
from figvault.ingest.slide_chart import MAX_CHART_POINTS

_WHOLE_READ = zipfile.ZipExtFile.read


def _read_within_declared(self: zipfile.ZipExtFile, n: int | None = -1) -> bytes:
    """``ZipExtFile.read``, a whole member's read asking for its declared size rather than "all": zipfile
    inflated up to 1 GiB in one step before it cut the result to the declared size, so a picture member
    declaring 4 KiB over a stream of 1.5 GiB took 2 GiB of memory in a 1.6 MB deck (an audit, 2026-12-07).
    Asked for the declared size, deflate inflates no further (and the CRC then fails). Steps of a fixed
    size instead cost a quadratic join on a large real member (a 300 MB video: 26 s; a review)."""
    left = getattr(self, "_left", None)  # CPython's count of declared bytes not yet inflated
    if (n is None or n < 0) and isinstance(left, int):
        n = left + len(self._readbuffer) - self._offset
    return _WHOLE_READ(self, n)


zipfile.ZipExtFile.read = _read_within_declared  # type: ignore[method-assign]  # every zip read here

MAX_ZIP_MEMBERS = 20_000
"""A real deck has a few hundred parts; tens of thousands is an attack on the central-directory parser."""
MAX_MEMBER_RATIO = 200
"""Deflate of XML reaches 10-30x, of flat bitmaps rarely 100x; far beyond that is a crafted bomb."""
RATIO_CHECK_MIN_BYTES = 16 * 2**20
"""Small members may compress arbitrarily well (an empty XML part); only big inflations matter."""


def check_zip_container(data: bytes, max_uncompressed_mb: int) -> list[str]:
    """Refuse a zip package whose members would inflate too far, are too many, or have unsafe names; return
    the picture members (``ppt/media/``) to skip: those over MAX_MEMBER_RATIO.

    Reads only the central directory (declared sizes); a member is never inflated past its declared size
    (``_read_within_declared``: it stops and fails the CRC), so the declared total is a real bound. A
    flat uncompressed picture (a one-colour BMP of 48 MB deflates 877x) trips the ratio like a bomb: such
    a member is never inflated (``without_members``), not the whole deck lost; any other part over the
    ratio (XML the parser must read) refuses the deck. Skipped members still count against the total.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UnsupportedFileError(f"corrupt zip container: {exc}") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnsafeFileError(f"zip package has {len(members)} members, over the limit of {MAX_ZIP_MEMBERS}")
    limit = max_uncompressed_mb * 2**20
    total = 0
    seen: set[str] = set()
    skipped: list[str] = []
    for info in members:
        _check_member_name(info.filename)
        _check_unique(info.filename, seen)
        total += info.file_size
        if total > limit:
            raise UnsafeFileError(
                f"zip bomb guard: members inflate past {max_uncompressed_mb} MiB"
                f" (at member {info.filename!r})"
            )
        if (unreadable := _unreadable(info)) is not None:
            if not info.filename.lower().startswith(MEDIA_PREFIX):
                name = info.filename
                raise UnsupportedFileError(f"not a readable PPTX package: part {name!r} {unreadable}")
            skipped.append(info.filename)
        elif (over := _over_ratio(info)) is not None:
            if not info.filename.lower().startswith(MEDIA_PREFIX):
                raise UnsafeFileError(f"zip bomb guard: {over}")
            skipped.append(info.filename)
    return skipped


READABLE_COMPRESSION = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}
"""The compression methods read: a member of another (Deflate64, a made-up number) raised
NotImplementedError when read, and an encrypted one RuntimeError, whose bare texts were the deck's reason.
BZIP2 and LZMA, which zipfile reads, are not: zipfile inflates them with no bound on the output (217 bytes
of a member declaring 4 KiB gave 141 MiB), and PowerPoint and LibreOffice write neither (a review,
2026-12-07)."""


def _unreadable(info: zipfile.ZipInfo) -> str | None:
    """Why zipfile cannot read this member (encrypted, an unknown compression method), or None."""
    if info.flag_bits & 0x1:
        return "is encrypted"
    if info.compress_type not in READABLE_COMPRESSION:
        return f"uses compression method {info.compress_type}, which cannot be read"
    return None


MEDIA_PREFIX = "ppt/media/"
"""Where a deck keeps its pictures: parts python-pptx holds as bytes, never parses."""


def _over_ratio(info: zipfile.ZipInfo) -> str | None:
    """Why ``info`` inflates too far for its size on disk, or None."""
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size <= RATIO_CHECK_MIN_BYTES or ratio <= MAX_MEMBER_RATIO:
        return None
    mib = info.file_size / 2**20
    return f"member {info.filename!r} inflates {ratio:.0f}x ({mib:.0f} MiB from {info.compress_size} bytes)"


def skipped_media_warning(name: str, unreadable: str | None = None) -> str:
    """The warning for a picture member ``check_zip_container`` returned (read as empty): ``unreadable``,
    why zipfile cannot read it (``_unreadable``), else it inflates over the ratio."""
    if unreadable is not None:
        return f"{name}: picture not read, it {unreadable}"
    return f"{name}: picture not read, it inflates over {MAX_MEMBER_RATIO}x (zip bomb guard)"


def without_members(data: bytes, names: list[str]) -> bytes:
    """The package with the members ``names`` emptied (kept, so that relationships to them still resolve),
    never inflated; unchanged bytes when ``names`` is empty. ``data`` has passed ``check_zip_container``."""
    if not names:
        return data
    emptied = set(names)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in zf.infolist():
            if info.filename in emptied:  # a fresh header: its method or encryption may not be writable
                copy.writestr(zipfile.ZipInfo(info.filename, info.date_time), b"")
            else:
                copy.writestr(info, zf.read(info))
    return out.getvalue()


_RELS_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SVG_PARSER = etree.XMLParser(resolve_entities="internal", no_network=True)
"""Internal entities expanded (one may carry markup: an ``<image>`` with its href), so that the tree holds
what a renderer draws; a reference to an external entity is a parse error (the SVG becomes empty)."""
_SVG_HEAD = re.compile(rb"<([A-Za-z_][\w.-]*:)?svg[\s>/]", re.IGNORECASE)
_SAFE_REF = re.compile(r"#|data:image/(png|jpe?g|gif|bmp|webp|tiff?)[;,]", re.IGNORECASE)
"""References an SVG may keep: its own elements, and raster pictures carried inline."""
_CSS_URL = re.compile(r"url\(\s*(?![\s'\"]*#)[^)]*\)|@import[^;]*;?", re.IGNORECASE)
_EMPTY_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
_SVG_HEAD_BYTES = 65536
"""Where an SVG part must show its root element to be taken for one (LibreOffice looks at fewer)."""
MAX_SVG_BYTES = 32 * 2**20
"""An SVG inflated (svgz) past this is replaced, not read."""


def without_external_targets(data: bytes) -> bytes:
    """The package without references to anything outside it, for a program that would follow them.

    LibreOffice loads a picture linked from a deck (a relationship whose ``TargetMode`` is not
    ``Internal``) or from an SVG inside it (``<image href="file:///...">``) from any path or URL the server
    can reach and draws it into its rendering: a deck linking a server file showed that file as a figure.
    So external relationships are dropped (a ``.rels`` part that does not parse loses all), and every SVG
    part (by its bytes, whatever its name; gzipped too) keeps only references to its own elements and
    inline raster pictures (an SVG that does not parse becomes empty). Unchanged bytes when nothing
    points outside; ``data`` has passed ``check_zip_container``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        cleaned = {
            info.filename: fixed for info in zf.infolist() if (fixed := _clean_member(zf, info)) is not None
        }
        if not cleaned:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for info in zf.infolist():
                copy.writestr(info, cleaned.get(info.filename) or zf.read(info))
    return out.getvalue()


MAX_PROPERTIES_BYTES = 2**20
"""A document-properties part (``docProps/core.xml``, ``app.xml``, ``custom.xml``) larger than this is read as
empty: real ones take a few KB. python-pptx parses every XML part when it opens a package, so a title of 10 MB
(libxml2's limit of one text node) refused the whole deck: "not a readable PPTX package: Resource limit
exceeded: Text node too long"."""
_FIRST_ELEMENT = re.compile(rb"<([A-Za-z_][\w.:-]*)(\s[^<>]*?)?/?>")
_EMPTY_CORE = (
    b'<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"/>'
)


def without_oversized_properties(data: bytes) -> tuple[bytes, list[str]]:
    """The package with each document-properties part over MAX_PROPERTIES_BYTES replaced by its root element
    alone (namespaces kept, nothing inside), and the names of those parts; unchanged bytes when there are
    none. ``data`` has passed ``check_zip_container``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        over = {
            info.filename
            for info in zf.infolist()
            if info.filename.lower().startswith("docprops/") and info.file_size > MAX_PROPERTIES_BYTES
        }
        if not over:
            return data, []
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for info in zf.infolist():
                copy.writestr(info, _empty_root(zf, info) if info.filename in over else zf.read(info))
    return out.getvalue(), sorted(over)


def _empty_root(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """The part's first element, emptied (read from the part's head only)."""
    with zf.open(info) as member:
        found = _FIRST_ELEMENT.search(member.read(4096))
    root = b"<%s%s/>" % (found.group(1), found.group(2) or b"") if found else _EMPTY_CORE
    return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + root


MAX_TEXT_NODE_BYTES = 10_000_000
"""libxml2's limit of one text node without its ``huge_tree`` option (XML_MAX_TEXT_LENGTH): python-pptx parses
every XML part of a package when it opens it, so one longer text in any slide refused the whole deck ("Text
node too long"). Such a text is cut to KEPT_TEXT_BYTES (``without_long_text_nodes``); huge_tree is not
turned on, as it lifts libxml2's other bounds (nesting depth, entity expansion) too."""
KEPT_TEXT_BYTES = 2**20
"""What is kept of a text over MAX_TEXT_NODE_BYTES: more than any slide shows."""


def opened_pptx(data: bytes, max_uncompressed_mb: int) -> tuple[bytes, list[str]]:
    """The package as python-pptx may open it, and its warnings: checked (``check_zip_container``, and
    ``pptx_parts.check_part_kinds``: each part the kind its relationships say), the picture members over the
    ratio emptied, then ``readable_pptx``. Whatever opens a deck goes through this: python-pptx reads every
    part's bytes when it opens one, so a skipped picture left in is inflated there."""
    skipped = check_zip_container(data, max_uncompressed_mb)
    check_part_kinds(data)
    readable, changed = readable_pptx(without_members(data, skipped))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        warnings = [skipped_media_warning(name, _unreadable(zf.getinfo(name))) for name in skipped]
    return readable, warnings + changed


def readable_pptx(data: bytes) -> tuple[bytes, list[str]]:
    """The package as python-pptx can open it, and a warning for each part changed to get there: document
    properties over MAX_PROPERTIES_BYTES emptied, chart points past MAX_CHART_POINTS a list dropped, shape
    trees of parts over MAX_PART_ELEMENTS emptied, texts over MAX_TEXT_NODE_BYTES cut. Unchanged bytes when
    nothing is over; ``data`` has passed ``check_zip_container``. The large parts are read once for all the
    cuts (``_with_parts_cut``)."""
    readable, emptied = without_oversized_properties(data)
    readable, (points, trees, cut) = _with_parts_cut(
        readable, [EXTRA_CHART_POINTS, HUGE_SHAPE_TREES, LONG_TEXT_NODES]
    )
    mib = MAX_PROPERTIES_BYTES // 2**20
    emptied_warnings = [f"{name}: document properties not read, over {mib} MiB" for name in emptied]
    return readable, emptied_warnings + points + trees + cut


CHART_SCAN_BYTES = 8 * 2**20
"""Parts this large are looked at for chart points past MAX_CHART_POINTS (a chart of 100,000 points a series
takes a few MB a series)."""
_POINT_LIST = re.compile(rb"<(?:[\w.-]+:)?(?:strCache|numCache|strLit|numLit|lvl)[\s>/]")
_POINT = re.compile(
    rb"<(?:[\w.-]+:)?pt(?=[\s>/])[^<>]*(?:/>|>\s*(?:<(?:[\w.-]+:)?v(?:\s[^<>]*)?>[^<]*</(?:[\w.-]+:)?v\s*>\s*)?"
    rb"</(?:[\w.-]+:)?pt\s*>)"
)
"""A point: its tag and its value (``c:v``) alone, never matched past the next tag (a point holding anything
else is kept)."""


@dataclass(frozen=True)
class PartCut:
    """One way a package's parts are cut: which parts it reads (``scanned``: name and size, the size of the
    part as ``cut`` gets it) and the cut (None when the part is left as it is, else its new bytes and the
    warning)."""

    scanned: Callable[[str, int], bool]
    cut: Callable[[str, bytes], tuple[bytes, str] | None]


def _cut_chart_points(name: str, part: bytes) -> tuple[bytes, str] | None:
    """Each list of chart points (a series' values or categories, any XML part) cut to its first
    MAX_CHART_POINTS, which is all the extractor reads (``slide_chart``).

    python-pptx parses every part when it opens a deck, about 370 bytes a point element: a chart of 300,000
    points (8 MB deck) peaked at 1.3 GB, one of 1,000,000 (26 MB) passed the worker's 2 GiB, the deck lost.
    Only parts of CHART_SCAN_BYTES or more are read."""
    fixed, dropped = _cut_points(part)
    if not dropped:
        return None
    return (
        fixed,
        f"{name}: {dropped:,} chart points not read (a list of points is read up to {MAX_CHART_POINTS:,})",
    )


def _may_hold_chart_points(name: str, size: int) -> bool:
    return size >= CHART_SCAN_BYTES and not name.lower().startswith(MEDIA_PREFIX)


EXTRA_CHART_POINTS = PartCut(_may_hold_chart_points, _cut_chart_points)


MAX_PART_ELEMENTS = 1_000_000
"""A slide, layout, master or notes part with more XML elements than this loses its shapes before python-pptx
opens the deck (``HUGE_SHAPE_TREES``): python-pptx parses every part, about 230 bytes an element (a slide of
9,000,043 elements, a 15.5 MB deck, peaked at 1.8 GB, at the edge of the worker's 2 GiB). A slide over
``extract.max_slide_elements`` (50,000) is skipped after the parse anyway."""
_SHAPE_TREE_PART = re.compile(
    r"ppt/(?:slides/slide|slideLayouts/slideLayout|slideMasters/slideMaster|notesSlides/notesSlide"
    r"|notesMasters/notesMaster|handoutMasters/handoutMaster)\d+\.xml",
    re.IGNORECASE,
)
EMPTY_SHAPE_TREE = (
    b'<%(p)scSld><%(p)sspTree><%(p)snvGrpSpPr><%(p)scNvPr id="1" name=""/><%(p)scNvGrpSpPr/><%(p)snvPr/>'
    b"</%(p)snvGrpSpPr><%(p)sgrpSpPr/></%(p)sspTree></%(p)scSld>"
)
"""What a slide, layout, master or notes part must hold for python-pptx: a shape tree with its head alone."""


def _empty_shape_tree(name: str, part: bytes) -> tuple[bytes, str] | None:
    """A slide, layout, master or notes part of more than MAX_PART_ELEMENTS XML elements as its root element
    holding an empty shape tree (its place and relationships kept: the other slides are read and numbered as
    before). Elements are counted from the ``<``s (a bound: one in a CDATA section counts)."""
    elements = part.count(b"<") - part.count(b"</") - part.count(b"<?") - part.count(b"<!")
    root = _FIRST_ELEMENT.search(part, 0, 4096)
    if elements <= MAX_PART_ELEMENTS or root is None:
        return None
    tag = root.group(1)
    prefix = tag[: tag.index(b":") + 1] if b":" in tag else b""
    emptied = b"<%s%s>" % (tag, root.group(2) or b"") + EMPTY_SHAPE_TREE % {b"p": prefix} + b"</%s>" % tag
    return (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + emptied,
        f"{name}: shapes not read, {elements:,} XML elements (a slide, layout, master or notes part is read"
        f" up to {MAX_PART_ELEMENTS:,})",
    )


HUGE_SHAPE_TREES = PartCut(
    lambda name, size: size >= 4 * MAX_PART_ELEMENTS and bool(_SHAPE_TREE_PART.fullmatch(name)),
    _empty_shape_tree,
)
"""Only parts of 4 x MAX_PART_ELEMENTS bytes or more are read (``<a/>``, the smallest element, is 4 bytes)."""


def _cut_long_text_nodes(name: str, part: bytes) -> tuple[bytes, str] | None:
    """Each text node over MAX_TEXT_NODE_BYTES, in a part that reads as XML, cut to its first KEPT_TEXT_BYTES.
    Only parts of at least MAX_TEXT_NODE_BYTES are looked at (a smaller one cannot hold such a text): no part
    read for a normal deck. A run that long inside a tag (an attribute) or a comment is left alone: libxml2
    then refuses the deck with its reason, as before."""
    fixed, longest = _cut_long_texts(part)
    if fixed is None:
        return None
    kept, limit = KEPT_TEXT_BYTES // 2**20, MAX_TEXT_NODE_BYTES
    return (
        fixed,
        f"{name}: a text of {longest:,} bytes cut to its first {kept} MiB"
        f" (one XML text is read up to {limit:,} bytes)",
    )


LONG_TEXT_NODES = PartCut(lambda _name, size: size >= MAX_TEXT_NODE_BYTES, _cut_long_text_nodes)


def _with_parts_cut(data: bytes, cuts: Sequence[PartCut]) -> tuple[bytes, list[list[str]]]:
    """The package with its parts cut by each of ``cuts`` in turn, and each cut's warnings (a list per cut).
    A part that any cut scans is read once and goes through them all (a part of 10 MB or more used to be read
    and unzipped once per cut); the same bytes, and no copy, when no part changes."""
    warned: list[list[str]] = [[] for _ in cuts]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        replaced: dict[str, bytes] = {}
        for info in zf.infolist():
            name = info.filename
            if not any(each.scanned(name, info.file_size) for each in cuts):
                continue
            part, changed = zf.read(info), False
            for each, notes in zip(cuts, warned, strict=True):
                done = each.cut(name, part) if each.scanned(name, len(part)) else None
                if done is not None:
                    (part, warning), changed = done, True
                    notes.append(warning)
            if changed:
                replaced[name] = part
        if not replaced:
            return data, warned
        return with_parts_replaced(zf, replaced), warned


def with_parts_replaced(zf: zipfile.ZipFile, replaced: dict[str, bytes]) -> bytes:
    """The package of ``zf`` again: each part named in ``replaced`` with its new bytes, the others as read."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in zf.infolist():
            copy.writestr(info, replaced.get(info.filename) or zf.read(info))
    return out.getvalue()


def _cut_points(part: bytes) -> tuple[bytes, int]:
    """``part`` without the point elements past the first MAX_CHART_POINTS of each list, and how many went."""
    starts = [found.start() for found in _POINT_LIST.finditer(part)]
    if not starts:
        return part, 0
    kept: list[bytes] = []
    done = dropped = 0
    counts: Counter[int] = Counter()
    for point in _POINT.finditer(part, starts[0]):
        owner = bisect.bisect_right(starts, point.start())
        counts[owner] += 1
        if counts[owner] > MAX_CHART_POINTS:
            kept.append(part[done : point.start()])
            done = point.end()
            dropped += 1
    return b"".join([*kept, part[done:]]), dropped


def _cut_long_texts(part: bytes) -> tuple[bytes | None, int]:
    """``part`` with its text nodes over MAX_TEXT_NODE_BYTES cut, and the longest one's length; (None, 0) when
    it has none or does not read as XML. The runs between ``<``s are found with numpy (a regular expression
    for a run of N bytes restarts at every byte of a shorter run: quadratic)."""
    if not part[:256].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return None, 0  # a picture or other binary part that python-pptx does not parse
    opens = np.flatnonzero(np.frombuffer(part, dtype=np.uint8) == ord("<"))
    ends = np.append(opens[1:], len(part))
    long_runs = np.flatnonzero(ends - opens > MAX_TEXT_NODE_BYTES)
    pieces: list[bytes] = []
    done = longest = 0
    for i in long_runs:
        start, end = int(opens[i]), int(ends[i])
        text = part.find(b">", start, end) + 1
        if text == 0 or end - text <= MAX_TEXT_NODE_BYTES or part[start + 1 : start + 2] in (b"!", b"?"):
            continue  # a long tag, comment, CDATA section or instruction: not a text node
        pieces += [part[done : text + _safe_cut(part, text, KEPT_TEXT_BYTES)]]
        done, longest = end, max(longest, end - text)
    if not pieces:
        return None, 0
    return b"".join([*pieces, part[done:]]), longest


def _safe_cut(part: bytes, text: int, keep: int) -> int:
    """How many bytes of the text starting at ``text`` to keep, at most ``keep``: never in the middle of a
    UTF-8 character or of an entity (``&amp;``)."""
    while keep and part[text + keep] & 0xC0 == 0x80:  # a UTF-8 continuation byte
        keep -= 1
    entity = part.rfind(b"&", text + max(0, keep - 16), text + keep)
    if entity != -1 and part.find(b";", entity, text + keep) == -1:
        keep = entity - text
    return keep


def listed_slides(prs: Any) -> tuple[list[tuple[int, Any]], int]:
    """The slides of python-pptx's ``prs`` as (number in presentation.xml's list, slide), each slide part
    once, and how many entries of the list named a part listed before. PowerPoint lists a slide once; a
    list of 100,000 entries naming one slide (3 MB) had python-pptx hand that slide 100,000 times: past 150 s,
    the deck lost."""
    seen: set[str] = set()
    kept: list[tuple[int, Any]] = []
    for number, slide in enumerate(prs.slides, start=1):
        if slide.part.partname not in seen:
            seen.add(slide.part.partname)
            kept.append((number, slide))
    return kept, len(prs.slides) - len(kept)


def repeated_slides(repeats: int) -> str:
    """The warning for ``repeats`` entries of the slide list skipped by ``listed_slides``."""
    return f"presentation.xml lists {repeats:,} slide(s) again that it listed before: each slide is read once"


_PLACEHOLDER_PNG: bytes | None = None


def _placeholder_png() -> bytes:
    """A 1x1 grey PNG: what a renderer gets instead of a picture over the pixel limit."""
    global _PLACEHOLDER_PNG
    if _PLACEHOLDER_PNG is None:
        out = io.BytesIO()
        Image.new("L", (1, 1), 200).save(out, "PNG")
        _PLACEHOLDER_PNG = out.getvalue()
    return _PLACEHOLDER_PNG


def without_oversized_images(data: bytes, max_pixels: int) -> bytes:
    """The package with every picture whose header claims over ``max_pixels`` replaced by a 1x1 PNG, for
    a renderer (LibreOffice) that would decode it whole: the extractor skips such a picture with a warning
    (``pptx._read_slide``), and a deck's other slides must still render within the memory limit. Only
    headers are read (``image_size``); unchanged bytes when no picture is over; ``data`` has passed
    ``check_zip_container``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = [i for i in zf.infolist() if i.file_size and not i.filename.endswith((".xml", ".rels"))]
        over = set()
        for info in parts:
            size = image_size(zf.read(info))
            if size is not None and size[0] * size[1] > max_pixels:
                over.add(info.filename)
        if not over:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for info in zf.infolist():
                copy.writestr(info, _placeholder_png() if info.filename in over else zf.read(info))
    return out.getvalue()


def _clean_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes | None:
    """The member without external references; None when it has none (only its head is read then)."""
    if info.filename.endswith(".rels"):
        return _internal_only(zf.read(info))
    named = info.filename.lower().endswith((".svg", ".svgz"))
    with zf.open(info) as member:
        head = member.read(_SVG_HEAD_BYTES)
    if head.startswith(b"\x1f\x8b"):  # svgz
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            plain = inflate.decompress(zf.read(info), MAX_SVG_BYTES)
        except zlib.error:
            return _EMPTY_SVG if named else None
        if not (named or _SVG_HEAD.search(plain[:_SVG_HEAD_BYTES])):
            return None
        return _EMPTY_SVG if inflate.unconsumed_tail else svg_internal_only(plain) or plain
    if named or _SVG_HEAD.search(head):
        return svg_internal_only(zf.read(info))
    return None


def svg_internal_only(svg: bytes) -> bytes | None:
    """An SVG whose references point only inside it (see ``_SAFE_REF``); None when it is one already."""
    try:
        root = etree.fromstring(svg, _SVG_PARSER)
    except etree.XMLSyntaxError:
        return _EMPTY_SVG
    if root is None or etree.QName(root).localname.lower() != "svg":
        return None
    # A DOCTYPE is dropped (its entities are expanded above): its ATTLIST defaults add attributes the tree
    # does not show, such as an href that LibreOffice applies and loads.
    docinfo = root.getroottree().docinfo
    changed = bool(docinfo.doctype) or docinfo.internalDTD is not None
    for el in root.iter():
        for name, value in list(el.attrib.items()):
            if etree.QName(name).localname.lower() == "href" and not _SAFE_REF.match(value.strip()):
                del el.attrib[name]
                changed = True
            elif _CSS_URL.search(value):
                el.attrib[name] = _CSS_URL.sub("none", value)
                changed = True
        if isinstance(el.tag, str) and el.text and _CSS_URL.search(el.text):
            el.text = _CSS_URL.sub("none", el.text)
            changed = True
    return etree.tostring(root) if changed else None


def _internal_only(rels: bytes) -> bytes | None:
    """A ``.rels`` part without its external relationships; None when it has none."""
    try:
        root = etree.fromstring(rels, _RELS_PARSER)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
    external = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).localname == "Relationship"
        and (el.get("TargetMode") or "Internal").strip() != "Internal"
    ]
    if not external:
        return None
    for el in external:
        el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _check_unique(name: str, seen: set[str]) -> None:
    """OPC part names are unique, compared without case (ECMA-376 Part 2). Two members of one name are read
    differently by different programs (python-pptx takes one, LibreOffice another, a checker a third), so a
    package that has them is refused rather than guessed at."""
    folded = name.casefold()
    if folded in seen:
        raise UnsafeFileError(f"zip package has two members named {name!r}")
    seen.add(folded)


def _check_member_name(name: str) -> None:
    # OPC part names are relative POSIX paths; anything else is a crafted package.
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or ".." in path.parts or (len(name) > 1 and name[1] == ":"):
        raise UnsafeFileError(f"zip member with an unsafe path: {name!r}")


def image_size(blob: bytes) -> tuple[int, int] | None:
    """Pixel size read from the image header only (no decoding); None when PIL cannot identify it."""
    # PIL's own guard would raise in open() with its own limit and wording; we check the size ourselves.
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(io.BytesIO(without_metadata(blob))) as img:
            return img.size
    except Exception:
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


_UNDECODABLE = {"WMF", "EMF"}
"""PIL reads their headers but can draw them only on Windows; LibreOffice renders them."""


def decodable(blob: bytes) -> bool:
    """Whether PIL can decode this image (judged from the header, without decoding), and will: a JPEG of
    too many scans is not (``too_many_scans``), so its unit is cropped from LibreOffice's rendering."""
    if too_many_scans(blob):
        return False
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(io.BytesIO(without_metadata(blob))) as img:
            return img.format not in _UNDECODABLE
    except Exception:
        return False
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def check_image_pixels(width: int, height: int, max_pixels: int, what: str = "image") -> None:
    if width <= 0 or height <= 0:
        raise UnsafeFileError(f"{what} declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise UnsafeFileError(
            f"decompression-bomb guard: {what} claims {width}x{height} pixels"
            f" ({width * height / 1e6:.0f} Mpx, limit {max_pixels / 1e6:.0f} Mpx)"
        )


MAX_JPEG_SCANS = 100
"""A progressive JPEG's scans: encoders write about 10 (libjpeg's default script; mozjpeg's searched ones
stay under 30). Each scan walks every block again, and libjpeg only warns of a progression that repeats
itself: 20,000 scans of a flat 4 Mpx picture are 300 KB and 38-43 CPU-s to decode (Pillow, MuPDF alike;
a reduced-scale decode saves nothing), one picture's worth of a document's whole CPU budget."""


def too_many_scans(blob: bytes) -> bool:
    """Whether ``blob`` is a JPEG of more than MAX_JPEG_SCANS scans (start-of-scan markers; one inside
    entropy-coded data is impossible, since a 0xFF byte there is stuffed; an EXIF thumbnail's count too,
    so this is an upper bound: one C pass over the bytes)."""
    return blob.startswith(b"\xff\xd8\xff") and blob.count(b"\xff\xda") > MAX_JPEG_SCANS


def open_image_checked(
    blob: bytes, max_pixels: int, what: str = "image", keep_pixels: int | None = None
) -> Image.Image | None:
    """Decode an embedded image after checking its header size; None when PIL cannot read the format,
    or when it is a JPEG of more scans than any encoder writes (``too_many_scans``): not decoded.

    ``keep_pixels``: the most pixels the caller uses; a picture several times larger is decoded at a
    reduced scale (``_reduced``). Raises UnsafeFileError for a header that claims more than ``max_pixels``.
    """
    size = image_size(blob)
    if size is None or too_many_scans(blob):
        return None
    check_image_pixels(size[0], size[1], max_pixels, what)
    try:
        with warnings.catch_warnings():
            # The size is already checked against our own limit; PIL's lower default must not object.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
            try:
                img = Image.open(io.BytesIO(without_metadata(blob)))
                img = _reduced(img, keep_pixels) if keep_pixels else _loaded(img)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        return eight_bit(img)
    except Image.DecompressionBombError as exc:
        raise UnsafeFileError(f"decompression-bomb image: {exc}") from None
    except Exception:
        # Truncated or unsupported payload (EMF, WMF, broken PNG): the caller renders it another way.
        return None


def eight_bit(img: Image.Image) -> Image.Image:
    """16-bit grey levels (PIL modes ``I;16*``, and ``I``: 32-bit integers, as a reduced one comes back) as
    8-bit ``L``, scaled by the bit depth. PIL's own conversion to ``L`` or ``RGB`` clips them at 255: a 16-bit
    greyscale PNG (microscopy, medical and instrument exports) became a white unit image, and OCR read
    nothing in it."""
    if not (img.mode.startswith("I;16") or img.mode == "I"):
        return img
    return img.convert("I").point(lambda v: v / 257).convert("L")  # 65535 -> 255


def _loaded(img: Image.Image) -> Image.Image:
    img.load()
    return img


def _reduced(img: Image.Image, keep_pixels: int) -> Image.Image:
    """``img`` decoded with between 4/9 and 9/4 of ``keep_pixels`` pixels (all of them when it has fewer): a
    JPEG at the smallest DCT scale (1/2, 1/4, 1/8) that keeps them, then reduced by the nearest whole factor
    (box averaging). A flat 144 Mpx JPEG in a 30 KB deck was decoded whole and resized three times (figure,
    OCR check, OCR read): 19 s and 1.5 GB."""
    w, h = img.size
    if w * h <= keep_pixels:
        return _loaded(img)
    scale = math.sqrt(keep_pixels / (w * h))
    if img.format == "JPEG":
        img.draft(img.mode, (math.ceil(w * scale), math.ceil(h * scale)))
    img.load()
    factor = round(math.sqrt(img.width * img.height / keep_pixels))
    if factor < 2:
        return img
    if img.mode in ("1", "P", "PA") or img.mode.startswith("I;16"):  # averaging needs levels, not indices
        img = img.convert("L" if img.mode == "1" else "I" if img.mode.startswith("I") else "RGBA")
    return img.reduce(factor)
