"""An in-memory BM25F index of unit rows whose statistics are computed, per query, over exactly the rows
the caller may see.

Storage: term frequencies per (term, field) column in compressed sparse columns (CSC) over row slots, kept
in a few immutable segments (new rows go into a new segment; segments merge like a binary counter, so there
are O(log n) of them), plus per-row arrays: alive, access code (tenant + acl key), field lengths.
Per access code the index keeps the number of rows and the sum of each field's length, so a caller's
``N`` and average field lengths are sums over the caller's codes.

Within a segment the rows are ordered by access code and each segment keeps the row range of every code,
so each column's postings (ascending rows) are partitioned by code: a query reads, per (term, field,
segment), only the slices of the caller's visible codes (two binary searches per run of consecutive visible
codes find them; the runs, ``_Segment.spans``, are found once a search). The work
of a search therefore does not grow with the rows of other tenants or groups that hold its terms (it did
when whole posting lists were read and then masked: a timing channel). A term absent from the index takes
the same steps as a present one.

A query touches only the posting lists of its terms: per term, the caller's slices, masked to live rows,
give the term's document frequency *over the
caller's rows*, the BM25F pseudo-frequency per row (weighted per field, each field length-normalised by the
caller's average length of that field), and the term's score. Rows the caller may not see never contribute
to IDF, average lengths or candidates, so adding or removing them changes nothing the caller gets.

Scoring (Robertson & Zaragoza's simple BM25F; with one field it is Lucene's BM25, the formula Milvus uses)::

    tf~(t, d) = sum_f  w_f * tf_f(t, d) / (1 - b_f + b_f * len_f(d) / avglen_f)
    score(d)  = sum_t  qtf(t) * ln(1 + (N - df_t + 0.5) / (df_t + 0.5)) * tf~ * (k1 + 1) / (k1 + tf~)
"""

from __future__ import annotations

import heapq
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from figvault.private_dirs import make_private_dirs
from figvault.retrieval.lexical_text import Analyzer, field_texts
from figvault.retrieval.schema import F_ACL_KEY, F_ID, F_TENANT
from figvault.search_names import LEXICAL_FIELDS
from figvault.settings import known_keys

NF = len(LEXICAL_FIELDS)
SNAPSHOT_FORMAT = 2
"""2: rows ordered by access code within a segment, with per-code row ranges. An older snapshot fails to
load (ValueError) and the channel rebuilds it from Milvus."""
_NO_COLUMNS = np.zeros(NF + 1, dtype=np.int64)

RowFilter = Callable[[pa.Table], np.ndarray]
"""Given the mirrored columns of candidate rows, which of them pass the request's filter."""


@dataclass(frozen=True)
class BM25FParams:
    k1: float = 1.2
    weights: tuple[float, ...] = (1.0,) * NF
    """Per field of ``LEXICAL_FIELDS``."""
    b: tuple[float, ...] = (0.75,) * NF

    @classmethod
    def from_mappings(cls, k1: float, weights: Mapping[str, float], b: Mapping[str, float]) -> BM25FParams:
        known_keys(weights, LEXICAL_FIELDS)  # settings refuse them at load; this is for other callers
        known_keys(b, LEXICAL_FIELDS)
        return cls(
            k1=float(k1),
            weights=tuple(float(weights.get(f, 1.0)) for f in LEXICAL_FIELDS),
            b=tuple(float(b.get(f, 0.75)) for f in LEXICAL_FIELDS),
        )


@dataclass(frozen=True)
class Scope:
    """Whose statistics: the rows of ``tenant`` whose acl key is in ``keys`` (None: every key of it)."""

    tenant: str
    keys: frozenset[str] | None


@dataclass
class PostingReads:
    """How many postings searches read (a diagnostic: the isolation test asserts that it does not depend
    on rows the caller cannot see)."""

    postings: int = 0


@dataclass
class _Segment:
    start: int
    """Global row id of the segment's first row."""
    indptr: np.ndarray
    """int64, one entry per (term, field) column + 1: column ``term * NF + field``."""
    indices: np.ndarray
    """int32 local row ids, ascending within a column."""
    data: np.ndarray
    """float32 term frequencies."""
    meta: pa.Table
    """``unit_id`` and the mirrored scalar columns of the segment's rows, in row order."""
    code_rows: np.ndarray
    """int32, one entry per access code known when the segment was built + 1: the rows of code ``c`` are
    local rows ``code_rows[c]:code_rows[c + 1]`` (rows are ordered by code)."""
    code_terms_ptr: np.ndarray
    code_terms: np.ndarray
    """The terms each access code's rows hold (dead rows' too until a merge drops them): those of code ``c``
    are ``code_terms[code_terms_ptr[c]:code_terms_ptr[c + 1]]`` (int32 term ids, ascending). "Did you
    mean" reads a caller's vocabulary here, not every tenant's (``IndexView.visible_terms``)."""

    @property
    def n(self) -> int:
        return self.meta.num_rows

    def spans(self, codes: np.ndarray) -> np.ndarray:
        """The local row ranges of access ``codes`` (ascending) in this segment, as edges (int32, as the
        columns: numpy would otherwise convert a whole column before searching it): the lower ends, then
        the upper ends. Ranges of consecutive codes are one range and empty ranges are dropped; both are
        decided by the caller's codes and their own rows alone. Computed once per search, not per term."""
        known = codes[codes < len(self.code_rows) - 1]
        first = np.ones(len(known), dtype=bool)
        first[1:] = known[1:] != known[:-1] + 1  # a run of consecutive codes starts here
        last = np.ones(len(known), dtype=bool)
        last[:-1] = first[1:]
        lo, hi = self.code_rows[known[first]], self.code_rows[known[last] + 1]
        rows = hi > lo
        return np.concatenate([lo[rows], hi[rows]])

    def postings(self, term: int | None, spans: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(global rows, tf, field) of the postings of ``term`` (None: not in the index) in the row ranges
        ``spans`` (``spans()``: the caller's codes), field by field and, within a field, range by range.

        Reads only those slices: the same steps whatever other codes' rows hold the term (the binary
        searches aside, whose depth is the logarithm of the column's length)."""
        col = -1 if term is None else term * NF
        if col < 0 or col + NF >= len(self.indptr):  # a term in no row, or newer than this segment:
            col, indptr = 0, _NO_COLUMNS  # the same steps on empty columns
        else:
            indptr = self.indptr
        bounds = indptr[col : col + NF + 1].tolist()
        ranges = len(spans) // 2
        found = np.concatenate(
            [np.searchsorted(self.indices[bounds[f] : bounds[f + 1]], spans) + bounds[f] for f in range(NF)]
        ).reshape(NF * 2, ranges)
        lo, hi = found[0::2].ravel(), found[1::2].ravel()  # field by field, range by range
        lengths = hi - lo
        picks = np.repeat(lo - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        fields = np.repeat(np.repeat(np.arange(NF), ranges), lengths)
        return self.indices[picks].astype(np.int64) + self.start, self.data[picks], fields

    @property
    def nbytes(self) -> int:
        arrays = self.indptr.nbytes + self.indices.nbytes + self.data.nbytes + self.code_rows.nbytes
        return arrays + self.meta.nbytes


@dataclass
class _Growable:
    """Per-row arrays that grow by doubling."""

    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    lens: np.ndarray = field(default_factory=lambda: np.zeros((0, NF), dtype=np.int32))
    n: int = 0

    def reserve(self, extra: int) -> None:
        need = self.n + extra
        if need <= len(self.alive):
            return
        size = max(need, 2 * len(self.alive), 1024)
        self.alive = np.resize(self.alive, size)
        self.code = np.resize(self.code, size)
        self.lens = np.resize(self.lens, (size, NF))
        self.alive[self.n :] = False

    def truncate(self, n: int) -> None:
        self.alive[n:] = False
        self.n = n


@dataclass(frozen=True)
class IndexView:
    """What a search reads, fixed when taken (``LexicalIndex.view``): its own copies of the per-row and
    per-access-code arrays, the index's segments (never changed once built: a merge makes a new one) and its
    term dictionary (only ever added to; a term newer than a segment has no postings in it)."""

    analyzer: Analyzer
    meta_schema: pa.Schema
    term_id: Mapping[str, int]
    segments: tuple[_Segment, ...]
    alive: np.ndarray
    code: np.ndarray
    lens: np.ndarray
    count: np.ndarray
    """Live rows per access code."""
    lensum: np.ndarray
    """Summed field lengths of the live rows per access code."""
    codes: Mapping[tuple[str, str], int]
    """(tenant, acl_key) -> access code."""
    terms: Sequence[str]
    """Term id -> term (only ever appended to, like ``term_id``)."""

    def search(
        self,
        query: str,
        scope: Scope,
        limit: int,
        params: BM25FParams,
        row_filter: RowFilter | None = None,
        reads: PostingReads | None = None,
    ) -> list[tuple[str, float]]:
        """The caller's top ``limit`` (unit_id, BM25F score), best first; ties by unit id. ``reads``, when
        given, is incremented by the number of postings read."""
        visible = self._visible_codes(scope)
        if visible is None or limit <= 0:
            return []
        n_docs = self.visible_rows(scope)
        if n_docs == 0:
            return []
        avglen = self.lensum[visible].sum(axis=0) / n_docs
        weights = np.asarray(params.weights, dtype=np.float64)
        b = np.asarray(params.b, dtype=np.float64)
        # B_f(d) = 1 - b_f + b_f * len_f(d) / avglen_f; a field no visible row has keeps B = 1.
        slope = np.where(avglen > 0, b / np.where(avglen > 0, avglen, 1.0), 0.0)
        k1 = params.k1
        per_term_rows: list[np.ndarray] = []
        per_term_scores: list[np.ndarray] = []
        spans = [seg.spans(visible) for seg in self.segments]  # the caller's row ranges, once per search
        for term, qtf in self.analyzer.counts(query).items():
            parts = [
                seg.postings(self.term_id.get(term), span)
                for seg, span in zip(self.segments, spans, strict=True)
            ]
            rows = np.concatenate([p[0] for p in parts])
            if reads is not None:
                reads.postings += len(rows)
            ok = self.alive[rows]  # every slice is of a visible code already
            rows = rows[ok]
            if not len(rows):
                continue
            tf = np.concatenate([p[1] for p in parts])[ok].astype(np.float64)
            fields = np.concatenate([p[2] for p in parts])[ok]
            norm = 1.0 - b[fields] + slope[fields] * self.lens[rows, fields]
            unique, inverse = np.unique(rows, return_inverse=True)
            pseudo = np.bincount(inverse, weights=weights[fields] * tf / norm, minlength=len(unique))
            df = len(unique)
            idf = np.log(1.0 + (n_docs - df + 0.5) / (df + 0.5))
            per_term_rows.append(unique)
            per_term_scores.append(qtf * idf * pseudo * (k1 + 1.0) / (k1 + pseudo))
        if not per_term_rows:
            return []
        candidates, inverse = np.unique(np.concatenate(per_term_rows), return_inverse=True)
        scores = np.bincount(inverse, weights=np.concatenate(per_term_scores), minlength=len(candidates))
        if row_filter is not None:
            passed = np.asarray(row_filter(self.meta_of(candidates)), dtype=bool)
            candidates, scores = candidates[passed], scores[passed]
        return self._top(candidates, scores, limit)

    def units_holding(self, term: str, scope: Scope, limit: int) -> list[str]:
        """Up to ``limit`` ids of live units the caller may see whose text holds the analyzed ``term`` (in
        any field); none when no such unit is visible to the caller, whatever other tenants' units hold."""
        tid = self.term_id.get(term)
        visible = self._visible_codes(scope)
        if tid is None or visible is None or limit <= 0:
            return []
        found: list[int] = []
        for seg in self.segments:
            rows = np.unique(seg.postings(tid, seg.spans(visible))[0])  # only the caller's slices
            rows = rows[self.alive[rows]]
            found.extend(rows[: limit - len(found)].tolist())
            if len(found) >= limit:
                break
        return self._column_of(np.asarray(sorted(found), dtype=np.int64), 0).to_pylist() if found else []

    def held(self, terms: list[str], scope: Scope) -> list[bool]:
        """Per analyzed term: whether a live unit the caller may see holds it (in any field). The caller's
        codes and row ranges are found once for all the terms (``units_holding`` per term costs that each
        time), and only the caller's slices are read, whatever other tenants' units hold."""
        visible = self._visible_codes(scope)
        if visible is None:
            return [False] * len(terms)
        spans = [seg.spans(visible) for seg in self.segments]
        return [
            any(
                bool(self.alive[seg.postings(self.term_id.get(term), span)[0]].any())
                for seg, span in zip(self.segments, spans, strict=True)
            )
            for term in terms
        ]

    def visible_terms(self, scope: Scope) -> list[str]:
        """Every term a row of the caller's access codes holds (a deleted row's too until its segment is
        merged): read from the caller's codes' slices of each segment's ``code_terms``, so the work grows with
        the caller's vocabulary, never with other tenants' or groups'."""
        visible = self._visible_codes(scope)
        if visible is None:
            return []
        parts = []
        for seg in self.segments:
            known = visible[visible < len(seg.code_terms_ptr) - 1]
            ptr = seg.code_terms_ptr
            parts.extend(seg.code_terms[lo:hi] for lo, hi in zip(ptr[known], ptr[known + 1], strict=True))
        ids = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int32)
        return [self.terms[i] for i in ids.tolist()]

    def visible_rows(self, scope: Scope) -> int:
        """How many live rows the caller may see: the ``N`` of the caller's BM25 (its IDF scale)."""
        visible = self._visible_codes(scope)
        return 0 if visible is None else int(self.count[visible].sum())

    def _visible_codes(self, scope: Scope) -> np.ndarray | None:
        if scope.keys is None:
            codes = [c for (t, _), c in self.codes.items() if t == scope.tenant]
        else:
            codes = [c for k in scope.keys if (c := self.codes.get((scope.tenant, k))) is not None]
        return np.asarray(sorted(codes), dtype=np.int64) if codes else None

    def _top(self, rows: np.ndarray, scores: np.ndarray, limit: int) -> list[tuple[str, float]]:
        if not len(rows):
            return []
        if len(rows) > limit:
            # Everything scoring at least the limit-th score (ties included), then exact ordering.
            threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            chosen = scores >= threshold
            rows, scores = rows[chosen], scores[chosen]
        # Only the id column (ties at the threshold can be thousands of rows: taking every mirrored column
        # of them was most of a search at 100k units), and only the best ``limit`` ordered.
        ids = self._column_of(rows, 0).to_pylist()
        return heapq.nsmallest(limit, zip(ids, scores.tolist(), strict=True), key=lambda p: (-p[1], p[0]))

    def meta_of(self, rows: np.ndarray) -> pa.Table:
        """The mirrored columns of global ``rows`` (ascending), in that order."""
        parts = [seg.meta.take(local) for seg, local in self._per_segment(rows)]
        return pa.concat_tables(parts) if parts else self.meta_schema.empty_table()

    def _column_of(self, rows: np.ndarray, column: int) -> pa.ChunkedArray:
        """Mirrored column ``column`` of global ``rows`` (ascending), in that order."""
        parts = [seg.meta.column(column).take(local) for seg, local in self._per_segment(rows)]
        return pa.chunked_array(
            [chunk for part in parts for chunk in part.chunks], type=self.meta_schema.field(column).type
        )

    def _per_segment(self, rows: np.ndarray) -> list[tuple[_Segment, pa.Array]]:
        """Global ``rows`` (ascending) as (segment, its local rows), in order."""
        starts = np.asarray([s.start for s in self.segments], dtype=np.int64)
        which = np.searchsorted(starts, rows, side="right") - 1
        return [
            (self.segments[int(s)], pa.array(rows[which == s] - self.segments[int(s)].start))
            for s in np.unique(which)
        ]


class LexicalIndex:
    """Rows in, caller-scoped BM25F top-k out. Writes are not thread-safe (the caller serialises them and
    ``view``); a view may be searched from any thread while the index is written."""

    def __init__(self, analyzer: Analyzer, meta_schema: pa.Schema) -> None:
        if meta_schema.get_field_index(F_ID) != 0:
            raise ValueError("the mirrored columns must start with unit_id")
        self.analyzer = analyzer
        self.meta_schema = meta_schema
        self._terms: list[str] = []
        self._term_id: dict[str, int] = {}
        self._segments: list[_Segment] = []
        self._rows = _Growable()
        self._row_of: dict[str, int] = {}
        self._codes: dict[tuple[str, str], int] = {}
        self._code_keys: list[tuple[str, str]] = []
        self._count = np.zeros(0, dtype=np.int64)
        self._lensum = np.zeros((0, NF), dtype=np.int64)
        self._view: IndexView | None = None

    # ---- writes ---------------------------------------------------------------------------------

    def upsert(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Insert ``rows`` (stored unit rows); a unit already present is replaced."""
        latest: dict[str, Mapping[str, Any]] = {}
        for row in rows:
            latest[str(row[F_ID])] = row
        if not latest:
            return
        self._view = None
        self.delete(latest)
        self._append(list(latest.values()))
        self._maybe_merge()

    def delete(self, unit_ids: Iterable[str]) -> int:
        gone = [g for uid in unit_ids if (g := self._row_of.pop(uid, None)) is not None]
        if not gone:
            return 0
        self._view = None
        idx = np.asarray(gone, dtype=np.int64)
        self._rows.alive[idx] = False
        codes = self._rows.code[idx]
        np.subtract.at(self._count, codes, 1)
        np.subtract.at(self._lensum, codes, self._rows.lens[idx].astype(np.int64))
        return len(gone)

    def _code(self, tenant: str, key: str) -> int:
        code = self._codes.get((tenant, key))
        if code is None:
            code = len(self._code_keys)
            self._codes[(tenant, key)] = code
            self._code_keys.append((tenant, key))
            self._count = np.append(self._count, 0)
            self._lensum = np.vstack([self._lensum, np.zeros((1, NF), dtype=np.int64)])
        return code

    def _term(self, term: str) -> int:
        tid = self._term_id.get(term)
        if tid is None:
            tid = len(self._terms)
            self._term_id[term] = tid
            self._terms.append(term)
        return tid

    def _append(self, rows: list[Mapping[str, Any]]) -> None:
        start = self._rows.n
        codes = np.asarray(
            [self._code(str(r[F_TENANT]), str(r.get(F_ACL_KEY) or "")) for r in rows], dtype=np.int32
        )
        order = np.argsort(codes, kind="stable")  # a segment's rows are ordered by access code
        rows, codes = [rows[i] for i in order], codes[order]
        self._rows.reserve(len(rows))
        cols: list[np.ndarray] = []
        local: list[np.ndarray] = []
        tfs: list[np.ndarray] = []
        lens = np.zeros((len(rows), NF), dtype=np.int32)
        cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # page texts, document names repeat
        for i, row in enumerate(rows):
            for f, text in enumerate(field_texts(row)):
                if not text:
                    continue
                terms = cache.get(text)
                if terms is None:
                    counts = self.analyzer.counts(text)
                    ids = np.fromiter((self._term(t) for t in counts), dtype=np.int64, count=len(counts))
                    terms = (ids, np.fromiter(counts.values(), dtype=np.float32, count=len(counts)))
                    if len(cache) < 4096:
                        cache[text] = terms
                if not len(terms[0]):
                    continue
                cols.append(terms[0] * NF + f)
                local.append(np.full(len(terms[0]), i, dtype=np.int64))
                tfs.append(terms[1])
                lens[i, f] = int(terms[1].sum())
        end = start + len(rows)
        self._rows.alive[start:end] = True
        self._rows.code[start:end] = codes
        self._rows.lens[start:end] = lens
        self._rows.n = end
        np.add.at(self._count, codes, 1)
        np.add.at(self._lensum, codes, lens.astype(np.int64))
        for offset, row in enumerate(rows):
            self._row_of[str(row[F_ID])] = start + offset
        meta = pa.Table.from_pylist([_meta_row(r, self.meta_schema) for r in rows], schema=self.meta_schema)
        self._segments.append(
            _build_segment(
                start,
                np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64),
                np.concatenate(local) if local else np.zeros(0, dtype=np.int64),
                np.concatenate(tfs) if tfs else np.zeros(0, dtype=np.float32),
                len(self._terms) * NF,
                meta,
                self._code_ranges(codes),
            )
        )

    def _code_ranges(self, codes: np.ndarray) -> np.ndarray:
        """The ``code_rows`` of a segment whose rows have access ``codes`` (ascending)."""
        every = np.arange(len(self._code_keys) + 1)
        return np.searchsorted(codes, every).astype(np.int32)

    def _maybe_merge(self) -> None:
        """Binary-counter merging: the newest segment absorbs its predecessor while it is at least half its
        size, so there are O(log n) segments and each row is rewritten O(log n) times; a segment with many
        dead rows is rewritten with its successors."""
        segs = self._segments
        first = len(segs) - 1
        while first > 0 and self._live(segs[first:]) * 2 >= self._live(segs[first - 1 : first]):
            first -= 1
        for i, seg in enumerate(segs[:first]):
            if self._live([seg]) * 4 < seg.n * 3:  # over a quarter dead
                first = i
                break
        if first < len(segs) - 1:
            self._merge(first)

    def _live(self, segs: Sequence[_Segment]) -> int:
        if not segs:
            return 0
        lo, hi = segs[0].start, segs[-1].start + segs[-1].n
        return int(self._rows.alive[lo:hi].sum())

    def _merge(self, first: int) -> None:
        """Rewrite segments ``first..`` as one, without their dead rows (their rows are renumbered)."""
        segs = self._segments[first:]
        base = segs[0].start
        end = self._rows.n
        keep = self._rows.alive[base:end].copy()
        kept_rows = np.flatnonzero(keep)
        order = np.argsort(self._rows.code[base:end][kept_rows], kind="stable")  # rows by access code
        new_local = np.full(end - base, -1, dtype=np.int64)
        new_local[kept_rows[order]] = np.arange(len(order))
        cols, rows, data = [], [], []
        for seg in segs:
            c = np.repeat(np.arange(len(seg.indptr) - 1, dtype=np.int64), np.diff(seg.indptr))
            r = seg.indices.astype(np.int64) + (seg.start - base)
            ok = keep[r]
            cols.append(c[ok])
            rows.append(new_local[r[ok]])
            data.append(seg.data[ok])
        meta = pa.concat_tables([s.meta for s in segs]).take(pa.array(kept_rows[order]))
        kept = len(order)
        code = self._rows.code[base:end][kept_rows[order]]
        lens = self._rows.lens[base:end][kept_rows[order]]
        self._rows.truncate(base)
        self._rows.reserve(kept)
        self._rows.alive[base : base + kept] = True
        self._rows.code[base : base + kept] = code
        self._rows.lens[base : base + kept] = lens
        self._rows.n = base + kept
        merged = _build_segment(
            base,
            np.concatenate(cols),
            np.concatenate(rows),
            np.concatenate(data),
            len(self._terms) * NF,
            meta,
            self._code_ranges(code),
        )
        self._segments[first:] = [merged]
        for offset, uid in enumerate(meta.column(0).to_pylist()):
            self._row_of[uid] = base + offset

    # ---- reads ----------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._row_of)

    def unit_ids(self) -> set[str]:
        return set(self._row_of)

    def search(
        self,
        query: str,
        scope: Scope,
        limit: int,
        params: BM25FParams,
        row_filter: RowFilter | None = None,
        reads: PostingReads | None = None,
    ) -> list[tuple[str, float]]:
        """The caller's top ``limit`` (unit_id, BM25F score), best first; ties by unit id."""
        return self.view().search(query, scope, limit, params, row_filter, reads)

    def view(self) -> IndexView:
        """The index as it is now, for searches from any thread: later writes never show through."""
        if self._view is None:
            n = self._rows.n
            self._view = IndexView(
                self.analyzer,
                self.meta_schema,
                self._term_id,
                tuple(self._segments),
                self._rows.alive[:n].copy(),
                self._rows.code[:n].copy(),
                self._rows.lens[:n].copy(),
                self._count.copy(),
                self._lensum.copy(),
                dict(self._codes),
                self._terms,
            )
        return self._view

    def stats(self) -> dict[str, Any]:
        postings = sum(len(s.indices) for s in self._segments)
        nbytes = sum(s.nbytes for s in self._segments) + self._rows.alive.nbytes
        nbytes += self._rows.code.nbytes + self._rows.lens.nbytes
        return {
            "units": len(self._row_of),
            "row_slots": self._rows.n,
            "terms": len(self._terms),
            "postings": postings,
            "segments": len(self._segments),
            "access_codes": len(self._code_keys),
            "array_bytes": int(nbytes),
        }

    # ---- snapshot -------------------------------------------------------------------------------

    def save(self, path: Path, header: Mapping[str, Any]) -> None:
        """Write the index to ``path`` atomically (a temp file renamed over it)."""
        arrays: dict[str, np.ndarray] = {
            "alive": self._rows.alive[: self._rows.n],
            "code": self._rows.code[: self._rows.n],
            "lens": self._rows.lens[: self._rows.n],
            "terms": _text_blob(self._terms),
            "codes": _text_blob(json.dumps(list(k)) for k in self._code_keys),
        }
        for i, seg in enumerate(self._segments):
            arrays[f"s{i}_indptr"] = seg.indptr
            arrays[f"s{i}_indices"] = seg.indices
            arrays[f"s{i}_data"] = seg.data
            arrays[f"s{i}_meta"] = _ipc_bytes(seg.meta)
            arrays[f"s{i}_code_rows"] = seg.code_rows
        full = {**header, "format": SNAPSHOT_FORMAT, "segments": [s.start for s in self._segments]}
        arrays["header"] = np.frombuffer(json.dumps(full).encode(), dtype=np.uint8)
        make_private_dirs(path.parent)
        tmp = path.with_name(path.name + ".tmp")
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays)
        tmp.replace(path)

    @staticmethod
    def read_header(path: Path) -> dict[str, Any]:
        with np.load(path, allow_pickle=False) as npz:
            return json.loads(npz["header"].tobytes())

    @classmethod
    def load(cls, path: Path, analyzer: Analyzer) -> tuple[LexicalIndex, dict[str, Any]]:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes())
            if header.get("format") != SNAPSHOT_FORMAT:
                raise ValueError(f"snapshot format {header.get('format')}, expected {SNAPSHOT_FORMAT}")
            segments = []
            for i, start in enumerate(header["segments"]):
                meta = pa.ipc.open_stream(io.BytesIO(npz[f"s{i}_meta"].tobytes())).read_all()
                arrays = (npz[f"s{i}_{name}"] for name in ("indptr", "indices", "data"))
                indptr, indices, data = arrays
                code_rows = npz[f"s{i}_code_rows"]
                vocabulary = _code_vocabulary(indptr, indices, code_rows)
                segments.append(_Segment(int(start), indptr, indices, data, meta, code_rows, *vocabulary))
            schema = segments[0].meta.schema if segments else pa.schema([(F_ID, pa.string())])
            index = cls(analyzer, schema)
            index._segments = segments
            index._terms = _text_list(npz["terms"])
            index._term_id = {t: i for i, t in enumerate(index._terms)}
            index._code_keys = [tuple(json.loads(k)) for k in _text_list(npz["codes"])]
            index._codes = {k: i for i, k in enumerate(index._code_keys)}
            alive, code, lens = npz["alive"], npz["code"], npz["lens"]
        rows = index._rows
        rows.reserve(len(alive))
        rows.alive[: len(alive)], rows.code[: len(alive)], rows.lens[: len(alive)] = alive, code, lens
        rows.n = len(alive)
        index._count = np.bincount(code[alive], minlength=len(index._code_keys)).astype(np.int64)
        index._lensum = np.zeros((len(index._code_keys), NF), dtype=np.int64)
        np.add.at(index._lensum, code[alive], lens[alive].astype(np.int64))
        for seg in segments:
            for offset, uid in enumerate(seg.meta.column(0).to_pylist()):
                if alive[seg.start + offset]:
                    index._row_of[uid] = seg.start + offset
        return index, header


def _build_segment(
    start: int,
    cols: np.ndarray,
    rows: np.ndarray,
    data: np.ndarray,
    ncols: int,
    meta: pa.Table,
    code_rows: np.ndarray,
) -> _Segment:
    order = np.lexsort((rows, cols))  # by column, rows ascending within a column
    indptr = np.zeros(ncols + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=ncols), out=indptr[1:])
    indices, tfs = rows[order].astype(np.int32), data[order].astype(np.float32)
    vocabulary = _code_vocabulary(indptr, indices, code_rows)
    return _Segment(start, indptr, indices, tfs, meta, code_rows, *vocabulary)


def _code_vocabulary(
    indptr: np.ndarray, indices: np.ndarray, code_rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """A segment's ``code_terms_ptr`` and ``code_terms``, from its columns and its codes' row ranges."""
    nterms = max((len(indptr) - 1) // NF, 1)
    term = np.repeat(np.arange(len(indptr) - 1, dtype=np.int64) // NF, np.diff(indptr))
    code = np.searchsorted(code_rows, indices, side="right").astype(np.int64) - 1
    codes, terms = np.divmod(np.unique(code * nterms + term), nterms)
    return np.searchsorted(codes, np.arange(len(code_rows))), terms.astype(np.int32)


def _meta_row(row: Mapping[str, Any], schema: pa.Schema) -> dict[str, Any]:
    return {name: row.get(name) for name in schema.names}


def _text_blob(items: Iterable[str]) -> np.ndarray:
    # Terms are \w+ runs and codes JSON lines: neither holds a newline.
    return np.frombuffer("\n".join(items).encode("utf-8"), dtype=np.uint8)


def _text_list(blob: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    return text.split("\n") if text else []


def _ipc_bytes(table: pa.Table) -> np.ndarray:
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return np.frombuffer(sink.getvalue(), dtype=np.uint8)
