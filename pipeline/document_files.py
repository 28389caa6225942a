"""The files a deleted document leaves: its unit images (blobs), its kept original (with a deck's PDF
rendering) and its page renders. Deleting a document removes them, except what another document still uses.

Blobs and originals are content-addressed and shared: two documents (of any tenant) holding the same image
or the same file share one blob or one original. So a blob goes only when no unit of any collection names it
any more, and an original only when no document of any tenant has its bytes. Page renders and deck
conversions for the page viewer are kept per document and caller (``page_images.document_scope``), so a
document's own go at once.

Whether a blob is still used is decided under the store write lock, exclusive: an ingest holds it shared
while it writes (blob first, then the unit naming it), so no unit that is about to name a blob is missed.
When an ingest holds the lock longer than ``LOCK_WAIT_S``, the deletion does not wait: it leaves a note in
the storage (``trash/``), and the files go at the next ``sweep``: the job runner's next round, the end of the
next command-line job, or the next deletion that gets the lock.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from figvault.pipeline.page_images import CACHE_AREA, document_scope
from figvault.pipeline.registry import DocumentRegistry, connect
from figvault.pipeline.sources import SourceStore
from figvault.pipeline.store_lock import StoreBusyError, store_write_lock
from figvault.retrieval.acl import quote
from figvault.retrieval.schema import F_DOC_ID, F_IMAGE, F_SHA, F_TENANT
from figvault.settings import Settings
from figvault.storage import BlobStore, Storage

log = logging.getLogger(__name__)

LOCK_WAIT_S = 2.0
"""How long a deletion waits for a writing ingest before it leaves its files to the job runner."""
TRASH_AREA = "trash"
IN_FLIGHT = "new/"
"""Where in ``trash/`` the notes of files being written wait (``note_new_files``)."""
_IN_CHUNK = 500
"""Blob keys per ``image in [...]`` query."""


@dataclass
class LeftFiles:
    """What a deleted document may leave behind, to be removed unless another document uses it."""

    blobs: list[str] = field(default_factory=list)
    sha256: str = ""
    others: list[str] = field(default_factory=list)
    """Other originals it may leave: the one of the version a write in flight replaces (``note_new_files``),
    and the one a document's units still show when its record names other bytes (a replacement that failed
    or was killed after its record changed, ``files_of``)."""

    def originals(self) -> set[str]:
        return {self.sha256, *self.others} - {""}


def files_of(store: Any, tenant: str, doc_id: str, sha256: str) -> LeftFiles:
    """The blobs the document's units name in every collection (read before its units are deleted), its
    original ``sha256``, and the originals its units show when those are others (``LeftFiles.others``)."""
    expr = f'{F_TENANT} == {quote(tenant)} and {F_DOC_ID} == {quote(doc_id)} and {F_IMAGE} != ""'
    rows = [row for c in store.list_collections() for row in store.query_rows(c, expr, [F_IMAGE, F_SHA])]
    others = sorted({str(row[F_SHA]) for row in rows} - {sha256, ""})
    return LeftFiles(sorted({str(row[F_IMAGE]) for row in rows}), sha256, others)


def remove_left_files(settings: Settings, store: Any, tenant: str, doc_id: str, left: LeftFiles) -> bool:
    """Remove the document's page renders, and its blobs and original unless in use; True when done now,
    False when an ingest held the store and a later ``sweep`` will do it (a note in ``trash/``)."""
    scope = f"doc/{document_scope(tenant, doc_id)}"  # every caller's renders and deck conversions of it
    Storage.from_settings(settings).area(CACHE_AREA).delete_tree(scope)
    SourceStore.from_settings(settings).forget_scope(scope)
    try:
        with store_write_lock(settings, exclusive=True, timeout_s=LOCK_WAIT_S):
            _remove_unused(settings, store, left.blobs, left.originals())
            _sweep_notes(settings, store)  # earlier deletions' notes, while the lock is ours
        return True
    except StoreBusyError:
        _note_for_sweep(settings, left)
        log.info("document %s deleted while the store was busy: its files are removed later", doc_id)
        return False


def sweep(settings: Settings) -> int:
    """Remove the files of the deletions noted in ``trash/``; the notes done. Returns how many; 0 when an
    ingest holds the store (the notes wait for the next round). Called by the job runner now and then, at
    the end of each command-line job (``jobs.run_here``) and by each deletion that gets the lock: a user of
    the command line alone, who never runs ``figvault serve``, gets the files removed too."""
    from figvault.retrieval.milvus_store import MilvusUnitStore

    if not Storage.from_settings(settings).area(TRASH_AREA).list("*.json"):
        return 0
    store = MilvusUnitStore.from_settings(settings)
    try:
        with store_write_lock(settings, exclusive=True, timeout_s=LOCK_WAIT_S):
            return _sweep_notes(settings, store)
    except StoreBusyError:
        return 0


def _sweep_notes(settings: Settings, store: Any) -> int:
    """The notes in ``trash/`` done, those of writes in flight when they were written included (the caller
    holds the store write lock, exclusive: no ingest is writing now)."""
    trash = Storage.from_settings(settings).area(TRASH_AREA)
    notes = [*trash.list("*.json"), *trash.list(f"{IN_FLIGHT}*.json")]
    # All notes' files checked together: a query per note scanned every unit of every collection each time
    # (a scale audit: 66 ms a note at 60,000 units, times the deletions queued during a long ingest).
    blobs: set[str] = set()
    contents: set[str] = set()
    done: list[str] = []
    for note in notes:
        try:
            left = _read_note(trash.read(note))
        except (ValueError, KeyError, TypeError) as exc:  # torn, or gone: kept for the next sweep to read
            log.warning("trash note %s could not be read (%s): left for the next sweep", note, exc)
            continue
        blobs.update(left.blobs)
        contents.update(left.originals())
        done.append(note)
    _remove_unused(settings, store, sorted(blobs), contents)
    for note in done:
        trash.delete(note)
    return len(done)


def _read_note(data: bytes) -> LeftFiles:
    """A note's files (``_note_for_sweep``); ``old_sha256``: the one other original of notes written on
    2026-12-07 before ``others`` (a process killed then left them)."""
    raw = json.loads(data)
    others = [str(sha) for sha in raw.get("others", [])] + [str(raw.get("old_sha256") or "")]
    return LeftFiles([str(key) for key in raw["blobs"]], str(raw["sha256"]), [s for s in others if s])


def note_replaced(settings: Settings, left: LeftFiles) -> None:
    """Leave what a replaced document's old version may no longer need (its units' images, its original
    when the bytes changed) to the next ``sweep``, which removes what no document uses: the ingest that
    replaced it holds the store lock shared, and the check needs it exclusive. Before, a replacement kept
    every old image and original for good."""
    if left.blobs or left.originals():
        _note_for_sweep(settings, left)


def note_new_files(settings: Settings, new: LeftFiles) -> str:
    """A note for the files an ingest is about to write (a document's unit images and original), written
    before them in ``trash/new/``: a crash, a failure or a deletion before the document is indexed leaves
    them to a sweep, which removes what no unit names. Before, a run killed between the images and the units
    left images no deletion ever found (it lists the images the units name). Returns the note's name, for
    ``forget_note`` once the document is indexed, or ``sweep_note_later`` when its write failed.

    Apart from the notes of deletions: ``sweep`` starts only for those, as an ingest in flight keeps its note
    (a sweep waited 2 s for the lock each time another process was ingesting; a review). Each sweep that
    holds the lock, exclusive, so with no ingest writing, takes the notes in flight too (a killed run's)."""
    return _note_for_sweep(settings, new, IN_FLIGHT)


def forget_note(settings: Settings, name: str) -> None:
    Storage.from_settings(settings).area(TRASH_AREA).delete(name)


def sweep_note_later(settings: Settings, name: str) -> None:
    """The note of a write that failed, or whose document was deleted meanwhile, moved among the deletions'
    notes: the next ``sweep`` (the job's end) removes its files rather than the next deletion."""
    trash = Storage.from_settings(settings).area(TRASH_AREA)
    trash.write(name.removeprefix(IN_FLIGHT), trash.read(name))
    trash.delete(name)


def _note_for_sweep(settings: Settings, left: LeftFiles, folder: str = "") -> str:
    """A note in ``trash/`` (blob keys and a content hash, no names); ``sweep`` removes what is unused."""
    trash = Storage.from_settings(settings).area(TRASH_AREA)
    name = f"{folder}{uuid.uuid4().hex}.json"
    trash.write(name, json.dumps(asdict(left)).encode())
    return name


def _remove_unused(settings: Settings, store: Any, keys: list[str], contents: set[str]) -> None:
    """The blobs of ``keys`` no unit names, and the originals (with their renders) of ``contents`` no
    document has."""
    blobs = BlobStore.from_settings(settings)
    used = _used_values(store, F_IMAGE, keys)
    for key in sorted(set(keys) - used):
        blobs.delete(key)
    registry = DocumentRegistry(connect(settings)) if contents else None
    in_units = _used_values(store, F_SHA, contents)
    for sha256 in sorted(contents - in_units):
        if registry is not None and not registry.content_in_use(sha256):
            SourceStore.from_settings(settings).forget(sha256)
            # Renders of the file, not of one document (scope ""), shared by every document of its bytes.
            cache = Storage.from_settings(settings).area(CACHE_AREA)
            for key in cache.list(f"{sha256[:2]}/{sha256}-*"):
                cache.delete(key)


def _used_values(store: Any, field_name: str, values: Iterable[str]) -> set[str]:
    """The ``values`` of unit field ``field_name`` some unit of some collection (any tenant's) holds: an
    original is still needed while a unit carries its bytes' hash, whatever the record says (a replacement
    that failed or was killed after its record named the new bytes keeps the old version's units)."""
    wanted = sorted(set(values))
    used: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = ", ".join(quote(k) for k in wanted[start : start + _IN_CHUNK])
        for collection in store.list_collections():
            rows = store.query_rows(collection, f"{field_name} in [{chunk}]", [field_name])
            used |= {str(r[field_name]) for r in rows}
    return used
