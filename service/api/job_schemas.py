"""The JSON shapes of ``/v1/jobs`` and ``/v1/status``: a job as its caller may see it (a store-wide job's
counts withheld, file names for its starter only, gone and pruned documents the caller may see now), the
folder-ingest body, the status answer."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from figvault.access import Action, Principal
from figvault.pipeline.gone_files import shown_to
from figvault.pipeline.job_warnings import MAX_WARNINGS, job_warnings
from figvault.pipeline.jobs import DETAIL, Job, is_starter, item_label
from figvault.pipeline.registry import DocumentRecord, DocumentRegistry
from figvault.service.api.schemas import iso_time
from figvault.text_checks import Name, check_text

ServerPath = Annotated[str, StringConstraints(min_length=1, max_length=4096), AfterValidator(check_text)]


def _iso(ts: float | None) -> str | None:
    return iso_time(ts) if ts else None


class DocumentsNow(Protocol):
    """Where ``JobOut`` reads the records of a job's documents as they are now: the registry itself, or the
    documents of a page of jobs read at once (``PageDocuments``)."""

    def by_ids(self, tenant: str, doc_ids: Iterable[str]) -> dict[str, DocumentRecord]: ...


class JobErrorOut(BaseModel):
    item: str
    error: str


class JobWarningOut(BaseModel):
    document: str = Field(
        description="The file's name, for the job's starter only (empty for others: see doc_id)."
    )
    doc_id: str
    warning: str


class JobDocumentOut(BaseModel):
    doc_id: str
    name: str


class JobOut(BaseModel):
    """A job as callers see it (server paths, owner process, checkpoint and the operator's ``DETAIL`` of a
    failure stay inside)."""

    id: str
    type: str
    state: str
    phase: str
    done: int
    total: int
    rate: float = Field(
        description="Items per second in this run; 0 when the job has documents you may not see now (it"
        " counts them)."
    )
    eta_s: float | None = Field(
        None, description="Seconds left; null when unknown or when the job has documents you may not see now."
    )
    errors: list[JobErrorOut] = Field(default_factory=list)
    error_count: int = 0
    warnings: list[JobWarningOut] = Field(
        default_factory=list,
        description="An ingest's per-document warnings (a damaged PDF repaired, a skipped picture, OCR"
        " stopped, the same content as another document), the first 200; file names for its starter only;"
        " others read those of the documents they may see now.",
    )
    warning_count: int = 0
    gone: list[JobDocumentOut] = Field(
        default_factory=list,
        description="A folder ingest's documents whose files are no longer in its folders (kept and"
        " searchable until deleted: `DELETE /v1/documents/{id}`), those you may see now, the first 200.",
    )
    pruned: list[JobDocumentOut] = Field(
        default_factory=list,
        description="The documents of `gone` the ingest deleted instead (`figvault ingest --prune`), those"
        " you could see, the first 200.",
    )
    message: str = ""
    started_by: str = ""
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    result: dict[str, Any] = Field(default_factory=dict)
    progress: float | None = Field(
        None,
        description="The share done (0-1): an ingest's by the size of its files when you may see all of"
        " them (one large file is most of the work), else done / total; null before the total is known.",
    )
    withheld: bool = Field(
        False,
        description="A store-wide job (re-encode): done, total, rate, errors, message, starter and the"
        " result's counts are withheld, they describe every tenant's units (`figvault jobs show` on the"
        " server has them).",
    )

    @classmethod
    def page(cls, jobs: Sequence[Job], viewer: Principal, registry: DocumentRegistry) -> list[JobOut]:
        """``of`` each of ``jobs`` (a page of ``GET /v1/jobs``), the documents they name read at once."""
        documents = PageDocuments(registry, jobs, viewer)
        return [cls.of(job, viewer, documents) for job in jobs]

    @classmethod
    def of(cls, job: Job, viewer: Principal | None = None, registry: DocumentsNow | None = None) -> JobOut:
        """``job`` as ``viewer`` may see it (None: anyone who may see it; no file names in warnings, no
        gone documents); ``registry``: where the documents whose files are gone are looked up now."""
        from figvault.pipeline.ingest_job import SECONDS, shown_outcome

        if job.store_wide:
            return cls._store_wide(job)
        named = viewer is not None and is_starter(job, viewer)
        unseen = [] if named else _unseen_outcomes(job, viewer, registry)
        warnings = job_warnings(job, named=named)
        if named:
            warnings = _copy_notes_seen_now(warnings, job, viewer, registry)
        else:
            warnings = _warnings_seen_now(warnings, job, viewer, registry)
        gone, pruned = _gone_lists(job, viewer, registry)
        errors = job.errors if named else _errors_seen_now(job, viewer, registry)
        message, shown = shown_outcome(job, unseen)
        done, total = max(0, job.done - len(unseen)), max(0, job.total - len(unseen))
        result = {
            k: v for k, v in shown.items() if not isinstance(v, dict | list) and k not in (DETAIL, SECONDS)
        }
        return cls(
            warnings=[JobWarningOut(**w) for w in warnings[:MAX_WARNINGS]],
            warning_count=len(warnings),
            gone=[JobDocumentOut(**d) for d in gone[:MAX_WARNINGS]],
            pruned=[JobDocumentOut(**d) for d in pruned[:MAX_WARNINGS]],
            id=job.id,
            type=str(job.type),
            state=str(job.state),
            phase=job.phase,
            done=done,
            total=total,
            # rate x seconds, or the ETA, would count the documents the viewer may not see
            rate=0.0 if unseen else round(job.rate, 3),
            eta_s=round(job.eta_s, 1) if job.eta_s is not None and not unseen else None,
            errors=[JobErrorOut(item=e.item, error=e.error) for e in errors],
            error_count=max(0, job.error_count - _errors_of(unseen)),
            message=message,
            started_by=job.started_by,
            created_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            finished_at=_iso(job.finished_at),
            result=result,
            progress=_progress(job, done, total, whole=not unseen),
        )

    @classmethod
    def _store_wide(cls, job: Job) -> JobOut:
        """What any tenant's admin may know of a store-wide job: its state, phase, progress in tenths, and
        which collections and versions it moves between. Not its ETA nor a finer fraction: the progress
        moves by one batch (64 units) a report, so two fractions to 4 places, or two ETAs and the batch,
        gave the store's unit count, every tenant's, to the unit."""
        result = {k: v for k, v in job.result.items() if k in STORE_WIDE_RESULT_KEYS}
        return cls(
            id=job.id,
            type=str(job.type),
            state=str(job.state),
            phase=job.phase,
            done=0,
            total=0,
            rate=0.0,
            eta_s=None,
            message=f"store-wide job {job.state}: `figvault jobs show {job.id}` on the server has details",
            created_at=_iso(job.created_at),
            started_at=_iso(job.started_at),
            finished_at=_iso(job.finished_at),
            result=result,
            progress=_tenths(job.done, job.total),
            withheld=True,
        )


def _warnings_seen_now(
    warnings: list[dict[str, str]], job: Job, viewer: Principal | None, registry: DocumentsNow | None
) -> list[dict[str, str]]:
    """The warnings of the documents ``viewer`` may see now (an admin: every one of its tenant's), and
    those of no document: one regrouped to groups it is not in, or deleted, since the job is judged as it is
    now, as ``gone`` is. (Its starter, who sent the files, reads them all.)"""
    seen = _seen_now({w["doc_id"] for w in warnings}, job, viewer, registry)
    return [w for w in warnings if seen(w["doc_id"])]


def _copy_notes_seen_now(
    warnings: list[dict[str, str]], job: Job, viewer: Principal | None, registry: DocumentsNow | None
) -> list[dict[str, str]]:
    """The starter's warnings but a copy note naming another document ``viewer`` may not see now: that
    document (its name and id) was one the starter could replace when the job ran, and an admin may have
    given it groups the starter is not in since."""
    from figvault.pipeline.ingest_pipeline import copy_note_of

    copies = {copy_note_of(w["warning"]) or "" for w in warnings}
    seen = _seen_now(copies, job, viewer, registry)
    return [w for w in warnings if seen(copy_note_of(w["warning"]) or "")]


def _unseen_outcomes(
    job: Job, viewer: Principal | None, registry: DocumentsNow | None
) -> list[dict[str, Any]]:
    """The outcomes of the job's documents ``viewer`` may not see now (judged as its errors are), whose
    counts the viewer is not shown (``shown_outcome``)."""
    outcomes = [o for o in job.result.get("documents") or [] if isinstance(o, dict)]
    seen = _seen_now({str(o.get("doc_id") or "") for o in outcomes}, job, viewer, registry)
    return [o for o in outcomes if not seen(str(o.get("doc_id") or ""))]


def _errors_of(outcomes: list[dict[str, Any]]) -> int:
    """How many of a job's errors are about these documents: one for each that failed, one for each unit
    left out of it. Counted from the outcomes, not the errors kept (the first ``MAX_ERRORS_KEPT``): an
    ingest of 300 failing documents counted 100 errors to a viewer who may see none of them."""
    from figvault.pipeline.ingest_pipeline import FAILED

    return sum((o.get("status") == FAILED) + len(o.get("failed_units") or {}) for o in outcomes)


def _errors_seen_now(job: Job, viewer: Principal | None, registry: DocumentsNow | None) -> list[Any]:
    """The job's errors but those of a document ``viewer`` may not see now, judged as the warnings are: a
    failed document an admin has since given groups the viewer is not in, or deleted, is no longer named,
    nor why it failed, nor its units left out (``doc pN (unit_id)``). Errors of no document (a file refused
    before it became one) stay."""
    docs: dict[str, str] = {}
    for o in job.result.get("documents") or []:
        doc_id = str(o.get("doc_id") or "")
        docs[item_label(job, str(o.get("path", "")))] = doc_id
        docs.update(dict.fromkeys(o.get("failed_units") or {}, doc_id))
    seen = _seen_now({docs.get(e.item, "") for e in job.errors}, job, viewer, registry)
    return [e for e in job.errors if seen(docs.get(e.item, ""))]


def _seen_now(
    doc_ids: set[str], job: Job, viewer: Principal | None, registry: DocumentsNow | None
) -> Callable[[str], bool]:
    """Whether ``viewer`` may see now the document of each of ``doc_ids`` ("": no document, shown)."""
    if viewer is None or registry is None or viewer.can(Action.REGROUP):
        return lambda _doc_id: True
    from figvault.pipeline.ingest_job import job_tenant

    tenant = job_tenant(job)
    if tenant != viewer.tenant:
        return lambda doc_id: not doc_id
    found = registry.by_ids(tenant, doc_ids)
    seen = {doc_id for doc_id, record in found.items() if viewer.sees(tenant, record.groups)}
    return lambda doc_id: not doc_id or doc_id in seen


def _gone_lists(
    job: Job, viewer: Principal | None, registry: DocumentsNow | None
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The job's ``gone`` and ``pruned`` documents ``viewer`` may see (``pipeline/gone_files.shown_to``)."""
    if viewer is None or registry is None:
        return [], []
    from figvault.pipeline.ingest_job import job_tenant

    tenant = job_tenant(job)
    entries = job.result.get("gone") or []
    # Read at once, and only where shown_to reads them (another tenant's job shows none).
    now = registry.by_ids(tenant, _gone_ids(job)) if tenant == viewer.tenant else {}
    gone = shown_to(viewer, tenant, entries, now.get)
    return gone, shown_to(viewer, tenant, job.result.get("pruned") or [], None)


def _gone_ids(job: Job) -> set[str]:
    return {str(entry.get("doc_id") or "") for entry in job.result.get("gone") or []}


def _looked_up(job: Job, viewer: Principal) -> set[str]:
    """The ids ``JobOut.of`` reads for ``job`` as ``viewer`` sees it (``_seen_now``, ``_gone_lists``): its
    outcomes' documents for a viewer who may not see every document and did not start it, the copy notes'
    for its starter, the gone ones' for anyone of its tenant."""
    from figvault.pipeline.ingest_job import job_tenant
    from figvault.pipeline.ingest_pipeline import copy_note_of

    if job.store_wide or job_tenant(job) != viewer.tenant:
        return set()
    outcomes = [o for o in job.result.get("documents") or [] if isinstance(o, dict)]
    ids = _gone_ids(job)
    if viewer.can(Action.REGROUP):
        return ids
    if is_starter(job, viewer):
        return ids | {copy_note_of(w) or "" for o in outcomes for w in o.get("warnings") or []}
    return ids | {str(o.get("doc_id") or "") for o in outcomes}


class PageDocuments:
    """The documents a page of jobs names, as they are now, read at once: per job ``JobOut.of`` read the
    registry up to four times and once per gone document (a page of 500 jobs: 3,500 statements, 1.8 s at
    20,000 jobs and documents; a scale audit, 2026-12-07). An id the page did not gather is read as before."""

    def __init__(self, registry: DocumentRegistry, jobs: Sequence[Job], viewer: Principal) -> None:
        self.registry, self.tenant = registry, viewer.tenant
        self.asked = set().union(*(_looked_up(job, viewer) for job in jobs)) - {""}
        self.found = registry.by_ids(self.tenant, self.asked)

    def by_ids(self, tenant: str, doc_ids: Iterable[str]) -> dict[str, DocumentRecord]:
        ids = {doc_id for doc_id in doc_ids if doc_id}
        if tenant != self.tenant or not ids <= self.asked:
            return self.registry.by_ids(tenant, ids)
        return {doc_id: self.found[doc_id] for doc_id in ids if doc_id in self.found}


STORE_WIDE_RESULT_KEYS = frozenset({"source", "target", "source_version", "target_version"})
"""Result fields of a store-wide job that say nothing about any tenant's data."""


def _fraction(done: int, total: int) -> float | None:
    return round(min(1.0, done / total), 4) if total > 0 else None


def _progress(job: Job, done: int, total: int, *, whole: bool) -> float | None:
    """The share of the job done: by file size when it counts that (an ingest, ``jobs.WORK``) and the viewer
    sees every document of it (``whole``: the sizes of documents the viewer may not see are theirs to
    keep), else by documents."""
    share = job.work_fraction if whole else None
    return round(share, 4) if share is not None else _fraction(done, total)


def _tenths(done: int, total: int) -> float | None:
    """``done / total`` rounded down to a tenth (a store-wide job's progress)."""
    return min(10, done * 10 // total) / 10 if total > 0 else None


class JobListOut(BaseModel):
    jobs: list[JobOut]
    next_before: str | None = Field(
        None,
        description="When there may be older jobs: the `before` that lists them (the last job's id).",
    )


class FolderIngestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paths: list[ServerPath] = Field(
        min_length=1, max_length=100, description="Absolute server paths (files or folders)."
    )
    groups: list[Name] = Field(min_length=1, max_length=100, description="Access groups of these documents.")
    prune: bool = Field(
        False,
        description="Delete the documents ingested from these folders whose files are gone (admins;"
        " `figvault ingest --prune`); each is audited. Default: they stay, and the job lists them in `gone`.",
    )
    retry_failed: bool = Field(
        False,
        description="Read again the unchanged files whose last ingest failed for their bytes' sake (corrupt,"
        " encrypted, over a per-document limit; `figvault ingest --retry-failed`). Default: they are skipped"
        " and counted in the result's `failed_before`.",
    )


class StatusOut(BaseModel):
    alias: str
    collection: str | None
    embedding_version: str | None
    """What the alias serves."""
    configured_embedding_version: str | None
    serving_embedding_version: str | None = None
    """What this service's search engine answers with right now."""
    version_matches: bool
    units: int = Field(description="Units of your tenant in the served collection (never the whole store's).")
    collections: list[str]
    reencode_job: JobOut | None = None
