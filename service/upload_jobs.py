"""An upload becomes an ingest job: its groups and tags checked, each file spooled under a server-chosen
name and typed by its bytes, the accepted ones queued (``POST /v1/documents``; the groups check also serves
``POST /v1/jobs/ingest`` and a job's retry)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import HTTPException, UploadFile, status

from figvault.access import Action, Principal
from figvault.errors import FigvaultError, UnsafeFileError, UnsupportedFileError
from figvault.ingest.extract import PDF_MIME, sniff_mime
from figvault.pipeline import audit
from figvault.pipeline.doc_identity import AmbiguousDocumentError, DocumentNotYoursError
from figvault.pipeline.jobs import JobStore
from figvault.pipeline.users import UserError, validate_label
from figvault.service.api.schemas import UploadedDocumentOut, UploadOut
from figvault.service.db import RegistryDB
from figvault.service.pending_ingests import pending_ingest_slot
from figvault.service.uploads import display_name, spool_to_private_dir
from figvault.service.visible_documents import DOCUMENT_NOT_FOUND
from figvault.settings import Settings
from figvault.tags import tag_set

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job

MAX_UPLOAD_FILES = 100
"""Files one upload request may carry (each becomes a spooled file and a document of the job)."""


def upload_groups(principal: Principal, raw: str) -> list[str]:
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


def upload_tags(raw: str | None) -> list[str] | None:
    """The uploaded documents' tags; None (field absent): a re-uploaded document keeps its tags."""
    if raw is None:
        return None
    try:
        return tag_set(t for t in raw.split(",") if t.strip())
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"tags: {exc}") from None


def queue_uploads(
    principal: Principal,
    db: RegistryDB,
    settings: Settings,
    files: list[UploadFile],
    groups_raw: str,
    tags_raw: str | None = None,
    replace: str | None = None,
) -> UploadOut:
    groups = upload_groups(principal, groups_raw)
    if len(files) > MAX_UPLOAD_FILES:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_UPLOAD_FILES} files per upload"
        )
    tags = upload_tags(tags_raw)
    folders: list[Path] = []
    try:
        with pending_ingest_slot(settings, JobStore(db.conn()), principal):
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
