"""Change which groups see a document, without extracting or encoding it again.

The document's units are rewritten in place in every collection that holds them (the served one, and an
older or newer one a re-encode may switch to): their ``groups`` and ``acl_key`` change, nothing else
(``MilvusUnitStore.rewrite_access``: one upsert per document and collection). The new group set is
registered first, so every key in the store stays known (``retrieval/acl_sets.py``); the registry row
follows last. The exclusive store write lock keeps an ingest from replacing the same document meanwhile
(it could bring back units the regroup read before they were deleted) and a re-encode from verifying in the
middle (its catch-up copies any unit whose access key differs, so it picks the new groups up).

The record is marked ``rewriting``, with the new groups or tags, before any row is rewritten, and unmarked
with the last write: a process killed half-way (a replica in the middle of a ``PATCH``) left some
collections with the new groups and every listing with the old ones, and nothing repaired it. A marked
record is finished (``finish_rewrite``: its rows given what the mark says the change set) by the next change
of the document, the next ingest that meets it, and ``finish_rewrites``: each job runner's start and
rounds, and the end of each command-line job.


``set_document_tags`` changes a document's tags the same way (its units' ``tags`` field, in place). After a
replacement that failed between writing its new units and deleting the old ones, both are live, each with
the groups it was written with (``IngestRunner._ingest_one``): an admin's tags go to every live unit, an
editor's to those it may see (nobody changes a unit it may not see), and no unit's groups change (tags
filter, they grant nothing; a regroup is what makes the groups one set again)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from figvault.access import Principal, group_set
from figvault.db import Database
from figvault.errors import FigvaultError
from figvault.pipeline.registry import DocumentRecord, DocumentRegistry, Rewrite, asked_since, connect
from figvault.pipeline.store_lock import StoreBusyError, store_write_lock
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ACL_KEY, F_GROUPS, F_TAGS, MAX_GROUPS
from figvault.settings import Settings
from figvault.tags import tag_set

log = logging.getLogger(__name__)

LOCK_TIMEOUT_S = 30.0
"""How long a regroup waits for a running ingest batch or re-encode switch before it gives up."""


class DocumentNotFoundError(FigvaultError):
    """No document with this id in this tenant."""


@dataclass
class RegroupResult:
    doc_id: str
    tenant: str
    name: str
    before: list[str]
    after: list[str]
    units: int
    """Units rewritten in the served collection (the document's units)."""
    collections: dict[str, int] = field(default_factory=dict)
    """Units rewritten per collection."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def checked_groups(groups: Iterable[str]) -> list[str]:
    """A document's new group set: valid names, at least one, at most what a unit can carry."""
    try:
        chosen = group_set(groups)
    except ValueError as exc:
        raise FigvaultError(str(exc)) from None
    if not chosen:
        raise FigvaultError("give at least one group (a document without groups is visible to no one)")
    if len(chosen) > MAX_GROUPS:
        raise FigvaultError(f"{len(chosen)} groups: a document can have at most {MAX_GROUPS}")
    return chosen


def set_document_groups(
    settings: Settings,
    tenant: str,
    doc_id: str,
    groups: Iterable[str],
    *,
    store: MilvusUnitStore | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
) -> RegroupResult:
    """Give document ``doc_id`` of ``tenant`` the access ``groups``; raises DocumentNotFoundError."""
    asked_at = time.time()  # before the lock: an ingest asked for after this call was still asked later
    chosen = checked_groups(groups)
    store = store or MilvusUnitStore.from_settings(settings)
    with _locked_document(settings, store, tenant, doc_id, lock_timeout_s) as (conn, registry, record):
        key = AclSetTable(conn).register(tenant, chosen)  # before the rows: every stored key is known
        asked = asked_since(record, "groups", asked_at)
        changed = record.model_copy(update={"groups": chosen, "groups_asked_at": asked})
        update_or_undo(registry, store, changed.model_copy(update={"rewriting": Rewrite.GROUPS}), touch=False)
        rewritten = _rewrite_everywhere(store, lambda c: store.rewrite_access(c, tenant, doc_id, chosen, key))
        update_or_undo(registry, store, changed, touch=False)
    served = store.served_collection()
    return _result(record, chosen, rewritten, served)


@contextmanager
def _locked_document(
    settings: Settings,
    store: MilvusUnitStore,
    tenant: str,
    doc_id: str,
    lock_timeout_s: float,
    may: Callable[[DocumentRecord], bool] | None = None,
) -> Iterator[tuple[Database, DocumentRegistry, DocumentRecord]]:
    """The registry connection and the document's record, under the exclusive store write lock (see the
    module); DocumentNotFoundError when ``doc_id`` is not in ``tenant``, or when the record as it is under
    the lock fails ``may`` (the caller's access, judged again: a regroup that held the lock while the
    caller waited may have taken the document out of its groups)."""
    conn = connect(settings)
    try:
        registry = DocumentRegistry(conn)
        with store_write_lock(settings, exclusive=True, timeout_s=lock_timeout_s):
            record = registry.get(tenant, doc_id)
            if record is None or (may is not None and not may(record)):
                raise DocumentNotFoundError(f"no document {doc_id!r} in tenant {tenant!r}")
            if record.rewriting:  # a stopped process's change first: this one may set one label only
                record = finish_rewrite(registry, AclSetTable(conn), store, record)
            yield conn, registry, record
    finally:
        conn.close()


def finish_rewrite(
    registry: DocumentRegistry, acl_sets: AclSetTable, store: MilvusUnitStore, record: DocumentRecord
) -> DocumentRecord:
    """A document a stopped process left in the middle of an in-place change (``rewriting``): its rows in
    every collection given the record's groups and tags, which the change wrote first, then unmarked; the
    record as it is now: what the change was (``Rewrite``) decides which fields and rows. The caller holds
    the store write lock (a regroup's exclusive, an ingest's shared)."""
    kind = Rewrite(record.rewriting)
    if kind in (Rewrite.TAGS, Rewrite.TAGS_OWN_GROUPS):
        # An editor's retag: the rows of the document's own groups. The editor's groups are not kept with
        # the mark, so an older version's rows it could also see keep their tags (never a row it could not).
        own = sorted(record.groups)
        only = None if kind == Rewrite.TAGS else (lambda row: sorted(row[F_GROUPS]) == own)
        tags = {F_TAGS: list(record.tags)}
        _rewrite_everywhere(
            store, lambda c: store.rewrite_fields(c, record.tenant, record.doc_id, tags, only=only)
        )
    else:
        changes = {F_GROUPS: list(record.groups), F_ACL_KEY: acl_sets.register(record.tenant, record.groups)}
        if kind == Rewrite.ALL:
            changes[F_TAGS] = list(record.tags)
        for collection in restamp_units(store, record.tenant, record.doc_id, changes):
            store.flush(collection)
    finished = record.model_copy(update={"rewriting": 0})
    update_or_undo(registry, store, finished, touch=kind != Rewrite.GROUPS)  # tags moved: readers see it
    log.info("%s: an in-place change a stopped process left half done was finished", record.doc_id)
    return finished


def finish_rewrites(settings: Settings, *, lock_timeout_s: float = 2.0) -> int:
    """Every marked document finished (``finish_rewrite``) under the exclusive store write lock, so that a
    mark seen is a stopped process's, not one a live change holds; how many. 0 when the store is busy (the
    next round), or when no document is marked (one registry query, without the lock or the store)."""
    conn = connect(settings)
    try:
        registry = DocumentRegistry(conn)
        if not registry.rewriting():
            return 0
        try:
            with store_write_lock(settings, exclusive=True, timeout_s=lock_timeout_s):
                marked = registry.rewriting()
                store, acl_sets = MilvusUnitStore.from_settings(settings), AclSetTable(conn)
                for record in marked:
                    try:
                        finish_rewrite(registry, acl_sets, store, record)
                    except DocumentNotFoundError:  # deleted meanwhile: its rows went with it
                        continue
                    except Exception:  # this one stays marked for the next round; the others go on
                        log.warning("could not finish the change of %s", record.doc_id, exc_info=True)
                return len(marked)
        except StoreBusyError:
            return 0
    finally:
        conn.close()


def update_or_undo(
    registry: DocumentRegistry, store: MilvusUnitStore, record: DocumentRecord, *, touch: bool = True
) -> None:
    """Record the change, unless the document was deleted while its units were rewritten (a deletion does
    not wait for the store lock): then the rows written back are removed again, and DocumentNotFoundError,
    as for a document that was never there. A deletion wins (docs/jobs.md)."""
    from figvault.pipeline.ingest_pipeline import delete_units

    if not registry.update(record, touch=touch):
        delete_units(store, record.tenant, record.doc_id)
        raise DocumentNotFoundError(f"no document {record.doc_id!r} in tenant {record.tenant!r}")


def _rewrite_everywhere(
    store: MilvusUnitStore, rewrite: Callable[[str], int], *, flush: bool = True
) -> dict[str, int]:
    """Units rewritten per collection by ``rewrite(collection)`` (a count), in every collection; ``flush``
    each one rewritten (else the caller does, once for many documents)."""
    rewritten: dict[str, int] = {}
    for collection in store.list_collections():
        count = rewrite(collection)
        if count:
            if flush:  # sealed rows are searched through the index (Lite: brute force before)
                store.flush(collection)
            rewritten[collection] = count
    return rewritten


def restamp_units(
    store: MilvusUnitStore, tenant: str, doc_id: str, changes: dict[str, Any]
) -> dict[str, int]:
    """Set ``changes`` (access fields, tags) on the document's units in every collection, each field where
    that collection has it (an older one without ``tags`` keeps its rows' access changed: its re-encode
    adds the field); units rewritten per collection, not flushed. For an ingest whose unchanged file only
    gets other groups or tags (``IngestRunner``): it holds the store write lock shared for its batch, which
    keeps a re-encode's verification and a regroup out as the exclusive lock does here."""

    def rewrite(collection: str) -> int:
        absent = store.absent_fields(collection)
        present = {name: value for name, value in changes.items() if name not in absent}
        return store.rewrite_fields(collection, tenant, doc_id, present) if present else 0

    return _rewrite_everywhere(store, rewrite, flush=False)


def _result(
    record: DocumentRecord, groups: list[str], rewritten: dict[str, int], served: str | None
) -> RegroupResult:
    return RegroupResult(
        doc_id=record.doc_id,
        tenant=record.tenant,
        name=record.name,
        before=sorted(set(record.groups)),
        after=groups,
        units=rewritten.get(served or "", 0),
        collections=rewritten,
    )


@dataclass
class RetagResult:
    doc_id: str
    tenant: str
    name: str
    before: list[str]
    after: list[str]
    units: int
    """Units rewritten in the served collection (0 there when it predates tags: its re-encode adds them)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def set_document_tags(
    settings: Settings,
    tenant: str,
    doc_id: str,
    tags: Iterable[str],
    *,
    store: MilvusUnitStore | None = None,
    lock_timeout_s: float = LOCK_TIMEOUT_S,
    editor: Principal | None = None,
) -> RetagResult:
    """Give document ``doc_id`` of ``tenant`` the ``tags`` (``figvault/tags.py``), rewriting its units' tags
    in place like a regroup (same lock, same one-request rewrite); raises DocumentNotFoundError, also when
    ``editor`` (None: an admin or the operator) may not see the document as it is under the lock
    (``_locked_document``). An editor's change reaches only the units it may see: after a replacement that
    failed half-way the old units, with the old groups, stay as they were and are not counted."""
    asked_at = time.time()
    try:
        chosen = tag_set(tags)
    except ValueError as exc:
        raise FigvaultError(str(exc)) from None
    store = store or MilvusUnitStore.from_settings(settings)
    may = None if editor is None else (lambda r: editor.sees(r.tenant, r.groups))
    seen = None if editor is None else (lambda row: editor.sees(tenant, row[F_GROUPS]))
    with _locked_document(settings, store, tenant, doc_id, lock_timeout_s, may) as (_conn, registry, record):
        asked = asked_since(record, "tags", asked_at)
        changed = record.model_copy(update={"tags": chosen, "tags_asked_at": asked})
        kind = Rewrite.TAGS if editor is None else Rewrite.TAGS_OWN_GROUPS
        update_or_undo(registry, store, changed.model_copy(update={"rewriting": kind}), touch=False)
        rewritten = _rewrite_everywhere(
            store, lambda c: store.rewrite_fields(c, tenant, doc_id, {F_TAGS: chosen}, only=seen)
        )
        update_or_undo(registry, store, changed)
    served = store.served_collection()
    return RetagResult(
        doc_id=record.doc_id,
        tenant=record.tenant,
        name=record.name,
        before=list(record.tags),
        after=chosen,
        units=rewritten.get(served or "", 0),
    )
