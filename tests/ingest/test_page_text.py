"""Page and slide texts, the retrieval signal for figures without a caption."""

from __future__ import annotations

from pathlib import Path

from figvault.ingest.page_text import PDF_MIME, page_texts
from figvault.ingest.samples import sample_pptx_bytes
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
