"""The figure unit: one record per figure, shared by every part of figvault."""

from __future__ import annotations

import hashlib
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator


class FigureKind(StrEnum):
    RASTER = "raster"
    """Embedded picture(s) only."""
    VECTOR = "vector"
    """Drawn with PDF path operators (charts, diagrams)."""
    MIXED = "mixed"
    """Pictures and drawings together."""
    CHART = "chart"
    """A native PowerPoint chart."""
    DIAGRAM = "diagram"
    """Grouped shapes, connectors or SmartArt on a slide."""
    PICTURE = "picture"
    """A picture shape on a slide."""
    SLIDE_REGION = "slide-region"
    """A slide area rendered whole (no finer structure available)."""


def make_unit_id(content_id: str, page: int, kind: str, bbox: tuple[float, float, float, float]) -> str:
    """Stable id: the same content, page, kind and (rounded) box always give the same id."""
    rounded = ",".join(str(round(v)) for v in bbox)
    key = f"{content_id}|{page}|{kind}|{rounded}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


OCR_MARKER = "[ocr]"
"""A line of its own in ``figure_text``: the lines after it were read by OCR from the figure's image, the
lines before it come from the document's text (text layer, shapes, chart data)."""


def split_figure_text(figure_text: str) -> tuple[str, str]:
    """(text from the document, text read by OCR) of a unit's ``figure_text``."""
    head, marker, tail = f"\n{figure_text}\n".partition(f"\n{OCR_MARKER}\n")
    return head.strip("\n"), tail.strip("\n") if marker else ""


MAX_META_CHARS = 1000
"""The most characters of a document's own title or author kept (real ones have a few dozen)."""


class DocumentMeta(BaseModel):
    """What a document says about itself (PDF info dict, PPTX core properties)."""

    title: str | None = None
    author: str | None = None
    created: str | None = None
    """ISO 8601 when the document states it."""
    mime: str = ""
    pages: int = 0
    indexed_at: str | None = None
    """ISO 8601 (UTC) of the ingest that stored this version of the document; set at ingest. It orders
    copies of one figure whose documents state no creation date (``retrieval/duplicates.py``)."""

    @field_validator("title", "author")
    @classmethod
    def _short(cls, value: str | None) -> str | None:
        """Cut at MAX_META_CHARS: the file says what it likes here (a PDF's /Title of 8 MB in a 16 MB file),
        and the document's meta is copied into every unit's stored row and its search text."""
        return value[:MAX_META_CHARS] if value else value


class FigureUnit(BaseModel):
    unit_id: str
    doc: str
    """Source file name."""
    doc_sha256: str
    doc_id: str = ""
    """Logical document id; a changed file with the same doc_id replaces the old units. Set at ingest."""
    page: int
    """1-based page or slide number (hidden slides keep their position)."""
    page_size: tuple[float, float]
    """[width, height] in points."""
    bbox: tuple[float, float, float, float]
    """[x0, y0, x1, y1] in points, origin top-left."""
    kind: FigureKind
    label: str | None = None
    """"Figure 3" when the caption names one."""
    title: str = ""
    """The figure's own title: a chart panel's short title above or inside it, a slide's title."""
    caption: str = ""
    context: str = ""
    """Heading or slide title, sentences that cite the figure, speaker notes."""
    figure_text: str = ""
    """Text inside the figure region (axis labels, chart series, shape text); words read by OCR follow
    an ``[ocr]`` line (see OCR_MARKER)."""
    image: str = ""
    """Extract: PNG path relative to the output folder. Store: blob key (sha256 of the PNG)."""
    width: int = 0
    height: int = 0
    meta: DocumentMeta = Field(default_factory=DocumentMeta)
    tenant: str = "default"
    groups: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    """The document's tags (``figvault/tags.py``); set at ingest, changed in place by ``set-tags``."""
    phash: str = ""
    """Perceptual hash of the unit image (``figvault/phash.py``): the extractor's, of the pixels it rendered,
    else ingest's, of the PNG; "" when unknown."""
    embedding_version: str | None = None

    def search_text(self) -> str:
        """The text a text or lexical channel indexes for this unit."""
        parts = [self.label or "", self.title, self.caption, self.context, self.figure_text]
        return "\n".join(p for p in parts if p)


class ExtractedFigure(BaseModel):
    """A unit fresh from an extractor, with its rendered PNG."""

    unit: FigureUnit
    png: bytes


class DocumentExtraction(BaseModel):
    path: str
    doc: str
    doc_sha256: str
    meta: DocumentMeta
    figures: list[ExtractedFigure] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    ocr_timeouts: int = 0
    """Figures whose OCR read ``extract.ocr_timeout_s`` stopped: their in-picture words are missing (on a
    busy machine a read takes longer; raise the limit and extract again to get them)."""

    def image_bytes(self) -> int:
        """Bytes of the figures' PNG images."""
        return sum(len(figure.png) for figure in self.figures)
