"""``GET /v1/admin/documents``: every document of the admin's tenant with all its groups, including the ones
nobody can see yet (ingested without groups), so an admin can give them groups (``PATCH /v1/documents/{id}``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.pipeline.registry import DocumentRegistry
from figvault.service.api.schemas import AUTH_RESPONSES, ManagedDocumentListOut, ManagedDocumentOut
from figvault.service.deps import DbDep, DocumentsAfter, DocumentsLimit, require

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=AUTH_RESPONSES)

Regrouper = Annotated[
    Principal,
    Depends(require(Action.REGROUP, "listing your tenant's documents and their groups (admins)")),
]
"""A listing: a reader was told it may not change a document's groups (a first-hour audit, 2026-12-08)."""


@router.get(
    "/documents",
    summary="Every document of your tenant and its groups (admins)",
    response_model=ManagedDocumentListOut,
)
def managed_documents(
    principal: Regrouper,
    db: DbDep,
    limit: DocumentsLimit = None,
    after: DocumentsAfter = None,
) -> ManagedDocumentListOut:
    """In id order; ``limit`` and ``after`` read it a page at a time, as ``GET /v1/documents``."""
    # One order, paged or not: a PostgreSQL database of another collation listed the unpaged answer in
    # its own order and the pages in Python's (a review).
    page = DocumentRegistry(db.conn()).page(principal.tenant, after=after, limit=limit)
    docs = [ManagedDocumentOut.from_record(r) for r in page.records]
    listed = {"doc_ids": [d.doc_id for d in docs], "total": page.total}
    audit.record(db.conn(), principal, "admin_documents", detail=listed)
    return ManagedDocumentListOut(documents=docs, total=page.total, next_after=page.next_after)
