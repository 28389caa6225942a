"""Incremental ingest: files -> figure units -> vectors -> Milvus, recorded in the document registry.

A clip-retrieval-style runner in three stages: the reader extracts documents (parallel processes), the
mapper encodes the units in batches (CLIP image vectors of the PNGs, text vectors of the unit text), the
writer stores image blobs and upserts the rows. The stages are ``pipeline/stages.py``; an engine
(``pipeline/runner.py``: pipelined on this machine by default, or Ray) runs extract and encode, and this
runner plans and writes, in the calling thread. Per document:

- unchanged (same doc_id and content hash, indexed, same embedding version): skipped before extraction;
- unchanged but given other groups or tags (``--groups``, ``--tags``): its units rewritten in place
  (``UPDATED``), nothing extracted or encoded again;
- changed: the new units are written first, then the old units of that doc_id not in the new set are
  deleted, so a crash in between leaves the document with (old and) new units, never none;
- failing: recorded in the registry with its one-line reason; the batch goes on.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from figvault.access import Principal, groups_after_replace, local_operator, may_replace
from figvault.errors import ExtractionError, FigvaultError, VersionMismatchError, operator_line, public_line
from figvault.ingest.extract import CHANGED_SINCE_READ
from figvault.ingest.ocr import ocr_lost
from figvault.pipeline import sources
from figvault.pipeline.doc_identity import AmbiguousDocumentError, is_placeholder, new_doc_id, resolve_target
from figvault.pipeline.document_files import (
    LeftFiles,
    files_of,
    forget_note,
    note_new_files,
    note_replaced,
    sweep_note_later,
)
from figvault.pipeline.extract_worker import ExtractCancelled
from figvault.pipeline.failures import TRANSIENT, failed_before, failure_kind, unreadable_reason
from figvault.pipeline.file_digests import FileDigests
from figvault.pipeline.registry import (
    DELETED_MEANWHILE,
    DocState,
    DocumentRecord,
    DocumentRegistry,
    Rewrite,
    asked_field,
    asked_since,
    connect,
    seen_later,
    set_later,
)
from figvault.pipeline.regroup import DocumentNotFoundError, finish_rewrite, restamp_units, update_or_undo
from figvault.pipeline.runner import Engine, build_engine
from figvault.pipeline.stages import DocSpec, PreparedDoc, StageClock, rate_text
from figvault.pipeline.store_lock import store_write_lock
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ACL_KEY, F_GROUPS, F_TAGS, StoreLayout, unit_to_row
from figvault.retrieval.served_encoders import ingest_mismatch_line
from figvault.settings import Settings
from figvault.storage import BlobStore
from figvault.text_checks import display_name

log = logging.getLogger(__name__)

SKIPPED = "skipped"
INDEXED = "indexed"
REPLACED = "replaced"
FAILED = "failed"
FAILED_BEFORE = "failed_before"
"""A file that failed before for its bytes' sake (``pipeline/failures.py``), unchanged: not read again."""
UPDATED = "updated"
"""An unchanged file whose stored document is given other groups or tags: its units rewritten in place
(``regroup.restamp_units``), as ``documents set-groups`` and ``set-tags`` do, nothing read again."""
COUNTED = (INDEXED, REPLACED, SKIPPED, FAILED, FAILED_BEFORE, UPDATED)
"""The outcome statuses a run's summary counts, and an ingest job's result (``pipeline/ingest_job.py``)."""


def run_summary(
    counts: Mapping[str, int], units: int, pages: int, seconds: float, ocr_timeouts: int = 0
) -> str:
    """The CLI's and the ingest job's summary: ``"2 new, 0 replaced, 1 unchanged, 0 failed; 14 units from 9
    pages in 3.2s, 4.4 units/s, 2.81 pages/s"``; rates only when units were written (``rate_text``);
    ``ocr_timeouts`` when there were some (``ingest.ocr.ocr_lost``); the files that failed before and
    were skipped (``FAILED_BEFORE``), and the documents given other groups or tags in place (``UPDATED``),
    when there were some."""
    rates = [rate_text(units, seconds, "units"), rate_text(pages, seconds, "pages", ".2f")] if units else []
    before, updated = counts.get(FAILED_BEFORE, 0), counts.get(UPDATED, 0)
    return (
        f"{counts.get(INDEXED, 0)} new, {counts.get(REPLACED, 0)} replaced,"
        f" {counts.get(SKIPPED, 0)} unchanged, {counts.get(FAILED, 0)} failed;"
        f" {units} units from {pages} pages in {seconds:.1f}s"
        + "".join(f", {rate}" for rate in rates if rate)
        + (f"; {ocr_lost(ocr_timeouts)}" if ocr_timeouts else "")
        + (f"; {before} failed before, unchanged: skipped" if before else "")
        + (f"; {updated} given other groups or tags in place" if updated else "")
    )


GROUPS_TAKEN_AWAY = "no longer visible to group"
"""How the warning of a document whose ``--groups`` left some of its groups out starts
(``_groups_taken_away``); only the job's starter is shown it over HTTP: group names are not shown to
those outside them."""


def _groups_taken_away(before: Sequence[str], after: Sequence[str]) -> list[str]:
    """The warning of a document whose groups an ingest's ``--groups`` replaced, naming those left out:
    ``--groups`` replaces a stored document's groups (as ``documents set-groups`` does), and a run with
    other groups took a group's access away saying only "given other groups or tags in place" (a first-hour
    audit). An editor's run keeps the groups it is not in (``access.groups_after_replace``): it names only
    groups of its own."""
    removed = sorted(set(before) - set(after))
    if not removed:
        return []
    plural = "s" if len(removed) > 1 else ""
    return [f"{GROUPS_TAKEN_AWAY}{plural} {', '.join(removed)}: --groups replaces a document's groups"]


CHANGED_MEANWHILE = "changed by another ingest while this one ran: run this one again"
"""Why a document given other groups or tags in place was left as it was: its record changed between this
run's plan and its write (``IngestRunner._restamp``)."""
COPY_NOTE = "same content as document"
"""How the warning that names another document with the same bytes starts (``_copy_notes``); only the job's
starter is shown it over HTTP (``pipeline/job_warnings.py``)."""
_COPY_OF = re.compile(r"\(([^()\s]+)\): a renamed or copied file")


def copy_note_of(warning: str) -> str | None:
    """The id of the other document a copy note (``COPY_NOTE``) names; None for another warning, "?" for a
    copy note whose id cannot be read (shown to nobody who may not see every document)."""
    if not warning.startswith(COPY_NOTE):
        return None
    found = _COPY_OF.search(warning)
    return found.group(1) if found else "?"


@dataclass
class DocumentOutcome:
    path: str
    doc_id: str
    status: str
    """skipped, indexed (new), replaced (changed file), failed, failed_before (failed before for its bytes'
    sake, unchanged: not read again; ``error`` is that failure's reason)."""
    units: int = 0
    pages: int = 0
    removed: int = 0
    """Old units of a changed document that the new version no longer has."""
    error: str = ""
    warnings: list[str] = field(default_factory=list)
    ocr_timeouts: int = 0
    """Figures whose OCR ``extract.ocr_timeout_s`` stopped (``DocumentExtraction.ocr_timeouts``)."""
    failed_units: dict[str, str] = field(default_factory=dict)
    """Units left out because they could not be encoded: ``"doc pN (unit_id)"`` -> reason."""
    name: str = ""
    """The document's name (the file name people see); ``doc_id`` is empty when the file was refused before
    it became a document (an ambiguous or unusable name)."""


def ambiguous_in_job(name: str) -> str:
    """Why a file whose name several documents the caller may replace carry failed, as its job says it.
    Not ``AmbiguousDocumentError``'s own text: that names their ids and count, and a job's errors are read
    by everyone who shares one of its groups, while those documents may be of the starter's other groups."""
    return (
        f"several documents you may replace are named {name[:80]!r}: give the id of the one to replace"
        " (figvault ingest --doc-id, an upload's doc_id; figvault documents list, GET /v1/documents show ids)"
    )


def _labels(
    groups: Sequence[str], tags: Sequence[str], groups_asked_at: float, tags_asked_at: float
) -> dict[str, Any]:
    """A record's groups and tags, with when each was asked for (``DocumentRecord``'s fields)."""
    return {
        "groups": list(groups),
        "tags": list(tags),
        "groups_asked_at": groups_asked_at,
        "tags_asked_at": tags_asked_at,
    }


def _asked_later(known: DocumentRecord, asked: Mapping[str, float]) -> dict[str, float]:
    """The labels (``asked_field``s) this run asks for later than ``known`` records them asked for."""
    return {field: at for field, at in asked.items() if at > getattr(known, field)}


@dataclass(frozen=True)
class _Planned:
    """A file on its way in: the document it becomes and what that document was (None: a new one)."""

    doc_id: str
    name: str
    sha: str
    groups: list[str]
    known: DocumentRecord | None
    notes: tuple[str, ...] = ()
    """Warnings known before extraction (the file is a copy of another document)."""
    source: str = ""
    """Where the file was read from, as given (``DocumentRecord.source``); empty for an upload."""
    tags: tuple[str, ...] = ()
    """The tags the document gets (sorted)."""
    groups_asked_at: float = 0.0
    """When what gives it these groups was asked for (``DocumentRecord.groups_asked_at``)."""
    tags_asked_at: float = 0.0
    """The same for its tags."""


@dataclass(frozen=True)
class _Request:
    """What a run was asked, as planning needs it: who asks, the groups and tags to give (None: keep a
    known document's), the seed of new ids, and each file's identity (name, document id, fresh id)."""

    caller: Principal
    groups: Sequence[str] | None
    tags: Sequence[str] | None
    id_seed: str | None
    identity: Callable[[Path], FileIdentity]
    retry_failed: bool = False
    """Read files that failed before for their bytes' sake again, though unchanged."""
    asked_at: float = 0.0
    """When the run was asked for (a job's creation): a document whose groups or tags were changed by a
    request made after it keeps them (``registry.set_later``)."""
    seen: Mapping[str, Any] | None = None
    """What the caller was shown of each document when it asked (``registry.SEEN``); None: nothing kept."""


@dataclass
class IngestReport:
    tenant: str
    collection: str
    embedding_version: str
    documents: list[DocumentOutcome] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: hash, extract, phash, encode_images, encode_texts, blobs, write, delete, flush,
    total (extract: the workers' busy time, summed)."""
    stages: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per stage (extract, encode, write): docs, units, pages, busy_s and the rates per busy second."""
    engine: str = ""

    def count(self, status: str) -> int:
        return sum(1 for d in self.documents if d.status == status)

    @property
    def units(self) -> int:
        return sum(d.units for d in self.documents if d.status in (INDEXED, REPLACED))

    @property
    def pages(self) -> int:
        return sum(d.pages for d in self.documents if d.status in (INDEXED, REPLACED))

    @property
    def ocr_timeouts(self) -> int:
        return sum(d.ocr_timeouts for d in self.documents if d.status in (INDEXED, REPLACED))

    @property
    def failed(self) -> list[DocumentOutcome]:
        return [d for d in self.documents if d.status == FAILED]

    def summary(self) -> str:
        counts = {status: self.count(status) for status in COUNTED}
        return run_summary(counts, self.units, self.pages, self.timings.get("total", 0.0), self.ocr_timeouts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "collection": self.collection,
            "embedding_version": self.embedding_version,
            "documents": [d.__dict__ for d in self.documents],
            "timings": self.timings,
            "stages": self.stages,
            "engine": self.engine,
            "units": self.units,
            "pages": self.pages,
        }


Hook = Callable[[str, DocumentOutcome], None]
"""Called between stages with a stage name ("written", ...) and the document's outcome so far."""
Progress = Callable[[int, list[str], StageClock], None]
"""Called in the runner's thread as documents finish: how many of the run's are done, the paths still in
flight (started, not yet written), and the stage clock."""


def store_layout(encoders: Any) -> StoreLayout:
    return StoreLayout.from_channels(
        encoders.embedding_version, encoders.channels(), lexical=encoders.lexical
    )


@dataclass(frozen=True)
class FileIdentity:
    """Which document one file of a run becomes: ``IngestRunner.run``'s ``display_name``, ``doc_id`` and
    ``fresh_id``, for that file alone (an upload job's files, run as one batch)."""

    name: str | None = None
    doc_id: str | None = None
    fresh_id: str | None = None


class IngestRunner:
    def __init__(
        self,
        settings: Settings,
        *,
        encoders: Any | None = None,
        store: MilvusUnitStore | None = None,
        hook: Hook | None = None,
        engine: Engine | None = None,
        digests: FileDigests | None = None,
    ) -> None:
        """``digests``: the job's file hashes, shared with its look-ahead (none: this runner's own)."""
        if encoders is None:
            from figvault.encoders.factory import build_encoders

            encoders = build_encoders(settings)
        self.settings = settings
        self.encoders = encoders
        self.store = store or MilvusUnitStore.from_settings(settings)
        self.conn = connect(settings)
        self.registry = DocumentRegistry(self.conn)
        self.acl_sets = AclSetTable(self.conn)
        self.blobs = BlobStore.from_settings(settings)
        self.hook = hook
        self.engine = engine or build_engine(settings)
        self.digests = digests or FileDigests()
        self.layout = self.store.supported_layout(store_layout(encoders))

    def target_collection(self) -> str:
        """The served collection; created (with the alias) on first ingest. Another version: an error."""
        served = self.store.served_collection()
        if served is not None:
            layout = self.store.layout_of(served)
            if layout.embedding_version != self.layout.embedding_version:
                # The CLI checked before its job (commands/ingest.py); the store may have switched since.
                configured = self.layout.embedding_version
                raise VersionMismatchError(
                    ingest_mismatch_line(self.settings, self.store, served, configured)
                )
            self.store.ensure_loaded(served)
            return served
        return self.store.ensure_collection(self.layout)

    def run(
        self,
        paths: Sequence[Path],
        *,
        groups: Sequence[str] | None,
        tenant: str,
        doc_id: str | None = None,
        display_name: str | None = None,
        progress: bool = True,
        cancelled: Callable[[], bool] | None = None,
        tags: Sequence[str] | None = None,
        on_progress: Progress | None = None,
        principal: Principal | None = None,
        id_seed: str | None = None,
        fresh_id: str | None = None,
        identities: Mapping[str, FileIdentity] | None = None,
        retry_failed: bool = False,
        asked_at: float | None = None,
        seen: Mapping[str, Any] | None = None,
    ) -> IngestReport:
        """``groups`` None (no ``--groups``): a document already in the registry keeps its groups, a new one
        gets ``ingest.default_groups``; so a routine re-run never undoes ``documents set-groups``.
        ``display_name`` (one file only) replaces the file's own name in results: uploads are stored under
        server-chosen names, and the client's name must never become a path. ``tags`` None: a known document
        keeps its tags, a new one has none.

        Each document is extracted in a worker process under the per-document limits
        (``pipeline/extract_worker.py``); ``cancelled`` is asked while one runs, and a true answer kills it
        and raises ExtractCancelled (what was stored before stays). Extraction and encoding run in the
        runner's engine, overlapped; the writes happen here, in input order's spirit but as documents come
        out of the pipeline (the report lists them in input order).

        Which document each file becomes: ``pipeline/doc_identity.resolve_target`` for ``principal`` (None:
        the local operator of ``tenant``), by ``doc_id`` (an id or name) when given, else by the file's
        name; a new document's id is ``fresh_id`` (one file: the id its upload was given), else derived from
        ``id_seed`` and the path (a job's id: the same file gets the same id when the job resumes), else
        random. ``identities`` gives files (by path) their own name and ids instead: several uploads in
        one run; the caller keeps two files of one document out of one run.

        A file of a folder or path (not an upload) whose document failed for its bytes' sake
        (``pipeline/failures.py``) and which is unchanged is not read again (``FAILED_BEFORE``) unless
        ``retry_failed``.

        ``asked_at`` (unix time; None: now) is when the run was asked for, a job's creation: a document
        whose groups or tags were set by a request made after it (a ``set-groups``, a newer ingest) keeps
        them; its file is still read when it changed. A job resumed after a crash, or queued behind such a
        change, gave the groups it was asked for back. A caller who does not see every group judges by
        ``seen`` instead (``registry.seen_later``: what it was shown of each document when it asked), so
        that a change to groups it is not in does not show in its results."""
        started = time.perf_counter()
        caller = principal if principal is not None else local_operator(tenant)
        if caller.tenant != tenant:
            raise FigvaultError(f"a caller of tenant {caller.tenant!r} cannot ingest into {tenant!r}")
        report = IngestReport(
            tenant=tenant,
            collection=self.target_collection(),
            embedding_version=self.layout.embedding_version,
        )
        given = FileIdentity(display_name, doc_id, fresh_id)
        one_file = (doc_id or display_name or fresh_id) is not None
        files = self._existing_files(paths, report, given if one_file else None, identities)

        def identity(path: Path) -> FileIdentity:
            return (identities or {}).get(str(path), given)

        asked = time.time() if asked_at is None else asked_at
        request = _Request(caller, groups, tags, id_seed, identity, retry_failed, asked, seen)
        todo, restamps = self._plan(files, report, request)
        report.timings["hash"] = time.perf_counter() - started
        self._restamp_all(report, restamps, cancelled)
        specs = [self._spec(i, path, plan, tenant) for i, (path, plan) in enumerate(todo)]
        clock = self._write_all(
            report, specs, dict(todo), cancelled, on_progress, _progress(len(todo), progress)
        )
        self._finish(report, specs, clock)
        report.timings["total"] = time.perf_counter() - started
        return report

    def _finish(self, report: IngestReport, specs: Sequence[DocSpec], clock: StageClock) -> None:
        """The report in input order, with the run's timings and stage rates; the writes flushed."""
        order = {str(spec.path): spec.index for spec in specs}
        report.documents.sort(key=lambda d: order.get(d.path, -1))
        for key, seconds in clock.timings.items():
            _add(report.timings, key, seconds)
        report.timings["extract"] = clock.stages["extract"].busy_s
        report.stages, report.engine = clock.rates(), self.engine.name
        if report.count(INDEXED) or report.count(REPLACED):
            t = time.perf_counter()
            self.store.flush(report.collection)
            report.timings["flush"] = time.perf_counter() - t

    def _existing_files(
        self,
        paths: Sequence[Path],
        report: IngestReport,
        given: FileIdentity | None,
        identities: Mapping[str, FileIdentity] | None,
    ) -> list[Path]:
        """The files of ``paths`` (folders listed); a path that is not there is a failed document. A
        ``given`` name or id (None: none given) names one file: FigvaultError when there are several."""
        from figvault.ingest.extract import iter_input_files, refused_files

        def name_of(path: Path) -> str:
            return (identities or {}).get(str(path), given or FileIdentity()).name or display_name(path.name)

        missing = [p for p in paths if not Path(p).exists()]
        files = list(iter_input_files([p for p in paths if Path(p).exists()]))
        if given is not None and len(files) + len(missing) != 1:
            raise FigvaultError(
                f"--doc-id names one document, but {len(files) + len(missing)} files were given"
            )
        for p in missing:
            report.documents.append(
                DocumentOutcome(str(p), "", FAILED, error="no such file", name=name_of(p))
            )
        # A file the job listed that is a pipe or a device by now (swapped meanwhile) fails, named: this
        # listing left it out, and the job said nothing of it (a review, 2026-12-06).
        listed = {str(f) for f in files}
        named = [Path(p) for p in paths if str(p) not in listed and not Path(p).is_dir()]
        for path, reason in refused_files(named):
            report.documents.append(DocumentOutcome(str(path), "", FAILED, error=reason, name=name_of(path)))
        return files

    def _plan(
        self, files: list[Path], report: IngestReport, request: _Request
    ) -> tuple[list[tuple[Path, _Planned]], list[tuple[Path, _Planned]]]:
        """Which document each file becomes: the files to ingest, and the unchanged ones whose document
        only gets other groups or tags (rewritten in place: ``_restamp_all``). Other unchanged files are
        skipped before the (expensive) extraction, refused and unreadable ones fail; both go into
        ``report``."""
        todo: list[tuple[Path, _Planned]] = []
        restamps: list[tuple[Path, _Planned]] = []
        twins: dict[str, tuple[str, str]] = {}  # content hash -> (name, id) of a new document of this run
        noted: dict[str, dict[str, float]] = {}  # skipped documents' labels, as a later request asked them
        taken: set[str] = set()  # documents a file of this run already goes to
        for path in files:
            ident = request.identity(path)
            name = ident.name or display_name(path.name)  # the path stays exact (``source``)
            seed = request.id_seed
            # An upload's path is the server's spool file, not where the document came from.
            source = "" if ident.name else str(path)
            try:
                sha, unreadable = self.digests.sha256(path), None
            except (OSError, ExtractionError) as exc:  # also a pipe or device swapped in: this file fails
                sha, unreadable = "", unreadable_reason(exc)
            fresh_id = ident.fresh_id or new_doc_id(f"{seed}\0{path}" if seed else None)
            try:
                target = resolve_target(
                    self.registry,
                    request.caller,
                    name,
                    doc_id=ident.doc_id,
                    fresh_id=fresh_id,
                    sha256=sha,
                    source=source,
                    groups=request.groups,
                )
            except FigvaultError as exc:  # refused before anything is written: no record changes
                error = ambiguous_in_job(name) if isinstance(exc, AmbiguousDocumentError) else str(exc)
                report.documents.append(DocumentOutcome(str(path), "", FAILED, error=error, name=name))
                continue
            did, known = target.doc_id, target.known
            if did in taken and ident.doc_id is None:  # two files of one name, one document (an upload's,
                # or one whose file is gone): the first takes it, this one is a document of its own (both
                # replaced it in turn, and only the last stayed; an audit, 2026-12-07)
                did, known = fresh_id, self.registry.get(request.caller.tenant, fresh_id)
            taken.add(did)
            if known is not None and known.rewriting:  # a stopped process's in-place change, finished first:
                try:  # whatever this run does next (skip, fail new bytes, set other groups) starts in step
                    known = finish_rewrite(self.registry, self.acl_sets, self.store, known)
                except Exception as exc:  # fails this document alone; the mark stays for the next run
                    error = DELETED_MEANWHILE if isinstance(exc, DocumentNotFoundError) else public_line(exc)
                    report.documents.append(DocumentOutcome(str(path), did, FAILED, error=error, name=name))
                    continue
            doc_groups, doc_tags, asked = self._access_for(request, known)
            if unreadable is not None:
                plan = _Planned(did, name, "", doc_groups, known, source=source, tags=doc_tags, **asked)
                self._fail(report, path, plan, report.tenant, unreadable)
                continue
            if source and not request.retry_failed and failed_before(known, sha):
                assert known is not None
                self._relabel_unindexed(known, doc_groups, doc_tags, asked)
                if newer := _asked_later(known, asked):  # as for an unchanged file, below
                    noted[did] = newer
                report.documents.append(
                    DocumentOutcome(str(path), did, FAILED_BEFORE, error=known.error, name=name)
                )
                continue
            if self._unchanged(known, sha, report.collection, doc_groups, doc_tags):
                assert known is not None
                # Moved, or indexed before sources were recorded. An upload of the same bytes says nothing
                # of where the file lies: the folder it was ingested from still holds it (gone, prune).
                if source and known.source != source:
                    self.registry.set_source(report.tenant, did, source)
                if newer := _asked_later(known, asked):  # an older job resumed later leaves it so
                    noted[did] = newer
                report.documents.append(
                    DocumentOutcome(str(path), did, SKIPPED, units=known.units, name=name)
                )
                continue
            if self._restampable(known, sha, report.collection):
                planned = _Planned(did, name, sha, doc_groups, known, source=source, tags=doc_tags, **asked)
                restamps.append((path, planned))
                continue
            new = known is None or is_placeholder(known)  # an accepted upload's document is new too
            notes = self._copy_notes(request.caller, did, sha, twins) if new else ()
            if new and sha:
                twins.setdefault(sha, (name, did))
            todo.append((path, _Planned(did, name, sha, doc_groups, known, notes, source, doc_tags, **asked)))
        if noted:
            self.registry.note_asked(report.tenant, noted)
        return todo, restamps

    def _access_for(
        self, request: _Request, known: DocumentRecord | None
    ) -> tuple[list[str], tuple[str, ...], dict[str, float]]:
        """A planned document's groups, tags, and when each was asked for (``asked_field``): the run's
        (``_groups_for``; tags None: a known document's), but a label a request made after the run's set
        stays. Judged by time for a caller whose groups replace all of a document's; an editor by what it
        sees (``registry.seen_later``), or by time for a document made after its job was queued."""
        caller = request.caller
        later = None if caller.sets_every_group else seen_later(known, caller, request.seen or {})
        if later is None:
            later = set_later(known, request.asked_at)
        if later:
            log.info(
                "%s: %s set after this ingest was asked for: kept", known and known.doc_id, sorted(later)
            )
        groups = None if "groups" in later else request.groups
        tags = None if "tags" in later else request.tags
        doc_tags = sorted(set(tags)) if tags is not None else (list(known.tags) if known else [])
        asked = {
            asked_field(label): self._asked(known, label, given is not None, request.asked_at)
            for label, given in (("groups", groups), ("tags", tags))
        }
        return self._groups_for(caller, groups, known), tuple(doc_tags), asked

    @staticmethod
    def _asked(known: DocumentRecord | None, label: str, given: bool, asked_at: float) -> float:
        """When what a planned document gets of ``label`` was asked for: the run's time for a new document
        or a label the run gives (never back: a later change stays the later one), else the known one's."""
        if known is None:
            return asked_at
        return asked_since(known, label, asked_at) if given else float(getattr(known, asked_field(label)))

    def _copy_notes(
        self, caller: Principal, doc_id: str, sha: str, twins: Mapping[str, tuple[str, str]]
    ) -> tuple[str, ...]:
        """A warning for a new document whose bytes another one the caller may edit holds, or a new one of
        this run (``twins``: two copies in one folder said nothing): a renamed file becomes a new document
        while the old one stays, and search then shows both."""
        copies = [
            (r.name, r.doc_id, "")
            for r in self.registry.with_content(caller.tenant, sha)
            if r.doc_id != doc_id and may_replace(caller, r.tenant, r.groups)
        ]
        if sha in twins and twins[sha][1] != doc_id:
            copies.append((*twins[sha], " of this ingest"))
        if not copies:
            return ()
        name, other, where = copies[0]
        return (
            f"{COPY_NOTE} {name!r}{where} ({other}): a renamed or copied file becomes a new document"
            " and the other stays until it is deleted",
        )

    def _restampable(self, known: DocumentRecord | None, sha: str, collection: str) -> bool:
        """Whether the stored document is this file, indexed with this run's vectors and in its collection:
        then what else differs (its groups, its tags) is rewritten in place."""
        return (
            known is not None
            and known.state == DocState.INDEXED
            and not known.rewriting  # a crash came in the middle of a rewrite (``_plan`` finishes it first)
            and bool(sha)
            and known.sha256 == sha
            and known.embedding_version == self.layout.embedding_version
            and known.collection == collection
        )

    def _unchanged(
        self,
        known: DocumentRecord | None,
        sha: str,
        collection: str,
        groups: Sequence[str],
        tags: Sequence[str] | None,
    ) -> bool:
        """Whether the stored document is this file, indexed as this run would index it (then: skipped)."""
        return (
            self._restampable(known, sha, collection)
            and known is not None
            and sorted(set(known.groups)) == sorted(set(groups))
            and (tags is None or known.tags == sorted(set(tags)))
        )

    def _restamp_all(
        self,
        report: IngestReport,
        restamps: Sequence[tuple[Path, _Planned]],
        cancelled: Callable[[], bool] | None,
    ) -> None:
        """The planned documents whose file is unchanged and whose groups or tags change: their units
        rewritten in place in every collection (``regroup.restamp_units``), then their records; the
        collections flushed once. ``cancelled`` is asked between documents (ExtractCancelled): each one
        done is whole, and a resumed job finds it unchanged."""
        if not restamps:
            return
        t = time.perf_counter()
        touched: set[str] = set()
        try:
            for path, plan in restamps:
                if cancelled is not None and cancelled():
                    raise ExtractCancelled("cancelled between documents")
                report.documents.append(self._restamp(report.tenant, path, plan, touched))
        finally:
            for collection in sorted(touched):
                self.store.flush(collection)
            _add(report.timings, "restamp", time.perf_counter() - t)

    def _restamp(self, tenant: str, path: Path, plan: _Planned, touched: set[str]) -> DocumentOutcome:
        """One document's groups and tags changed in place (``_restamp_all``). As in a replacement: the
        ACL key is registered before the rows carry it, a deletion meanwhile wins (what was rewritten is
        deleted again), and a failure fails this document alone (transient: the next run replaces it,
        writing every unit again), its record holding the new groups once a rewrite may have landed. A
        record changed since planning (another ingest of the document) is left to that one. Its name stays,
        as an unchanged file's does; ``updated_at`` moves for its tags, not for its groups (``regroup``)."""
        known = plan.known
        assert known is not None, "only stored documents are rewritten in place"
        outcome = DocumentOutcome(
            str(path), plan.doc_id, UPDATED, units=known.units, pages=known.pages, name=plan.name
        )
        current = self.registry.get(tenant, plan.doc_id)
        if current != known:  # deleted, or written by another ingest since this one planned
            outcome.status, outcome.units, outcome.pages = FAILED, 0, 0
            outcome.error = DELETED_MEANWHILE if current is None else CHANGED_MEANWHILE
            return outcome
        update = {
            "groups": list(plan.groups),
            "tags": list(plan.tags),
            "source": plan.source or known.source,  # an upload of the same bytes: as an unchanged one
            "groups_asked_at": plan.groups_asked_at,
            "tags_asked_at": plan.tags_asked_at,
        }
        record = known.model_copy(update=update)
        written = False  # whether a rewritten row may have reached the store
        try:
            changes = self._restamp_changes(tenant, known, record)
            if changes:  # a crash while rows are rewritten leaves it marked: the next run finishes it
                kind = Rewrite.ALL if F_TAGS in changes else Rewrite.GROUPS  # finished as it was asked
                marked = record.model_copy(update={"rewriting": kind})
                update_or_undo(self.registry, self.store, marked, touch=False)
            written = bool(changes)
            touched.update(restamp_units(self.store, tenant, plan.doc_id, changes) if changes else {})
            update_or_undo(self.registry, self.store, record, touch=F_TAGS in changes)
            outcome.warnings.extend(_groups_taken_away(known.groups, record.groups))
        except DocumentNotFoundError:  # deleted meanwhile: what was rewritten is deleted again
            outcome.status, outcome.error, outcome.units, outcome.pages = FAILED, DELETED_MEANWHILE, 0, 0
        except Exception as exc:  # the store's or the registry's: one document's failure, retried next time
            reason = public_line(exc)
            log.warning("in-place update of %s failed: %s", plan.name, operator_line(exc), exc_info=True)
            update = {"state": DocState.FAILED, "error": reason, "failure": TRANSIENT}
            failed = (record if written else known).model_copy(update=update)
            deleted = not self.registry.update(failed)
            outcome.status, outcome.units, outcome.pages = FAILED, 0, 0
            outcome.error = DELETED_MEANWHILE if deleted else reason
        return outcome

    def _restamp_changes(self, tenant: str, known: DocumentRecord, record: DocumentRecord) -> dict[str, Any]:
        """The row fields a restamp sets (access fields, tags), the new groups' ACL key registered first."""
        changes: dict[str, Any] = {}
        if sorted(set(record.groups)) != sorted(set(known.groups)):
            key = self.acl_sets.register(tenant, record.groups)
            changes |= {F_GROUPS: list(record.groups), F_ACL_KEY: key}
        if record.tags != known.tags:
            changes[F_TAGS] = list(record.tags)
        return changes

    def _write_all(
        self,
        report: IngestReport,
        specs: list[DocSpec],
        by_path: dict[Path, _Planned],
        cancelled: Callable[[], bool] | None,
        on_progress: Progress | None,
        bar: Any,
    ) -> StageClock:
        """The write stage: each document the engine yields (extracted and encoded, or its failure) is
        written (or its failure recorded) as it comes, timed in the run's clock, which it returns."""
        clock = StageClock()
        written = clock.written
        started = time.perf_counter()

        def report_progress() -> None:
            if on_progress is not None:
                on_progress(len(written), sorted(clock.started - written), clock)

        clock.listener = report_progress
        units_done = 0
        try:
            for spec, result in self.engine.run(
                specs, encoders=self.encoders, channels=self.layout.dense, clock=clock, cancelled=cancelled
            ):
                plan = by_path[spec.path]
                t = time.perf_counter()
                if isinstance(result, str):
                    self._fail(report, spec.path, plan, report.tenant, result)
                elif result.extraction.doc_sha256 != plan.sha:  # not the bytes planned: not the file listed
                    self._fail(report, spec.path, plan, report.tenant, CHANGED_SINCE_READ)
                else:
                    outcome = self._ingest_one(
                        report.collection, spec.path, plan, result, report.tenant, report.timings
                    )
                    report.documents.append(outcome)
                    units_done += outcome.units
                done = report.documents[-1]
                clock.add("write", time.perf_counter() - t, docs=1, units=done.units, pages=done.pages)
                written.add(str(spec.path))
                report_progress()
                if bar is not None:
                    bar.update(1)
                    elapsed = time.perf_counter() - started
                    bar.set_postfix(units=units_done, units_s=f"{units_done / max(elapsed, 1e-9):.1f}")
                del result  # its images, which would otherwise stay while the next document is extracted
        finally:
            if bar is not None:
                bar.close()
        return clock

    def _spec(
        self,
        index: int,
        path: Path,
        plan: _Planned,
        tenant: str,
    ) -> DocSpec:
        """What the stages need of one planned document."""
        return DocSpec(
            index=index,
            path=path,
            doc_id=plan.doc_id,
            name=plan.name,
            tenant=tenant,
            groups=tuple(plan.groups),
            tags=plan.tags,
            embedding_version=self.layout.embedding_version,
        )

    def _groups_for(
        self, caller: Principal, groups: Sequence[str] | None, known: DocumentRecord | None
    ) -> list[str]:
        """The groups a document gets: the given ones (with those of a replaced document the caller may not
        take away: ``access.groups_after_replace``), else its current ones, else the configured default."""
        if groups is not None:
            return list(groups) if known is None else groups_after_replace(caller, groups, known.groups)
        if known is not None:
            return list(known.groups)
        return list(self.settings.ingest.default_groups)

    def _fail(self, report: IngestReport, path: Path, plan: _Planned, tenant: str, error: str) -> None:
        """Record that this file could not become the document ``plan`` names. A document it would have
        replaced keeps its groups, tags and units (still searchable, by whoever could before), unless it
        has no units (never indexed: it takes the run's); its record says the new version failed, and why.
        No other document's record is touched."""
        known = plan.known
        record = DocumentRecord(
            doc_id=plan.doc_id,
            tenant=tenant,
            name=plan.name,
            sha256=plan.sha,
            state=DocState.FAILED,
            groups=list(plan.groups),
            error=error,
            source=plan.source,
            failure=failure_kind(error),
            groups_asked_at=plan.groups_asked_at,
            tags_asked_at=plan.tags_asked_at,
        )
        if known is not None:
            update: dict[str, Any] = {
                "state": DocState.FAILED,
                "error": error,
                "sha256": plan.sha,
                "source": plan.source,
                "failure": failure_kind(error),
            }
            if not known.units:  # never indexed: nothing is searchable to keep, its listing takes the run's
                update |= _labels(plan.groups, plan.tags, plan.groups_asked_at, plan.tags_asked_at)
            if not self.registry.update(known.model_copy(update=update)):
                error = DELETED_MEANWHILE  # a deletion wins: the failure does not bring the record back
        else:
            self.registry.put(record)
        report.documents.append(DocumentOutcome(str(path), plan.doc_id, FAILED, error=error, name=plan.name))

    def _relabel_unindexed(
        self, known: DocumentRecord, groups: list[str], tags: tuple[str, ...], asked: dict[str, float]
    ) -> None:
        """Give a document that failed before and was never indexed (nothing searchable: a listing entry,
        its name and its error) the groups and tags this run gives it, as an unchanged file's are rewritten
        in place: it kept the old ones, so the old groups went on listing it and its error, and the new
        ones never saw it, ``--retry-failed`` or not (an audit, 2026-12-07)."""
        if known.units or (list(known.groups), list(known.tags)) == (list(groups), list(tags)):
            return
        if self.registry.get(known.tenant, known.doc_id) != known:  # changed meanwhile: that change stays
            return
        labels = _labels(groups, tags, asked["groups_asked_at"], asked["tags_asked_at"])
        # A change of groups alone does not move updated_at (``DocumentRegistry.update``: readers see it).
        self.registry.update(known.model_copy(update=labels), touch=list(known.tags) != list(tags))

    def _ingest_one(
        self,
        collection: str,
        path: Path,
        plan: _Planned,
        prepared: PreparedDoc,
        tenant: str,
        timings: dict[str, float],
    ) -> DocumentOutcome:
        """The write stage of one document (extracted and encoded by the engine): its record (pending),
        blobs and rows, then its stale units deleted and the record indexed; or its failure recorded.

        A deletion wins: once the document is registered (planned as a known one, or this write's pending
        record), every later record write only updates the row if it is still there, and a row gone means an
        admin deleted the document meanwhile; then what this write stored is removed again and nothing is
        registered (``DELETED_MEANWHILE``). With ``delete_document`` removing units, then the row, then units
        again, no order of the two leaves the document or its units behind."""
        known = self.registry.get(tenant, plan.doc_id)
        outcome, record = self._outcome_and_record(collection, path, plan, prepared, tenant, known)
        registered = plan.known is not None  # a row that only a deletion removes
        stored = False  # whether any new row may have reached the store
        note: str | None = None  # the note of its new files while they are written (``note_new_files``)
        try:
            old = self._old_files(tenant, known, record.sha256)
            # Before the record names the new bytes and the old units go: a run killed after either left
            # the old version's original or pictures that nothing named any more (a crash audit).
            note = note_new_files(self.settings, self._written_files(prepared, record.sha256, old))
            if registered and (known is None or not self.registry.update(record)):
                self._sweep_later(note)
                return self._deleted_meanwhile(outcome, collection, tenant, plan.doc_id, stored=False)
            if not registered:
                self.registry.put(record)
                registered = True
            rows = self._encoded_rows(prepared, outcome)
            key = self._put_blobs(path, plan.name, prepared, tenant, plan.groups, timings)
            t = time.perf_counter()
            stored = True
            pages = prepared.page_texts
            self.store.upsert_rows(
                collection,
                [unit_to_row(u, key, v, page_text=pages.get(u.page, "")) for u, v in rows],
            )
            _add(timings, "write", time.perf_counter() - t)
            outcome.units = len(rows)
            if self.hook:
                self.hook("written", outcome)
            outcome.removed = self._drop_stale(collection, tenant, plan.doc_id, prepared, timings)
            indexed = record.model_copy(update={"state": DocState.INDEXED, "units": len(rows)})
            if not self.registry.update(indexed):
                self._sweep_later(note)
                return self._deleted_meanwhile(outcome, collection, tenant, plan.doc_id, stored=True)
            if old is not None:  # first: until the note below is gone, it lists the old files too
                self._leave_old_files(old)
            self._forget_note(note)
            if known is not None and outcome.status == REPLACED:
                outcome.warnings.extend(_groups_taken_away(known.groups, record.groups))
        except Exception as exc:  # one document's failure (bad image, store error) must not end the batch
            self._sweep_later(note)
            reason = public_line(exc)  # readers see it: a store's or registry's text names its hosts
            log.warning("ingest of %s failed: %s", plan.name, operator_line(exc), exc_info=True)
            # The store's, the registry's or the encoder's failure, not the file's: read again next time.
            update = {"state": DocState.FAILED, "error": reason, "failure": TRANSIENT}
            failed = record.model_copy(update=update)
            if not stored and known is not None:  # nothing new stored: the old version stays as it was
                failed = known.model_copy(update=update)
            if registered and not self.registry.update(failed):
                return self._deleted_meanwhile(outcome, collection, tenant, plan.doc_id, stored=stored)
            if not registered:
                self.registry.put(failed)
            outcome.status, outcome.error, outcome.units = FAILED, reason, 0
        return outcome

    @staticmethod
    def _written_files(prepared: PreparedDoc, sha256: str, old: LeftFiles | None) -> LeftFiles:
        """The note of a document's write in flight (``note_new_files``): the pictures and original it
        writes, and what its old version may leave (``_old_files``); a sweep keeps what a unit or a
        document still uses, so whichever version a crash leaves in place keeps its files."""
        assert prepared.encoded is not None, "the engine yields encoded documents"
        new = {prepared.units[i].image for i in prepared.encoded.ok}  # hashed in prepare_units
        if old is None:
            return LeftFiles(sorted(new), sha256)
        return LeftFiles(sorted(new | set(old.blobs)), sha256, sorted(old.originals()))

    def _sweep_later(self, note: str | None) -> None:
        """``sweep_note_later`` of a failed write's note (none yet: nothing was written); its failure leaves
        the note to a later sweep that holds the lock (the next deletion's)."""
        if note is None:
            return
        try:
            sweep_note_later(self.settings, note)
        except Exception:
            log.warning("could not move the note of a failed write's files", exc_info=True)

    def _forget_note(self, note: str) -> None:
        """``forget_note`` of the indexed document's new files, whose failure only leaves a note the sweep
        finds in use: the document is indexed, and must not be reported failed for it."""
        try:
            forget_note(self.settings, note)
        except Exception:
            log.warning("could not remove the note of a written document's files", exc_info=True)

    def _leave_old_files(self, old: LeftFiles) -> None:
        """``note_replaced``, whose failure (a full disk) only leaves the files where they are: the new
        version is indexed, and must not be reported failed for it."""
        try:
            note_replaced(self.settings, old)
        except Exception:
            log.warning("could not note the old version's files for removal", exc_info=True)

    def _old_files(self, tenant: str, known: DocumentRecord | None, new_sha: str) -> LeftFiles | None:
        """What the stored version of a document being replaced may leave (``document_files``): the images
        its units name, and its original when the bytes change; None for a new document."""
        if known is None or is_placeholder(known):
            return None
        old = files_of(self.store, tenant, known.doc_id, known.sha256)
        if old.sha256 == new_sha:
            old.sha256 = ""  # the same bytes: the original stays the new version's
        old.others = [sha for sha in old.others if sha != new_sha]
        return old

    def _deleted_meanwhile(
        self, outcome: DocumentOutcome, collection: str, tenant: str, doc_id: str, *, stored: bool
    ) -> DocumentOutcome:
        """The outcome of a document deleted while this ingest wrote it: the rows it stored are deleted
        again (the deletion may have run before they landed), and the document is not registered."""
        if stored:
            ids = self.store.unit_ids_of_doc(collection, tenant, doc_id)
            if ids:
                self.store.delete_ids(collection, ids)
        log.info("document %s was deleted while it was being ingested: nothing of it kept", doc_id)
        outcome.status, outcome.error, outcome.units, outcome.removed = FAILED, DELETED_MEANWHILE, 0, 0
        return outcome

    def _outcome_and_record(
        self,
        collection: str,
        path: Path,
        plan: _Planned,
        prepared: PreparedDoc,
        tenant: str,
        known: DocumentRecord | None,
    ) -> tuple[DocumentOutcome, DocumentRecord]:
        """A written document's outcome (indexed, or replaced when it had a version before) and its
        registry record while its units are written (pending; the units of its old version, if any)."""
        extraction = prepared.extraction
        # Pending with no units: nothing of it was ever stored (an upload's placeholder, or a run killed
        # while writing its first version, which the re-run counted as replaced; an audit, 2026-12-07).
        never_stored = known is not None and known.state == DocState.PENDING and not known.units
        replaces = known is not None and known.state != DocState.FAILED and not never_stored
        outcome = DocumentOutcome(
            str(path),
            plan.doc_id,
            REPLACED if replaces else INDEXED,
            pages=extraction.meta.pages,
            warnings=[*plan.notes, *extraction.warnings],
            ocr_timeouts=extraction.ocr_timeouts,
            name=plan.name,
        )
        record = DocumentRecord(
            doc_id=plan.doc_id,
            tenant=tenant,
            name=extraction.doc,
            sha256=extraction.doc_sha256,
            state=DocState.PENDING,
            units=known.units if known else 0,
            pages=extraction.meta.pages,
            groups=list(plan.groups),
            tags=list(prepared.spec.tags),
            collection=collection,
            embedding_version=self.layout.embedding_version,
            source=plan.source,
            groups_asked_at=plan.groups_asked_at,
            tags_asked_at=plan.tags_asked_at,
        )
        return outcome, record

    @staticmethod
    def _encoded_rows(prepared: PreparedDoc, outcome: DocumentOutcome) -> list[tuple[Any, Any]]:
        """(unit, vectors) of each unit the engine encoded; the others go into ``outcome.failed_units``.
        FigvaultError when the document has units and none could be encoded."""
        units, encoded = prepared.units, prepared.encoded
        assert encoded is not None, "the engine yields encoded documents"
        for i, reason in encoded.failed.items():
            outcome.failed_units[f"{units[i].doc} p{units[i].page} ({units[i].unit_id})"] = reason
        if units and not encoded.ok:
            raise FigvaultError(f"no figure could be encoded ({next(iter(encoded.failed.values()))})")
        return [(units[i], encoded.vectors[i]) for i in encoded.ok]

    def _put_blobs(
        self,
        path: Path,
        name: str,
        prepared: PreparedDoc,
        tenant: str,
        groups: Sequence[str],
        timings: dict[str, float],
    ) -> str:
        """What the rows point at, stored before them: the units' images, the original file and the
        groups' ACL key (returned); so a stored row never points at a missing image or unknown key."""
        t = time.perf_counter()
        assert prepared.encoded is not None, "the engine yields encoded documents"
        for i in prepared.encoded.ok:
            self.blobs.put(prepared.pngs[i], key=prepared.units[i].image)
        extraction = prepared.extraction
        # The original, for whole-page images in the search page (pipeline/sources.py; never raises).
        sources.keep(self.settings, extraction.doc_sha256, path, extraction.meta.mime, name=name)
        key = self.acl_sets.register(tenant, groups)
        _add(timings, "blobs", time.perf_counter() - t)
        return key

    def _drop_stale(
        self, collection: str, tenant: str, doc_id: str, prepared: PreparedDoc, timings: dict[str, float]
    ) -> int:
        """Delete the document's stored units its new version no longer has (after the new rows are
        written: a crash in between leaves old and new units, never none); how many were deleted."""
        t = time.perf_counter()
        new_ids = {u.unit_id for u in prepared.units}
        stale = self.store.unit_ids_of_doc(collection, tenant, doc_id) - new_ids
        removed = self.store.delete_ids(collection, stale) if stale else 0
        _add(timings, "delete", time.perf_counter() - t)
        return removed


def _add(timings: dict[str, float], key: str, seconds: float) -> None:
    timings[key] = timings.get(key, 0.0) + seconds


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="doc", desc="extract", dynamic_ncols=True)


def ingest_paths(
    settings: Settings,
    paths: Iterable[Path],
    *,
    groups: Sequence[str] | None,
    tenant: str,
    doc_id: str | None = None,
    progress: bool = True,
    encoders: Any | None = None,
    tags: Sequence[str] | None = None,
    retry_failed: bool = False,
) -> IngestReport:
    """Ingest files and folders for ``tenant`` with access ``groups`` (None: see ``IngestRunner.run``) and
    document ``tags`` (None: a known document keeps its); ``retry_failed``: read again the unchanged files
    that failed for their bytes' sake. Never raises for one bad file. Holds the store write lock shared, as
    an ingest job does: a deletion's or a job's ``sweep`` elsewhere must not take the images it is writing."""
    runner = IngestRunner(settings, encoders=encoders)
    with store_write_lock(settings, exclusive=False):
        return runner.run(
            [Path(p) for p in paths],
            groups=groups,
            tenant=tenant,
            doc_id=doc_id,
            progress=progress,
            tags=tags,
            retry_failed=retry_failed,
        )


def delete_document(settings: Settings, tenant: str, doc_id: str) -> bool:
    """Delete a document's units, record and files (``pipeline/document_files.py``: its blobs and original
    unless another document uses them, its page renders); False when there was nothing to delete."""
    from figvault.pipeline.document_files import files_of, remove_left_files

    store = MilvusUnitStore.from_settings(settings)
    conn = connect(settings)
    registry = DocumentRegistry(conn)
    known = registry.get(tenant, doc_id)
    left = files_of(store, tenant, doc_id, known.sha256 if known is not None else "")
    removed = delete_units(store, tenant, doc_id)
    deleted = registry.delete(tenant, doc_id)
    # Again: a write (ingest, regroup, retag) that stored units after the first pass and updated the row
    # before it went is done; one that updates after finds no row and removes its own (``_ingest_one``).
    removed += delete_units(store, tenant, doc_id)
    remove_left_files(settings, store, tenant, doc_id, left)
    return deleted or known is not None or removed > 0


def delete_units(store: MilvusUnitStore, tenant: str, doc_id: str) -> int:
    """Delete the document's units from every collection; how many."""
    removed = 0
    for collection in store.list_collections():
        ids = store.unit_ids_of_doc(collection, tenant, doc_id)
        removed += store.delete_ids(collection, ids) if ids else 0
    return removed
