"""The one way to open an untrusted PDF (as ``safety.opened_pptx`` is the one way to open a deck).

Extraction, the page texts of the text channel and the page images all open a document through
``open_pdf``, so a file one of them reads the others read too: a page tree whose /Count lies is counted again
from its leaves (``pdf_page_tree``) everywhere, and a file that cannot be read fails with the same one-line
ExtractionError. It imports no other PDF module of ingest, so each can import it.
"""

from __future__ import annotations

from pathlib import Path

import pymupdf
from pymupdf.mupdf import FzErrorBase

from figvault.errors import ExtractionError, one_line
from figvault.ingest.pdf_page_tree import recount_pages


def open_pdf(source: bytes | Path, warnings: list[str] | None = None) -> pymupdf.Document:
    """The document (its bytes, or the path of a PDF file), opened; ``warnings`` gets what was repaired to
    open it (a page tree counted again). ExtractionError (one line) when it is corrupt, encrypted or has no
    page."""
    try:
        if isinstance(source, Path):
            doc = pymupdf.open(source, filetype="pdf")
        else:
            doc = pymupdf.open(stream=source, filetype="pdf")
    except Exception as exc:  # PyMuPDF raises FileDataError / RuntimeError with multi-line texts
        raise ExtractionError(_open_failure(exc)) from None
    if doc.needs_pass and not doc.authenticate(""):
        doc.close()
        raise ExtractionError("encrypted PDF (password required)")
    try:
        _count_pages(doc, [] if warnings is None else warnings)
    except ExtractionError:
        doc.close()
        raise
    return doc


def _count_pages(doc: pymupdf.Document, warnings: list[str]) -> None:
    """Raise ExtractionError when ``doc`` has no page. A page tree MuPDF refuses is counted again from its
    leaves (``pdf_page_tree``), with a warning: a /Count it refuses (negative, past what the file can hold)
    or that says 0, and a tree it cannot map (a node listing itself or an ancestor, a page listed twice: MuPDF
    maps the whole tree on the first page's load, so every page failed)."""
    try:
        pages = doc.page_count
        reason = "its /Count is 0"
    except (RuntimeError, FzErrorBase) as exc:  # MuPDF: "code=7: Invalid number of pages"
        pages, reason = 0, one_line(exc)
    if pages:
        try:
            doc.load_page(0)
            return
        except (RuntimeError, FzErrorBase) as exc:  # "code=7: cycle in page tree"
            reason = one_line(exc)
    try:
        found = recount_pages(doc)
    except (RuntimeError, ValueError, FzErrorBase):  # a node MuPDF cannot parse
        found = None
    if not found:
        if pages:  # MuPDF counted pages: each one that does not load is skipped with a warning
            return
        raise ExtractionError(f"corrupt PDF: {'no pages' if reason == 'its /Count is 0' else reason}")
    warnings.append(f"page tree: {reason}; read as the {found:,} page(s) its tree holds")


def _open_failure(exc: Exception) -> str:
    """Why MuPDF could not open a PDF, in one line. PyMuPDF says only "Failed to open stream" and keeps
    MuPDF's reason in the exception's cause; a reason about encryption (an unknown security handler or
    revision) says that the file is encrypted, not corrupt."""
    cause = exc.__cause__
    reason = one_line(cause) if cause is not None and str(cause).strip() else one_line(exc)
    if "crypt" in reason.lower():
        return f"encrypted PDF that cannot be decrypted ({reason})"
    return f"corrupt PDF: {reason}"
