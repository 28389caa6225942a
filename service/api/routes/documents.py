"""``/v1/documents``: list and show (readers, only what they may see), upload (editors), delete and change
who sees a document (admins).

Uploads are untrusted: the body size is capped before parsing (app.MOUNTS), each file is copied under a
server-chosen name into a private temp folder with a byte limit, its type comes from its bytes, and the
client's file name is only a cleaned display string.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from figvault.access import Action, Principal
from figvault.db import Database
from figvault.errors import FigvaultError, UnsafeFileError, UnsupportedFileError
from figvault.ingest.extract import PDF_MIME, sniff_mime
from figvault.pipeline.doc_identity import AmbiguousDocumentError, DocumentNotYoursError, pick
from figvault.pipeline.jobs import JobStore
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.search_models import SearchFilters
from figvault.service import audit
from figvault.service.api.schemas import (
    AUTH_RESPONSES,
    DeletedOut,
    DocumentListOut,
    DocumentOut,
    DocumentPatch,
    ErrorOut,
    RegroupOut,
    UploadedDocumentOut,
    UploadOut,
    iso_time,
)
from figvault.service.db import RegistryDB
from figvault.service.deps import DbDep, DocIdPath, Engine, EngineDep, SettingsDep, require
from figvault.service.pending_ingests import check_pending_ingests
from figvault.service.uploads import display_name, spool_to_private_dir
from figvault.service.users import UserError, validate_label
from figvault.settings import Settings
from figvault.tags import tag_set
from figvault.text_checks import MAX_NAME_CHARS, check_text

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job

router = APIRouter(
    prefix="/v1/documents",
    tags=["documents"],
    responses={**AUTH_RESPONSES, 404: {"model": ErrorOut, "description": "No such document (or not yours)."}},
)

DOCUMENT_NOT_FOUND = "document not found"
MAX_UPLOAD_FILES = 100
"""Files one upload request may carry (each becomes a spooled file and a document of the job)."""
Viewer = Annotated[Principal, Depends(require(Action.VIEW))]
Editor = Annotated[Principal, Depends(require(Action.INGEST))]
Admin = Annotated[Principal, Depends(require(Action.DELETE))]
Regrouper = Annotated[Principal, Depends(require(Action.REGROUP))]


def find_document(
    conn: Database, principal: Principal, key: str, *, any_group: bool = False
) -> DocumentRecord | None:
    """The caller's tenant's document ``key`` refers to, by id or else by name, among those whose groups
    meet the caller's (``any_group``: every document of the tenant, for admins' changes); None when there
    is none, 409 when several the caller can see carry that name (``pipeline/doc_identity.pick``)."""

    def reachable(record: DocumentRecord) -> bool:
        return any_group or principal.sees(record.tenant, record.groups)

    try:
        return pick(DocumentRegistry(conn).matching(principal.tenant, key), key, reachable)
    except AmbiguousDocumentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None


def visible_records(conn: Database, principal: Principal, doc_id: str | None = None) -> list[DocumentRecord]:
    """The caller's tenant's registry records whose groups meet the caller's; no other tenant is read.
    ``doc_id``: the one it refers to (an id or a name, ``find_document``)."""
    if doc_id is not None:
        one = find_document(conn, principal, doc_id)
        return [one] if one is not None else []
    records = DocumentRegistry(conn).list(tenant=principal.tenant)
    return [r for r in records if principal.sees(r.tenant, r.groups)]


def visible_documents(
    conn: Database, engine: Engine, principal: Principal, doc_id: str | None = None
) -> list[DocumentOut]:
    """Documents of the caller's tenant whose groups meet the caller's; other tenants are never read.

    A count never includes a unit the caller could not open. An indexed document's units all carry its
    group set (ingest writes them so and deletes the rest before marking it indexed), so a caller who shares
    a group sees every one of them and the registry's count is exact. A document in any other state (an
    ingest pending or failed half-way) may hold units of an older group set: those are counted in the store
    through the caller's access filter. The store count is a scan of the collection on Milvus Lite (seconds
    at 100k units), too slow to run once per listed document. Only groups the caller shares are shown.
    """
    out: list[DocumentOut] = []
    for record in visible_records(conn, principal, doc_id):
        if not record.units:
            units = 0
        elif record.state == DocState.INDEXED:
            units = record.units
        else:
            units = engine.count(principal, SearchFilters(doc_ids=[record.doc_id]))
        out.append(
            DocumentOut(
                doc_id=record.doc_id,
                name=record.name,
                sha256=record.sha256,
                state=str(record.state),
                units=units,
                groups=principal.shown_groups(record.groups),
                tags=record.tags,
                error=record.error or None,
                updated_at=iso_time(record.updated_at),
            )
        )
    return out


@router.get("", summary="Documents you can see", response_model=DocumentListOut)
def list_documents(principal: Viewer, db: DbDep, engine: EngineDep) -> DocumentListOut:
    docs = visible_documents(db.conn(), engine, principal)
    audit.record(
        db.conn(), principal, "documents", detail={"doc_ids": [d.doc_id for d in docs], "total": len(docs)}
    )
    return DocumentListOut(documents=docs, total=len(docs))


@router.get("/{doc_id}", summary="One document", response_model=DocumentOut)
def get_document(doc_id: DocIdPath, principal: Viewer, db: DbDep, engine: EngineDep) -> DocumentOut:
    docs = visible_documents(db.conn(), engine, principal, doc_id)
    audit.record(db.conn(), principal, "document", detail={"doc_id": doc_id, "found": bool(docs)})
    if not docs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND)
    return docs[0]


def _upload_groups(principal: Principal, raw: str) -> list[str]:
    groups = sorted({g.strip() for g in raw.split(",") if g.strip()})
    if not groups:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "groups: give at least one access group")
    try:
        for g in groups:
            validate_label("group", g)
    except UserError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    # An editor may only share with groups they belong to; an admin may assign any group of the tenant.
    foreign = sorted(set(groups) - set(principal.groups))
    if foreign and not principal.can(Action.DELETE):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"you are not a member of group(s) {', '.join(foreign)}"
        )
    return groups


def _upload_tags(raw: str | None) -> list[str] | None:
    """The uploaded documents' tags; None (field absent): a re-uploaded document keeps its tags."""
    if raw is None:
        return None
    try:
        return tag_set(t for t in raw.split(",") if t.strip())
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"tags: {exc}") from None


@router.post(
    "",
    summary="Upload PDF/PPTX files; an ingest job indexes them (editors)",
    response_model=UploadOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        413: {"model": ErrorOut, "description": "A file is over the upload limit."},
        415: {"model": ErrorOut, "description": "No file is a PDF or PPTX (the reason says what it is)."},
    },
)
async def upload_documents(
    request: Request,
    principal: Editor,
    db: DbDep,
    settings: SettingsDep,
    files: Annotated[list[UploadFile], File(description="PDF or PPTX files.")],
    groups: Annotated[
        str, Form(max_length=2000, description="Access groups, comma separated."), AfterValidator(check_text)
    ],
    tags: Annotated[
        str | None,
        Form(max_length=4096, description="Document tags, comma separated (optional)."),
        AfterValidator(check_text),
    ] = None,
    doc_id: Annotated[
        str | None,
        Form(
            max_length=MAX_NAME_CHARS,
            description="One file only: the document (id or name) it replaces; default: the one document of"
            " the file's name you may replace, else a new document.",
        ),
        AfterValidator(check_text),
    ] = None,
) -> UploadOut:
    """202 with ``job_id``: the files wait in the data folder and a job ingests them (progress:
    ``GET /v1/jobs/{id}`` and ``/v1/jobs/{id}/events``). Files that are not PDF/PPTX are ``rejected`` now."""
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the job runner is not running")
    # async: the multipart body is already parsed; the blocking work goes to the thread pool explicitly.
    out = await run_in_threadpool(_queue_uploads, principal, db, settings, files, groups, tags, doc_id)
    runner.wake()
    return out


def _queue_uploads(
    principal: Principal,
    db: RegistryDB,
    settings: Settings,
    files: list[UploadFile],
    groups_raw: str,
    tags_raw: str | None = None,
    replace: str | None = None,
) -> UploadOut:
    groups = _upload_groups(principal, groups_raw)
    check_pending_ingests(settings, JobStore(db.conn()), principal)
    if len(files) > MAX_UPLOAD_FILES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_UPLOAD_FILES} files per upload"
        )
    tags = _upload_tags(tags_raw)
    folders: list[Path] = []
    try:
        results, accepted = _spool_uploads(files, settings.service.max_upload_mb * 2**20, folders)
        if not accepted:
            raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, "no file is a PDF or PPTX")
        job = _queue_job(principal, db, settings, accepted, groups, tags, replace)
        results += [
            UploadedDocumentOut(name=item["name"], doc_id=item["doc_id"], state="queued")
            for item in job.params["uploads"]
        ]
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
    audit.record(
        db.conn(),
        principal,
        "ingest",
        detail={
            "groups": groups,
            **({"tags": tags} if tags is not None else {}),
            "job": job.id,
            "documents": [r.model_dump(exclude_none=True) for r in results],
        },
    )
    return UploadOut(documents=results, job_id=job.id)


def _spool_uploads(
    files: list[UploadFile], limit: int, folders: list[Path]
) -> tuple[list[UploadedDocumentOut], list[tuple[str, Path]]]:
    """Each file copied to a private folder (added to ``folders``: the caller removes them) and typed by its
    bytes: the rejected ones (with their reason) and the accepted (name, path). A lone file that is
    rejected is an HTTP error instead."""
    rejected: list[UploadedDocumentOut] = []
    accepted: list[tuple[str, Path]] = []
    for upload in files:
        name = display_name(upload.filename, fallback="")
        if not name:  # ".", "..", "", only path or control characters: no name to show or find it by
            code, problem = 422, "the file name is empty or not usable as a document name"
        else:
            try:
                accepted.append((name, _spool_typed(upload, limit, folders)))
                continue
            except (UnsupportedFileError, UnsafeFileError) as exc:
                code, problem = (413 if isinstance(exc, UnsafeFileError) else 415), str(exc)
        if len(files) == 1:
            raise HTTPException(code, f"{name}: {problem}" if name else problem)
        rejected.append(UploadedDocumentOut(name=name, state="rejected", error=problem))
    return rejected, accepted


def _spool_typed(upload: UploadFile, limit: int, folders: list[Path]) -> Path:
    """The upload in a private folder (added to ``folders``), its extension following the sniffed type,
    never the client's name."""
    folder, path = spool_to_private_dir(upload.file, limit, suffix="")
    folders.append(folder)
    mime = sniff_mime(path.read_bytes())
    typed = path.with_suffix(".pdf" if mime == PDF_MIME else ".pptx")
    path.rename(typed)
    return typed


def _queue_job(
    principal: Principal,
    db: RegistryDB,
    settings: Settings,
    accepted: list[tuple[str, Path]],
    groups: list[str],
    tags: list[str] | None,
    replace: str | None,
) -> Job:
    """The ingest job of the accepted files. Each file's document is chosen now (docs/service.md, "Document
    identity and replacement"); the files move into the data folder: a job resumed after a crash has them."""
    from figvault.pipeline.ingest_job import queue_upload_job

    try:
        return queue_upload_job(
            settings,
            JobStore(db.conn()),
            accepted,
            groups=groups,
            tenant=principal.tenant,
            started_by=principal.user,
            tags=tags,
            principal=principal,
            replace=replace,
        )
    except AmbiguousDocumentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except DocumentNotYoursError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND) from None
    except FigvaultError as exc:  # a replacement target given with several files
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None


@router.delete("/{doc_id}", summary="Delete a document and its units (admins)", response_model=DeletedOut)
def delete_document(
    doc_id: DocIdPath, principal: Admin, db: DbDep, engine: EngineDep, settings: SettingsDep
) -> DeletedOut:
    """Any document of the admin's tenant, whatever its groups, as a change of groups: one ingested without
    groups by mistake (visible to no one) is exactly the one to remove, and an admin could give it their own
    group first anyway."""
    from figvault.pipeline.ingest_pipeline import delete_document as delete_from_store

    found = find_document(db.conn(), principal, doc_id, any_group=True)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND)
    delete_from_store(settings, principal.tenant, found.doc_id)
    audit.record(db.conn(), principal, "delete", detail={"doc_id": found.doc_id})
    return DeletedOut(doc_id=found.doc_id)


@router.patch(
    "/{doc_id}",
    summary="Change who sees a document (admins) or its tags (editors); its units are rewritten in place",
    response_model=RegroupOut,
    responses={503: {"model": ErrorOut, "description": "The store is busy (an ingest is writing): retry."}},
)
def patch_document(
    doc_id: DocIdPath, body: DocumentPatch, principal: Editor, db: DbDep, settings: SettingsDep
) -> RegroupOut:
    """``groups``: admins, any document of their tenant, whatever its groups (a document nobody can see is
    exactly the one an admin needs to reach). ``tags``: editors too, on any document they can see.
    Whether all its groups are the editor's is not asked: the answer would tell the editor that the document
    has groups the listing hides from it. Nothing is extracted or encoded again."""
    from figvault.pipeline.regroup import DocumentNotFoundError, set_document_groups, set_document_tags

    admin = principal.can(Action.REGROUP)
    if body.groups is not None and not admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only admins change who sees a document")
    registry = DocumentRegistry(db.conn())
    record = find_document(db.conn(), principal, doc_id, any_group=admin)
    if record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND)
    doc_id, before, rewritten = record.doc_id, record.groups, 0
    try:
        if body.groups is not None:
            result = set_document_groups(settings, principal.tenant, doc_id, body.groups)
            audit.record(db.conn(), principal, "set-groups", detail=result.to_dict())
            before, rewritten = result.before, result.units
        if body.tags is not None:
            tagged = set_document_tags(settings, principal.tenant, doc_id, body.tags)
            audit.record(db.conn(), principal, "set-tags", detail=tagged.to_dict())
            rewritten = max(rewritten, tagged.units)
    except DocumentNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND) from None
    record = registry.get(principal.tenant, doc_id)
    assert record is not None  # it was there under the lock, and only an admin's delete removes it
    out = RegroupOut.from_record(record, before=before, units_rewritten=rewritten, tags=record.tags)
    if admin:
        return out
    # An editor is told only the groups it shares, as in the listing (``before`` is the same set: tags only).
    shown = principal.shown_groups(record.groups)
    return out.model_copy(update={"groups": shown, "before": shown})
