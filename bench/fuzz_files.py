"""Fuzz the extraction worker: mutate small PDF and PPTX seeds and run each mutant as ingest does.

    python bench/fuzz_files.py [--seed 9] [--per-seed 40] [--seconds 30] [--memory-mb 2048]
                               [--ocr off] [--workers 1] [--corpus-seeds 3] [--out DIR] [--keep]

Seeds: a few PDFs and a deck made here with PyMuPDF and python-pptx (pictures, drawings, a native chart),
plus read-only copies of the smallest corpus files (``FIGVAULT_CORPUS``). Each seed gets ``--per-seed``
mutants, drawn with one ``random.Random(--seed)`` (the same seed, the same mutants): byte flips, truncation
at a random offset, xref entries duplicated or removed, objects removed or duplicated, stream lengths
swapped, arrays and dictionaries nested 10^4 deep, pictures whose dimensions or filter lie, a huge or cyclic
page tree; for decks: members swapped, duplicated or renamed, content types and relationships naming
missing or cyclic parts, XML with entity expansion, an external entity or 10^4 levels of nesting, a
picture whose header lies, flips inside an XML part. Both kinds also point outside themselves
(``outside_link``, ``outside_action``): a relationship made external, an SVG href, a PDF action (/URI,
/Launch, /GoToR, JavaScript, a link) aimed at a loopback listener this run holds or at a server file
holding a marker word.

All mutants go through ``extract_many`` (the batch path of ingest and ``figvault extract``: one forked
worker per document under ``--seconds`` CPU seconds and ``--memory-mb``), and each outcome is classed:

- ``ok``: units came back; ``error``: a reason in words (``corrupt PDF: ...``, ``not a readable PPTX
  package: ...``); ``bug``: the reason is a bare Python exception (``KeyError: 'x'``), which the worker
  reports for an exception it did not expect; ``crash``: the worker died; ``limit``: it ran past its CPU
  time or memory; ``path``: a reason naming a server path (the mutant's folder); ``reach``: the listener
  got a connection naming the mutant's token, or the server file's marker is in its units, titles or
  warnings (nothing a file points at may be fetched or read). Everything but ``ok`` and ``error`` is a
  finding, printed with its mutant's name (``--keep`` keeps the files in ``--out``).

CPU seconds and peak RSS are the worker's: its ``/proc`` ``stat`` and ``VmHWM``, read by the parent at each
of the worker's memory polls (``POLL_S``) and when it answers (a peak reached in its last 0.1 s may be
missed; a worker stopped at a limit shows what it had used by then).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from extraction import corpus_dir

from figvault.pipeline import extract_worker
from figvault.settings import load_settings

sys.path.insert(0, str(Path(__file__).parents[1]))
from tests.helpers.trap import LoopbackTrap

DEPTH = 10_000
"""How deep the nested arrays, dictionaries and XML elements go."""
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# ---- seeds ---------------------------------------------------------------------------------------------


def _png(width: int, height: int, seed: int) -> bytes:
    from PIL import Image

    rng = random.Random(seed)
    img = Image.new("RGB", (width, height), (250, 250, 250))
    for x in range(0, width, 8):
        for y in range(0, height, 8):
            img.putpixel((x, y), (rng.randrange(256), 40, 90))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


def seed_pdf(compressed: bool) -> bytes:
    """Two pages: a captioned picture, a drawn bar chart with a title, body text."""
    import pymupdf

    doc = pymupdf.open()
    for n in range(2):
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 60), f"Section {n + 1}: results of the trial", fontsize=14)
        page.insert_image(pymupdf.Rect(72, 100, 372, 300), stream=_png(240, 160, n))
        page.insert_text((72, 320), f"Figure {n + 1}. Throughput by configuration.", fontsize=10)
        page.insert_text((72, 380), "Quarterly revenue", fontsize=11)
        for i, h in enumerate((60, 110, 80, 140)):
            page.draw_rect(
                pymupdf.Rect(90 + 50 * i, 540 - h, 120 + 50 * i, 540), color=(0, 0, 0), fill=(0.2, 0.4, 0.8)
            )
        page.draw_line((80, 540), (320, 540))
        page.insert_text((72, 580), "Figure 3. Revenue per quarter, in millions.", fontsize=10)
        page.insert_text((72, 640), "The body text explains the figures above in plain words.", fontsize=10)
    data = doc.tobytes(deflate=compressed, garbage=0 if not compressed else 3)
    doc.close()
    return data


def seed_pptx() -> bytes:
    """Two slides: a title and a picture; a title and a native bar chart."""
    from pptx import Presentation
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = Presentation()
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Adoption by region"
    slide.shapes.add_picture(io.BytesIO(_png(320, 200, 7)), Inches(1), Inches(2), Inches(5), Inches(3))
    slide = prs.slides.add_slide(prs.slide_layouts[5])
    slide.shapes.title.text = "Latency per release"
    chart_data = CategoryChartData()
    chart_data.categories = ["v1", "v2", "v3"]
    chart_data.add_series("p95 ms", (120, 95, 70))
    slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), chart_data
    )
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def seeds(corpus_count: int) -> dict[str, bytes]:
    made = {
        "gen-plain.pdf": seed_pdf(compressed=False),
        "gen-deflate.pdf": seed_pdf(compressed=True),
        "gen-deck.pptx": seed_pptx(),
    }
    docs = corpus_dir() / "docs"
    if corpus_count and docs.is_dir():
        small = sorted(
            (p for p in docs.iterdir() if p.suffix in (".pdf", ".pptx")), key=lambda p: p.stat().st_size
        )
        pdfs = [p for p in small if p.suffix == ".pdf"][: max(1, corpus_count - 1)]
        decks = [p for p in small if p.suffix == ".pptx"][:1]
        for p in [*pdfs, *decks][:corpus_count]:
            made[f"corpus-{p.name}"] = p.read_bytes()  # a copy: the corpus is never written
    return made


# ---- mutators: (random, bytes) -> bytes, or None when the seed has nothing to mutate --------------------

Mutator = Callable[[random.Random, bytes], bytes | None]


def byte_flips(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.choice((1, 4, 16, 64))):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def truncated(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(1, len(data))]


_OBJ = re.compile(rb"(\d+) 0 obj\b(.*?)endobj", re.S)
_XREF_ENTRY = re.compile(rb"^\d{10} \d{5} [nf]\s*$", re.M)


def _pick(rng: random.Random, pattern: re.Pattern[bytes], data: bytes) -> list[re.Match[bytes]]:
    found = list(pattern.finditer(data))
    return [rng.choice(found)] if found else []


def xref_duplicated(rng: random.Random, data: bytes) -> bytes | None:
    for m in _pick(rng, _XREF_ENTRY, data):
        return data[: m.end()] + b"\n" + m.group(0).strip() + data[m.end() :]
    return None


def xref_removed(rng: random.Random, data: bytes) -> bytes | None:
    for m in _pick(rng, _XREF_ENTRY, data):
        return data[: m.start()] + data[m.end() :].lstrip(b"\r\n")
    return None


def xref_offsets_shifted(rng: random.Random, data: bytes) -> bytes | None:
    entries = list(_XREF_ENTRY.finditer(data))
    if not entries:
        return None
    out = bytearray(data)
    for m in rng.sample(entries, min(len(entries), rng.choice((1, 3, len(entries))))):
        out[m.start() : m.start() + 10] = b"%010d" % rng.randrange(len(data) * 2)
    return bytes(out)


def object_removed(rng: random.Random, data: bytes) -> bytes | None:
    for m in _pick(rng, _OBJ, data):
        return data[: m.start()] + data[m.end() :]
    return None


def object_duplicated(rng: random.Random, data: bytes) -> bytes | None:
    """A second body for an object number, placed after the first (the xref names only one)."""
    objects = list(_OBJ.finditer(data))
    if len(objects) < 2:
        return None
    a, b = rng.sample(objects, 2)
    return data[: a.end()] + b"\n" + a.group(1) + b" 0 obj" + b.group(2) + b"endobj" + data[a.end() :]


def lengths_swapped(rng: random.Random, data: bytes) -> bytes | None:
    lengths = list(re.finditer(rb"/Length (\d+)", data))
    if len(lengths) < 2:
        return None
    a, b = sorted(rng.sample(lengths, 2), key=lambda m: m.start())
    return data[: a.start(1)] + b.group(1) + data[a.end(1) : b.start(1)] + a.group(1) + data[b.end(1) :]


def _into_dict(rng: random.Random, data: bytes, entry: bytes) -> bytes | None:
    dicts = [m.end() for m in re.finditer(rb"<<", data)]
    if not dicts:
        return None
    at = rng.choice(dicts)
    return data[:at] + b" " + entry + b" " + data[at:]


def deep_array(rng: random.Random, data: bytes) -> bytes | None:
    return _into_dict(rng, data, b"/Deep " + b"[" * DEPTH + b"]" * DEPTH)


def deep_dict(rng: random.Random, data: bytes) -> bytes | None:
    return _into_dict(rng, data, b"/Deep " + b"<</A " * DEPTH + b"1" + b">>" * DEPTH)


def deep_content(rng: random.Random, data: bytes) -> bytes | None:
    """A content stream of 10^4 nested ``q`` and an array operand as deep (uncompressed seeds only)."""
    streams = list(re.finditer(rb"stream\r?\n", data))
    if not streams:
        return None
    at = rng.choice(streams).end()
    return data[:at] + b"q " * DEPTH + b"[" * DEPTH + b"]" * DEPTH + b" pop " + b"Q " * DEPTH + data[at:]


def image_dims_lie(rng: random.Random, data: bytes) -> bytes | None:
    dims = list(re.finditer(rb"/(Width|Height) (\d+)", data))
    if not dims:
        return None
    m = rng.choice(dims)
    value = str(rng.choice((0, 1, 3, 65_535, 1_000_000, 2**31 - 1, -7))).encode()
    return data[: m.start(2)] + value + data[m.end(2) :]


def image_filter_lies(rng: random.Random, data: bytes) -> bytes | None:
    filters = list(re.finditer(rb"/Filter\s*/(\w+)", data))
    if not filters:
        return None
    m = rng.choice(filters)
    other = rng.choice(
        (b"DCTDecode", b"JPXDecode", b"CCITTFaxDecode", b"JBIG2Decode", b"RunLengthDecode", b"LZWDecode")
    )
    return data[: m.start(1)] + other + data[m.end(1) :]


def bits_per_component_lie(rng: random.Random, data: bytes) -> bytes | None:
    bpc = list(re.finditer(rb"/BitsPerComponent (\d+)", data))
    if not bpc:
        return None
    m = rng.choice(bpc)
    return data[: m.start(1)] + rng.choice((b"0", b"3", b"16", b"32", b"255")) + data[m.end(1) :]


def count_huge(rng: random.Random, data: bytes) -> bytes | None:
    counts = list(re.finditer(rb"/Count (-?\d+)", data))
    if not counts:
        return None
    m = rng.choice(counts)
    value = str(rng.choice((10**9, 2**31, 2**63, -1, 0, 10**6))).encode()
    return data[: m.start(1)] + value + data[m.end(1) :]


def kids_cycle(rng: random.Random, data: bytes) -> bytes | None:
    """The page tree's /Kids lists its own root (or a page twice)."""
    m = re.search(rb"(\d+) 0 obj\s*<<[^>]*?/Type\s*/Pages", data)
    kids = re.search(rb"/Kids\s*\[", data)
    if not m or not kids:
        return None
    extra = b" %s 0 R" % m.group(1) if rng.random() < 0.5 else b""
    first = re.search(rb"\d+ 0 R", data[kids.end() :])
    dup = b" " + first.group(0) if first else b""
    return data[: kids.end()] + extra + dup * rng.choice((1, 50)) + b" " + data[kids.end() :]


OUTSIDE = {"url": "http://127.0.0.1:9", "file": "/nonexistent/figvault-fuzz-secret.txt"}
"""Where ``outside_link`` and ``outside_action`` point: the run's loopback listener and server file
(``main`` sets both; the defaults reach nothing)."""
TOKEN = re.compile(rb"reach\d{9}")
SECRET_MARK = "Numbat5521"
"""The server file's text: a unit, title or warning holding it read a file outside the document."""


def _outside_target(rng: random.Random) -> tuple[bytes, bytes]:
    """A URL naming a fresh token (which connection came from which mutant) or the server file's URI; the
    token is in the mutant's bytes either way."""
    token = b"reach%09d" % rng.randrange(10**9)
    if rng.random() < 0.7:
        return f"{OUTSIDE['url']}/".encode() + token + b".png", token
    return Path(OUTSIDE["file"]).as_uri().encode() + b"#" + token, token


def outside_link(rng: random.Random, data: bytes) -> bytes | None:
    """A relationship (picture, layout, chart, ...) made external to the listener or the server file."""
    target, _ = _outside_target(rng)

    def edit(xml: bytes) -> bytes:
        rels = list(re.finditer(rb"<Relationship\b[^>]*?(/?)>", xml))
        if not rels:
            return xml
        m = rng.choice(rels)
        rel = re.sub(rb'\s(Target|TargetMode)="[^"]*"', b"", m.group(0))
        rel = rel.replace(
            b"<Relationship", b'<Relationship TargetMode="External" Target="' + target + b'"', 1
        )
        return xml[: m.start()] + rel + xml[m.end() :]

    return _edit_part(rng, data, lambda name: name.endswith(".rels"), edit)


def outside_action(rng: random.Random, data: bytes) -> bytes | None:
    """The catalog's open action (or a page's link) aimed outside: /URI, /Launch, /GoToR, JavaScript."""
    target, _ = _outside_target(rng)
    action = rng.choice(
        (
            b"<< /S /URI /URI (" + target + b") >>",
            b"<< /S /Launch /F (" + target + b") /Unix << /F (/usr/bin/touch) /P (" + target + b") >> >>",
            b"<< /S /GoToR /F (" + target + b") /D [0 /Fit] >>",
            b"<< /S /JavaScript /JS (app.launchURL('"
            + target
            + b"'); this.submitForm('"
            + target
            + b"');) >>",
        )
    )
    if rng.random() < 0.5:
        return _into_dict_after(data, rb"/Type\s*/Catalog", b" /OpenAction " + action)
    link = b" /Annots [<< /Type /Annot /Subtype /Link /Rect [0 0 300 300] /A " + action + b" >>]"
    return _into_dict_after(data, rb"/Type\s*/Page\b", link)


def _into_dict_after(data: bytes, key: bytes, entry: bytes) -> bytes | None:
    """``entry`` added to the first dictionary that holds ``key`` (uncompressed objects only)."""
    m = re.search(key, data)
    return None if m is None else data[: m.end()] + entry + data[m.end() :]


PDF_MUTATORS: list[Mutator] = [
    byte_flips, truncated, xref_duplicated, xref_removed, xref_offsets_shifted, object_removed,
    object_duplicated, lengths_swapped, deep_array, deep_dict, deep_content, image_dims_lie,
    image_filter_lies, bits_per_component_lie, count_huge, kids_cycle, outside_action,
]  # fmt: skip


def _members(data: bytes) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(info, z.read(info)) for info in z.infolist()]


def _zipped(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        warnings.filterwarnings("ignore", "Duplicate name", UserWarning)  # the point of member_duplicated
        for name, body in members:
            with z.open(zipfile.ZipInfo(name), "w") as f:  # a ZipInfo: written even when the name is taken
                f.write(body)
    return out.getvalue()


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    return [(info.filename, body) for info, body in _members(data)]


def members_swapped(rng: random.Random, data: bytes) -> bytes:
    parts = _parts(data)
    i, j = rng.sample(range(len(parts)), 2)
    (a, x), (b, y) = parts[i], parts[j]
    parts[i], parts[j] = (a, y), (b, x)
    return _zipped(parts)


def member_duplicated(rng: random.Random, data: bytes) -> bytes:
    parts = _parts(data)
    name, _ = rng.choice(parts)
    _, other = rng.choice(parts)
    name = name.upper() if rng.random() < 0.5 else name
    return _zipped([*parts, (name, other)])


def member_renamed(rng: random.Random, data: bytes) -> bytes:
    parts = _parts(data)
    i = rng.randrange(len(parts))
    name, body = parts[i]
    parts[i] = (
        rng.choice((name + ".bak", "../" + name, "/" + name, name.replace("/", "\\"), "x/" * 40 + name)),
        body,
    )
    return _zipped(parts)


def member_removed(rng: random.Random, data: bytes) -> bytes:
    parts = _parts(data)
    del parts[rng.randrange(len(parts))]
    return _zipped(parts)


def _edit_part(
    rng: random.Random, data: bytes, want: Callable[[str], bool], edit: Callable[[bytes], bytes]
) -> bytes | None:
    parts = _parts(data)
    chosen = [i for i, (name, _) in enumerate(parts) if want(name)]
    if not chosen:
        return None
    i = rng.choice(chosen)
    parts[i] = (parts[i][0], edit(parts[i][1]))
    return _zipped(parts)


def content_types_missing(rng: random.Random, data: bytes) -> bytes | None:
    """[Content_Types].xml names a part that is not there, or loses a default, or is gone."""

    def edit(xml: bytes) -> bytes:
        choice = rng.randrange(3)
        if choice == 0:
            return xml.replace(
                b"</Types>",
                b'<Override PartName="/ppt/slides/slide99.xml" ContentType='
                b'"application/vnd.openxmlformats-officedocument.presentationml.slide+xml"/></Types>',
            )
        if choice == 1:
            return re.sub(rb'<Default Extension="(png|xml)"[^>]*/>', b"", xml, count=1)
        return re.sub(rb"/ppt/presentation\.xml", b"/ppt/missing.xml", xml)

    return _edit_part(rng, data, lambda n: n == "[Content_Types].xml", edit)


def rels_broken(rng: random.Random, data: bytes) -> bytes | None:
    """A relationship's target made missing, absolute, outside the package, or the part itself (a cycle)."""

    def want(name: str) -> bool:
        return name.endswith(".rels")

    def edit(xml: bytes) -> bytes:
        targets = list(re.finditer(rb'Target="([^"]*)"', xml))
        if not targets:
            return xml
        m = rng.choice(targets)
        new = rng.choice(
            (
                b"missing.xml",
                b"../../../../etc/passwd",
                b"/ppt/presentation.xml",
                b"",
                b"slide1.xml",
                b"../slides/slide1.xml",
                b"file:///etc/passwd",
            )
        )
        return xml[: m.start(1)] + new + xml[m.end(1) :]

    return _edit_part(rng, data, want, edit)


def rels_cycle(rng: random.Random, data: bytes) -> bytes | None:
    """A slide's relationships point its layout (and a picture) at the slide itself."""

    def edit(xml: bytes) -> bytes:
        return re.sub(rb'Target="[^"]*"', b'Target="../slides/slide1.xml"', xml)

    return _edit_part(rng, data, lambda n: n.startswith("ppt/slides/_rels/"), edit)


def _xml_part(name: str) -> bool:
    return name.endswith(".xml") and name.startswith("ppt/")


def xml_entity_expansion(rng: random.Random, data: bytes) -> bytes | None:
    lol = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((i,) + (i - 1,) * 10)
        for i in range(1, 10)
    )
    dtd = b'<!DOCTYPE r [<!ENTITY l0 "lol">' + lol + b"]>"
    return _edit_part(rng, data, _xml_part, _with_entity(dtd, b"&l9;"))


def xml_external_entity(rng: random.Random, data: bytes) -> bytes | None:
    dtd = (
        b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">'
        b'<!ENTITY % p SYSTEM "http://127.0.0.1:9/x.dtd"> %p;]>'
    )

    return _edit_part(rng, data, _xml_part, _with_entity(dtd, b"&x;"))


def _with_entity(dtd: bytes, reference: bytes) -> Callable[[bytes], bytes]:
    """An edit of a part's XML: ``dtd`` declared before its root, ``reference`` put in its first text run."""

    def edit(xml: bytes) -> bytes:
        body = re.sub(rb"^<\?xml[^>]*\?>\s*", b"", xml)
        body = re.sub(rb"(<a:t>)", rb"\1" + reference, body, count=1)
        return b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + dtd + body

    return edit


def xml_deep(rng: random.Random, data: bytes) -> bytes | None:
    """10^4 nested elements inside a part's root (a group of groups, or foreign elements)."""

    def edit(xml: bytes) -> bytes:
        tag = rng.choice((b"p:grpSp", b"a:r", b"x"))
        deep = b"<%s>" % tag * DEPTH + b"</%s>" % tag * DEPTH
        m = re.search(rb"<p:spTree>|<c:plotArea>|<p:sldIdLst>|<a:theme[^>]*>|<Relationships[^>]*>", xml)
        at = m.end() if m else len(xml)
        return xml[:at] + deep.replace(b"<x>", b'<x xmlns="urn:x">', 1) + xml[at:]

    return _edit_part(rng, data, lambda n: n.endswith(".xml") or n.endswith(".rels"), edit)


def xml_flips(rng: random.Random, data: bytes) -> bytes | None:
    return _edit_part(
        rng, data, lambda n: n.endswith(".xml") or n.endswith(".rels"), lambda b: byte_flips(rng, b)
    )


def xml_truncated(rng: random.Random, data: bytes) -> bytes | None:
    return _edit_part(
        rng, data, lambda n: n.endswith(".xml") or n.endswith(".rels"), lambda b: truncated(rng, b)
    )


def picture_lies(rng: random.Random, data: bytes) -> bytes | None:
    """A picture's header claims other dimensions, or its compressed data is cut or replaced."""

    def edit(img: bytes) -> bytes:
        choice = rng.randrange(3)
        if img.startswith(b"\x89PNG") and choice == 0:
            w, h = rng.choice(((60_000, 60_000), (1, 1_000_000), (2**31 - 1, 2), (0, 0)))
            ihdr = b"IHDR" + w.to_bytes(4, "big") + h.to_bytes(4, "big") + img[24:29]
            return img[:12] + ihdr + zlib.crc32(ihdr).to_bytes(4, "big") + img[33:]
        if choice == 1:
            return img[: len(img) // 3]
        return zlib.compress(b"\x00" * 5_000_000)[: len(img)]

    return _edit_part(rng, data, lambda n: n.startswith("ppt/media/"), edit)


PPTX_MUTATORS: list[Mutator] = [
    byte_flips, truncated, members_swapped, member_duplicated, member_renamed, member_removed,
    content_types_missing, rels_broken, rels_cycle, xml_entity_expansion, xml_external_entity, xml_deep,
    xml_flips, xml_truncated, picture_lies, outside_link,
]  # fmt: skip


def mutants(seed_files: dict[str, bytes], per_seed: int, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """(file name, mutator, bytes): ``per_seed`` a seed, the mutators taken in turn from a random start."""
    made = []
    for name, data in seed_files.items():
        pool = PPTX_MUTATORS if name.endswith(".pptx") else PDF_MUTATORS
        start = rng.randrange(len(pool))
        n = 0
        for i in range(per_seed * 3):
            if n == per_seed:
                break
            mutator = pool[(start + i) % len(pool)]
            out = mutator(rng, data)
            if out is None or out == data:
                continue
            stem, ext = name.rsplit(".", 1)
            made.append((f"{stem}-{n:03d}-{mutator.__name__}.{ext}", mutator.__name__, out))
            n += 1
    return made


# ---- running: the production batch path, watched --------------------------------------------------------


@dataclass
class Usage:
    cpu_s: float = 0.0
    peak_mb: float = 0.0


class Watcher:
    """Reads each worker's CPU seconds and peak RSS where the parent looks at it anyway (its memory poll and
    its answer), keyed by the document the extracting thread is on."""

    def __init__(self) -> None:
        self.usage: dict[str, Usage] = {}
        self.current = threading.local()
        self.lock = threading.Lock()

    def read(self, pid: int) -> None:
        name = getattr(self.current, "name", None)
        if name is None or not pid:
            return
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            hwm = re.search(r"VmHWM:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        except (OSError, ValueError, IndexError):
            return
        with self.lock:
            use = self.usage.setdefault(name, Usage())
            use.cpu_s = max(use.cpu_s, cpu)
            if hwm:
                use.peak_mb = max(use.peak_mb, int(hwm.group(1)) / 1024)

    def install(self) -> None:
        """Wrap the worker module's own polls; what the worker does is unchanged."""
        resident, answer, limited = (
            extract_worker._resident_bytes,
            extract_worker._answer,
            extract_worker.extract_limited,
        )

        def resident_watched(pid: int, children: bool = True) -> int:
            self.read(pid)
            return resident(pid, children)

        def answer_watched(receiver, process):  # type: ignore[no-untyped-def]
            self.read(process.pid or 0)
            return answer(receiver, process)

        def limited_watched(path: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
            self.current.name = path.name
            try:
                return limited(path, *args, **kwargs)
            finally:
                self.current.name = None

        extract_worker._resident_bytes = resident_watched
        extract_worker._answer = answer_watched
        extract_worker.extract_limited = limited_watched


_PY_EXCEPTION = re.compile(r"^([a-z_]+\.)*[A-Za-z_][A-Za-z0-9_]*: ")
"""A reason that is a bare exception's (``KeyError: 'x'``, ``FzErrorFormat: ...``): the worker's words for
an exception no extractor turned into a reason."""


def outcome(result: object, folder: Path, reached: bool = False) -> str:
    if reached:
        return "reach"
    if not isinstance(result, str):
        return "ok"
    if str(folder) in result or re.search(r"/tmp/|/home/|/work/|/var/", result):
        return "path"
    if "crashed" in result or "was killed" in result or "stopped (exit code" in result:
        return "crash"
    if result.startswith("took longer than") or result.startswith("needed more than"):
        return "limit"
    if _PY_EXCEPTION.match(result):
        return "bug"
    return "error"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--per-seed", type=int, default=40)
    ap.add_argument("--corpus-seeds", type=int, default=3)
    ap.add_argument(
        "--seconds", type=float, default=30.0, help="CPU seconds a worker (extract.doc_timeout_s)"
    )
    ap.add_argument("--memory-mb", type=int, default=2048, help="memory of a worker (extract.doc_memory_mb)")
    ap.add_argument("--ocr", choices=("on", "off"), default="off")
    ap.add_argument("--libreoffice", choices=("on", "off"), default="off")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--only", default="", help="run only the mutants whose name contains this")
    ap.add_argument(
        "--out", type=Path, default=None, help="where the mutants are written (default: a temp dir)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the mutants (the findings' files)")
    args = ap.parse_args()
    trap = LoopbackTrap().__enter__()  # held for the whole run: any connection to it is a finding
    OUTSIDE["url"] = trap.url("").rstrip("/")

    settings = load_settings().extract
    settings.ocr = args.ocr == "on"
    settings.doc_timeout_s = args.seconds
    settings.doc_memory_mb = args.memory_mb
    settings.libreoffice = "auto" if args.libreoffice == "on" else "off"
    folder = args.out or Path(tempfile.mkdtemp(prefix="figvault-fuzz-"))
    folder.mkdir(parents=True, exist_ok=True)
    OUTSIDE["file"] = str(folder / "outside-secret.txt")
    Path(OUTSIDE["file"]).write_text(f"{SECRET_MARK} a server file no mutant may read\n")
    rng = random.Random(args.seed)
    made = [m for m in mutants(seeds(args.corpus_seeds), args.per_seed, rng) if args.only in m[0]]
    paths = []
    for name, _mutator, data in made:
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    kinds = {name: mutator for name, mutator, _ in made}
    tokens = {name: set(TOKEN.findall(data)) for name, _mutator, data in made}
    print(
        f"seed {args.seed}: {len(made)} mutants of {len({n.rsplit('-', 2)[0] for n in kinds})} seeds"
        f" in {folder};"
        f" limits {args.seconds:g} CPU-s, {args.memory_mb} MiB; OCR {args.ocr}; load {_load()}",
        flush=True,
    )

    watcher = Watcher()
    watcher.install()
    rows: list[tuple[str, str, str, Usage, str]] = []
    start = time.monotonic()
    for path, result in extract_worker.extract_many(paths, settings, workers=args.workers):
        fetched = set(TOKEN.findall(b"".join(trap.hits)))
        kind = outcome(result, folder, bool(tokens[path.name] & fetched) or SECRET_MARK in repr(result))
        use = watcher.usage.get(path.name, Usage())
        detail = result if isinstance(result, str) else f"{len(result.extraction.figures)} units"
        rows.append((path.name, kinds[path.name], kind, use, detail))
        if kind not in ("ok", "error"):
            print(
                f"FINDING {kind}: {path.name}: {detail} ({use.cpu_s:.2f} CPU-s, {use.peak_mb:.0f} MB)",
                flush=True,
            )
    report(rows, time.monotonic() - start)
    trap.__exit__(None, None, None)
    print(f"loopback listener: {len(trap.hits)} connection(s)")
    if not args.keep and args.out is None:
        shutil.rmtree(folder)


def report(rows: list[tuple[str, str, str, Usage, str]], wall_s: float) -> None:
    kinds = ["ok", "error", "bug", "crash", "limit", "path", "reach"]
    print(f"\n{len(rows)} mutants in {wall_s:.0f} s wall; load {_load()}\n")
    print("| mutator | " + " | ".join(kinds) + " | CPU-s median / max | peak RSS MB max |")
    print("| --- |" + " --- |" * (len(kinds) + 2))
    by: dict[str, list[tuple[str, Usage]]] = {}
    for _name, mutator, kind, use, _detail in rows:
        by.setdefault(mutator, []).append((kind, use))
    for mutator, group in [*sorted(by.items()), ("all", [(k, u) for _, _, k, u, _ in rows])]:
        counts = Counter(k for k, _ in group)
        cpus = [u.cpu_s for _, u in group]
        print(
            f"| {mutator} | "
            + " | ".join(str(counts.get(k, 0)) for k in kinds)
            + f" | {statistics.median(cpus):.2f} / {max(cpus):.2f} | {max(u.peak_mb for _, u in group):.0f} |"
        )
    errors = Counter(_shape(detail) for _n, _m, kind, _u, detail in rows if kind == "error")
    print("\nclear errors, by reason (numbers and names folded):")
    for reason, n in errors.most_common(25):
        print(f"  {n:4d}  {reason}")


def _shape(reason: str) -> str:
    return re.sub(r"\d+", "N", re.sub(r"'[^']*'", "'…'", reason))[:140]


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


if __name__ == "__main__":
    main()
