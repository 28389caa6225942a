"""The whole text of each page or slide of a document: a retrieval signal for figures that carry little text.

Uncaptioned screenshots and diagrams have no caption, context or in-figure text of their own, yet the page
around them names what they show (a page-level BM25 over this text finds them). Ingest indexes it beside the
unit's own text. Slide numbers are pptx indexes (1-based, hidden slides counted), like the units'.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from figvault.ingest.pdf_open import open_pdf
from figvault.settings import ExtractSettings

if TYPE_CHECKING:
    import pymupdf

PDF_MIME = "application/pdf"
MAX_PAGE_TEXT_CHARS = 20_000
"""More than any index field keeps of a page (the stored page text is cut at 8 KB)."""
LIGATURES = str.maketrans({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)})
"""The Latin ligature characters (U+FB00-FB06: ff, fi, fl, ffi, ffl, long st, st) as their letters."""


def fold_ligatures(text: str) -> str:
    """``text`` with each ligature character written as its letters. Layout class "typeset ligatures": TeX
    and design tools set "fi", "fl", "ff" as one glyph whose Unicode is the ligature character, which MuPDF
    keeps for some fonts whatever its flags; a word holding one ("eﬃcient", "conﬁguration") is no term a
    searcher types."""
    return text.translate(LIGATURES)


def page_texts(data: bytes, mime: str, settings: ExtractSettings | None = None) -> dict[int, str]:
    """{page or slide number: text}; empty when the document cannot be read (extraction reports that).

    Pages and slides over extraction's work caps (``settings``) are left out, as extraction leaves them.
    """
    settings = settings or ExtractSettings()
    try:
        if mime == PDF_MIME:
            return _pdf_texts(data, settings)
        return _pptx_texts(data, settings)
    except Exception:  # a secondary signal: a reader error here must not fail an extracted document
        return {}


def _pdf_texts(data: bytes, settings: ExtractSettings) -> dict[int, str]:
    from figvault.ingest.pdf import HEAVY_PAGE_FACTOR
    from figvault.ingest.pdf_budget import MAX_PAGE_CHARACTERS, ContentBudget

    texts: dict[int, str] = {}
    limit = HEAVY_PAGE_FACTOR * settings.max_page_drawing_ops
    with open_pdf(data) as doc:  # as extraction opens it (a lying page tree counted again)
        budget = ContentBudget(doc, settings.max_page_content_mb * 2**20)
        for i, page in enumerate(doc):
            cost = budget.page_cost(page, limit)
            if not cost.over_bytes and cost.operations <= limit and cost.characters <= MAX_PAGE_CHARACTERS:
                texts[i + 1] = pdf_page_text(page)
    return texts


def pdf_page_text(page: pymupdf.Page, textpage: pymupdf.TextPage | None = None) -> str:
    """The page's text as ``page.get_text()`` gives it, cut at MAX_PAGE_TEXT_CHARS.

    ``textpage`` (read with extraction's flags, pdf_layout.TEXT_FLAGS) gives the same text without reading
    the page again, except where a glyph has no Unicode: it holds U+FFFD there, where ``get_text()`` writes
    the glyph's CID, so such a page is read again.
    """
    if textpage is not None:
        text = page.get_text(textpage=textpage)
        if "\ufffd" not in text:
            return fold_ligatures(text[:MAX_PAGE_TEXT_CHARS])
    return fold_ligatures(page.get_text()[:MAX_PAGE_TEXT_CHARS])


def _pptx_texts(data: bytes, settings: ExtractSettings) -> dict[int, str]:
    from figvault.ingest.pptx_open import open_presentation
    from figvault.ingest.safety import listed_slides, opened_pptx
    from figvault.ingest.slide_shapes import element_count

    texts: dict[int, str] = {}
    readable, _ = opened_pptx(data, settings.max_pptx_uncompressed_mb)  # as the extractor opens it
    prs, _, _ = open_presentation(readable)  # a slide whose XML is unreadable: empty, the others read
    for number, slide in listed_slides(prs)[0]:
        if element_count(slide._element) > settings.max_slide_elements:
            continue
        parts = [shape.text_frame.text for shape in _shapes(slide.shapes) if shape.has_text_frame]
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:  # no body placeholder
            parts.append(slide.notes_slide.notes_text_frame.text)
        texts[number] = "\n".join(p for p in parts if p.strip())[:MAX_PAGE_TEXT_CHARS]
    return texts


def _shapes(shapes):  # type: ignore[no-untyped-def]
    for shape in shapes:
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP: its children carry the text
            yield from _shapes(shape.shapes)
        else:
            yield shape
