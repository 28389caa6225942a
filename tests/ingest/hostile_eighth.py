"""Generated hostile files of the eighth pass: the classes the fuzz campaign (bench/fuzz_files.py, seed 9)
found. A page tree MuPDF cannot map or parse; a deck whose parts are not the kind its relationships say; a
deck member whose deflate data is damaged; a deck whose main part has another content type. Each is a
small valid file changed in one place, as the fuzzer's mutants were."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from tests.generated_docs import figure_pdf
from tests.ingest import pptx_decks as decks


def _two_page_pdf(path: Path) -> bytes:
    """Two pages of captioned pictures, written without object streams (each object readable as text)."""
    import pymupdf

    doc = pymupdf.open()
    for seed in (3, 4):
        doc.insert_pdf(pymupdf.open(figure_pdf(path.with_suffix(f".{seed}.pdf"), seed=seed)))
    data = doc.tobytes(garbage=0, deflate=False)
    doc.close()
    return data


def _page_tree_root(data: bytes) -> re.Match[bytes]:
    """The /Pages object whose /Kids lists pages (the root: the file has no intermediate node)."""
    found = re.search(rb"(\d+) 0 obj\s*<<[^>]*?/Type\s*/Pages\b[^>]*?/Kids\s*\[", data)
    assert found is not None
    return found


def page_tree_cycle_pdf(path: Path) -> Path:
    """The page tree's root lists itself among its kids, and its first page twice (its /Count still 2)."""
    data = _two_page_pdf(path)
    root = _page_tree_root(data)
    first = re.search(rb"\d+ 0 R", data[root.end() :])
    assert first is not None
    extra = b" %s 0 R %s " % (root.group(1), first.group(0))
    path.write_bytes(data[: root.end()] + extra + data[root.end() :])
    return path


def deep_page_tree_pdf(path: Path, depth: int = 10_000) -> Path:
    """The page tree's root holds an array nested ``depth`` deep: past MuPDF's parser stack."""
    data = _two_page_pdf(path)
    root = _page_tree_root(data)
    at = root.start() + data[root.start() :].index(b"<<") + 2
    path.write_bytes(data[:at] + b" /Deep " + b"[" * depth + b"]" * depth + data[at:])
    return path


def page_tree_gone_pdf(path: Path) -> Path:
    """The page tree's root object is removed (its xref entry left): the catalog's /Pages reads as null."""
    data = _two_page_pdf(path)
    root = _page_tree_root(data)
    end = data.index(b"endobj", root.start()) + len(b"endobj")
    path.write_bytes(data[: root.start()] + data[end:])
    return path


def _two_slide_deck(path: Path) -> bytes:
    """A picture slide and a chart slide (ppt/slides/slide1.xml; slide2.xml and its chart)."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE
    from pptx.util import Inches

    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Network overview"
    slide.shapes.add_picture(io.BytesIO(decks.png_bytes()), Inches(2), Inches(2), Inches(4), Inches(3))
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Sales"
    chart = CategoryChartData()
    chart.categories = ["Alpha", "Beta", "Gamma"]
    chart.add_series("Units sold", (3.0, 7.5, 4.0))
    slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(1.5), Inches(8), Inches(5), chart
    )
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


def _rezipped(data: bytes, change: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, change.get(info.filename, src.read(info)))
    return out.getvalue()


def _member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def part_swapped_pptx(path: Path, part: str, holding: str) -> Path:
    """Member ``part`` holds the bytes of member ``holding`` (two members swapped, or one copied over)."""
    data = _two_slide_deck(path)
    path.write_bytes(_rezipped(data, {part: _member(data, holding)}))
    return path


def chart_rel_to_slide_pptx(path: Path) -> Path:
    """The chart slide's chart relationship names the first slide: the wrong kind of part."""
    data = _two_slide_deck(path)
    rels = "ppt/slides/_rels/slide2.xml.rels"
    xml = _member(data, rels)
    xml = re.sub(rb'(Type="[^"]*/chart"[^>]*Target=")[^"]*"', rb'\1../slides/slide1.xml"', xml)
    xml = re.sub(rb'(Target=")[^"]*("[^>]*Type="[^"]*/chart")', rb"\1../slides/slide1.xml\2", xml)
    assert b"slide1.xml" in xml
    path.write_bytes(_rezipped(data, {rels: xml}))
    return path


def layout_rel_to_slide_pptx(path: Path) -> Path:
    """The chart slide's layout relationship names the first slide (a fuzzed relationship python-pptx
    does not follow while the deck is read)."""
    data = _two_slide_deck(path)
    rels = "ppt/slides/_rels/slide2.xml.rels"
    xml = re.sub(
        rb'(<Relationship [^>]*Type="[^"]*/slideLayout"[^>]*)Target="[^"]*"',
        rb'\1Target="../slides/slide1.xml"',
        _member(data, rels),
    )
    assert b"slide1.xml" in xml
    path.write_bytes(_rezipped(data, {rels: xml}))
    return path


def damaged_deflate_pptx(path: Path, member: str = "ppt/presentation.xml") -> Path:
    """``member``'s deflate data starts with an invalid block type: zlib fails before the CRC is checked."""
    data = bytearray(_two_slide_deck(path))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(member)
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    data[info.header_offset + 30 + name_len + extra_len] = 0x07  # BFINAL 1, BTYPE 11: reserved, invalid
    path.write_bytes(bytes(data))
    return path


def main_part_retyped_pptx(path: Path) -> Path:
    """[Content_Types].xml gives the presentation part a generic XML type."""
    data = _two_slide_deck(path)
    types = re.sub(
        rb'(PartName="/ppt/presentation.xml" ContentType=")[^"]*"',
        rb'\1application/xml"',
        _member(data, "[Content_Types].xml"),
    )
    path.write_bytes(_rezipped(data, {"[Content_Types].xml": types}))
    return path


def content_types_damaged_pptx(path: Path) -> Path:
    """``[Content_Types].xml`` stored (not deflated) with one byte changed: its CRC fails when it is read."""
    data = _two_slide_deck(path)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            kind = zipfile.ZIP_STORED if info.filename == "[Content_Types].xml" else zipfile.ZIP_DEFLATED
            dst.writestr(info.filename, src.read(info), compress_type=kind)
    packed = bytearray(out.getvalue())
    at = packed.index(b"<Types")
    packed[at + 1] = ord("X")  # <XTypes: the stored bytes no longer match the CRC
    path.write_bytes(bytes(packed))
    return path


def member_removed_pptx(path: Path, member: str) -> Path:
    """``member`` is gone from the package; the relationship naming it stays."""
    data = _two_slide_deck(path)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != member:
                dst.writestr(info.filename, src.read(info))
    path.write_bytes(out.getvalue())
    return path


def rels_namespace_pptx(path: Path, rels: str = "ppt/slides/_rels/slide1.xml.rels") -> Path:
    """``rels``'s root element in a namespace one letter off (``relationshiis``), as a fuzzed byte made it."""
    data = _two_slide_deck(path)
    xml = _member(data, rels).replace(b'2006/relationships"', b'2006/relationshiis"', 1)
    assert b"relationshiis" in xml
    path.write_bytes(_rezipped(data, {rels: xml}))
    return path


def rel_made_external_pptx(path: Path, rels: str, target: str) -> Path:
    """The relationship of ``rels`` that names ``target`` points outside the package instead
    (``TargetMode="External"``, a loopback URL): fuzz seed 21's ``outside_link`` mutants."""
    data = _two_slide_deck(path)
    xml = _member(data, rels)
    old = f'Target="{target}"'.encode()
    assert old in xml, (rels, target)
    xml = xml.replace(old, b'Target="http://127.0.0.1:9/x.png" TargetMode="External"', 1)
    path.write_bytes(_rezipped(data, {rels: xml}))
    return path
