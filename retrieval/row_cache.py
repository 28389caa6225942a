"""The rows of search hits kept in memory for the embedded store, exact under this process's writes.

Why: reading a search's candidates by key from Milvus Lite is a round trip through its in-process gRPC
server and its row code: with 8 concurrent searches on corpus + distractors that was about a third of the
serving process's CPU (the light fields of 50 candidates, then the whole rows of the shown ones). The same
rows are read again and again (the corpus is small next to the questions asked of it).

Exact, not "fresh enough": only for Milvus Lite, whose folder is served by one process, so every write to
its rows goes through a ``MilvusUnitStore`` of this process (``upsert_rows``, ``delete_ids``,
``drop_collection``: the only ways rows change), and each write is bracketed here:

- ``writing(collection, ids)`` evicts the ids and marks them in flight before the write reaches Milvus, and
  evicts them again when it is done. While a write is in flight its ids are read from Milvus.
- A row read from Milvus is kept only when no write of its collection began or ended between the lookup
  that missed it and now (``token``) and none of its ids is in flight: a row read just before a write
  cannot be kept after it.

So every row this serves equals what Milvus answers by key at that moment; access is still enforced by the
vector query's filter and again on the row's own access fields (``SearchEngine._may_see``). A Milvus server
has writers in other processes: it gets no cache (its key fetch is its fast path anyway).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from figvault.retrieval.schema import F_ID

Key = tuple[str, str]


def _fresh(value: Any) -> Any:
    """A copy of a row value that the caller may change without changing the cached one."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _fresh(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) for v in value] if any(isinstance(v, (dict, list)) for v in value) else list(value)
    return value


def _compact(value: Any) -> Any:
    """A vector (list of float32 values) as a float32 array: a quarter of the memory, the same floats back."""
    if isinstance(value, list) and len(value) > 16 and all(type(v) is float for v in value):
        array = np.asarray(value, dtype=np.float32)
        if array.tolist() == value:
            return array
    return _fresh(value)


class RowCache:
    """Rows by (collection, unit id), least recently used first out; thread-safe."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self._rows: OrderedDict[Key, dict[str, Any]] = OrderedDict()
        self._in_flight: Counter[Key] = Counter()
        self._writes: Counter[str] = Counter()
        """Per collection: how many writes began or ended (a row read across one is not kept)."""
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._rows)

    def lookup(
        self, collection: str, unit_ids: Sequence[str], fields: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], list[str], int]:
        """(the cached rows of ``unit_ids`` with ``fields``, copies; the ids not cached; the token that
        ``keep`` needs for the rows read for those)."""
        with self._lock:
            token = self._writes[collection]
            found: dict[str, dict[str, Any]] = {}
            missing: list[str] = []
            for uid in unit_ids:
                row = self._rows.get((collection, uid))
                if row is None:
                    missing.append(uid)
                else:
                    self._rows.move_to_end((collection, uid))
                    found[uid] = row
        # Cached rows are never changed in place (only replaced or evicted): copied outside the lock.
        return {uid: project_row(row, fields) for uid, row in found.items()}, missing, token

    def keep(self, collection: str, rows: Sequence[dict[str, Any]], token: int) -> int:
        """Cache ``rows`` (read from Milvus after the ``lookup`` that gave ``token``) unless a write of the
        collection began or ended since, or one of theirs is in flight. Returns how many were kept."""
        if self.max_rows <= 0:
            return 0
        compact = [(row[F_ID], {k: _compact(v) for k, v in row.items()}) for row in rows]
        with self._lock:
            if self._writes[collection] != token:
                return 0
            kept = 0
            for uid, row in compact:
                if self._in_flight[(collection, uid)]:
                    continue
                self._rows[(collection, uid)] = row
                self._rows.move_to_end((collection, uid))
                kept += 1
            while len(self._rows) > self.max_rows:
                self._rows.popitem(last=False)
            return kept

    @contextmanager
    def writing(self, collection: str, unit_ids: Sequence[str]) -> Iterator[None]:
        """Bracket a write of ``unit_ids`` to Milvus: evicted and in flight for its whole duration."""
        keys = [(collection, uid) for uid in unit_ids]
        self._begin_or_end(collection, keys, +1)
        try:
            yield
        finally:
            self._begin_or_end(collection, keys, -1)

    def _begin_or_end(self, collection: str, keys: list[Key], step: int) -> None:
        with self._lock:
            self._writes[collection] += 1
            for key in keys:
                self._rows.pop(key, None)
                self._in_flight[key] += step
                if self._in_flight[key] <= 0:
                    del self._in_flight[key]

    def forget(self, collection: str) -> None:
        """Drop every row of ``collection`` (dropped: a later collection of that name is another one)."""
        with self._lock:
            self._writes[collection] += 1
            for key in [k for k in self._rows if k[0] == collection]:
                del self._rows[key]


def project_row(row: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``row`` with ``fields`` (and its id, which Milvus always returns), as a fresh copy."""
    out = {F_ID: row[F_ID]}
    for name in fields:
        if name in row:
            out[name] = _fresh(row[name])
    return out


_caches: dict[str, RowCache] = {}
_caches_lock = threading.Lock()


def shared_row_cache(uri: str, max_rows: int) -> RowCache:
    """The one cache of the embedded store at ``uri`` in this process (every store object there shares it:
    a write through any of them evicts what the others read)."""
    with _caches_lock:
        cache = _caches.get(uri)
        if cache is None:
            cache = _caches[uri] = RowCache(max_rows)
        cache.max_rows = max(cache.max_rows, max_rows)
        return cache
