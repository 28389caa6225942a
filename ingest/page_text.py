"""The whole text of each page or slide of a document: a retrieval signal for figures that carry little text.

Uncaptioned screenshots and diagrams have no caption, context or in-figure text of their own, yet the page
around them names what they show (a page-level BM25 over this text finds them). Ingest indexes it beside the
unit's own text. Slide numbers are pptx indexes (1-based, hidden slides counted), like the units'.
"""

from __future__ import annotations

import io

PDF_MIME = "application/pdf"


def page_texts(data: bytes, mime: str) -> dict[int, str]:
    """{page or slide number: text}; empty when the document cannot be read (extraction reports that)."""
    try:
        if mime == PDF_MIME:
            return _pdf_texts(data)
        return _pptx_texts(data)
    except Exception:  # a secondary signal: a reader error here must not fail an extracted document
        return {}


def _pdf_texts(data: bytes) -> dict[int, str]:
    import pymupdf

    with pymupdf.open(stream=data, filetype="pdf") as doc:
        return {i + 1: page.get_text() for i, page in enumerate(doc)}


def _pptx_texts(data: bytes) -> dict[int, str]:
    from pptx import Presentation

    texts: dict[int, str] = {}
    for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, start=1):
        parts = [shape.text_frame.text for shape in _shapes(slide.shapes) if shape.has_text_frame]
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
        texts[number] = "\n".join(p for p in parts if p.strip())
    return texts


def _shapes(shapes):  # type: ignore[no-untyped-def]
    for shape in shapes:
        if shape.shape_type == 6:  # MSO_SHAPE_TYPE.GROUP: its children carry the text
            yield from _shapes(shape.shapes)
        else:
            yield shape
