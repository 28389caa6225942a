"""The documents a caller may see: found by id or name, listed, counted (``GET /v1/documents``, the search's
``doc_ids`` names and its empty-answer hint, the page images). Nothing of another tenant is read."""

from __future__ import annotations

from fastapi import HTTPException, status

from figvault.access import Principal
from figvault.db import Database
from figvault.pipeline.doc_identity import AmbiguousDocumentError, pick
from figvault.pipeline.document_counts import searchable, searchable_sql
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.service.api.schemas import DocumentOut, iso_time
from figvault.service.deps import Engine

DOCUMENT_NOT_FOUND = "document not found"


def find_document(
    conn: Database, principal: Principal, key: str, *, any_group: bool = False
) -> DocumentRecord | None:
    """The caller's tenant's document ``key`` refers to, by id or else by name, among those whose groups
    meet the caller's (``any_group``: every document of the tenant, for admins' changes); None when there
    is none, 409 when several the caller can see carry that name (``pipeline/doc_identity.pick``)."""

    def reachable(record: DocumentRecord) -> bool:
        return any_group or principal.sees(record.tenant, record.groups)

    meeting = None if any_group else visible_groups(principal)
    try:
        return pick(DocumentRegistry(conn).matching(principal.tenant, key, meeting=meeting), key, reachable)
    except AmbiguousDocumentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def visible_groups(principal: Principal) -> list[str] | None:
    """The groups a document must share to be the caller's (``Principal.sees``), None: every document of
    its tenant (the local operator)."""
    return None if principal.unrestricted else principal.groups


def visible_records(conn: Database, principal: Principal, doc_id: str | None = None) -> list[DocumentRecord]:
    """The caller's tenant's registry records whose groups meet the caller's, in id order; no other tenant
    is read. ``doc_id``: the one it refers to (an id or a name, ``find_document``)."""
    if doc_id is not None:
        one = find_document(conn, principal, doc_id)
        return [one] if one is not None else []
    records = DocumentRegistry(conn).page(principal.tenant, meeting=visible_groups(principal)).records
    return [r for r in records if principal.sees(r.tenant, r.groups)]  # as ``document_page`` checks again


def searchable_count(conn: Database, principal: Principal) -> int:
    """How many of the caller's documents (``visible_records``) a search can find, counted by the database
    (the empty search's hint read every one of them: 20,000 records for a count)."""
    registry = DocumentRegistry(conn)
    return registry.count(principal.tenant, meeting=visible_groups(principal), where=searchable_sql())


def visible_documents(
    conn: Database, engine: Engine, principal: Principal, doc_id: str | None = None
) -> list[DocumentOut]:
    """Documents of the caller's tenant whose groups meet the caller's; other tenants are never read.

    A count never includes a unit the caller could not open. An indexed document's units all carry its
    group set (ingest writes them so and deletes the rest before marking it indexed), so a caller who shares
    a group sees every one of them and the registry's count is exact. A document in any other state (an
    ingest pending or failed half-way) may hold units of an older group set: those are counted in the store
    through the caller's access filter, all of them in one read (``units_by_document``: a store count is a
    scan of the collection on Milvus Lite, seconds at 100k units, once per such document before). Only
    groups the caller shares are shown.
    """
    return documents_out(engine, principal, visible_records(conn, principal, doc_id))


def document_page(
    conn: Database, engine: Engine, principal: Principal, *, after: str | None, limit: int | None
) -> tuple[list[DocumentOut], int, str | None]:
    """``visible_documents`` a page at a time, in id order: at most ``limit`` (None: all) of those whose id
    sorts after ``after``; with how many the caller may see in all and the ``after`` of the next page (None
    when this one is the last). ``after`` is only compared, never looked up: any string is a cursor. The
    registry selects, orders and counts them (``DocumentRegistry.page``): a page reads about ``limit``
    records, not every one of the tenant's."""
    page = DocumentRegistry(conn).page(
        principal.tenant, meeting=visible_groups(principal), after=after, limit=limit
    )
    # The SQL condition is the rule (``registry.meets``); checked again here so that a page never shows a
    # record ``sees`` rejects, whatever a back end's JSON functions do.
    records = [r for r in page.records if principal.sees(r.tenant, r.groups)]
    return documents_out(engine, principal, records), page.total, page.next_after


def shown_version(engine: Engine, principal: Principal, record: DocumentRecord) -> str | None:
    """The version (sha256) of ``record``'s file whose pages the caller is shown, None when there is none
    to show. The record's own, but for a replacement that failed while an older version stays searchable:
    the record then names the failed file's bytes but keeps the old groups, and those bytes' pages (those of
    another document, perhaps, that the old groups may not see) reach no one; the caller is shown the
    version of the units it may see (a trust audit, 2026-12-07: the old groups were shown the new file's
    pages, and nothing at all where the new file's original was not kept)."""
    if record.state != DocState.FAILED or not record.units:
        return record.sha256
    versions = engine.units_by_document(principal, [record.doc_id]).get(record.doc_id, ())
    return _version_shown(record, set(versions)) or None


def _version_shown(record: DocumentRecord, versions: set[str]) -> str:
    """Of the ``versions`` of ``record``'s units a caller sees, the one it is shown ('' for none)."""
    if record.sha256 in versions:  # a caller its retry was meant for, who sees the units it wrote
        return record.sha256
    return min(versions) if versions else ""  # several older versions: any one, the same every time


def documents_out(engine: Engine, principal: Principal, records: list[DocumentRecord]) -> list[DocumentOut]:
    """The records as the caller sees them (their counts of units the caller could open, shared groups)."""
    unsure = [r.doc_id for r in records if r.units and r.state != DocState.INDEXED]
    found = engine.units_by_document(principal, unsure) if unsure else {}
    counted = {doc_id: sum(versions.values()) for doc_id, versions in found.items()}
    # A failed replacement's record names the failed file's bytes: their hash is another document's,
    # perhaps of groups the caller is not in (a review); the caller is told the version it is shown,
    # from the same read.
    shown = {
        r.doc_id: _version_shown(r, set(found.get(r.doc_id, ())))
        for r in records
        if r.state == DocState.FAILED and r.units
    }
    out: list[DocumentOut] = []
    for record in records:
        out.append(
            DocumentOut(
                doc_id=record.doc_id,
                name=record.name,
                sha256=shown.get(record.doc_id, record.sha256),
                state=str(record.state),
                units=counted.get(record.doc_id, record.units),
                groups=principal.shown_groups(record.groups),
                tags=record.tags,
                error=record.error or None,
                updated_at=iso_time(record.updated_at),
                searchable=searchable(record),
            )
        )
    return out
