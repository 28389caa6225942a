"""Hostile files of the classes of the fresh pass (``hostile_fresh``): each fails alone with a clear reason or
is read within its bounds, and nothing outside the file is read, fetched or run."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pymupdf
import pytest
from PIL import Image

from figvault.errors import ExtractionError, UnsafeFileError
from figvault.ingest import pptx, safety, slide_render
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import page_texts
from figvault.ingest.pdf_budget import MAX_PAGE_CHARACTERS, ContentBudget, string_bytes
from figvault.pipeline.extract_worker import extract_many
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.ingest import hostile_fresh as hf
from tests.ingest import pptx_decks as decks
from tests.ingest.test_bad_input import fails_with

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)


@pytest.fixture(scope="module")
def diagram(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return decks.diagram_deck(tmp_path_factory.mktemp("base") / "diagram.pptx").read_bytes()


def test_two_members_of_one_name_fail_the_package(tmp_path: Path, diagram: bytes) -> None:
    # Before: python-pptx read one slide1.xml, failed on it with "AttributeError: ... no attribute 'spTree'".
    duplicate = hf.package_pptx(tmp_path / "duplicate.pptx", diagram, "duplicate")
    fails_with(duplicate, UnsafeFileError, "two members named 'ppt/slides/slide1.xml'")
    out = io.BytesIO()  # OPC compares part names without case
    with zipfile.ZipFile(io.BytesIO(diagram)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr("PPT/Slides/Slide1.xml", b"<x/>")
    with pytest.raises(UnsafeFileError, match=r"two members named 'PPT/Slides/Slide1\.xml'"):
        safety.check_zip_container(out.getvalue(), 1024)
    # A name with a NUL: zipfile cuts it there (another program may not), so it doubles slide 1.
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(diagram)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr(hf.SLIDE1 + "Xevil.png", b"<x/>")
    cut = out.getvalue().replace(b"slide1.xmlXevil.png", b"slide1.xml\x00evil.png")
    with pytest.raises(UnsafeFileError, match=r"two members named 'ppt/slides/slide1\.xml'"):
        safety.check_zip_container(cut, 1024)


def test_entities_in_a_deck_are_not_expanded_nor_fetched(tmp_path: Path, diagram: bytes) -> None:
    laughs = hf.entity_pptx(tmp_path / "laughs.pptx", diagram, "laughs")
    fails_with(laughs, ExtractionError, "not a readable PPTX package", "amplification")
    external = hf.entity_pptx(tmp_path / "xxe.pptx", diagram, "external")
    result = extract_document(external, SETTINGS)
    host = Path("/etc/hostname").read_text().strip()
    seen = [f.unit.figure_text + f.unit.context + f.unit.title for f in result.figures]
    seen += page_texts(external.read_bytes(), result.meta.mime, SETTINGS).values()
    assert len(result.figures) == 1
    assert host and not any(host in text for text in seen)


@pytest.mark.parametrize(
    ("fmt", "size", "save"),
    [("JPEG", (3000, 3000), {"progressive": True}), ("PNG", (3000, 2000), {}), ("PNG", (1200, 800), {})],
)
def test_a_big_picture_is_decoded_reduced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, size: tuple[int, int], save: dict
) -> None:
    # Before: every picture was decoded whole (here 9 Mpx) and resized whole, however small its uses.
    base = decks.picture_deck(tmp_path / "picture.pptx").read_bytes()
    blob = hf.flat_picture(size, fmt, **save)
    deck = hf.picture_swap_pptx(tmp_path / "big.pptx", base, blob, "." + fmt.lower())
    decoded: list[tuple[int, int]] = []
    real = pptx._picture_png

    def spy(img: Image.Image, shape: object, max_pixels: int) -> tuple[bytes, int, int, str]:
        decoded.append(img.size)
        return real(img, shape, max_pixels)

    monkeypatch.setattr(pptx, "_picture_png", spy)
    settings = SETTINGS.model_copy(update={"max_image_pixels": 250_000})
    result = extract_document(deck, settings)
    assert len(result.figures) == 1 and len(decoded) == 1
    keep = pptx.PICTURE_KEEP_FACTOR * settings.max_image_pixels
    pixels = decoded[0][0] * decoded[0][1]
    assert keep * 4 / 9 <= min(pixels, size[0] * size[1]) and pixels <= keep * 9 / 4
    assert result.figures[0].unit.width * result.figures[0].unit.height <= settings.max_image_pixels


def test_type3_glyphs_count_the_paths_they_draw(tmp_path: Path) -> None:
    # Before: the page counted one operator (its Tj); MuPDF then read 10**6 paths as drawings (43 s).
    flood = hf.type3_pdf(tmp_path / "flood.pdf", paths_per_glyph=1000, glyphs=1000)
    with pymupdf.open(flood) as doc:
        assert ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations >= 1000 * 1000
    result = extract_document(flood, SETTINGS)
    assert any(w.startswith("page 1: skipped, 1,000,001 drawing operations") for w in result.warnings)


def test_a_page_of_one_operator_type3_glyphs_is_read_as_usual(tmp_path: Path) -> None:
    # A bitmap font (dvips) draws each glyph with one operator: a page of 3,000 characters stays far under
    # the cap (the estimate is a bound: the bytes of the content stand for the characters it can show).
    page = hf.type3_pdf(tmp_path / "bitmap.pdf", paths_per_glyph=1, glyphs=3000)
    with pymupdf.open(page) as doc:
        operations = ContentBudget(doc, 2**24).page_cost(doc[0], 50_000).operations
    assert 3000 <= operations <= 4000
    assert not extract_document(page, SETTINGS).warnings


def test_a_page_showing_millions_of_characters_is_skipped_alone(tmp_path: Path) -> None:
    # Before: MuPDF read the page's text (110 bytes a character; 15 million took the worker past 2 GiB and
    # the whole document was lost); now that page is skipped and the next one is read.
    flood = hf.text_flood_pdf(tmp_path / "flood.pdf", chars=MAX_PAGE_CHARACTERS + 500_000)
    both = tmp_path / "both.pdf"
    with pymupdf.open(flood) as doc, pymupdf.open(figure_pdf(tmp_path / "good.pdf", seed=7)) as good:
        doc.insert_pdf(good)
        doc.save(both)
    result = extract_document(both, SETTINGS)
    assert f"page 1: skipped, it shows {MAX_PAGE_CHARACTERS + 500_000:,} characters" in result.warnings[0]
    assert {f.unit.page for f in result.figures} == {2}
    assert set(page_texts(both.read_bytes(), result.meta.mime, SETTINGS)) == {2}


@pytest.mark.parametrize(
    ("content", "shown"),
    [
        # bytes: an escape counts its two, a hex string half its length with the spaces and brackets
        (rb"BT (abc) Tj [(d\) e) -20 (f(g)h)] TJ <41 42> Tj ET", 3 + 5 + 5 + 3),
        (b"(" + b"\\(" * 1000, 2000),  # left open: to the end
        (b"()" * 1000 + b"<< /A 1 >>", 0),
        (b"(" * (2 * MAX_PAGE_CHARACTERS + 1), 2 * MAX_PAGE_CHARACTERS + 1),  # too many to walk: the bound
    ],
)
def test_string_bytes_bound_what_strings_show(content: bytes, shown: int) -> None:
    assert string_bytes(content) == shown


def test_odd_pdf_structures_are_read_and_nothing_attached_is_opened(tmp_path: Path) -> None:
    """Outline items in a ring, a stream whose /Length claims 1 TiB, JavaScript to run on opening, a
    launch link and an embedded file: each document is read in its worker within the limit; the embedded
    file's text is never extracted."""
    files = [
        hf.cyclic_outline_pdf(tmp_path / "outline.pdf"),
        hf.lying_length_pdf(tmp_path / "length.pdf"),
        hf.actions_pdf(tmp_path / "actions.pdf"),
    ]
    assert b"/JavaScript" in files[2].read_bytes() and b"EMBEDDED-SECRET-TEXT" in files[2].read_bytes()
    settings = SETTINGS.model_copy(update={"doc_timeout_s": 20})
    for path, result in extract_many(files, settings):
        assert not isinstance(result, str), (path.name, result)
        assert result.extraction.meta.pages == 1
        seen = [*result.page_texts.values(), *(f.unit.figure_text for f in result.extraction.figures)]
        assert not any("EMBEDDED-SECRET" in text for text in seen)


def test_a_deck_of_too_many_slides_is_read_without_libreoffice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, diagram: bytes
) -> None:
    # Before: LibreOffice converted all of them (5,000 took the worker past 2 GiB: the deck was lost).
    deck = hf.many_slides_pptx(tmp_path / "many.pptx", diagram, slide_render.MAX_RENDER_SLIDES)
    converted: list[int] = []

    def convert(*args: object, **kwargs: object) -> None:
        converted.append(1)
        raise slide_render.RenderError("LibreOffice stand-in")

    monkeypatch.setattr(slide_render, "find_soffice", lambda setting: "soffice")
    monkeypatch.setattr(slide_render, "_convert", convert)
    result = extract_document(deck, SETTINGS.model_copy(update={"libreoffice": "auto"}))
    assert not converted
    assert result.meta.pages == slide_render.MAX_RENDER_SLIDES + 1 and len(result.figures) == 1
    assert any("LibreOffice not run: 1,001 slides (more than 1,000)" in w for w in result.warnings)
