"""The lexical channel: a BM25F index per served collection, mirrored from Milvus, scoped to the caller.

Milvus stays the source of truth. This process keeps ``LexicalIndex``es of the collections it searches and
keeps them current from the change log (``lexical_log.py``): before a search it reads the log's head, and
when it moved, re-reads the named rows by primary key. A snapshot in the data folder
(``settings.lexical_dir``) spares a restart or a one-shot CLI search the full scan; it carries the log
position it reflects, and is rebuilt from Milvus when it is missing, stale in format or analyzer, written
against another registry, or its unit count disagrees with the collection's.

Access: the index holds every tenant's rows; a search is scored over exactly the rows of the caller's
tenant whose ``acl_key`` is among the caller's visible keys (``Scope``), the same keys the vector query's
access clause lists. Request filters (document, kind, dates, ...) are the very expression the vector
channels send to Milvus (``acl.request_clauses``), evaluated by Milvus Lite's own expression engine on the
mirrored scalar columns of the candidates; an expression naming a column the index does not mirror is
checked against Milvus instead (correct everywhere, slower on Lite).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from figvault.errors import StoreError, one_line
from figvault.retrieval.acl import in_list
from figvault.retrieval.lexical_index import BM25FParams, IndexView, LexicalIndex, Scope
from figvault.retrieval.lexical_log import ChangeLog
from figvault.retrieval.lexical_text import SOURCE_FIELDS, Analyzer
from figvault.retrieval.milvus_store import ChannelHit, MilvusUnitStore
from figvault.retrieval.schema import F_ACL_KEY, F_ID, F_SEARCH_TEXT, F_SHA, F_TENANT, F_VERSION
from figvault.search_names import LEXICAL_FIELDS
from figvault.settings import LexicalSettings, Settings

log = logging.getLogger(__name__)

MIRROR_MAX_VARCHAR = 512
"""VARCHAR fields up to this length are mirrored for filters; longer ones are texts, not facts."""
NOT_MIRRORED = frozenset({F_SHA, F_VERSION, F_SEARCH_TEXT, "image"})
"""Scalar fields no request filter names; left out to keep the index small."""
REBUILD_BATCH = 4096
FETCH_CHUNK = 1000
KEEP_COLLECTIONS = 2
"""Indexes kept in memory: the served collection, and the previous one while an alias switch settles."""

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "INT8": pa.int64(),
    "INT16": pa.int64(),
    "INT32": pa.int64(),
    "INT64": pa.int64(),
    "FLOAT": pa.float64(),
    "DOUBLE": pa.float64(),
    "BOOL": pa.bool_(),
}


@dataclass
class _Mirror:
    """The columns a collection's index mirrors, and the filter schema over them."""

    schema: pa.Schema
    filter_schema: Any
    """A milvus_lite CollectionSchema of the same columns (for its expression compiler)."""
    source_fields: list[str]
    """Row fields read from Milvus: the mirrored columns plus the lexical texts."""


@dataclass
class _Served:
    index: LexicalIndex
    mirror: _Mirror
    seq: int
    unsaved: int = 0
    compiled: OrderedDict[str, Any] = field(default_factory=OrderedDict)


class LexicalChannel:
    """Lexical search over the collections of one store; thread-safe: one lock per process for keeping the
    indexes current, searches run outside it on a view of the index (``LexicalIndex.view``)."""

    def __init__(
        self,
        store: MilvusUnitStore,
        settings: LexicalSettings,
        changes: ChangeLog | None,
        snapshot_dir: Path | None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.changes = changes
        self.snapshot_dir = snapshot_dir
        self.analyzer = Analyzer(settings.stemmer)
        self.params = BM25FParams.from_mappings(settings.k1, settings.field_weights, settings.field_b)
        self._served: OrderedDict[str, _Served] = OrderedDict()
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls, settings: Settings, store: MilvusUnitStore) -> LexicalChannel:
        changes = store.changes or ChangeLog.open(settings)
        return cls(store, settings.lexical, changes, settings.lexical_dir)

    # ---- search ---------------------------------------------------------------------------------

    def search(
        self, collection: str, query: str, scope: Scope, request_expr: str, limit: int
    ) -> list[ChannelHit]:
        """The caller's top ``limit`` units by BM25F, under the request's filter expression (may be "")."""
        with self._lock:
            served = self.sync(collection)
            view = served.index.view()
            row_filter = self._row_filter(collection, served, request_expr) if request_expr else None
        # Outside the lock: searches read their view side by side while the change log is applied.
        ranked = view.search(query, scope, limit, self.params, row_filter)
        return [ChannelHit(unit_id=uid, score=score, row={F_ID: uid}) for uid, score in ranked]

    def visible_rows(self, collection: str, scope: Scope) -> int:
        """How many of ``collection``'s units the caller may see: the ``N`` of its BM25 scores, as of the
        index's last catch-up with the change log (a search's recall has just made one; not checking again
        saves the log read, half a millisecond, and N is a scale that a write since then hardly moves)."""
        with self._lock:
            served = self._served.get(collection) or self.sync(collection)
            view = served.index.view()
        return view.visible_rows(scope)

    def view(self, collection: str) -> IndexView:
        """The index of ``collection`` as of its last catch-up with the change log (as ``visible_rows``)."""
        with self._lock:
            served = self._served.get(collection) or self.sync(collection)
            return served.index.view()

    def _row_filter(self, collection: str, served: _Served, expr: str) -> Any:
        compiled = served.compiled.get(expr)
        if compiled is None:
            from milvus_lite.search.filter import FilterError, compile_filter

            try:
                compiled = compile_filter(expr, served.mirror.filter_schema)
            except FilterError as exc:
                log.info("lexical filter checked in Milvus (%s)", one_line(exc))
                compiled = False
            served.compiled[expr] = compiled
            while len(served.compiled) > 256:
                served.compiled.popitem(last=False)
        if compiled is False:
            return lambda table: self._store_mask(collection, expr, table)
        from milvus_lite.search.filter import evaluate_mask

        return lambda table: evaluate_mask(compiled, table)

    def _store_mask(self, collection: str, expr: str, table: pa.Table) -> np.ndarray:
        ids = table.column(0).to_pylist()
        passed: set[str] = set()
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = ids[start : start + FETCH_CHUNK]
            rows = self.store.get_rows(
                collection, f"({in_list(F_ID, chunk)}) and ({expr})", fields=[F_ID], for_search=True
            )
            passed.update(r[F_ID] for r in rows)
        return np.asarray([uid in passed for uid in ids], dtype=bool)

    # ---- keeping current ------------------------------------------------------------------------

    def sync(self, collection: str) -> _Served:
        """The index of ``collection``, caught up with the change log (loaded or rebuilt when needed)."""
        with self._lock:
            head = self.changes.head() if self.changes else 0
            served = self._served.get(collection)
            if served is None:
                served = self._open(collection, head)
                self._served[collection] = served
                while len(self._served) > KEEP_COLLECTIONS:
                    self._served.popitem(last=False)
            else:
                self._served.move_to_end(collection)
                if head > served.seq:
                    self._catch_up(collection, served, head)
            return served

    def rebuild(self, collection: str) -> _Served:
        """Build the index of ``collection`` from all its rows and save it (re-encode, repair)."""
        with self._lock:
            served = self._build(collection)
            self._served[collection] = served
            return served

    def _open(self, collection: str, head: int) -> _Served:
        mirror = self._mirror(collection)
        path = self._snapshot_path(collection)
        if path is not None and path.exists():
            try:
                served = self._load(collection, path, mirror, head)
            except (OSError, ValueError, KeyError) as exc:
                log.warning("lexical snapshot %s unreadable (%s): rebuilding", path, exc)
            else:
                if served is not None:
                    return served
        return self._build(collection, mirror)

    def _load(self, collection: str, path: Path, mirror: _Mirror, head: int) -> _Served | None:
        header = LexicalIndex.read_header(path)
        expected = self._header(collection, mirror, 0)
        stale = [k for k in ("collection", "analyzer", "epoch", "columns") if header.get(k) != expected[k]]
        if stale or int(header.get("seq", -1)) > head:
            log.info(
                "lexical snapshot of %s is stale (%s): rebuilding", collection, ", ".join(stale) or "seq"
            )
            return None
        index, header = LexicalIndex.load(path, self.analyzer)
        served = _Served(index, mirror, int(header["seq"]))
        if head > served.seq:
            self._catch_up(collection, served, head)
        stored = self.store.count(collection)
        if len(index) != stored:
            log.warning(
                "lexical snapshot of %s holds %d units, the collection %d: rebuilding",
                collection,
                len(index),
                stored,
            )
            return None
        return served

    def _build(self, collection: str, mirror: _Mirror | None = None) -> _Served:
        mirror = mirror or self._mirror(collection)
        # The log position first: whatever is written while the rows are read is re-read afterwards.
        head = self.changes.head() if self.changes else 0
        index = LexicalIndex(self.analyzer, mirror.schema)
        for page in self.store.iter_rows(collection, "", mirror.source_fields, batch_size=REBUILD_BATCH):
            index.upsert(page)
        served = _Served(index, mirror, head)
        now = self.changes.head() if self.changes else 0
        if now > head:
            self._catch_up(collection, served, now)
        self._save(collection, served)
        log.info("lexical index of %s built: %d units", collection, len(index))
        return served

    def _catch_up(self, collection: str, served: _Served, head: int) -> None:
        changed = self.changes.changed(collection, served.seq, head) if self.changes else set()
        if changed is None or len(changed) > max(FETCH_CHUNK, len(served.index)):
            # Dropped and made anew, or more changed than a scan costs: read everything again.
            rebuilt = self._build(collection, served.mirror)
            served.index, served.seq, served.unsaved = rebuilt.index, rebuilt.seq, 0
            return
        ids = sorted(changed)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(ids), FETCH_CHUNK):
            chunk = ids[start : start + FETCH_CHUNK]
            # Strong reads: the log entry was written after Milvus accepted the write.
            rows.extend(
                self.store.get_rows(collection, in_list(F_ID, chunk), fields=served.mirror.source_fields)
            )
        present = {r[F_ID] for r in rows}
        served.index.delete(set(ids) - present)
        served.index.upsert(rows)
        served.seq = head
        served.unsaved += len(ids)
        if served.unsaved >= self.settings.snapshot_every:
            self._save(collection, served)

    def snapshot(self, collection: str) -> None:
        """Catch ``collection``'s index up and save it now (a re-encode, before the alias switch)."""
        with self._lock:
            self._save(collection, self.sync(collection))

    def _save(self, collection: str, served: _Served) -> None:
        path = self._snapshot_path(collection)
        if path is None:
            return
        try:
            header = {**self._header(collection, served.mirror, served.seq), **served.index.stats()}
            served.index.save(path, header)
            served.unsaved = 0
        except OSError as exc:  # a snapshot only saves time; search goes on without it
            log.warning("cannot save the lexical snapshot %s: %s", path, exc)

    def _snapshot_path(self, collection: str) -> Path | None:
        return self.snapshot_dir / f"{collection}.npz" if self.snapshot_dir is not None else None

    def _header(self, collection: str, mirror: _Mirror, seq: int) -> dict[str, Any]:
        return {
            "collection": collection,
            "seq": seq,
            "epoch": self.changes.epoch if self.changes else "",
            "analyzer": self.analyzer.fingerprint,
            "columns": [f"{f.name}:{f.type}" for f in mirror.schema],
        }

    def _mirror(self, collection: str) -> _Mirror:
        from milvus_lite.schema.types import CollectionSchema, FieldSchema
        from milvus_lite.schema.types import DataType as LiteType

        try:
            described = self.store.client.describe_collection(collection)
        except Exception as exc:
            raise StoreError(f"cannot describe collection {collection}: {exc}") from exc
        columns: list[pa.Field] = []
        lite_fields = []
        names = set()
        for f in described.get("fields") or []:
            kind = getattr(f["type"], "name", str(f["type"]))
            params = f.get("params") or {}
            name = f["name"]
            names.add(name)
            if name in NOT_MIRRORED:
                continue
            if kind == "VARCHAR" and int(params.get("max_length", 0)) > MIRROR_MAX_VARCHAR:
                continue
            element = getattr(f.get("element_type"), "name", None)
            if kind in _ARROW_TYPES:
                arrow_type = _ARROW_TYPES[kind]
            elif kind == "ARRAY" and element in _ARROW_TYPES:
                arrow_type = pa.list_(_ARROW_TYPES[element])
            else:
                continue
            columns.append(pa.field(name, arrow_type))
            lite_fields.append(
                FieldSchema(
                    name,
                    LiteType[kind],
                    is_primary=name == F_ID,
                    max_length=params.get("max_length"),
                    element_type=LiteType[element] if element else None,
                    max_capacity=params.get("max_capacity"),
                )
            )
        columns.sort(key=lambda c: c.name != F_ID)  # unit_id first
        for needed in (F_ID, F_TENANT, F_ACL_KEY):
            if needed not in names:
                raise StoreError(f"collection {collection} has no {needed} field: not a figvault collection")
        source = sorted({c.name for c in columns} | {n for n in SOURCE_FIELDS if n in names})
        return _Mirror(pa.schema(columns), CollectionSchema(fields=lite_fields), source)

    # ---- reporting ------------------------------------------------------------------------------

    def status(self, collection: str) -> dict[str, Any]:
        """What the index of ``collection`` holds as it serves (its snapshot loaded and caught up with the
        change log, or rebuilt), and what its saved snapshot holds (``snapshot_units``, ``seq``): the
        snapshot is saved only every ``snapshot_every`` changed units, so its count alone lags the store."""
        path = self._snapshot_path(collection)
        live = self.sync(collection).index.stats()
        info: dict[str, Any] = {"index": "figvault BM25F", "fields": list(LEXICAL_FIELDS)}
        info["log_head"] = self.changes.head() if self.changes else 0
        info["stemmer"] = self.settings.stemmer
        info.update({k: live[k] for k in ("units", "terms", "postings", "segments", "array_bytes")})
        if path is None or not path.exists():
            return {**info, "snapshot": None}
        header = LexicalIndex.read_header(path)
        return {
            **info,
            "snapshot": str(path),
            "snapshot_units": header.get("units"),
            "seq": header.get("seq"),
        }

    def describe(self, collection: str) -> dict[str, Any]:
        """What the index of ``collection`` holds (for ``figvault status``)."""
        served = self.sync(collection)
        path = self._snapshot_path(collection)
        return {
            **served.index.stats(),
            "log_seq": served.seq,
            "snapshot": str(path) if path is not None and path.exists() else None,
            "analyzer": {"stemmer": self.settings.stemmer, "stop_words": "lucene-english"},
        }
