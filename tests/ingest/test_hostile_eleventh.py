"""Hostile files of the eleventh pass (``hostile_eleventh``): each is read within its bounds or fails alone
with a reason in words, and nothing outside the file is read. All but one were safe already: these tests
prove it and fail if it breaks (python-pptx's or our XML parsers resolving entities, the zip guard, the part
check). The one that was not: a billion-laughs ``presentation.xml.rels`` was refused for a reason that was
not true (``lists slide 'rId7', which its relationships ... do not name``): now the part is named as
unreadable, with the parser's words."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from figvault.errors import ExtractionError, UnsafeFileError, UnsupportedFileError
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import page_texts
from figvault.settings import ExtractSettings
from tests.ingest import hostile_eleventh as he
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_fresh import SLIDE1
from tests.ingest.test_bad_input import fails_with

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
BARE = re.compile(r"\b[A-Z]\w*(Error|Exception): ")  # a bare exception's name as the reason


@pytest.fixture(scope="module")
def chart(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return decks.chart_deck(tmp_path_factory.mktemp("base") / "chart.pptx", points=5).read_bytes()


def _parts() -> list[str]:
    """Every XML member of the generated chart deck (slides, layouts, masters, theme, chart, properties,
    relationships, content types)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return he.xml_parts(decks.chart_deck(Path(folder) / "chart.pptx", points=5).read_bytes())


@pytest.mark.parametrize("kind", sorted(he.ENTITIES))
@pytest.mark.parametrize("part", _parts())
def test_entities_in_any_part_are_neither_expanded_nor_fetched(
    tmp_path: Path, chart: bytes, part: str, kind: str
) -> None:
    deck = he.entity_in_part(tmp_path / "deck.pptx", chart, part, kind)
    host = Path("/etc/hostname").read_text().strip()
    try:
        result = extract_document(deck, SETTINGS)
    except ExtractionError as exc:
        reason = str(exc)
        assert reason.startswith("not a readable PPTX package: ") and not BARE.search(reason), reason
        assert host not in reason
        return
    seen = [f.unit.figure_text + f.unit.context + f.unit.title for f in result.figures]
    seen += page_texts(deck.read_bytes(), result.meta.mime, SETTINGS).values()
    assert result.figures and not any(host in text or "lollol" in text for text in seen)


def test_an_unreadable_slide_list_relationships_part_is_named(tmp_path: Path, chart: bytes) -> None:
    # Before: 'ppt/presentation.xml lists slide 'rId7', which its relationships (...) do not name'.
    deck = he.entity_in_part(tmp_path / "deck.pptx", chart, "ppt/_rels/presentation.xml.rels", "laughs")
    fails_with(deck, UnsupportedFileError, "ppt/_rels/presentation.xml.rels cannot be read", "amplification")


@pytest.mark.parametrize(
    ("member", "declared", "error", "words"),
    [
        (SLIDE1, 400 * 2**20, UnsafeFileError, "zip bomb guard"),  # says 400 MiB, holds a few KB
        (SLIDE1, 1, ExtractionError, "Bad CRC-32 for file 'ppt/slides/slide1.xml'"),  # says 1 byte
        ("ppt/presentation.xml", 1, ExtractionError, "Bad CRC-32 for file 'ppt/presentation.xml'"),
    ],
)
def test_a_member_whose_declared_size_lies_fails_the_deck_in_words(
    tmp_path: Path, chart: bytes, member: str, declared: int, error: type[ExtractionError], words: str
) -> None:
    """zipfile never inflates past the declared size, so a small declared size is a CRC failure, not a
    member read whole; a huge one meets the zip bomb guard before anything is inflated."""
    fails_with(he.lying_size(tmp_path / "deck.pptx", chart, member, declared), error, words)


@pytest.mark.parametrize(
    ("part", "content_type", "words"),
    [
        (SLIDE1, "image/png", "its slide relationship 'rId"),
        ("ppt/charts/chart1.xml", "image/png", "its chart relationship 'rId"),
        ("ppt/presentation.xml", he.SLIDE_TYPE, "the package is not a PowerPoint file, content type is"),
    ],
)
def test_content_types_lying_about_a_part_fail_the_deck_naming_it(
    tmp_path: Path, chart: bytes, part: str, content_type: str, words: str
) -> None:
    deck = he.lying_type(tmp_path / "deck.pptx", chart, part, content_type)
    reason = fails_with(deck, ExtractionError, "not a readable PPTX package", words)
    assert not BARE.search(reason)


def test_a_zip_of_100k_entries_is_refused_by_its_list_of_parts(tmp_path: Path, chart: bytes) -> None:
    fails_with(he.many_entries(tmp_path / "deck.pptx", chart, 100_000), UnsupportedFileError, "over 4 MiB")


def test_a_slide_of_50k_shapes_is_skipped_alone(tmp_path: Path, chart: bytes) -> None:
    result = extract_document(he.many_shapes(tmp_path / "deck.pptx", chart, 50_000), SETTINGS)
    assert any(w.startswith("slide 1: skipped, ") and "XML elements" in w for w in result.warnings)


@pytest.mark.parametrize("size", [(1, 100_000), (100_000, 1)])
def test_a_picture_of_one_pixel_by_100k_is_read(tmp_path: Path, size: tuple[int, int]) -> None:
    result = extract_document(he.line_image_pdf(tmp_path / "line.pdf", *size), SETTINGS)
    assert len(result.figures) == 1


def test_a_page_rewritten_by_an_incremental_update_is_read_as_updated(tmp_path: Path) -> None:
    words = "Revised after the first cross-reference table"
    pdf = he.rewritten_pdf(tmp_path / "updated.pdf", words)
    assert pdf.read_bytes().count(b"startxref") == 2  # the update is a second section, not a rewrite
    result = extract_document(pdf, SETTINGS)
    assert len(result.figures) == 2
    texts = page_texts(pdf.read_bytes(), result.meta.mime, SETTINGS)
    assert words in texts[1]
    with pymupdf.open(pdf) as doc:
        assert words in doc[0].get_text()


def test_a_picture_typed_as_a_slide_is_named_in_the_reason(tmp_path: Path) -> None:
    # Before: "not a readable PPTX package: Start tag expected, '<' not found, line 1, column 1 ...": which
    # part python-pptx failed to parse was not said.
    base = decks.picture_deck(tmp_path / "picture.pptx").read_bytes()
    deck = he.lying_type(tmp_path / "deck.pptx", base, "ppt/media/image1.png", he.SLIDE_TYPE)
    fails_with(deck, ExtractionError, "not a readable PPTX package: ppt/media/image1.png: Start tag expected")
