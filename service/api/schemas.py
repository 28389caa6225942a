"""HTTP request and response models (the public JSON shapes of /v1).

They are separate from the internal records on purpose: tenant, access groups and blob keys stay inside;
what goes out is what the caller may see, with URLs instead of storage keys.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from figvault.access import group_set
from figvault.pipeline.document_counts import searchable
from figvault.pipeline.registry import DocumentRecord
from figvault.retrieval.schema import MAX_GROUPS
from figvault.search_models import (
    MAX_TOP_K,
    DuplicateRef,
    SearchFilters,
    SearchHit,
    SearchRequest,
    SearchResponse,
    UnitPlace,
)
from figvault.tags import MAX_TAGS, tag_set
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


def iso_time(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def unit_image_url(unit_id: str) -> str:
    return f"{API_PREFIX}/units/{unit_id}/image"


class SearchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Text = Field(min_length=1, description="The question, in plain words (at most 2,000 characters).")
    top_k: int | None = Field(default=None, ge=1, le=MAX_TOP_K, description="Default: search.top_k.")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    rerank: bool | None = Field(default=None, description="None: the server's default.")
    explain: bool = False

    def to_request(self, default_top_k: int) -> SearchRequest:
        return SearchRequest(
            query=self.query,
            top_k=self.top_k if self.top_k is not None else default_top_k,
            filters=self.filters,
            rerank=self.rerank,
            explain=self.explain,
            surface="json",
        )


class AlsoInOut(DuplicateRef):
    """Another place of the same figure (a collapsed near-duplicate), visible to the caller."""

    image_url: str

    @classmethod
    def from_ref(cls, ref: DuplicateRef) -> AlsoInOut:
        return cls(**ref.model_dump(), image_url=unit_image_url(ref.unit_id))


class SearchResultOut(UnitPlace):
    width: int = Field(default=0, description="The figure image's width in pixels (the filter min_width...).")
    height: int = Field(default=0, description="The figure image's height in pixels.")
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
    tags: list[str] = Field(default_factory=list, description="The document's tags.")
    also_in: list[AlsoInOut] = Field(
        default_factory=list,
        description="Other places of the same figure, collapsed into this hit (their original).",
    )

    @classmethod
    def from_hit(cls, hit: SearchHit) -> SearchResultOut:
        data = hit.model_dump(include=set(cls.model_fields) - {"image_url", "also_in"})
        also_in = [AlsoInOut.from_ref(ref) for ref in hit.also_in]
        return cls(**data, image_url=unit_image_url(hit.unit_id), also_in=also_in)


class SearchResponseOut(BaseModel):
    results: list[SearchResultOut]
    no_match: bool = False
    did_you_mean: str | None = Field(
        default=None,
        description="With no_match: the question respelled with words of documents you can see (a typo's"
        " words match none); null otherwise.",
    )
    reranked: bool = False
    rerank_note: str = ""
    embedding_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict, description="Milliseconds per step.")
    visible_documents: int | None = Field(
        default=None,
        description="When there are no results: how many documents a search can find that you can see (0:"
        " none at all; ask an admin to give your groups access; documents whose ingest failed are not"
        " counted). Counts only your own documents. Null when there are results.",
    )

    @classmethod
    def from_response(
        cls, response: SearchResponse, visible_documents: int | None = None
    ) -> SearchResponseOut:
        return cls(
            results=[SearchResultOut.from_hit(h) for h in response.results],
            no_match=response.no_match,
            did_you_mean=response.did_you_mean,
            reranked=response.reranked,
            rerank_note=response.rerank_note,
            embedding_version=response.embedding_version,
            timings=response.reported_timings(),
            visible_documents=visible_documents,
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


SEARCHABLE = (
    "A search can find it: indexed, or still serving an older version whose replacement failed. False: its"
    " ingest failed (error says why) or is still running; such documents are not counted as documents."
)


class DocumentOut(BaseModel):
    doc_id: str
    name: str
    sha256: str = ""
    state: str
    units: int = Field(description="Units of this document the caller can see.")
    groups: list[str] = Field(
        default_factory=list, description="The document's groups that the caller belongs to."
    )
    tags: list[str] = Field(default_factory=list, description="The document's tags.")
    error: str | None = None
    updated_at: str | None = Field(
        None,
        description="When its file, state or tags last changed; a change of its groups alone does not move"
        " it (it would tell a reader of a group given or taken that the reader is not in).",
    )
    searchable: bool = Field(default=True, description=SEARCHABLE)


class DocumentListOut(BaseModel):
    documents: list[DocumentOut]
    """In id order."""
    total: int
    """The documents you can see, on every page."""
    next_after: str | None = Field(
        default=None, description="When more documents follow this page: the `after` that lists them."
    )


class DocumentPatch(BaseModel):
    """What ``PATCH /v1/documents/{id}`` changes; fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    groups: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_GROUPS,
        description="The document's new access groups (replaces the old set; units are rewritten in place).",
    )
    tags: list[str] | None = Field(
        default=None,
        max_length=MAX_TAGS,
        description="The document's new tags (replaces the old set; [] clears; editors may change them on"
        " documents whose groups are all theirs).",
    )

    @field_validator("tags")
    @classmethod
    def _valid_tags(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else tag_set(value)

    @field_validator("groups")
    @classmethod
    def _valid_groups(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        groups = group_set(value)
        if not groups:
            raise ValueError("give at least one group (a document without groups is visible to no one)")
        return groups


class ManagedDocumentOut(BaseModel):
    """A document as its tenant's admins manage it: every group, whoever may see it."""

    doc_id: str
    name: str
    state: str
    units: int = Field(description="Units the document has (from the registry).")
    groups: list[str] = Field(default_factory=list, description="All its groups; empty: visible to no one.")
    error: str | None = None
    updated_at: str | None = None
    searchable: bool = Field(default=True, description=SEARCHABLE)

    @classmethod
    def from_record(cls, record: DocumentRecord, **extra: Any) -> Self:
        return cls(
            doc_id=record.doc_id,
            name=record.name,
            state=str(record.state),
            units=record.units,
            groups=sorted(set(record.groups)),
            error=record.error or None,
            updated_at=iso_time(record.updated_at),
            searchable=searchable(record),
            **extra,
        )


class ManagedDocumentListOut(BaseModel):
    documents: list[ManagedDocumentOut]
    """In id order."""
    total: int
    """Every document of the tenant, on every page."""
    next_after: str | None = Field(
        default=None, description="When more documents follow this page: the `after` that lists them."
    )


class RegroupOut(ManagedDocumentOut):
    before: list[str] = Field(default_factory=list, description="The groups it had.")
    tags: list[str] = Field(default_factory=list, description="Its tags now.")
    units_rewritten: int = Field(description="Units whose access fields were rewritten in place.")


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
