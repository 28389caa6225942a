"""Page and slide texts, the retrieval signal for figures without a caption."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
from pathlib import Path
from zipfile import ZIP_DEFLATED as DEFLATED

import pymupdf

from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import PDF_MIME, page_texts
from figvault.ingest.samples import sample_pptx_bytes
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def test_pdf_pages_have_their_text(tmp_path: Path) -> None:
    data = figure_pdf(tmp_path / "r.pdf", seed=3).read_bytes()
    texts = page_texts(data, PDF_MIME)
    assert list(texts) == [1]
    assert "Report 3" in texts[1] and "Figure 2:" in texts[1]


def test_slides_have_shape_and_notes_text() -> None:
    texts = page_texts(sample_pptx_bytes(), PPTX_MIME)
    assert len(texts) >= 2
    assert any(t.strip() for t in texts.values())


def test_unreadable_bytes_give_no_text() -> None:
    assert page_texts(b"%PDF-1.7 garbage", PDF_MIME) == {}
    assert page_texts(b"PK\x03\x04 garbage", PPTX_MIME) == {}


def _page_of_lines(doc: pymupdf.Document, text: str, n_lines: int) -> None:
    page = doc.new_page()
    page.insert_text((72, 72), text)
    shape = page.new_shape()
    for i in range(n_lines):
        shape.draw_line((100, 200 + i % 300), (400, 250 + i % 300))
        shape.finish(width=0.3)
    shape.commit()


def test_extraction_fills_the_page_texts_page_texts_reads(tmp_path: Path) -> None:
    with pymupdf.open(figure_pdf(tmp_path / "r.pdf", seed=3)) as doc:
        _page_of_lines(doc, "A dense drawing", 2_000)  # over the cap: one unit of the whole page
        _page_of_lines(doc, "A denser drawing", 5_000)  # over 4 x the cap: skipped
        doc.save(tmp_path / "pages.pdf")
    settings = ExtractSettings(workers=1, ocr=False, max_page_drawing_ops=1_000)
    texts: dict[int, str] = {}
    extract_document(tmp_path / "pages.pdf", settings, None, texts)
    assert texts == page_texts((tmp_path / "pages.pdf").read_bytes(), PDF_MIME, settings)
    assert set(texts) == {1, 2} and "Report 3" in texts[1] and "A dense drawing" in texts[2]


def _pdf_with_unmapped_glyphs(path: Path) -> Path:
    """A page whose font maps codes A and B to glyph names without Unicode."""
    doc = pymupdf.open()
    page = doc.new_page()
    page.insert_text((72, 72), "Known words")
    font = doc.get_new_xref()
    encoding = "<< /Differences [65 /zzunknown1 /zzunknown2] >>"
    doc.update_object(font, f"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding {encoding} >>")
    resources = int(doc.xref_get_key(page.xref, "Resources")[1].split()[0])
    doc.xref_set_key(resources, "Font/FZZ", f"{font} 0 R")
    contents = page.get_contents()[0]
    doc.update_stream(contents, doc.xref_stream(contents) + b"\nBT /FZZ 12 Tf 72 700 Td (ABAB) Tj ET\n")
    doc.save(path)
    return path


def test_glyphs_without_unicode_keep_the_text_get_text_gives(tmp_path: Path) -> None:
    path = _pdf_with_unmapped_glyphs(tmp_path / "cid.pdf")
    texts: dict[int, str] = {}
    extract_document(path, ExtractSettings(workers=1, ocr=False), None, texts)
    assert "ABAB" in texts[1] and "\ufffd" not in texts[1]
    assert texts == page_texts(path.read_bytes(), PDF_MIME)


def test_a_decks_skipped_pictures_are_not_inflated_for_its_slide_texts() -> None:
    """A picture member over the zip bomb ratio is skipped by extraction (safety.check_zip_container); the
    slide texts must open the deck the same way. Before, python-pptx read every part: 60 such members of
    17 MiB took 4.8 CPU-s and 1.1 GB here, after extraction had read the deck in 0.5 CPU-s."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(sample_pptx_bytes())) as zin, zipfile.ZipFile(out, "w", DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        for i in range(2):
            zout.writestr(f"ppt/media/flat{i}.png", bytes(17 * 2**20))
    tracemalloc.start()
    try:
        texts = page_texts(out.getvalue(), PPTX_MIME)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert texts == page_texts(sample_pptx_bytes(), PPTX_MIME) and texts
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB allocated"
