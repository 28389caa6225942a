"""Hostile files of the twelfth pass (``hostile_twelfth``): each is read within its bounds or fails alone
with a reason in words, and nothing of it outside its pages is read (an attachment, an ICC profile).

Two were not safe, and their tests failed before: a deck picture whose PNG carries a text or colour-profile
chunk inflating past Pillow's 1 MiB limit was not decoded (it became a sketch without a word; now those
chunks are left out before Pillow opens the picture, ``ingest/png_chunks.py``); and a zip whose first
member is a stored PDF was read as that PDF (its signature now decides first, ``extract.sniff_mime``). The
rest prove the code already safe and fail if a guard is dropped or a reader starts following what it should
not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from figvault.errors import ExtractionError, UnsafeFileError, UnsupportedFileError
from figvault.ingest.extract import extract_document
from figvault.ingest.png_chunks import without_metadata
from figvault.ingest.safety import svg_internal_only
from figvault.pipeline.extract_worker import ExtractLimits, WorkerResult, extract_limited
from figvault.settings import ExtractSettings
from tests.ingest import hostile_twelfth as h
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import ole_object_pptx
from tests.ingest.hostile_eleventh import LAUGHS
from tests.ingest.test_bad_input import fails_with

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
TIGHT = ExtractLimits(seconds=60, memory_mb=768)
"""A worker's limits well under what inflating the hostile part would take (1 GiB, 50 MiB x decoding)."""


def in_worker(path: Path) -> WorkerResult:
    return extract_limited(path, SETTINGS, limits=TIGHT)


@pytest.fixture(scope="module")
def picture_deck(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return decks.picture_deck(tmp_path_factory.mktemp("base") / "picture.pptx").read_bytes()


# --- PDF --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("streams", "shared"), [(100_000, True), (20_000, False)])
def test_a_page_whose_contents_lists_many_streams_is_read(tmp_path: Path, streams: int, shared: bool) -> None:
    result = in_worker(h.contents_array_pdf(tmp_path / "contents.pdf", streams, shared=shared))
    assert len(result.extraction.figures) == 1
    assert "Units shipped per quarter" in result.page_texts[1]


def test_a_page_tree_looping_back_through_a_middle_node_is_read_once(tmp_path: Path) -> None:
    result = in_worker(h.ancestor_loop_pdf(tmp_path / "loop.pdf"))
    assert sorted(f.unit.page for f in result.extraction.figures) == [1, 2]


def test_an_attachment_declaring_a_gibibyte_is_never_inflated(tmp_path: Path) -> None:
    """1 GiB of a marker word, attached twice (the document's files and a page's attachment annotation),
    under a worker limited to 768 MiB: inflating it would fail the document; the marker is in nothing."""
    marker = b"ATTACHEDSECRET "
    result = in_worker(h.attachment_pdf(tmp_path / "attached.pdf", 2**30, 1024, marker))
    figures = result.extraction.figures
    seen = [f.unit.figure_text + f.unit.context + f.unit.title for f in figures]
    seen += [*result.page_texts.values(), *result.extraction.warnings]
    assert len(figures) == 1 and not any(marker.strip().decode() in text for text in seen)


def test_an_image_whose_icc_profile_inflates_to_50_mib_is_read(tmp_path: Path) -> None:
    result = in_worker(h.icc_image_pdf(tmp_path / "icc.pdf", 50))
    assert [f.unit.kind.value for f in result.extraction.figures] == ["raster"]


def test_a_zip_holding_a_pdf_named_pdf_is_refused_as_a_zip(tmp_path: Path) -> None:
    # Before: "%PDF-" within its first KiB (the stored member) made it a PDF, and MuPDF read the member's
    # objects out of the archive: one unit, no warning.
    fails_with(
        h.pretender(tmp_path / "report.pdf", "zip-pdf"), UnsupportedFileError, "a zip archive, not PDF"
    )


@pytest.mark.parametrize(
    ("kind", "error", "words"),
    [
        ("html", UnsupportedFileError, "an HTML or XML page, not PDF or PPTX"),
        ("zip", UnsupportedFileError, "a zip archive, not PDF or PPTX"),
        # says %PDF- in its first KiB, where PDF readers accept a header: was "corrupt PDF: no objects found"
        ("html-pdf", UnsupportedFileError, "an HTML or XML page, not PDF or PPTX"),
    ],
)
def test_files_named_pdf_that_are_not_pdfs_fail_in_words(
    tmp_path: Path, kind: str, error: type[ExtractionError], words: str
) -> None:
    fails_with(h.pretender(tmp_path / "report.pdf", kind), error, words)


def test_a_legacy_ppt_named_pptx_fails_in_words(tmp_path: Path) -> None:
    legacy = tmp_path / "deck.pptx"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"PowerPoint Document")
    fails_with(legacy, UnsupportedFileError, "a legacy Office file (.ppt/.doc): save it as PPTX or PDF")


def test_a_password_protected_pptx_fails_as_one_not_as_a_legacy_file(tmp_path: Path) -> None:
    """PowerPoint saves a deck with a password as a compound file (MS-OFFCRYPTO: streams EncryptionInfo and
    EncryptedPackage in its directory, names in UTF-16): it was told to save "as PPTX", which it is."""
    deck = tmp_path / "quarterly.pptx"
    directory = b"".join(
        name.encode("utf-16-le").ljust(64, b"\0") for name in ("Root Entry", "EncryptionInfo")
    )
    directory += "EncryptedPackage".encode("utf-16-le").ljust(64, b"\0")
    deck.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1016) + directory + bytes(4096))
    fails_with(deck, UnsupportedFileError, "an encrypted Office file (a PPTX, DOCX or XLSX protected")


# --- PPTX -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zTXt", "iCCP", "zTXt-late"])
def test_a_picture_whose_png_metadata_inflates_past_pillows_limit_is_read(
    tmp_path: Path, picture_deck: bytes, kind: str
) -> None:
    """100 MiB of comment or colour profile in a 30 KB picture. Before, zTXt and iCCP (read when Pillow
    opens the file) made Pillow refuse it: the picture became a sketch, and the only warning said
    LibreOffice was off. Now the picture's pixels are the same as without the chunk."""
    clean = extract_document(
        h.swapped_picture(tmp_path / "clean.pptx", picture_deck, decks.png_bytes()), SETTINGS
    )
    blob = h.png_with_chunk(decks.png_bytes(), kind, 100)
    result = extract_document(h.swapped_picture(tmp_path / "deck.pptx", picture_deck, blob), SETTINGS)
    assert [f.png for f in result.figures] == [f.png for f in clean.figures]
    assert result.warnings == clean.warnings


def test_png_metadata_chunks_are_left_out_and_the_rest_kept_byte_for_byte() -> None:
    png = decks.png_bytes()
    assert without_metadata(h.png_with_chunk(png, "iCCP", 2)) == png
    assert without_metadata(h.png_with_chunk(png, "zTXt-late", 2)) == png
    assert without_metadata(png) is png  # none to leave out: the same object, nothing copied
    jpeg = b"\xff\xd8\xff\xe0" + b"zTXt" * 10
    assert without_metadata(jpeg) is jpeg
    cut = h.png_with_chunk(png, "zTXt", 2)[: len(png) // 2]  # its chunk runs past the end: left to Pillow
    assert without_metadata(cut) == cut


@pytest.mark.parametrize("how", ["self", "layout"])
def test_a_layout_and_master_naming_each_other_in_a_loop_are_read(
    tmp_path: Path, picture_deck: bytes, how: str
) -> None:
    result = extract_document(h.master_loop(tmp_path / "deck.pptx", picture_deck, how), SETTINGS)
    assert [f.unit.kind.value for f in result.figures] == ["picture"]


@pytest.mark.parametrize("declared", [2**31, 2**32 - 1])
def test_a_media_part_declaring_gibibytes_fails_the_deck_before_anything_is_inflated(
    tmp_path: Path, picture_deck: bytes, declared: int
) -> None:
    deck = h.lying_member_size(tmp_path / "deck.pptx", picture_deck, "ppt/media/image1.png", declared)
    fails_with(deck, UnsafeFileError, "zip bomb guard: members inflate past", "ppt/media/image1.png")


@pytest.mark.parametrize(("kind", "side"), [("emf", 50_000_000), ("wmf", 32_767)])
def test_a_metafile_claiming_a_huge_picture_is_skipped_by_its_claim(
    tmp_path: Path, kind: str, side: int
) -> None:
    result = extract_document(h.metafile_claiming(tmp_path / "deck.pptx", kind, side), SETTINGS)
    assert not result.figures
    assert any("pixels skipped (limit" in w and "max_source_image_pixels" in w for w in result.warnings)


needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"
)
LIBREOFFICE = ExtractSettings(libreoffice="auto", ocr=False, workers=1)


def test_an_svg_picture_of_a_billion_laughs_becomes_empty_before_libreoffice_sees_it() -> None:
    svg = b"<!DOCTYPE svg [" + LAUGHS + b']><svg xmlns="http://www.w3.org/2000/svg"><text>&l10;</text></svg>'
    assert svg_internal_only(svg) == b'<svg xmlns="http://www.w3.org/2000/svg"/>'


@needs_soffice
def test_an_ole_object_whose_compound_file_loops_is_read_by_its_preview(
    tmp_path: Path, picture_deck: bytes
) -> None:
    """LibreOffice loads an embedded object's storage when it converts the deck; a sector chain that loops
    must not hold it past its limits: both units drawn by LibreOffice, no LibreOffice warning."""
    deck = ole_object_pptx(tmp_path / "deck.pptx", picture_deck, h.looping_compound_file())
    result = extract_limited(deck, LIBREOFFICE, limits=ExtractLimits(seconds=60, memory_mb=1024))
    assert len(result.extraction.figures) == 2
    assert not any("LibreOffice" in w for w in result.extraction.warnings), result.extraction.warnings


@needs_soffice
def test_an_emf_bitmap_claiming_1_6_gigapixels_is_drawn_by_libreoffice_within_the_limits(
    tmp_path: Path,
) -> None:
    """LibreOffice draws EMF pictures (Pillow cannot); a bitmap record claiming 40,000 x 40,000 pixels from
    a 4-byte run-length code, in an EMF whose header is honest. Under a worker of 1 GiB the deck is read and
    its picture drawn by LibreOffice (no sketch, no LibreOffice warning)."""
    deck = h.metafile_deck_of(tmp_path / "deck.pptx", h.rle_bitmap_emf(40_000))
    result = extract_limited(deck, LIBREOFFICE, limits=ExtractLimits(seconds=60, memory_mb=1024))
    assert [f.unit.kind.value for f in result.extraction.figures] == ["picture"]
    assert not any("LibreOffice" in w for w in result.extraction.warnings), result.extraction.warnings
