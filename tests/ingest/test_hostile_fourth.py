"""Hostile files of the fourth pass (``hostile_fourth``): each is read or refused alone, within its bounds,
and says why it gives no unit."""

from __future__ import annotations

import os
import re
import struct
import time
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from figvault.errors import ExtractionError
from figvault.ingest import cpu_limited, deadline, ocr
from figvault.ingest.extract import extract_document
from figvault.ingest.metafile_text import MAX_RECORDS, MAX_TEXT_CHARS, metafile_text
from figvault.ingest.page_text import page_texts
from figvault.ingest.pdf_budget import ContentBudget
from figvault.ingest.safety import KEPT_TEXT_BYTES, MAX_TEXT_NODE_BYTES, _safe_cut, readable_pptx
from figvault.settings import ExtractSettings
from tests.ingest import hostile_fourth as h4
from tests.ingest import pptx_decks as decks

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)


@pytest.mark.parametrize(
    ("box", "warning"),
    [
        (
            b"[0 0 612 792] /UserUnit 0",
            "skipped, its page box is 0 x 0 pt (MediaBox [0 0 612 792], UserUnit 0; a page is at least 3 x 3"
            " pt): nothing on it can be shown",
        ),
        (
            b"[0 0 .001 .001]",
            "skipped, its page box is 1 x 1 pt (MediaBox [0 0 .001 .001]; a page is at least 3 x 3 pt):"
            " nothing on it can be shown",
        ),
        (
            b"[0 0 -612 -792]",
            "all it draws lies outside its page box (MediaBox [0 0 -612 -792]): nothing is shown, no unit",
        ),
    ],
)
def test_a_page_box_that_shows_nothing_says_so(tmp_path: Path, box: bytes, warning: str) -> None:
    # Before: no unit and no warning (the chart is drawn, but outside a box of 0 x 0 or 1 x 1 pt, or beside
    # a box at negative coordinates): the user could not tell why the page gave nothing.
    result = extract_document(h4.page_box_pdf(tmp_path / "box.pdf", box), SETTINGS)
    assert result.figures == [] and result.warnings == [f"page 1: {warning}"]


@pytest.mark.parametrize(
    "box", [b"[0 0 0 0]", b"[612 792 0 0]", b"[0 0 612 792] /UserUnit -5", b"[0 0 612 792]"]
)
def test_a_page_box_that_can_show_the_chart_gives_its_unit(tmp_path: Path, box: bytes) -> None:
    # MuPDF reads an empty MediaBox as US letter, an inverted one as its corners, a negative UserUnit as its
    # size: the chart is shown and read without a warning.
    result = extract_document(h4.page_box_pdf(tmp_path / "box.pdf", box), SETTINGS)
    assert len(result.figures) == 1 and result.warnings == []


@pytest.mark.parametrize("unit", [b"word ", "é".encode(), "é&amp;".encode()])
def test_a_text_over_libxml2s_limit_is_cut_and_the_deck_read(tmp_path: Path, unit: bytes) -> None:
    # Before: python-pptx parses every XML part on opening, and one text of 11 MB in a slide refused the
    # whole deck ("not a readable PPTX package: Resource limit exceeded: Text node too long"); with
    # entities in it (libxml2 counts the pieces between them) it was read whole, 11 MB into the slide.
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    deck = h4.long_text_pptx(tmp_path / "long.pptx", base, 11_000_000, unit)
    result = extract_document(deck, SETTINGS)
    assert len(result.figures) == 1
    longest = 11_000_000 // len(unit) * len(unit)
    assert result.warnings == [
        f"ppt/slides/slide1.xml: a text of {longest:,} bytes cut to its first 1 MiB (one XML text is read up"
        " to 10,000,000 bytes)"
    ]
    texts = page_texts(deck.read_bytes(), result.meta.mime, SETTINGS)
    kept = texts[1].split("\n")[-1]
    assert texts[1].startswith("Network overview\n") and kept.startswith(unit.decode().replace("&amp;", "&"))


def test_a_part_both_cuts_look_at_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A slide of 11 MB is over the chart points' scan size and the long texts' size: it is read (and
    inflated) once for both cuts, with the same warning; before, each cut read it again."""
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    deck = h4.long_text_pptx(tmp_path / "long.pptx", base, 11_000_000, b"word ")
    reads: list[str] = []
    read = zipfile.ZipFile.read

    def counted(self: zipfile.ZipFile, name: str | zipfile.ZipInfo, pwd: bytes | None = None) -> bytes:
        reads.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return read(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "read", counted)
    readable, warnings = readable_pptx(deck.read_bytes())
    assert warnings == [
        "ppt/slides/slide1.xml: a text of 11,000,000 bytes cut to its first 1 MiB (one XML text is read up"
        " to 10,000,000 bytes)"
    ]
    assert reads.count("ppt/slides/slide1.xml") == 1, reads
    assert len(readable) < len(deck.read_bytes())


@pytest.mark.parametrize("keep", range(KEPT_TEXT_BYTES - 8, KEPT_TEXT_BYTES + 1))
def test_a_cut_text_ends_on_a_whole_character_and_entity(keep: int) -> None:
    unit = "é&amp;€".encode()
    part = b"<a:t>" + unit * (MAX_TEXT_NODE_BYTES // len(unit) + 1) + b"</a:t>"
    cut = _safe_cut(part, 5, keep)
    assert keep - 8 <= cut <= keep
    text = part[5 : 5 + cut].decode()  # raises inside a UTF-8 character
    assert not re.search(r"&[a-z]*$", text)  # no entity left open


@pytest.mark.parametrize(
    ("fills", "paths", "depth", "least"),
    [
        (100, 1_000, 2, 6 * 100 * 1_000),  # bars filled with a cell of 100 fills of a 1,000-path cell
        (2, 1, 30, 6 * 2**29),  # 30 patterns, each cell filling twice with the next: 1.3 KB of file
    ],
)
def test_a_pattern_inside_a_pattern_cell_is_counted(
    tmp_path: Path, fills: int, paths: int, depth: int, least: int
) -> None:
    # Before: a pattern's cell counted its own operators only (667 for the first page): MuPDF read its
    # 600,000 paths as drawings, past 180 s (the worker's limit: the document lost).
    page = h4.nested_tiling_pdf(tmp_path / "nested.pdf", fills, paths, depth)
    with pymupdf.open(page) as doc:
        operations = ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations
    assert operations >= least
    result = extract_document(page, SETTINGS)
    cap = "(more than 4 x extract.max_page_drawing_ops = 50,000)"
    assert result.figures == [] and result.warnings == [
        f"page 1: skipped, {operations:,} drawing operations {cap}"
    ]


def test_a_nested_hatch_leaves_the_page_alone(tmp_path: Path) -> None:
    # Real nested hatching is a few paths a cell: the chart is read as usual.
    hatch = h4.nested_tiling_pdf(tmp_path / "hatch.pdf", outer_fills=2, inner_paths=2, depth=3)
    with pymupdf.open(hatch) as doc:
        assert ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations < 300
    result = extract_document(hatch, SETTINGS)
    assert not result.warnings and len(result.figures) == 1


def test_a_pattern_cell_filling_with_its_own_pattern_is_counted_once(tmp_path: Path) -> None:
    # A cycle: the count does not go round it, and MuPDF refuses the page ("stack overflow"). The page was a
    # warning and the file "indexed, no figures"; a file no page of which can be read fails now.
    cycle = tmp_path / "cycle.pdf"
    two = h4.nested_tiling_pdf(tmp_path / "two.pdf", outer_fills=2, inner_paths=2, depth=2)
    cycle.write_bytes(two.read_bytes().replace(b"/Q 7 0 R", b"/Q 6 0 R"))
    with pymupdf.open(cycle) as doc:
        assert ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations < 300
    with pytest.raises(ExtractionError) as failed:
        extract_document(cycle, SETTINGS)
    assert str(failed.value) == "corrupt PDF: its page could not be read (code=5: exception stack overflow!)"


class _SlowLayout:
    """An engine that lays out every page on and on whatever its time limit, using a core, as Tesseract
    does (it checks its limit only while recognising words)."""

    def SetImageBytes(self, data: bytes, width: int, height: int, depth: int, line: int) -> None:
        # tesserocr's names (ocr._set_image)
        pass

    def SetSourceResolution(self, dpi: int) -> None:
        pass

    def AnalyseLayout(self) -> None:
        return None  # no text line found: the picture is read at its own size (ocr._sized_for_text)

    def Recognize(self, timeout: int) -> bool:
        while True:  # ended by the kill of the process it runs in
            pass

    def Clear(self) -> None:
        pass


def test_a_read_still_laying_out_its_page_is_stopped_at_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: Recognize(timeout=200 ms) returned when the layout ended, 60 s later here (1.5 Mpx of small
    # letters: 1.9 CPU-s, 8.8 s of wall time at load 9, for a limit of 1 ms): a read started just before the
    # document's deadline ran past it by its whole layout. Then it was given up on and left running; now
    # its process is killed at the CPU seconds the document had left.
    monkeypatch.setattr(ocr, "_api", lambda languages: _SlowLayout())
    monkeypatch.setattr(ocr, "_READER", cpu_limited.Helper())
    image = Image.new("RGB", (400, 300), "white")
    for _ in range(2):  # the second read gets a new process
        started = time.monotonic()
        with pytest.raises(
            TimeoutError, match=r"OCR stopped after 0\.2 s of CPU time: the document had used 60%"
        ):
            ocr.read_lines(image, ocr.OcrEngine("eng"), SETTINGS, deadline.Deadline.after(0.2, 600))
        assert time.monotonic() - started < 60  # not the endless layout
        assert ocr._READER.process is None  # killed and reaped


def test_emf_plus_records_count_against_the_record_cap() -> None:
    # Before: the EMF+ records inside a comment were read to the end, uncounted: a 42 MB picture of 10^6
    # DrawString records took 3.8 CPU-s and 356 MB, 5 x that the worker's 2 GiB (the deck lost).
    hidden = h4.emf_plus_bytes([""] * MAX_RECORDS + ["Hidden label"])
    assert metafile_text(hidden) == ""
    shown = h4.emf_plus_bytes(["Hub VNet"] + [""] * 1000 + ["Spoke VNet"])
    assert metafile_text(shown).splitlines() == ["Hub VNet", "Spoke VNet"]


def test_emf_plus_comments_holding_no_record_count_against_the_record_cap() -> None:
    # Before: an EMF+ comment counted only the EMF+ records inside it, so comments holding none were read
    # to the file's end, uncounted (the cap bounded every other record kind).
    empty_comment = struct.pack("<III", 70, 16, 4) + b"EMF+"
    base = decks.emf_bytes([("Hidden label", 100, 200, 50)])
    assert metafile_text(base) == "Hidden label"
    assert metafile_text(base[:88] + empty_comment * MAX_RECORDS + base[88:]) == ""


def test_reading_stops_once_the_words_are_cut_and_they_are_the_same() -> None:
    texts = [f"label {i:04d}" for i in range(5000)]
    words = metafile_text(h4.emf_plus_bytes(texts))
    assert words == "\n".join(texts)[:MAX_TEXT_CHARS]


def test_a_deck_too_long_for_libxml2_is_sketched_when_rendering_fails(tmp_path: Path) -> None:
    # Before: LibreOffice's copy of the deck was made from the bytes as uploaded, parsed again by python-pptx
    # (a slide over 200 KB may hold too many elements): the 11 MB text refused the whole deck there, though
    # the extractor had read it. A stand-in soffice that fails plays LibreOffice.
    soffice = tmp_path / "soffice"
    soffice.write_text("#!/bin/sh\nexit 3\n")
    soffice.chmod(0o755)
    base = decks.diagram_deck(tmp_path / "diagram.pptx").read_bytes()
    deck = h4.long_text_pptx(tmp_path / "long.pptx", base, 11_000_000, b"word ")
    result = extract_document(deck, SETTINGS.model_copy(update={"libreoffice": str(soffice)}))
    assert len(result.figures) == 1
    assert result.warnings[0].startswith("ppt/slides/slide1.xml: a text of 11,000,000 bytes cut")
    assert "chart and diagram units are sketched instead" in result.warnings[1]


def test_a_slide_listed_many_times_is_read_once(tmp_path: Path) -> None:
    # Before: python-pptx handed the one slide once per entry of presentation.xml's list; 100,000 entries
    # (3 MB) ran past 150 s (the worker's limit: the deck lost); 1,000 gave 1,000 copies of its one unit.
    # Now 100,000: 1.1 CPU-s, one unit.
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    deck = h4.repeated_slide_pptx(tmp_path / "repeated.pptx", base, 1_000)
    result = extract_document(deck, SETTINGS)
    assert len(result.figures) == 1 and result.figures[0].unit.page == 1
    assert result.warnings == [
        "presentation.xml lists 999 slide(s) again that it listed before: each slide is read once"
    ]
    assert page_texts(deck.read_bytes(), result.meta.mime, SETTINGS) == {1: "Network overview"}


def test_a_form_painted_in_a_pattern_cell_is_counted(tmp_path: Path) -> None:
    # Before: the cell's ``/Fm Do`` counted nothing (67 operations for the page): MuPDF read 600,000 paths
    # as drawings, past 190 s (the worker's limit: the document lost).
    page = h4.form_in_cell_pdf(tmp_path / "form.pdf", uses=100, form_paths=1_000)
    with pymupdf.open(page) as doc:
        operations = ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations
    assert operations >= 6 * 100 * 1_000
    result = extract_document(page, SETTINGS)
    cap = "(more than 4 x extract.max_page_drawing_ops = 50,000)"
    assert result.figures == [] and result.warnings == [
        f"page 1: skipped, {operations:,} drawing operations {cap}"
    ]


def test_a_hatch_drawn_by_a_form_leaves_the_page_alone(tmp_path: Path) -> None:
    page = h4.form_in_cell_pdf(tmp_path / "form.pdf", uses=2, form_paths=2)
    with pymupdf.open(page) as doc:
        assert ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations < 200
    result = extract_document(page, SETTINGS)
    assert not result.warnings and len(result.figures) == 1


def test_a_file_that_grows_while_it_is_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: the size was checked on the path, then the file read to its end: a file growing after the
    # check (2 MiB here, a limit of 1 MiB) was read whole into memory, however far it grew. The stand-in
    # stat calls report the size the file had when it was looked at (10 bytes).
    grown = tmp_path / "grown.pdf"
    grown.write_bytes(b"%PDF-1.7\n" + b"%" * 2**21)
    real_stat, real_fstat = Path.stat, os.fstat

    def small(result: os.stat_result) -> os.stat_result:
        return os.stat_result((*result[:6], 10, *result[7:10]))

    def path_stat(self: Path, **kw: bool) -> os.stat_result:
        return small(real_stat(self, **kw)) if self == grown else real_stat(self, **kw)

    monkeypatch.setattr(Path, "stat", path_stat)
    monkeypatch.setattr(os, "fstat", lambda fd: small(real_fstat(fd)))
    with pytest.raises(ExtractionError, match="file grew past the 1 MiB limit while it was read"):
        extract_document(grown, SETTINGS.model_copy(update={"max_file_mb": 1}))


def test_a_type3_font_shared_by_many_pages_is_read_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: each page read the font's glyph programs again: 100,000 of them shared by 300 pages took 34.7
    # CPU-s (82 s of wall time at load 6: the worker's limit is near); now 6.1 CPU-s. Each page still counts
    # the glyphs' bytes against its cap, and finds the same heaviest glyph.
    path = h4.type3_shared_pdf(tmp_path / "type3.pdf", glyphs=1_000, pages=20)
    calls: list[int] = []
    real = ContentBudget._char_procs
    monkeypatch.setattr(
        ContentBudget, "_char_procs", lambda self, font: calls.append(font) or real(self, font)
    )
    with pymupdf.open(path) as doc:
        budget = ContentBudget(doc, 2**24)
        costs = [budget.page_cost(page, 0) for page in doc]  # threshold 0: every page counts its glyphs
        alone = ContentBudget(doc, 2**24).page_cost(doc[0], 0)
    assert len(calls) == 2  # once for the document, once for the second budget
    assert all(c == alone for c in costs) and alone.content_bytes > 1_000 * 30
    with pymupdf.open(path) as doc:  # a cap under the glyphs' bytes skips every page that uses them
        assert all(ContentBudget(doc, 20_000).page_cost(page, 0).over_bytes for page in doc)


def test_an_annotations_appearance_is_counted_with_its_page(tmp_path: Path) -> None:
    # Before: the page counted its own content only (about 70 operations); MuPDF drew the annotation's
    # 300,000 squares with the page: 4.2 CPU-s and 540 MB (a million would reach the worker's 2 GiB).
    page = h4.annotation_pdf(tmp_path / "annotation.pdf", 300_000)
    with pymupdf.open(page) as doc:
        operations = ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations
    assert operations >= 300_000
    result = extract_document(page, SETTINGS)
    cap = "(more than 4 x extract.max_page_drawing_ops = 50,000)"
    assert result.figures == [] and result.warnings == [
        f"page 1: skipped, {operations:,} drawing operations {cap}"
    ]
    small = h4.annotation_pdf(tmp_path / "small.pdf", 4)  # a real annotation: the chart is read as usual
    result = extract_document(small, SETTINGS)
    assert not result.warnings and len(result.figures) == 1


def test_an_annotation_written_inline_leaves_the_page_alone(tmp_path: Path) -> None:
    # MuPDF gives an annotation written inside /Annots (no object of its own) the xref 0, which it refuses to
    # look into: counting it made such a page unreadable (two distractor pages have one).
    result = extract_document(h4.annotation_pdf(tmp_path / "inline.pdf", 4, inline=True), SETTINGS)
    assert not result.warnings and len(result.figures) == 1
