"""HTTP request and response models (the public JSON shapes of /v1).

They are separate from the internal records on purpose: tenant, access groups and blob keys stay inside;
what goes out is what the caller may see, with URLs instead of storage keys.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from figvault.search_models import SearchFilters, SearchHit, SearchRequest, SearchResponse
from figvault.text_checks import Text
from figvault.units import DocumentMeta, FigureUnit

API_PREFIX = "/v1"


class ErrorOut(BaseModel):
    detail: str


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "Missing or invalid credentials."},
    403: {"model": ErrorOut, "description": "Your role does not allow this."},
}
"""Documented on every /v1 router."""


def unit_image_url(unit_id: str) -> str:
    return f"{API_PREFIX}/units/{unit_id}/image"


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text = Field(min_length=1, description="The question, in plain words (at most 2,000 characters).")
    top_k: int = Field(default=10, ge=1, le=200)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    rerank: bool | None = Field(default=None, description="None: the server's default.")
    explain: bool = False

    def to_request(self) -> SearchRequest:
        return SearchRequest(
            query=self.query, top_k=self.top_k, filters=self.filters, rerank=self.rerank, explain=self.explain
        )


class SearchResultOut(BaseModel):
    unit_id: str
    doc_id: str
    doc: str
    page: int
    page_size: tuple[float, float]
    bbox: tuple[float, float, float, float]
    kind: str
    label: str | None
    title: str = ""
    caption: str
    context: str = ""
    score: float
    fused_score: float
    channel_scores: dict[str, float] = Field(default_factory=dict)
    rerank_score: float | None = None
    explanation: str | None = None
    image_url: str

    @classmethod
    def from_hit(cls, hit: SearchHit) -> SearchResultOut:
        data = hit.model_dump(include=set(cls.model_fields) - {"image_url"})
        return cls(**data, image_url=unit_image_url(hit.unit_id))


class SearchResponseOut(BaseModel):
    results: list[SearchResultOut]
    no_match: bool = False
    reranked: bool = False
    rerank_note: str = ""
    embedding_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per step.")

    @classmethod
    def from_response(cls, response: SearchResponse) -> SearchResponseOut:
        return cls(
            results=[SearchResultOut.from_hit(h) for h in response.results],
            no_match=response.no_match,
            reranked=response.reranked,
            rerank_note=response.rerank_note,
            embedding_version=response.embedding_version,
            timings=response.timings,
        )


class UnitOut(BaseModel):
    unit_id: str
    doc_id: str
    doc: str
    doc_sha256: str
    page: int
    page_size: tuple[float, float]
    bbox: tuple[float, float, float, float]
    kind: str
    label: str | None = None
    title: str = ""
    caption: str = ""
    context: str = ""
    figure_text: str = ""
    width: int = 0
    height: int = 0
    meta: DocumentMeta = Field(default_factory=DocumentMeta)
    embedding_version: str | None = None
    image_url: str

    @classmethod
    def from_unit(cls, unit: FigureUnit) -> UnitOut:
        data = unit.model_dump(include=set(cls.model_fields) - {"image_url"})
        return cls(**data, image_url=unit_image_url(unit.unit_id))


class DocumentOut(BaseModel):
    doc_id: str
    name: str
    sha256: str = ""
    state: str
    units: int = Field(description="Units of this document the caller can see.")
    groups: list[str] = Field(
        default_factory=list, description="The document's groups that the caller belongs to."
    )
    error: str | None = None
    updated_at: str | None = None


class DocumentListOut(BaseModel):
    documents: list[DocumentOut]
    total: int


class UploadedDocumentOut(BaseModel):
    name: str
    """Display name (sanitised client file name)."""
    doc_id: str | None = None
    state: str
    units: int = 0
    error: str | None = None


class UploadOut(BaseModel):
    documents: list[UploadedDocumentOut]
    job_id: str | None = None
    """The ingest job of the accepted files: ``GET /v1/jobs/{job_id}`` (and ``/events``) follows it."""


class DeletedOut(BaseModel):
    doc_id: str
    deleted: bool = True


class HealthOut(BaseModel):
    status: str = "ok"


class ReadyOut(BaseModel):
    status: str
    """``ready`` or ``not-ready``."""
    checks: dict[str, Any] = Field(default_factory=dict)
