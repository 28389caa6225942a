"""``/v1/documents``: list and show (readers, only what they may see), upload (editors), delete and change
who sees a document (admins).

Uploads are untrusted: the body size is capped before parsing (app.MOUNTS), each file is copied under a
server-chosen name into a private temp folder with a byte limit, its type comes from its bytes, and the
client's file name is only a cleaned display string.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile, status
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.pipeline.registry import DocumentRegistry
from figvault.service.api.schemas import (
    AUTH_RESPONSES,
    DeletedOut,
    DocumentListOut,
    DocumentOut,
    DocumentPatch,
    ErrorOut,
    RegroupOut,
    UploadOut,
)
from figvault.service.deps import (
    DbDep,
    DocIdPath,
    DocumentsAfter,
    DocumentsLimit,
    EngineDep,
    SettingsDep,
    require,
)
from figvault.service.upload_jobs import queue_uploads
from figvault.service.validation_errors import refuse_unknown_form_fields
from figvault.service.visible_documents import (
    DOCUMENT_NOT_FOUND,
    document_page,
    find_document,
    visible_documents,
)
from figvault.text_checks import MAX_NAME_CHARS, check_text

router = APIRouter(
    prefix="/v1/documents",
    tags=["documents"],
    responses={**AUTH_RESPONSES, 404: {"model": ErrorOut, "description": "No such document (or not yours)."}},
)

Viewer = Annotated[Principal, Depends(require(Action.VIEW))]
Editor = Annotated[Principal, Depends(require(Action.INGEST))]
Admin = Annotated[Principal, Depends(require(Action.DELETE))]
Regrouper = Annotated[Principal, Depends(require(Action.REGROUP))]


@router.get("", summary="Documents you can see", response_model=DocumentListOut)
def list_documents(
    principal: Viewer,
    db: DbDep,
    engine: EngineDep,
    limit: DocumentsLimit = None,
    after: DocumentsAfter = None,
) -> DocumentListOut:
    docs, total, next_after = document_page(db.conn(), engine, principal, after=after, limit=limit)
    audit.record(
        db.conn(), principal, "documents", detail={"doc_ids": [d.doc_id for d in docs], "total": total}
    )
    return DocumentListOut(documents=docs, total=total, next_after=next_after)


@router.get("/{doc_id}", summary="One document", response_model=DocumentOut)
def get_document(doc_id: DocIdPath, principal: Viewer, db: DbDep, engine: EngineDep) -> DocumentOut:
    docs = visible_documents(db.conn(), engine, principal, doc_id)
    audit.record(db.conn(), principal, "document", detail={"doc_id": doc_id, "found": bool(docs)})
    if not docs:
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND)
    return docs[0]


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
        str,
        Form(max_length=2000, description="Access groups, comma separated (at least one)."),
        AfterValidator(check_text),
    ] = "",  # absent or empty: "give at least one access group" (an empty form field was "Field required")
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
    await refuse_unknown_form_fields(request)
    runner = getattr(request.app.state, "jobs", None)
    if runner is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the job runner is not running")
    # async: the multipart body is already parsed; the blocking work goes to the thread pool explicitly.
    out = await run_in_threadpool(queue_uploads, principal, db, settings, files, groups, tags, doc_id)
    runner.wake()
    return out


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
            # Judged again under the store lock: a regroup that held it while this request waited (up to
            # 30 s) may have taken the document out of the editor's groups.
            editor = None if admin else principal
            tagged = set_document_tags(settings, principal.tenant, doc_id, body.tags, editor=editor)
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
