"""The ``ingest`` job: files and folders (uploads, allowed server folders, CLI paths) into the store.

Parameters (``job.params``): ``paths`` (files or folders), ``groups`` (null: each document keeps its
groups, a new one gets ``ingest.default_groups``), ``tenant``, optionally ``tags`` (the documents' tags;
absent: known documents keep theirs), ``doc_id`` (one file: the document's id or name),
``prune`` (true: delete the documents of the job's folders whose files are gone, ``_gone_files``),
``allowed_roots`` (server folders: every file must resolve, symlinks followed, inside one of them),
``uploads`` (``[{"key", "name", "doc_id"}]``: uploaded files waiting in the storage, with their display
name and the document id chosen when the upload was accepted; removed when the job ends, kept while it may
still resume; jobs queued before the storage held uploads carry ``cleanup_dir`` and ``doc_ids`` (path ->
display name) instead) and ``principal`` (``{"user", "groups", "roles", "credential"}``: whose ingest it
is, with the credential it was queued with (``figvault.access.Credential``, checked again before the job
starts and between batches: ``check_caller``), for which
existing documents it may replace, ``figvault.access.may_replace``; absent: the local operator, or for
uploads and server folders queued before it was recorded, nobody's documents).

Resuming is the ingest runner's own idempotence: a document already indexed with the same content hash is
skipped before extraction, unit ids are stable, rows are upserted. So a job interrupted anywhere (kill -9
included) and run again indexes the rest, with nothing duplicated and nothing lost. Each run of the ingest
runner holds the store write lock (shared), so a re-encode never switches the alias between an ingest's
choice of collection and its writes.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from figvault.access import Action, Credential, Principal, Role, may_replace
from figvault.db import Database
from figvault.errors import ExtractionError, FigvaultError, WithheldDetailError, disk_full_cause
from figvault.pipeline.doc_identity import new_doc_id, resolve_target
from figvault.pipeline.extract_worker import ExtractCancelled
from figvault.pipeline.file_digests import FileDigests
from figvault.pipeline.jobs import (
    AWAITING_RETRY,
    CRASHES,
    IN_FLIGHT,
    RUN_AGAIN,
    Job,
    JobCancelled,
    JobContext,
    JobDiskFullError,
    JobInterrupted,
    JobStore,
    JobType,
    carry_result,
    item_label,
)
from figvault.pipeline.registry import DELETED_MEANWHILE, SEEN, DocState, DocumentRecord, DocumentRegistry
from figvault.pipeline.runner import Engine
from figvault.pipeline.stages import StageClock
from figvault.pipeline.store_lock import document_naming_lock, store_write_lock
from figvault.private_dirs import make_private_dirs
from figvault.settings import Settings
from figvault.storage import Storage, write_atomic

if TYPE_CHECKING:
    from figvault.ingest.extract import Bounds
    from figvault.pipeline.ingest_pipeline import FileIdentity

log = logging.getLogger(__name__)


def inside(path: Path, roots: Sequence[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved == root or resolved.is_relative_to(root) for root in roots)


TENANT_PLACEHOLDER = "{tenant}"
"""In a ``service.ingest_allow_dirs`` entry: the caller's tenant name, so each tenant has its own folder."""


def _tenant_folder(raw: str, tenant: str | None) -> str | None:
    """``raw`` with ``{tenant}`` replaced by ``tenant``; None when there is no tenant or its name is not one
    plain folder name (tenant names may hold ``/`` and dots: ``a/../b`` must not reach tenant b's folder)."""
    if TENANT_PLACEHOLDER not in raw:
        return raw
    if tenant is None or "/" in tenant or "\\" in tenant or tenant in (".", ".."):
        return None
    return raw.replace(TENANT_PLACEHOLDER, tenant)


def allowed_roots(settings: Settings, tenant: str | None = None) -> list[Path]:
    """The ingest folders ``tenant`` may read, resolved (symlinks followed); missing ones are left out.
    An entry without ``{tenant}`` is shared by every tenant; one with it is each tenant's own folder."""
    roots = []
    for raw in settings.service.ingest_allow_dirs:
        folder = _tenant_folder(raw, tenant)
        path = Path(folder).expanduser() if folder is not None else None
        if path is not None and path.is_dir():
            roots.append(path.resolve())
    return roots


INGEST_OFF = (
    "server-side ingest is off: no service.ingest_allow_dirs folder of this tenant exists; the operator"
    """ sets one, e.g. FIGVAULT_SERVICE__INGEST_ALLOW_DIRS='["/srv/drop"]' (shared by every tenant) or"""
    """ '["/srv/drop/{tenant}"]' (a folder per tenant)"""
)
"""Said alike whatever folders other tenants have: it names the setting and its form, never a folder."""


def check_allowed(settings: Settings, raw_paths: Sequence[str], tenant: str | None = None) -> list[str]:
    """Resolved paths, each inside a folder ``tenant`` may read; FigvaultError naming the first one that
    is not."""
    roots = allowed_roots(settings, tenant)
    if not roots:
        raise PermissionError(INGEST_OFF)
    out = []
    for raw in raw_paths:
        path = Path(raw)
        if not path.is_absolute():
            raise FigvaultError(f"{raw}: give an absolute path on the server")
        if not inside(path, roots):
            raise PermissionError(f"{raw}: not inside an allowed ingest folder")
        if not path.exists():
            raise FigvaultError(f"{raw}: no such file or folder on the server")
        out.append(str(path.resolve()))
    return out


def _chunks(
    items: Sequence[Path], size: int, suspects: dict[str, int], doc_of: Callable[[Path], str | None]
) -> Iterator[Sequence[Path]]:
    """Batches of ``size`` in input order; a file that was in flight when the job's process died goes
    alone, first, so that a second death is charged to it and not to the documents that flew beside it.
    A batch never holds two files of one document (``doc_of``: uploads of one name or id), so the later
    one replaces the earlier, as when they came one by one."""
    for path in items:
        if suspects.get(str(path)):
            yield [path]
    chunk: list[Path] = []
    docs: set[str] = set()
    for path in (p for p in items if not suspects.get(str(p))):
        doc = doc_of(path)
        if len(chunk) >= size or (doc is not None and doc in docs):
            yield chunk
            chunk, docs = [], set()
        chunk.append(path)
        if doc is not None:
            docs.add(doc)
    if chunk:
        yield chunk


class _EncoderCache:
    """Encoders for the collection the alias serves, built once per version (models load once per job).

    In the service (``engine`` given) an ingest writes the version the alias serves, even while a
    re-encode to the configured one is pending (its catch-up copies these units). On the command line
    (no engine) a configuration that does not produce the served version is an error, as for search.
    """

    def __init__(self, settings: Settings, engine: Any) -> None:
        self.settings = settings
        self.engine = engine
        self._by_version: dict[str, Any] = {}

    def for_served(self, store: Any) -> Any:
        served = store.served_collection()
        if served is None:  # first ingest: the configured encoders create the collection
            from figvault.encoders.factory import build_encoders

            built = build_encoders(self.settings)
            return self._by_version.setdefault(built.embedding_version, built)
        engine_encoders = getattr(self.engine, "encoders", None)
        version = store.layout_of(served).embedding_version
        if engine_encoders is not None and engine_encoders.embedding_version == version:
            return engine_encoders
        recorded = self._engines_recorded(served, version)
        if recorded is not None:
            return recorded
        if version not in self._by_version:
            from figvault.encoders.factory import build_encoders
            from figvault.retrieval.served_encoders import encoders_for_collection

            if self.engine is None:  # strict: IngestRunner reports a mismatch with the fix to apply
                built = build_encoders(self.settings)
                return self._by_version.setdefault(built.embedding_version, built)
            self._by_version[version] = encoders_for_collection(self.settings, store, served)
        return self._by_version[version]

    def _engines_recorded(self, collection: str, version: str) -> Any | None:
        """The service's own encoders of ``collection`` where it serves it with its recorded ones (a
        re-encode pending): a job built a second copy of the same models, loaded beside the service's for
        the whole re-encode."""
        if not getattr(self.engine, "serve_recorded", False):
            return None
        served = self.engine.served()
        if served is None or served[0] != collection or served[2].embedding_version != version:
            return None
        return served[2]


def _status() -> Any:
    """The outcome statuses (``ingest_pipeline``: imported when a job runs, not with this module)."""
    from figvault.pipeline import ingest_pipeline

    return ingest_pipeline


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys(_status().COUNTED, 0)


@dataclass
class _Inputs:
    """The files a job ingests, the named ones that are not there, and the uploads' own names and ids."""

    files: list[Path]
    missing: list[Path]
    identities: dict[str, FileIdentity]
    registered: dict[str, str] = field(default_factory=dict)
    """Upload path -> the document registered for it when the upload was accepted (its new placeholder, or
    the document it replaces): ``deleted_meanwhile`` checks that it is still there."""
    refused: list[dict[str, Any]] = field(default_factory=list)
    """Failed outcomes of files refused before reading (a name that is not UTF-8): counted and shown as
    any failing document."""
    bounds: dict[str, Bounds] = field(default_factory=dict)
    """Path -> where the file must be when it is read (``extract.file_bounds``)."""

    def doc_of(self, path: Path) -> str | None:
        """The document a file goes to when the job knows it (uploads), for ``_chunks``."""
        ident = self.identities.get(str(path))
        return None if ident is None else ident.doc_id or ident.fresh_id or f"name:{ident.name}"


OUTSIDE_ROOTS = "refused: resolves outside the allowed ingest folders"


def _turned_away(path: Path, roots: list[Path] | None) -> str | None:
    """Why a listed file is refused before it is read: a name that is not UTF-8, or (a server-folder job,
    ``roots`` its allowed folders) a path that resolves outside them; None: it is read."""
    from figvault.ingest.extract import NOT_UTF8_NAME, name_not_utf8

    if name_not_utf8(path):
        return NOT_UTF8_NAME
    if roots is not None and not inside(path, roots):
        return OUTSIDE_ROOTS
    return None


def _gather_inputs(ctx: JobContext) -> _Inputs:
    """The job's paths and uploads as files: folders listed, uploads fetched here, files outside the
    allowed folders refused (each a job error), and ``doc_id`` pinned to the one file it names."""
    from figvault.ingest.extract import (
        file_bounds,
        iter_listed,
        printable_path,
        refused_files,
    )
    from figvault.pipeline.ingest_pipeline import FileIdentity

    params = ctx.params
    given = [Path(p) for p in params.get("paths") or []]
    # Uploads: path -> display name, and path -> the document id chosen when the upload was accepted.
    names: dict[str, str] = dict(params.get("doc_ids") or {})
    pinned: dict[str, str] = {}
    fresh: dict[str, str] = {}
    registered: dict[str, str] = {}
    uploads = params.get("uploads") or []
    for (path, name), item in zip(fetch_uploads(ctx.settings, ctx.job.id, uploads), uploads, strict=True):
        given.append(path)
        names[str(path)] = name
        if item.get("doc_id"):  # a new document (its placeholder), or the one it replaces
            (fresh if item.get("new") else pinned)[str(path)] = str(item["doc_id"])
            registered[str(path)] = str(item["doc_id"])
    missing = [p for p in given if not p.exists()]
    listed = list(iter_listed(given))
    files = [path for path, _ in listed]
    roots = None if params.get("allowed_roots") is None else [Path(r) for r in params["allowed_roots"]]
    # Each fails alone, named, never opened (a pipe would block the job's thread); the others go on.
    turned_away = refused_files(given) + [(f, why) for f in files if (why := _turned_away(f, roots))]
    refused = []
    for path, reason in turned_away:
        shown = printable_path(path)
        ctx.error(item_label(ctx.job, shown), reason)
        refused.append({"path": shown, "doc_id": "", "status": "failed", "error": reason})
    files = [f for f in files if not _turned_away(f, roots)]
    if params.get("doc_id"):
        named = len(files) + len(missing)
        if named != 1:
            raise FigvaultError(f"--doc-id names one document, but {named} files were given")
        pinned = {str(files[0]): str(params["doc_id"])} if files else {}
    identities = {
        key: FileIdentity(names.get(key), pinned.get(key), fresh.get(key))
        for key in {*names, *pinned, *fresh}
    }
    kept = set(files)
    bounds = file_bounds([(path, folder) for path, folder in listed if path in kept], roots)
    return _Inputs(files, missing, identities, registered, refused, bounds)


@dataclass
class _Tally:
    """What a job has done so far, over its batches: the counts, outcomes, timings and stage rates of its
    ``result``."""

    total: int
    done: int = 0
    counts: dict[str, int] = field(default_factory=_zero_counts)
    units: int = 0
    pages: int = 0
    ocr_timeouts: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    collection: str = ""
    version: str = ""
    sizes: dict[str, int] = field(default_factory=dict)
    """The bytes of each file the job reads (by path): its progress by size (``jobs.WORK``)."""
    done_bytes: int = 0

    def measure(self, files: Sequence[Path]) -> None:
        """The files whose sizes the progress counts (one that cannot be read: 0, it fails at once)."""
        for path in files:
            try:
                self.sizes[str(path)] = path.stat().st_size
            except OSError:
                self.sizes[str(path)] = 0

    def finished(self, paths: Sequence[Path]) -> None:
        """These files are done (written, skipped or failed): their bytes count as done."""
        self.done_bytes += sum(self.sizes.get(str(p), 0) for p in paths)

    def report(
        self,
        ctx: JobContext,
        checkpoint: dict[str, Any] | None = None,
        *,
        batch_docs: int = 0,
        batch_bytes: int = 0,
    ) -> None:
        """The job's progress: documents, and bytes (its ETA), with a running batch's written ones."""
        work = (self.done_bytes + batch_bytes, sum(self.sizes.values()))
        ctx.progress("ingest", self.done + batch_docs, self.total, checkpoint=checkpoint, work=work)

    def add_failed(self, outcomes: Sequence[dict[str, Any]]) -> None:
        """Files that failed before the runner saw them (not there, quarantined)."""
        self.outcomes.extend(outcomes)
        self.counts[_status().FAILED] += len(outcomes)
        self.done += len(outcomes)

    def add_batch(self, ctx: JobContext, report: Any, files: Sequence[Path]) -> None:
        """One batch's ``IngestReport``: its outcomes counted, its failures recorded as the job's errors."""
        status = _status()
        self.collection, self.version = report.collection, report.embedding_version
        for key, seconds in report.timings.items():
            self.timings[key] = self.timings.get(key, 0.0) + seconds
        _add_stages(self.stages, report.stages)
        for outcome in report.documents:
            self.outcomes.append(dict(outcome.__dict__))
            self.counts[outcome.status] = self.counts.get(outcome.status, 0) + 1
            for unit, reason in outcome.failed_units.items():  # left out; the document goes on
                ctx.error(unit, reason)
            if outcome.status == status.FAILED:
                ctx.error(item_label(ctx.job, outcome.path), outcome.error)
            elif outcome.status in (status.INDEXED, status.REPLACED):
                self.units += outcome.units
                self.pages += outcome.pages
                self.ocr_timeouts += outcome.ocr_timeouts
        self.done += len(files)
        self.finished(files)

    def result(self, seconds: float, tenant: str, engine: str) -> dict[str, Any]:
        """The job's result; FigvaultError when every document failed."""
        status, counts = _status(), self.counts
        result = {
            **counts,
            "units": self.units,
            "pages": self.pages,
            "ocr_timeouts": self.ocr_timeouts,
            SECONDS: round(seconds, 3),
            "tenant": tenant,
            "collection": self.collection,
            "embedding_version": self.version,
            "documents": self.outcomes,
            "timings": self.timings,
            "stages": self.stages,
            "engine": engine,
        }
        if self.total and counts[status.FAILED] == self.total:
            raise FigvaultError(f"{EVERY_DOCUMENT_FAILED} ({_summary(result)}); {SEE_ERRORS}")
        return {"summary": _summary(result), **result}


SECONDS = "seconds"
"""The result's wall-clock seconds, kept to rebuild its summary per viewer (``shown_outcome``); not shown
over HTTP, as the timings are not (``JobOut``), the summary having them already."""
EVERY_DOCUMENT_FAILED = "every document failed"
"""How the message of an ingest job none of whose documents was stored starts."""
SEE_ERRORS = "see the job's errors"
"""How that message ends (the command line names the job there: ``figvault jobs show ID``)."""


def _summary(result: dict[str, Any]) -> str:
    """An ingest job's one-line summary, from its result's counts (``run_summary``)."""
    status = _status()
    counts = {s: int(result.get(s, 0)) for s in status.COUNTED}
    # A job finished before "seconds" was kept: its timings' total is near it.
    seconds = result.get(SECONDS, (result.get("timings") or {}).get("total", 0.0))
    units, pages, lost = (int(result.get(k, 0)) for k in ("units", "pages", "ocr_timeouts"))
    return status.run_summary(counts, units, pages, float(seconds), lost)


def shown_outcome(job: Job, unseen: Sequence[dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """An ingest job's message and result as a viewer who may not see the documents of the outcomes
    ``unseen`` reads them: counted without those (their status, units, pages and lost OCR reads), as its
    errors and warnings are. A job that failed because every document did says so without its counts."""
    if not unseen:
        return job.message, job.result
    status = _status()
    if job.message.startswith(f"{EVERY_DOCUMENT_FAILED} ("):
        return f"{EVERY_DOCUMENT_FAILED}; {SEE_ERRORS}", job.result
    if status.FAILED not in job.result:
        return job.message, job.result
    result = dict(job.result)
    written = (status.INDEXED, status.REPLACED)  # the statuses whose units and pages the tally counts
    for outcome in unseen:
        state = outcome.get("status")
        less = {str(state): 1}
        if state in written:
            less |= {key: int(outcome.get(key) or 0) for key in ("units", "pages", "ocr_timeouts")}
        for key, count in less.items():
            if key in result:
                result[key] = max(0, int(result[key]) - count)
    summary = _summary(result)
    if "summary" in result:
        result["summary"] = summary
    return summary, result


def job_tenant(job: Job) -> str:
    """The tenant an ingest job writes for: the one its params name (a job queued for a tenant by the
    command line or an admin), else the tenant of whoever queued it."""
    return job.params.get("tenant") or job.tenant


def run_ingest_job(ctx: JobContext) -> dict[str, Any]:
    from figvault.pipeline.runner import build_engine

    settings, params = ctx.settings, ctx.params
    tenant = job_tenant(ctx.job)
    interrupted = kept = False
    engine: Engine | None = None
    started = time.perf_counter()
    try:
        check_caller(ctx)
        inputs, files, crashes, tally = _counted_inputs(ctx)
        try:
            # Uploads carry their names and ids (``identities``); they go in batches through the engine's
            # pipeline like folders (params ``engine``/``ray_address``: ``figvault ingest --engine``).
            engine = build_engine(settings, params.get("engine"), ray_address=params.get("ray_address"))
            chunks = list(_chunks(files, settings.ingest.batch_docs, crashes, inputs.doc_of))
            _ingest_batches(ctx, inputs, chunks, crashes, tally, engine)
            result = tally.result(time.perf_counter() - started, tenant, engine.name)
            return result | _gone_files(ctx, tenant)
        except BaseException as exc:
            # A job that fails or is cancelled keeps its documents' outcomes as a finished one does: what
            # each viewer reads of it (errors, counts, rate) is judged by them (``JobOut``).
            carry_result(exc, {"documents": tally.outcomes})
            raise
    except JobInterrupted:
        interrupted = True
        raise
    except CallerRefusedError:
        # Good files, a lapsed credential: they wait for the starter to retry (``retry_upload_job``).
        kept = keeps_for_retry(settings, ctx.job) and ctx.store.progress(ctx.job.id, phase=AWAITING_RETRY)
        raise
    except Exception as exc:
        cause = disk_full_cause(exc)
        if cause is None:
            raise
        # Good files, no room: an upload's wait for a retry once there is (``execute`` records the phase:
        # nothing can be written here before it gives the disk reserve back).
        kept = keeps_for_retry(settings, ctx.job)
        again = _again(ctx.job, settings.jobs.keep_for_retry_h) if kept else RUN_AGAIN
        raise JobDiskFullError(again, cause, keeps_inputs=kept) from exc
    finally:
        if engine is not None:
            engine.close()
        if not interrupted and not kept:
            discard_uploads(settings, ctx.job, ctx.store.db)


def _counted_inputs(ctx: JobContext) -> tuple[_Inputs, list[Path], dict[str, int], _Tally]:
    """The job's inputs, the files to read (less those set aside after crashes), the crash counts, and its
    tally with the files that fail before any is read (not there, refused, set aside) counted; reported."""
    inputs = _gather_inputs(ctx)
    tally = _Tally(total=len(inputs.files) + len(inputs.missing) + len(inputs.refused))
    for path in inputs.missing:  # named but not there: reported like any failing document
        ctx.error(item_label(ctx.job, str(path)), "no such file")
    tally.add_failed([_missing_outcome(path) for path in inputs.missing] + inputs.refused)
    crashes: dict[str, int] = dict(ctx.checkpoint.get(CRASHES) or {})
    spool = ctx.params.get("cleanup_dir") or (
        str(uploads_dir(ctx.settings, ctx.job.id)) if ctx.params.get("uploads") else None
    )
    files, quarantined = _set_aside(ctx, inputs.files, crashes, spool)
    tally.add_failed(quarantined)
    tally.measure(files)
    tally.report(ctx)
    return inputs, files, crashes, tally


def _ingest_batches(
    ctx: JobContext,
    inputs: _Inputs,
    chunks: list[Sequence[Path]],
    crashes: dict[str, int],
    tally: _Tally,
    engine: Engine,
) -> None:
    """Each batch through the engine's pipeline in turn, counted in ``tally``, the next one's files
    extracted ahead while one drains; the cancel and the caller's rights checked between batches."""
    from figvault.retrieval.milvus_store import MilvusUnitStore

    # Each file hashed once: by the look-ahead's worth, or else by the plan; only the file listed is read.
    digests = FileDigests(bounds=inputs.bounds)
    worth = _worth_extracting_ahead(ctx, inputs, digests)
    if chunks:  # the first batch's largest files extract while the store opens and the batch plans
        engine.look_ahead(chunks[0], worth, now=True)
        tally.report(ctx, {IN_FLIGHT: engine.looking_ahead()})
    store = MilvusUnitStore.from_settings(ctx.settings)
    encoders = _EncoderCache(ctx.settings, ctx.services.get("engine"))
    for index, chunk in enumerate(chunks):
        ctx.check_cancel()
        check_caller(ctx)
        # What is in flight, so that a process that dies here charges these documents (jobs.py).
        # (The runner reports each document as its engine starts it, and as it is written; the
        # engine's look-ahead, the next batch's files it extracts while this one drains.)
        batch = _without_deleted(ctx, list(chunk), inputs, tally)
        tally.report(ctx, {IN_FLIGHT: engine.looking_ahead()})
        if not batch:
            continue
        engine.look_ahead(_next_run(chunks, index, crashes), worth)
        report = _run_batch(ctx, batch, inputs, tally, encoders.for_served(store), store, engine, digests)
        tally.add_batch(ctx, report, batch)
        tally.report(ctx, {IN_FLIGHT: engine.looking_ahead()})


def _next_run(chunks: Sequence[Sequence[Path]], index: int, suspects: dict[str, int]) -> list[Path]:
    """The files of the batch after ``chunks[index]``, which the engine may extract while that one drains
    (``Engine.look_ahead``): none beside a file that was in flight at a death, which goes alone so that a
    second death is charged to it only (``_chunks``)."""
    if index + 1 >= len(chunks):
        return []
    both = [*chunks[index], *chunks[index + 1]]
    return [] if any(suspects.get(str(p)) for p in both) else list(chunks[index + 1])


def _worth_extracting_ahead(ctx: JobContext, inputs: _Inputs, digests: FileDigests) -> Callable[[Path], bool]:
    """Whether a file of the next batch is worth extracting before its batch plans it: not when a
    document the job's caller may replace holds its bytes (the plan may skip it as unchanged, and a re-run
    over unchanged files must extract nothing), nor when its upload's document was deleted meanwhile
    (``_without_deleted``). Asked in the job's thread, one file at a time, as a slot frees; the digest
    is kept in ``digests`` for the batch's plan. Documents of groups the caller is not in are not asked
    about: the plan never skips a file as one of them, and the job's timing (a file extracted ahead or
    not) told an uploader that someone out of its sight held the same bytes."""
    registry = DocumentRegistry(ctx.store.db)
    tenant = job_tenant(ctx.job)
    replaceable = _replaceable(ctx, tenant)
    lost = _lost_upload(ctx, inputs)

    def worth(path: Path) -> bool:
        if lost(path):
            return False
        try:
            sha = digests.sha256(path)
        except (OSError, ExtractionError):  # the plan reports it (a pipe swapped in: not a regular file)
            return False
        return not any(replaceable(r) for r in registry.with_content(tenant, sha))

    return worth


def _replaceable(ctx: JobContext, tenant: str) -> Callable[[DocumentRecord], bool]:
    """Whether the job's caller may replace a document (``_replaceable_by``)."""
    return _replaceable_by(job_principal(ctx.params, ctx.job.started_by, tenant))


def _replaceable_by(caller: Principal | None) -> Callable[[DocumentRecord], bool]:
    """Whether ``caller`` may replace a document (``access.may_replace``; None, the command line's job:
    any of the tenant's)."""
    return lambda record: caller is None or may_replace(caller, record.tenant, record.groups)


def _lost_upload(ctx: JobContext, inputs: _Inputs) -> Callable[[Path], bool]:
    """Whether a file is an upload whose document (registered when the upload was accepted) is gone, or,
    for a replacement, no longer the job's caller's to replace: an admin deleted it, or gave it groups the
    caller is not in, while the job waited (in the queue, or for a retry). One rule for both, so that the
    job tells its starter the one sentence (``DELETED_MEANWHILE``) whichever it was: told apart, the
    starter learnt that a document it may no longer see still exists."""
    registry = DocumentRegistry(ctx.store.db)
    tenant = job_tenant(ctx.job)
    replaceable = _replaceable(ctx, tenant)

    def lost(path: Path) -> bool:
        doc_id = inputs.registered.get(str(path))
        if doc_id is None:
            return False
        record = registry.get(tenant, doc_id)
        if record is None:
            return True
        # A replacement only: a new document's placeholder is the upload's own, with the groups it was sent
        # for, which an admin may give without being in them.
        ident = inputs.identities.get(str(path))
        return ident is not None and bool(ident.doc_id) and not replaceable(record)

    return lost


def _without_deleted(ctx: JobContext, chunk: list[Path], inputs: _Inputs, tally: _Tally) -> list[Path]:
    """``chunk`` less the uploads whose document is lost to the job (``_lost_upload``). Ingesting them
    would bring a deleted document back under its id, or replace one its caller may no longer see; each
    is a failed document of the job instead, and nothing of it is written. (A deletion during the batch
    that writes the document is caught by the write: ``IngestRunner._ingest_one``.)"""
    lost = _lost_upload(ctx, inputs)
    gone = [p for p in chunk if lost(p)]
    for path in gone:
        label = item_label(ctx.job, str(path))
        ctx.error(label, DELETED_MEANWHILE)
        tally.add_failed(
            [{"path": label, "doc_id": "", "status": _status().FAILED, "error": DELETED_MEANWHILE}]
        )
    tally.finished(gone)
    return [p for p in chunk if p not in gone]


def _gone_files(ctx: JobContext, tenant: str) -> dict[str, Any]:
    """``gone``: the documents (the job's caller may replace) from the job's folders whose files are no
    longer there (``pipeline/gone_files.py``); with params ``prune``, ``pruned``: those deleted instead."""
    from figvault.pipeline.gone_files import gone_documents, gone_entries
    from figvault.pipeline.ingest_pipeline import delete_document

    principal = job_principal(ctx.params, ctx.job.started_by, tenant)
    registry = DocumentRegistry(ctx.store.db)
    gone = gone_documents(registry, tenant, list(ctx.params.get("paths") or []), _replaceable_by(principal))
    if not ctx.params.get("prune") or not gone:
        return {"gone": gone_entries(gone)}
    check_caller(ctx, action=Action.DELETE)  # an HTTP job's admin, still one now (the CLI's: not checked)
    # Checked again at the last moment: a file back in place keeps its document.
    pruned = [
        r for r in gone if not Path(r.source).exists() and delete_document(ctx.settings, tenant, r.doc_id)
    ]
    audit_delete = ctx.services.get(AUDIT_DELETE)
    if audit_delete is not None and principal is not None:  # the CLI audits its own (`audit_pruned`)
        for record in pruned:
            audit_delete(ctx.store.db, principal, {"doc_id": record.doc_id, "pruned": record.source})
    return {"gone": gone_entries([r for r in gone if r not in pruned]), "pruned": gone_entries(pruned)}


AUDIT_DELETE = "audit_delete"
"""The job services' entry that records a deletion in the audit trail, ``(db, principal, detail)``: the
service's (service/app.py ``_audit_delete``) for a server-folder job's ``prune``."""


def _missing_outcome(path: Path) -> dict[str, Any]:
    failed = _status().FAILED
    return {"path": str(path), "doc_id": "", "name": path.name, "status": failed, "error": "no such file"}


def _run_batch(
    ctx: JobContext,
    chunk: list[Path],
    inputs: _Inputs,
    tally: _Tally,
    encoders: Any,
    store: Any,
    engine: Engine,
    digests: FileDigests,
) -> Any:
    """One batch through the ingest runner, under the store write lock (shared): its ``IngestReport``."""
    from figvault.pipeline.ingest_pipeline import IngestRunner
    from figvault.retrieval.served_encoders import ensure_recorded

    params = ctx.params
    # None (the CLI without --groups): known documents keep their groups, new ones get the default.
    groups: list[str] | None = None if params.get("groups") is None else list(params["groups"])
    tags: list[str] | None = list(params["tags"]) if params.get("tags") is not None else None
    tenant = job_tenant(ctx.job)
    with store_write_lock(ctx.settings, exclusive=False):
        runner = IngestRunner(ctx.settings, encoders=encoders, store=store, engine=engine, digests=digests)
        try:
            report = runner.run(
                chunk,
                groups=groups,
                tenant=tenant,
                # Uploads: the client's (sanitised) file name is the document's name.
                identities=inputs.identities,
                progress=False,
                cancelled=ctx.stop_requested,
                tags=tags,
                on_progress=_progress_reporter(ctx, tally, engine),
                principal=job_principal(params, ctx.job.started_by, tenant),
                id_seed=ctx.job.id,
                retry_failed=bool(params.get("retry_failed")),
                asked_at=ctx.job.created_at,  # resumed or queued: a change asked for since then stays
                seen=params.get(SEEN),
            )
        except ExtractCancelled:
            ctx.check_cancel()  # raises JobCancelled or JobInterrupted, whichever it was
            raise JobCancelled("cancelled on request") from None
        finally:
            runner.conn.close()
        # A collection this job created records how its vectors are made (re-encode, search).
        ensure_recorded(ctx.settings, store)
    return report


STAGES = "stages"
"""Checkpoint key (informational): the running batch's per-stage rates, shown by ``figvault ingest``."""


def _progress_reporter(ctx: JobContext, tally: _Tally, engine: Engine) -> Any:
    """Per written document: the job's progress (documents, and bytes: ``_Tally.report``), the documents
    still in flight (the engine's look-ahead included), and the stage rates."""

    def report(finished: int, in_flight: list[str], clock: StageClock) -> None:
        checkpoint = {IN_FLIGHT: sorted({*in_flight, *engine.looking_ahead()}), STAGES: clock.rates()}
        written = sum(tally.sizes.get(path, 0) for path in clock.written)
        tally.report(ctx, checkpoint, batch_docs=finished, batch_bytes=written)

    return report


def _add_stages(into: dict[str, dict[str, float]], batch: dict[str, dict[str, float]]) -> None:
    """Sum a batch's per-stage counts into the job's, and recompute the rates."""
    for name, counts in batch.items():
        total = into.setdefault(name, {})
        for key in ("docs", "units", "pages", "busy_s"):
            total[key] = round(total.get(key, 0) + counts.get(key, 0), 3)
        busy = total["busy_s"]
        for key in ("docs", "units", "pages"):
            total[f"{key}_per_s"] = round(total[key] / busy, 3) if busy > 0 else 0.0


def _as_seen(groups: Sequence[str], tags: Sequence[str]) -> dict[str, list[str]]:
    return {"groups": sorted(set(groups)), "tags": sorted(set(tags))}


def seen_in_folders(db: Database, principal: Principal, paths: Sequence[str]) -> dict[str, Any]:
    """The groups and tags, now, of each document ``principal`` may replace that a file of ``paths`` (files,
    or folders' files) may become (``doc_identity.resolve_target``: by its name, or the file it was last
    ingested from): a server-folder job's ``SEEN``. Empty for a caller judged by time
    (``Principal.sets_every_group``): one entry a document of a large share is kept in the job's record."""
    from figvault.ingest.extract import iter_input_files
    from figvault.text_checks import display_name

    if principal.sets_every_group:
        return {}
    by_name: dict[str, list[DocumentRecord]] = {}
    by_source: dict[str, list[DocumentRecord]] = {}
    for record in DocumentRegistry(db).list(tenant=principal.tenant):
        if may_replace(principal, record.tenant, record.groups):
            by_name.setdefault(record.name, []).append(record)
            by_source.setdefault(record.source, []).append(record)
    seen: dict[str, Any] = {}
    for path in iter_input_files([Path(p) for p in paths]):
        for record in by_name.get(display_name(path.name), []) + by_source.get(str(path), []):
            seen[record.doc_id] = _as_seen(record.groups, record.tags)
    return seen


def principal_params(principal: Principal) -> dict[str, Any]:
    """The caller as an ingest job records it (``params["principal"]``), with the credential it used
    (``credential``, checked again as the job runs: ``check_caller``) when it has one."""
    recorded: dict[str, Any] = {
        "user": principal.user,
        "account": principal.account,
        "groups": sorted(principal.groups),
        "roles": sorted(principal.roles),
    }
    if principal.credential is not None:
        recorded["credential"] = principal.credential.model_dump(exclude_none=True)
    return recorded


def job_principal(params: dict[str, Any], started_by: str, tenant: str) -> Principal | None:
    """Whose ingest a job is: the recorded caller, never unrestricted; None (the local operator) for a job
    of the command line. An upload or server-folder job without one (queued before callers were recorded)
    replaces nothing: its files become new documents."""
    recorded = params.get("principal")
    if recorded is not None:
        return Principal(
            user=str(recorded.get("user") or started_by),
            account=str(recorded.get("account") or ""),
            tenant=tenant,
            groups=list(recorded.get("groups") or []),
            roles=[Role(r) for r in recorded.get("roles") or []],
        )
    if params.get("uploads") or params.get("allowed_roots") is not None or params.get("cleanup_dir"):
        return Principal(user=started_by, tenant=tenant, groups=[], roles=[Role.EDITOR])
    return None


def check_caller(ctx: JobContext, tenant: str | None = None, action: Action = Action.INGEST) -> None:
    """FigvaultError (the job fails, nothing more is written) when the credential that queued the job may
    no longer ingest into its groups (``credentials.caller_refusal``: an API key revoked, gone, or
    whose user was moved, demoted or left a group; a token expired or no longer accepted; a caller that
    cannot be checked), or do ``action`` in ``tenant`` (default: the job's; a re-encode's admin,
    ``reencode.check_admin``). Jobs without a recorded caller (the command line's) are not checked."""
    from figvault.pipeline.credentials import caller_refusal

    recorded = ctx.params.get("principal")
    if recorded is None:
        return
    groups = ctx.params.get("groups")
    tenant = job_tenant(ctx.job) if tenant is None else tenant
    # The groups the caller had when it queued the job are asked too: they decide which documents the job
    # may replace (``job_principal``), and an editor taken out of one since went on replacing its documents.
    held = recorded.get("groups") or []
    wanted = None if groups is None and not held else sorted({*(groups or []), *held})
    refusal = caller_refusal(
        ctx.store.db, ctx.settings.service, recorded, tenant, wanted, action, starter=ctx.job.started_by_id
    )
    if refusal is None:
        return
    after = _after_refusal(ctx.job, action, ctx.settings.jobs.keep_for_retry_h)
    whole = f"stopped: {refusal.reason}{after}"
    if refusal.private and not ctx.job.store_wide:
        # Every editor who shares one of the job's groups sees its message: that its starter was revoked,
        # demoted, moved or left a group is the operator's to read (the job's detail), not theirs. (A
        # store-wide job's message reaches no HTTP caller: JobOut withholds it.)
        raise WithheldCallerRefusedError(f"stopped: {KEY_USER_STOPPED}{after}", whole)
    raise CallerRefusedError(whole)


class CallerRefusedError(FigvaultError):
    """The credential that queued a job may no longer act for it (``check_caller``); the job fails."""


class WithheldCallerRefusedError(WithheldDetailError, CallerRefusedError):
    """A refusal whose whole reason is the operator's (the starter's standing): the message says less."""


def keeps_for_retry(settings: Settings, job: Job) -> bool:
    """Whether an ingest job refused for its credential keeps its files for a retry: an upload's (a server
    folder's files stay where they are anyway), while ``jobs.keep_for_retry_h`` is on."""
    return bool(job.params.get("uploads")) and settings.jobs.keep_for_retry_h > 0


KEY_USER_STOPPED = (
    "the API key that queued this job no longer allows it (a revoked user, or a changed role, tenant or"
    " group list; an admin sees which with figvault jobs show)"
)
"""The public reason of an ingest stopped by its API-key user's standing (``check_caller``)."""


def _after_refusal(job: Job, action: Action, keep_h: float) -> str:
    """What became of the work of a job its caller's credential stopped, and what to do: a job runs with
    the credential that queued it, so one that waited in the queue past its token's life stops."""
    if action != Action.INGEST:  # a re-encode's admin: reencode.check_admin says what stays
        return ""
    done = (
        "before it ingested anything"
        if job.done == 0
        else f"after {job.done} of {job.total} documents (those stay indexed)"
    )
    again = _again(job, keep_h)
    return (
        f"; it stopped {done}. A job acts with the credential that queued it, checked before it starts"
        f" and between batches: sign in again and {again} (what is indexed already is skipped); for"
        " ingests that wait or run long, use an API key or a longer-lived token"
    )


def _again(job: Job, keep_h: float) -> str:
    """How to run a stopped ingest again: a folder's is started again, an upload's retried while its files
    are kept."""
    if not job.params.get("uploads"):
        return "start it again"
    if keep_h > 0:
        return f"retry it (POST /v1/jobs/{job.id}/retry): its files are kept for {keep_h:g} h, then removed"
    return "upload the files again (uploads are not kept)"


def retry_upload_job(store: JobStore, job: Job, principal: Principal) -> Job:
    """``job``, an upload its lapsed credential stopped (``AWAITING_RETRY``), queued again to act with
    ``principal`` (its starter, signed in again: the caller checks that); it resumes where it stopped, its
    documents' ids unchanged. FigvaultError when it is not awaiting a retry (any more)."""
    params = {**job.params, "principal": principal_params(principal)}
    if not store.retry(job.id, params):
        raise FigvaultError(f"job {job.id} is not waiting for a retry")
    return store.require(job.id)


def _job_folder(job_id: str) -> str:
    return f"jobs/{job_id}"


def _set_aside(
    ctx: JobContext, files: list[Path], crashes: dict[str, int], cleanup: str | None
) -> tuple[list[Path], list[dict[str, Any]]]:
    """Files whose process died ``jobs.quarantine_after`` times while they were in flight are not tried
    again: an upload moves to ``<data_dir>/quarantine/<job id>/`` (kept for the operator), a server file
    stays where it is; each is a failed document of the job, named by its display name."""
    limit = ctx.settings.jobs.quarantine_after
    keep: list[Path] = []
    failed: list[dict[str, Any]] = []
    for path in files:
        if crashes.get(str(path), 0) < limit:
            keep.append(path)
            continue
        label = item_label(ctx.job, str(path))
        reason = (
            f"quarantined: the process ingesting it stopped {crashes[str(path)]} times while on this file;"
            " it is not tried again"
        )
        if cleanup and path.exists() and inside(path, [Path(cleanup).resolve()]):
            target = ctx.settings.data_dir / "quarantine" / ctx.job.id / path.name
            make_private_dirs(target.parent)
            shutil.move(str(path), target)
            # Paths quoted (%r): a file name's line break must not start a forged log line.
            log.warning("job %s: %s (%r) quarantined in %r", ctx.job.id, label, path.name, str(target))
        else:
            log.warning("job %s: %s quarantined (left in place: %r)", ctx.job.id, label, str(path))
        ctx.error(label, reason)
        failed.append({"path": label, "doc_id": "", "status": "failed", "error": reason})
    return keep, failed


def uploads_dir(settings: Settings, job_id: str) -> Path:
    """Where a job's uploaded files are on this machine: in the storage itself when it is a local folder
    (the data folder by default), else a local copy of the shared ones."""
    key = f"{_job_folder(job_id)}/uploads"
    return Storage.from_settings(settings).local_path(key) or settings.data_dir / key


def fetch_uploads(
    settings: Settings, job_id: str, uploads: Sequence[dict[str, str]]
) -> list[tuple[Path, str]]:
    """(local path, document id) of each upload of the job: the files wait in the storage (shared by
    replicas), so whichever replica runs or resumes the job has them; a remote one is copied here first."""
    storage = Storage.from_settings(settings)
    out = []
    for item in uploads:
        local = storage.local_path(item["key"])
        if local is None:
            local = uploads_dir(settings, job_id) / Path(item["key"]).name
            # A missing one is reported like any document that is not there.
            if not local.exists():
                with contextlib.suppress(KeyError):
                    write_atomic(local, storage.read(item["key"]))
        out.append((local, item["name"]))
    return out


def queue_upload_job(
    settings: Settings,
    jobs: JobStore,
    files: Sequence[tuple[str, Path]],
    *,
    groups: Sequence[str],
    tenant: str,
    started_by: str,
    tags: Sequence[str] | None = None,
    principal: Principal | None = None,
    replace: str | None = None,
) -> Job:
    """Move spooled uploads (display name, temp path) into the storage and queue their ingest job; each
    file's document id is in ``job.params["uploads"][i]["doc_id"]``.

    Each file's document is chosen now (``doc_identity.resolve_target`` for ``principal``; None: an editor of
    exactly ``groups``): the one document of that name the caller may replace, else a new one, registered
    at once as a placeholder (state pending, no units), so a second upload of the name before this job
    runs finds it rather than making a twin. ``replace`` (one file only) names the document (id or name) to
    replace, DocumentNotYoursError when it is none the caller may replace. AmbiguousDocumentError when
    several documents the caller may replace carry a name; nothing is queued, moved or registered then.
    The files wait in the storage (the data folder, or ``storage.url`` shared by replicas) until the job
    ends, so a job resumed by another replica has them.
    """
    caller = principal or Principal(
        user=started_by,
        tenant=tenant,
        groups=list(groups),
        roles=[Role.EDITOR],
        credential=Credential(kind="local"),
    )
    if replace is not None and len(files) != 1:
        raise FigvaultError("a document to replace names one file, but several were given")
    job_id = uuid.uuid4().hex[:12]
    registry = DocumentRegistry(jobs.db)
    uploads: list[dict[str, Any]] = []
    seen: dict[str, dict[str, list[str]]] = {}
    try:
        with document_naming_lock(settings):
            for number, (name, spooled) in enumerate(files):
                key = f"{_job_folder(job_id)}/uploads/{number:04d}{spooled.suffix}"
                fresh = new_doc_id(f"{job_id}\0{key}")
                target = resolve_target(
                    registry, caller, name, fresh_id=fresh, doc_id=replace, create_named=False
                )
                if target.doc_id in seen:  # the later file would silently replace the earlier one
                    raise FigvaultError(f"two files named {name[:80]!r} in one upload: upload them apart")
                new = target.doc_id == fresh
                if new:
                    registry.put(placeholder(target.doc_id, tenant, name, groups, tags))
                known = None if new else target.known
                seen[target.doc_id] = (
                    _as_seen(known.groups, known.tags) if known else _as_seen(groups, tags or [])
                )
                uploads.append({"key": key, "name": name, "doc_id": target.doc_id, "new": new})
        storage = Storage.from_settings(settings)
        for item, (_, spooled) in zip(uploads, files, strict=True):
            storage.move_in(item["key"], spooled)
        params: dict[str, Any] = {
            "uploads": uploads,
            "groups": sorted(set(groups)),
            "tenant": tenant,
            "principal": principal_params(caller),
            SEEN: seen,
        }
        if tags is not None:
            params["tags"] = sorted(set(tags))
        return jobs.create(
            JobType.INGEST,
            params,
            started_by=started_by,
            started_by_id=caller.identity,
            tenant=tenant,
            job_id=job_id,
        )
    except BaseException:
        drop_placeholders(registry, tenant, uploads)
        # No job names this folder, so nothing else would ever remove what was moved in: on a full disk a
        # partial upload kept the space the operator then freed.
        with contextlib.suppress(Exception):
            Storage.from_settings(settings).delete_tree(_job_folder(job_id))
        raise


def placeholder(
    doc_id: str, tenant: str, name: str, groups: Sequence[str], tags: Sequence[str] | None
) -> DocumentRecord:
    """The record of an accepted upload's new document until its job ingests it."""
    return DocumentRecord(
        doc_id=doc_id,
        tenant=tenant,
        name=name,
        state=DocState.PENDING,
        groups=list(groups),
        tags=list(tags or []),
    )


def discard_uploads(settings: Settings, job: Job, db: Database) -> None:
    """What an ended ingest job (done, failed or cancelled, never one that may resume) leaves of its
    uploads: the files go, and so does each new document's placeholder no ingest wrote to; a document the
    job wrote (indexed, or failed with its reason) and one it would have replaced stay. Idempotent."""
    params = job.params
    tenant = job_tenant(job)
    if params.get("cleanup_dir"):
        shutil.rmtree(params["cleanup_dir"], ignore_errors=True)
    if params.get("uploads"):
        drop_placeholders(DocumentRegistry(db), tenant, params["uploads"])
        Storage.from_settings(settings).delete_tree(_job_folder(job.id))
        shutil.rmtree(settings.data_dir / _job_folder(job.id), ignore_errors=True)


def drop_placeholders(registry: DocumentRegistry, tenant: str, uploads: Sequence[dict[str, Any]]) -> None:
    """Remove the placeholders of these uploads that no ingest has touched (a job refused, cancelled or
    ended before reaching them); a document an ingest wrote to (its content hash set) stays."""
    for item in uploads:
        if not item.get("new"):
            continue
        registry.delete_placeholder(tenant, item["doc_id"])
