"""Search request and response records: the contract between retrieval, the CLI and the HTTP service."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from figvault.text_checks import MAX_FILTER_VALUES, NameList
from figvault.units import FigureKind


class SearchFilters(BaseModel):
    """Request filters. Access (tenant, groups) never comes from here: it comes from the Principal."""

    doc_ids: NameList = Field(default_factory=list)
    docs: NameList = Field(default_factory=list)
    """Source file names."""
    kinds: list[FigureKind] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    after: date | None = None
    """Documents created on or after this day."""
    before: date | None = None


class SearchRequest(BaseModel):
    query: str = ""
    top_k: int = Field(default=10, ge=1, le=200)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    rerank: bool | None = None
    """None: the configured default (on when a CUDA device and weights are there)."""
    explain: bool = False


class SearchHit(BaseModel):
    unit_id: str
    doc_id: str
    doc: str
    page: int
    page_size: tuple[float, float]
    bbox: tuple[float, float, float, float]
    kind: str
    label: str | None
    title: str = ""
    """The figure's own title (chart panel, slide); empty when it has none or its collection predates it."""
    caption: str
    context: str = ""
    image: str
    """Blob key of the unit image."""
    score: float
    """Final score (rerank score when reranked, else the fused score)."""
    fused_score: float
    channel_scores: dict[str, float] = Field(default_factory=dict)
    rerank_score: float | None = None
    explanation: str | None = None
    embedding_version: str | None = None


class SearchResponse(BaseModel):
    results: list[SearchHit]
    no_match: bool = False
    """True when nothing visible answers the question: the VLM reranker's verdict when it ran, else the
    first stage's calibrated decision (``retrieval/no_match.py``)."""
    answerable: float | None = None
    """The first stage's P(answerable) behind ``no_match`` (None when the reranker decided or it is off)."""
    reranked: bool = False
    rerank_note: str = ""
    """Why rerank was on or off (e.g. "off: no CUDA device")."""
    embedding_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per stage: encode, recall, rerank, fetch, total."""
