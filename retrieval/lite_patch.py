"""Milvus Lite 3.2.2's dense search without its per-row Python loops (a patch applied at import, pinned).

Why: Lite's ``execute_search_with_index`` (``milvus_lite/search/executor_indexed.py``, Apache-2.0) works
out which rows are live on every search by walking every primary key of every segment in Python twice
(the newest-version map, then a per-row mask of versions and tombstones). At 100k units that is most of a
filtered dense search (about 150 of 190 ms); the FAISS search and the filter (pyarrow) are a few ms.

What changes: which segment rows are their key's newest version depends only on the set of segments,
which changes on a flush or a compaction, not per search. It is computed once per segment set and kept
(``_SegmentSet``); a search then only applies what can change between searches, each proportional to
its own size: the memtable's rows (newer versions of segment rows) and the tombstones (Lite's own
snapshot copies every tombstone per search already). And a hit's row is turned into Python objects only in
the columns the search asked for (``_projected_columns``), not in every column (vectors, long texts) to be
dropped by the projection. A filter's mask over a segment's rows is kept with the segment set too
(``_filter_masks``): Lite keeps each compiled expression, so a caller's access filter is evaluated once per
segment set instead of on every row of every segment per search. And a search is complete and, for few
rows, exact (``_recall``): a segment whose rows passing the filter are at most ``EXACT_ROWS`` is scored by
brute force over those rows alone, and a graph walk that comes back with fewer than ``min(limit, rows
passing)`` is completed the same way, so the store needs no count of the filter's matches
(``complete_search``). Both made a small caller's search time follow other tenants' rows (the walk's length
under a selective filter; Lite's count walks every row in Python). The rest is upstream's, unchanged.

Pinned: applied only to milvus-lite ``PINNED_VERSION`` whose original function has exactly the source it
was written for (``PINNED_SOURCE_SHA256``); anything else keeps Lite's own code, with one log line. Setting
``store.lite_fast_mask = false`` keeps Lite's code too. tests/retrieval/test_lite_patch.py checks the
patched search returns exactly what the original returns, with upserts, deletes, a memtable and filters.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

PINNED_VERSION = "3.2.2"
PINNED_SOURCE_SHA256 = "e22ce49c5ee11c9535792072df8ac5d07fe48f7a76888f1063d46adc14a6022f"
_CACHE_ENTRIES = 8
"""Segment sets kept (collections x vector fields x partition scopes); each holds a key map of its rows."""
_FILTERS_PER_SET = 32
"""Filter masks kept per segment set (``_filter_masks``): one boolean per row each."""

EXACT_ROWS = 2048
"""A source (segment, memtable) whose rows passing the filter are at most this many is scored exactly, by
Lite's brute-force kernel over those rows only: a graph walk under a selective filter visits about
``ef / selectivity`` nodes, so a small caller's search time grew with the rows of other tenants (10 ms with
none, 50 ms with 40,000 others' rows for a caller of 40, load 17-21); scoring 2,048 rows of 384 floats
costs about as much as one graph walk, and is exact."""

_state: dict[str, Any] = {"original": None, "applied": False, "fell_back": False}
_lock = threading.Lock()


def original_search() -> Callable[..., Any]:
    """Lite's own ``execute_search_with_index`` (also after the patch is applied)."""
    from milvus_lite.search import executor_indexed

    return _state["original"] or executor_indexed.execute_search_with_index


def why_not_applicable() -> str | None:
    """None when the patch fits the installed milvus-lite, else the reason it does not."""
    try:
        import milvus_lite
        from milvus_lite.search import executor_indexed
    except ImportError as exc:
        return f"milvus-lite is not importable ({exc})"
    version = getattr(milvus_lite, "__version__", "?")
    if version != PINNED_VERSION:
        return f"milvus-lite {version}, the patch is for {PINNED_VERSION}"
    source = inspect.getsource(original_search())
    if hashlib.sha256(source.encode()).hexdigest() != PINNED_SOURCE_SHA256:
        return "milvus-lite's execute_search_with_index is not the code the patch was written for"
    del executor_indexed
    return None


def apply() -> bool:
    """Install the fast search in milvus-lite (idempotent); False when it does not fit (Lite's code stays)."""
    with _lock:
        if _state["applied"]:
            return True
        reason = why_not_applicable()
        if reason is not None:
            log.info("Lite search patch not applied: %s", reason)
            return False
        from milvus_lite.engine import collection
        from milvus_lite.search import executor_indexed

        _state["original"] = executor_indexed.execute_search_with_index
        executor_indexed.execute_search_with_index = execute_search_with_index
        collection.execute_search_with_index = execute_search_with_index
        _state["applied"] = True
        return True


def applied() -> bool:
    return bool(_state["applied"])


def complete_search() -> bool:
    """Whether a filtered search returns every passing row up to its limit (the patch is applied): then a
    short answer means that fewer rows pass, and the store need not count them (Lite's count walks every
    row of every tenant in Python: its time told a caller how many rows others hold). Not once a search
    has fallen back to Lite's own code (``_build_segment_set``'s tie, never written by Lite)."""
    return applied() and not _state["fell_back"]


# ---- live rows -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SegmentSet:
    """Which rows of a fixed set of segments are their key's newest version among those segments."""

    segments: tuple[Any, ...]
    """Held so that the ids in the cache key cannot be reused while the entry lives."""
    live: tuple[np.ndarray, ...]
    where: dict[Any, tuple[int, int]]
    """key -> (segment index, row) of its newest row."""
    filters: OrderedDict[int, tuple[Any, tuple[np.ndarray, ...]]] = field(
        default_factory=OrderedDict, compare=False
    )
    """id(compiled filter) -> (the filter, held so that its id is not reused; its mask per segment)."""


_sets: OrderedDict[tuple[int, ...], _SegmentSet | None] = OrderedDict()
_sets_lock = threading.Lock()


def _build_segment_set(segments: tuple[Any, ...]) -> _SegmentSet | None:
    """None when some key has two rows of the same newest version (never written by Lite; then fall back)."""
    newest: dict[Any, tuple[int, int, int]] = {}
    tie = False
    for s, seg in enumerate(segments):
        for row, (pk, seq) in enumerate(zip(seg.pks, seg.seqs.tolist(), strict=True)):
            found = newest.get(pk)
            if found is None or seq > found[0]:
                newest[pk] = (seq, s, row)
            elif seq == found[0]:
                tie = True
    if tie:
        return None
    live = [np.zeros(seg.num_rows, dtype=bool) for seg in segments]
    where: dict[Any, tuple[int, int]] = {}
    for pk, (_seq, s, row) in newest.items():
        live[s][row] = True
        where[pk] = (s, row)
    return _SegmentSet(segments, tuple(live), where)


def _segment_set(segments: tuple[Any, ...]) -> _SegmentSet | None:
    key = tuple(id(seg) for seg in segments)
    with _sets_lock:
        if key in _sets:
            _sets.move_to_end(key)
            return _sets[key]
        built = _build_segment_set(segments)
        _sets[key] = built
        while len(_sets) > _CACHE_ENTRIES:
            _sets.popitem(last=False)
        return built


def _filter_masks(sset: _SegmentSet, compiled_filter: Any, plan: Any) -> tuple[np.ndarray, ...]:
    """The rows of each segment of ``sset`` that ``compiled_filter`` passes (read-only), evaluated once per
    segment set and filter: a segment's rows never change (writes make new segments and tombstones), and
    Lite compiles an expression once and keeps it (``Collection._compile_filter``), so a caller's access
    filter is one object from search to search."""
    from milvus_lite.search.indexed_filter import evaluate_segment_filter

    key = id(compiled_filter)
    with _sets_lock:
        kept = sset.filters.get(key)
        if kept is not None:
            sset.filters.move_to_end(key)
            return kept[1]
    masks = tuple(
        np.array(evaluate_segment_filter(seg, compiled_filter, plan), dtype=bool) for seg in sset.segments
    )
    for mask in masks:
        mask.setflags(write=False)
    with _sets_lock:
        sset.filters[key] = (compiled_filter, masks)
        while len(sset.filters) > _FILTERS_PER_SET:
            sset.filters.popitem(last=False)
    return masks


def _live_masks(
    sset: _SegmentSet,
    mt_pks: list[Any],
    mt_seqs: np.ndarray,
    delta_index: Any,
    mt_deletes: dict[Any, tuple[int, Any]],
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per segment and for the memtable: rows that are their key's newest version and not deleted."""
    masks = [m.copy() for m in sset.live]
    seqs = [seg.seqs for seg in sset.segments]
    mt_live = np.ones(len(mt_pks), dtype=bool)
    for j, (pk, seq) in enumerate(zip(mt_pks, mt_seqs.tolist(), strict=True)):
        found = sset.where.get(pk)
        if found is not None:
            seg_seq = int(seqs[found[0]][found[1]])
            if seg_seq < seq:
                masks[found[0]][found[1]] = False
            elif seg_seq > seq:
                mt_live[j] = False
        mt_entry = mt_deletes.get(pk)
        if delta_index.is_deleted(pk, seq) or (mt_entry is not None and mt_entry[0] > seq):
            mt_live[j] = False
    tombstones = [delta_index.snapshot.items(), ((pk, e[0]) for pk, e in mt_deletes.items())]
    for items in tombstones:
        for pk, delete_seq in items:
            found = sset.where.get(pk)
            if found is not None and delete_seq > int(seqs[found[0]][found[1]]):
                masks[found[0]][found[1]] = False
    return masks, mt_live


# ---- the search (upstream's function with the live-row masks above) ----------------------------------


def execute_search_with_index(
    query_vectors: np.ndarray,
    segments: Any,
    memtable: Any,
    delta_index: Any,
    top_k: int,
    metric_type: str,
    pk_field: str,
    vector_field: str,
    partition_names: list[str] | None = None,
    compiled_filter: Any = None,
    output_fields: list[str] | None = None,
    indexed_filter_plan: Any = None,
    project_record_fn: Callable[[dict], dict] | None = None,
    search_params: dict[str, Any] | None = None,
) -> list[list[dict]]:
    """Drop-in for ``milvus_lite.search.executor_indexed.execute_search_with_index`` (same arguments)."""
    args = dict(locals())
    query_vectors = _query_matrix(query_vectors)
    nq = int(query_vectors.shape[0])
    if nq == 0 or top_k <= 0:
        return [[] for _ in range(nq)]
    scope = set(partition_names) if partition_names else None
    in_scope = tuple(s for s in segments if s.num_rows > 0 and (scope is None or s.partition in scope))
    mt_pks, mt_seqs, mt_vecs, mt_row_refs, mt_table = _memtable_snapshot(
        memtable, vector_field, partition_names, compiled_filter is not None
    )
    if not in_scope and not mt_pks:
        return [[] for _ in range(nq)]
    sset = _segment_set(in_scope)
    if sset is None:
        _state["fell_back"] = True
        return original_search()(**args)
    masks, mt_live = _live_masks(sset, mt_pks, mt_seqs, delta_index, memtable.delete_index_snapshot())

    candidates: list[list[tuple[float, int, int]]] = [[] for _ in range(nq)]

    def recall(position: int, vectors: np.ndarray, mask: np.ndarray, index: Any = None) -> None:
        _recall(candidates, position, vectors, mask, index, query_vectors, top_k, metric_type, search_params)

    passed = (
        _filter_masks(sset, compiled_filter, indexed_filter_plan) if compiled_filter is not None else None
    )
    for s, seg in enumerate(in_scope):
        vectors, mask = _segment_rows(seg, masks[s], vector_field, None if passed is None else passed[s])
        recall(s, vectors, mask, seg.indexes.get(vector_field))
    if mt_pks:
        recall(len(in_scope), mt_vecs, _memtable_rows(mt_live, mt_table, compiled_filter))
    return _merge(
        candidates,
        in_scope,
        memtable,
        mt_pks,
        mt_row_refs,
        top_k,
        pk_field,
        vector_field,
        output_fields,
        project_record_fn,
    )


def _query_matrix(query_vectors: np.ndarray) -> np.ndarray:
    """The queries as a float32 matrix, one row each."""
    if query_vectors.ndim == 1:
        query_vectors = query_vectors.reshape(1, -1)
    return query_vectors.astype(np.float32, copy=False)


def _segment_rows(
    seg: Any, mask: np.ndarray, vector_field: str, passed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """A segment's vectors and the rows a search may return: ``mask`` (its live rows, narrowed in place)
    and those the filter ``passed`` (None: no filter), among those with a vector."""
    vectors, null_mask = seg.vector_data(vector_field)
    if passed is not None:
        mask &= passed
    if null_mask is not None:
        mask &= null_mask
    return vectors, mask


def _memtable_rows(mt_live: np.ndarray, mt_table: Any, compiled_filter: Any) -> np.ndarray:
    """The memtable rows a search may return: ``mt_live`` (narrowed in place) and the filter's."""
    if compiled_filter is not None and mt_table is not None:
        from milvus_lite.search.filter import evaluate_mask

        mt_live &= evaluate_mask(compiled_filter, mt_table).astype(bool)
    return mt_live


def _memtable_snapshot(
    memtable: Any, vector_field: str, partition_names: list[str] | None, include_table: bool
) -> tuple[list[Any], np.ndarray, np.ndarray, list[tuple[int, int]], Any]:
    """``memtable.to_search_snapshot(...)``, skipped when the memtable holds no row (the usual state: figvault
    flushes after its writes). Lite's snapshot then still built an empty Arrow table of the collection's
    schema per search; with no keys nothing of the snapshot is read (no memtable hits, no mask)."""
    keys = getattr(memtable, "_pk_index", None)
    if isinstance(keys, dict) and not keys:  # one atomic read: empty now, as a locked snapshot would say
        return [], np.zeros(0, dtype=np.uint64), np.zeros((0, 0), dtype=np.float32), [], None
    return memtable.to_search_snapshot(
        vector_field=vector_field, partition_names=partition_names, include_table=include_table
    )


def _recall(
    candidates: list[list[tuple[float, int, int]]],
    source: int,
    vectors: np.ndarray,
    mask: np.ndarray,
    index: Any,
    queries: np.ndarray,
    top_k: int,
    metric_type: str,
    params: dict[str, Any] | None,
) -> None:
    """One source's top ``top_k`` among its ``mask`` rows, appended as (distance, source, row): always
    ``min(top_k, rows passing)`` of them, so a search is complete (``complete_search``)."""
    passing = int(np.count_nonzero(mask))
    if passing == 0:
        return
    if index is None or passing <= EXACT_ROWS:
        ids, dists = _exact_recall(vectors, mask, queries, top_k, metric_type)
    else:
        # valid_mask=None: all rows valid, which skips the IDSelector path (it bounds the ANN traversal).
        valid = None if passing == len(mask) else mask
        ids, dists = index.search(queries, top_k, valid_mask=valid, params=params)
        short = (ids >= 0).sum(axis=1) < min(top_k, passing)
        if short.any():  # HNSW under a selective filter missed reachable rows: score those rows exactly
            exact_ids, exact_dists = _exact_recall(vectors, mask, queries[short], top_k, metric_type)
            ids, dists = ids.copy(), dists.copy()
            ids[short], dists[short] = exact_ids, exact_dists
    for q in range(queries.shape[0]):
        for j in range(top_k):
            row = int(ids[q, j])
            if row < 0:
                break
            candidates[q].append((float(dists[q, j]), source, row))


def _exact_recall(
    vectors: np.ndarray, mask: np.ndarray, queries: np.ndarray, top_k: int, metric_type: str
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``top_k`` of the ``mask`` rows by Lite's own brute-force kernel (it scores only those rows):
    (ids of the source's rows, -1 past the end; distances)."""
    from milvus_lite.index.brute_force import BruteForceIndex

    return BruteForceIndex.build(vectors, metric_type).search(queries, top_k, valid_mask=mask)


def _merge(
    candidates: list[list[tuple[float, int, int]]],
    in_scope: tuple[Any, ...],
    memtable: Any,
    mt_pks: list[Any],
    mt_row_refs: list[tuple[int, int]],
    top_k: int,
    pk_field: str,
    vector_field: str,
    output_fields: list[str] | None,
    project_record_fn: Callable[[dict], dict] | None,
) -> list[list[dict]]:
    """Upstream's global merge: best ``top_k`` over all sources, ties by (source, row); rows projected."""
    if project_record_fn is not None:
        project = project_record_fn
    elif output_fields is None:

        def project(record: dict) -> dict:
            return {k: v for k, v in record.items() if k not in (pk_field, vector_field)}
    else:
        keep = set(output_fields) - {pk_field}

        def project(record: dict) -> dict:
            return {k: record[k] for k in keep if k in record}

    columns: dict[int, dict[str, Any] | None] = {}
    results = []
    for per_query in candidates:
        per_query.sort(key=lambda c: (c[0], c[1], c[2]))
        hits = []
        for dist, source, row in per_query[:top_k]:
            if source < len(in_scope):
                if source not in columns:
                    columns[source] = _projected_columns(in_scope[source].table, pk_field, output_fields)
                wanted = columns[source]
                if wanted is None:
                    record = in_scope[source].row_to_dict(row)
                else:  # the same values row_to_dict gives for these columns
                    record = {name: column[row].as_py() for name, column in wanted.items()}
                pks = in_scope[source].pks
            else:
                record = memtable.materialize_row(*mt_row_refs[row])
                pks = mt_pks
            pk = record.get(pk_field) if pk_field in record else pks[row]
            hits.append({"id": pk, "distance": dist, "entity": project(record)})
        results.append(hits)
    return results


def _projected_columns(table: Any, pk_field: str, output_fields: list[str] | None) -> dict[str, Any] | None:
    """The segment columns a hit's record needs when ``output_fields`` names only plain columns of
    ``table`` (the key included); None when Lite's whole record is needed: no output fields (all of them),
    ``*``, a dynamic field, a field this segment lacks, or a ``$meta`` column (whose keys row_to_dict
    unpacks over the columns).

    Lite's ``Segment.row_to_dict`` turns every column of a row into Python objects (the vectors and the
    long texts too) and its projection then keeps the requested ones: with a search asking for ids only,
    that was 70% of a Lite search's time. Lite's projection (``project_record``) then reads exactly these
    keys, so the hits are the same."""
    if output_fields is None:
        return None
    names = set(table.schema.names)
    wanted = list(dict.fromkeys([pk_field, *output_fields]))
    if "$meta" in names or any(name not in names for name in wanted):
        return None
    return {name: table.column(name) for name in wanted}
