"""Two-stage search: encode the question, recall fused candidates under one access filter, then rerank.

The filter (tenant, the caller's group sets, the request's filters) is part of every Milvus query, so what a
caller may not see never reaches ranking, counts or pages. Hits are checked against the principal once more
before they leave (defence in depth).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image

from figvault.access import Principal, local_operator
from figvault.encoders.questions import QuestionEncoders
from figvault.errors import FigvaultError, StoreError, VersionMismatchError
from figvault.retrieval.acl import (
    build_filter,
    filtered_fields,
    in_list,
    request_expression,
    visible_acl_keys,
)
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.duplicates import (
    SIGNATURE_FIELDS,
    Signature,
    collapse,
    fallback_channel,
    group_ids,
    signatures_of,
)
from figvault.retrieval.evidence import Candidate, EvidenceParams, reorder
from figvault.retrieval.fusion import fuse
from figvault.retrieval.lexical import LexicalChannel
from figvault.retrieval.lexical_index import Scope
from figvault.retrieval.lexical_text import SOURCE_FIELDS
from figvault.retrieval.milvus_store import ChannelHit, MilvusUnitStore
from figvault.retrieval.no_match import decide
from figvault.retrieval.schema import (
    F_ACL_KEY,
    F_DOC_ID,
    F_GEOMETRY,
    F_GROUPS,
    F_HEIGHT,
    F_ID,
    F_PHASH,
    F_SHA,
    F_TENANT,
    F_WIDTH,
    LEXICAL,
    OUTPUT_FIELDS,
    StoreLayout,
    row_to_unit,
)
from figvault.retrieval.spelling import did_you_mean
from figvault.search_models import SearchFilters, SearchHit, SearchRequest, SearchResponse
from figvault.settings import Settings
from figvault.storage import BlobStore
from figvault.units import FigureUnit

WARM_UP_QUESTION = "warm-up: chart of quarterly revenue"
"""What ``warm_up`` asks (service/warmup.py asks it again as callers of the registered group sets)."""
COUNT_CHUNK = 500
"""Documents per read of ``units_by_document`` (the ids go into the filter expression)."""
VERSION_FIELDS = [F_DOC_ID, F_SHA, F_TENANT, F_GROUPS, F_ACL_KEY]
"""What ``units_by_document`` reads of a row: its document and version, and what access is checked on."""
log = logging.getLogger(__name__)


@dataclass
class SearchRun:
    """One search under way: who asks what, the served collection and its layout, the encoded queries per
    channel, the access filter expression and acl keys of the lookup, and the timings so far (ms)."""

    principal: Principal
    request: SearchRequest
    collection: str
    layout: StoreLayout
    queries: dict[str, np.ndarray | str]
    expr: str
    keys: set[str] | None
    timings: dict[str, float]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 3)


def _add_ms(timings: dict[str, float], key: str, start: float) -> None:
    """Add the milliseconds since ``start`` to ``timings[key]`` (a widened recall runs a stage again)."""
    timings[key] = timings.get(key, 0.0) + _ms(start)


_Stage = tuple[list[SearchHit], dict[str, Signature], tuple[bool, float | None] | None, int, str | None]
"""What ``SearchEngine._first_stage`` returns (see there)."""


def hit_from_row(
    row: Mapping[str, Any], score: float, channel_scores: dict[str, float], *, fused: float | None = None
) -> SearchHit:
    """A hit from its stored row; ``score`` is what it is ranked by, ``fused`` the fusion's own score
    (the same unless priors raised it)."""
    geometry = row.get(F_GEOMETRY) or {}
    return SearchHit(
        unit_id=row[F_ID],
        doc_id=row.get("doc_id", ""),
        doc=row.get("doc", ""),
        page=int(row.get("page", 0)),
        page_size=tuple(geometry.get("page_size", (0.0, 0.0))),
        bbox=tuple(geometry.get("bbox", (0.0, 0.0, 0.0, 0.0))),
        width=int(row.get(F_WIDTH) or 0),
        height=int(row.get(F_HEIGHT) or 0),
        kind=row.get("kind", ""),
        label=row.get("label") or None,
        title=row.get("title") or "",
        caption=row.get("caption", ""),
        context=row.get("context", ""),
        image=row.get("image", ""),
        score=score,
        fused_score=score if fused is None else fused,
        channel_scores=channel_scores,
        embedding_version=row.get("embedding_version") or None,
        tags=list(row.get("tags") or []),
    )


def hit_from_candidate(candidate: Candidate) -> SearchHit:
    """A candidate as the hit shown: ranked by its ``score`` (the fused score, which the reordering's
    priors may have raised), with the fusion's own score beside it."""
    return hit_from_row(candidate.row, candidate.score, candidate.channel_scores, fused=candidate.fused)


MAX_COLLAPSE_CANDIDATES = 1000
"""Collapsing widens the recall (doubling) until ``top_k`` distinct figures are found, up to this."""


@dataclass(frozen=True)
class _Lookup:
    """What a search needs before it encodes: the served collection and the caller's access filter."""

    served: tuple[str, StoreLayout, Any] | None
    expr: str | None
    """The access filter; None when the caller sees nothing (or nothing is served)."""
    keys: set[str] | None
    ms: float


@dataclass(frozen=True)
class LexicalArgs:
    """What the lexical channel needs besides the question: whose rows, and the request's filter."""

    scope: Scope
    filter_expr: str
    """The request's own clauses (``acl.request_expression``), the same the vector query carries."""


@dataclass
class RankedUnit:
    """A recalled unit before its row is fetched: fused score and each channel's own score."""

    unit_id: str
    fused: float
    channel_scores: dict[str, float]


class SearchEngine:
    """Search over the collection the store's alias serves, with the configured encoders."""

    def __init__(
        self,
        settings: Settings,
        store: MilvusUnitStore,
        encoders: Any,
        acl_sets: AclSetTable,
        blobs: BlobStore,
        *,
        serve_recorded: bool = False,
        lexical: LexicalChannel | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.lexical = lexical or LexicalChannel.from_settings(settings, store)
        self.encoders = encoders
        self.acl_sets = acl_sets
        self.blobs = blobs
        self.serve_recorded = serve_recorded
        """Service mode: serve a collection of another version with the encoders recorded in it."""
        self._recorded: dict[str, Any] = {}
        self._recorded_lock = threading.Lock()
        # The channels of one search run side by side (a Milvus server answers them in parallel).
        self._channel_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="figvault-recall")
        # Concurrent questions share forward passes; repeated ones come from a cache (per version).
        self.questions = QuestionEncoders(
            cache_size=settings.search.question_cache_size,
            window_ms=settings.search.question_batch_window_ms,
            max_batch=settings.search.question_max_batch,
        )

    @classmethod
    def from_settings(
        cls, settings: Settings, encoders: Any | None = None, *, serve_recorded: bool = False
    ) -> SearchEngine:
        if encoders is None:
            from figvault.encoders.factory import build_encoders

            encoders = build_encoders(settings)
        return cls(
            settings,
            MilvusUnitStore.from_settings(settings),
            encoders,
            AclSetTable.open(settings),
            BlobStore.from_settings(settings),
            serve_recorded=serve_recorded,
        )

    # ---- the served collection ------------------------------------------------------------------

    def serving_version(self) -> str | None:
        """The embedding version the alias serves now (None: nothing indexed yet)."""
        name = self.store.served_collection()
        return self.store.layout_of(name).embedding_version if name else None

    def served(self) -> tuple[str, StoreLayout, Any] | None:
        """(collection, layout, encoders for it) the alias serves now; None when nothing is indexed.

        The configured encoders must produce the served version. In service mode (``serve_recorded``) a
        collection of another version (a re-encode not switched yet, or switched by another process) is
        served with the encoders recorded in it, which must still produce exactly its version.
        """
        name = self.store.served_collection()
        if name is None:
            return None
        layout = self.store.layout_of(name)
        configured = self.encoders.embedding_version
        if layout.embedding_version == configured:
            if self._recorded:  # a re-encode switched the alias: the old version's models go
                self._let_go_recorded(keep=None)
            return name, layout, self.encoders
        if not self.serve_recorded:
            from figvault.retrieval.served_encoders import mismatch_hint, recorded_encoder_settings

            record = recorded_encoder_settings(self.store, name)
            raise VersionMismatchError(
                mismatch_hint(self.settings, record, layout.embedding_version, configured)
            )
        if any(kept != name for kept in list(self._recorded)):
            self._let_go_recorded(keep=name)
        with self._recorded_lock:
            encoders = self._recorded.get(name)
            if encoders is None:
                from figvault.retrieval.served_encoders import encoders_for_collection

                encoders = encoders_for_collection(self.settings, self.store, name)
                log.warning(
                    "serving %s (%s) with its recorded encoders; configured %s: run the re-encode to switch",
                    name,
                    layout.embedding_version,
                    configured,
                )
                self._recorded[name] = encoders
        return name, layout, encoders

    def _let_go_recorded(self, keep: str | None) -> None:
        """Drop the recorded encoders of every collection but ``keep``, which the alias no longer serves, and
        their question workers: they stayed loaded for the life of the process, a model set for each
        re-encode that a `figvault serve` served through. A search still running with them finishes (its
        question gets a new worker)."""
        with self._recorded_lock:
            gone = [self._recorded.pop(n) for n in list(self._recorded) if n != keep]
        for encoders in gone:
            self.questions.forget([e for e in (encoders.clip, encoders.text) if e is not None])

    def filter_for(self, principal: Principal, filters: SearchFilters | None) -> str | None:
        """The Milvus expression for ``principal`` and ``filters``; None when the principal sees nothing."""
        return self._access(principal, filters)[0]

    def _access(
        self, principal: Principal, filters: SearchFilters | None
    ) -> tuple[str | None, set[str] | None]:
        """``filter_for``'s expression and the acl keys the fetched rows are held to (None: whole tenant)."""
        form = self.store.capabilities.access_form
        if principal.unrestricted:
            return build_filter(principal, filters, None, form=form), None
        sets = self.acl_sets.sets_of(principal.tenant)
        keys = visible_acl_keys(principal, sets)
        return build_filter(principal, filters, sets, form=form, visible=keys), set(keys)

    def _lookup(self, principal: Principal, filters: SearchFilters | None) -> _Lookup:
        t = time.perf_counter()
        served = self.served()
        if served is not None:
            self._check_fields(served[0], filters)
        expr, keys = self._access(principal, filters) if served is not None else (None, None)
        return _Lookup(served, expr, keys, _ms(t))

    # ---- warm-up --------------------------------------------------------------------------------

    def _check_fields(self, collection: str, filters: SearchFilters | None) -> None:
        """A filter on a field the served collection was written without is refused: its units would all
        read as empty there, and an empty answer would look like "no such figures"."""
        missing = self.store.missing_fields(collection, filtered_fields(filters))
        if missing:
            raise FigvaultError(
                f"the served collection {collection} predates the {', '.join(sorted(missing))} field(s):"
                " run `figvault reencode` once to add them (docs/retrieval.md, 'Older collections')"
            )

    def encoders_loaded(self) -> bool:
        """Every configured encoder's model is in memory."""
        return all(e.loaded for e in (self.encoders.clip, self.encoders.text) if e is not None)

    def load_encoders(self) -> list[Any]:
        """Load the models a search needs into memory (``figvault search`` does it before timing its search,
        whose ``encode`` would otherwise count the load); the encoder sets, loaded: the configured ones and,
        with a re-encode not switched yet, the served collection's recorded ones."""
        served = self.served()
        sets = {id(e): e for e in (self.encoders, served[2] if served else self.encoders)}
        for encoders in sets.values():
            encoders.load()
        return list(sets.values())

    def warm_up(self) -> None:
        """Load the encoders and run one search end to end (question pass, each channel's store search,
        the fetch, lazy imports), so that the first real search takes normal time. It runs as the local
        operator and its results stay in this process."""
        from figvault.encoders.device import serving_cpu_threads

        threads = serving_cpu_threads(self.settings.service.cpu_threads)
        for encoders in self.load_encoders():
            if encoders.text is not None:
                runtime = encoders.text.prepare_questions(self.settings.text.question_runtime, threads)
                log.info("questions for %s run on %s", encoders.text.embedding_version, runtime)
            if encoders.clip is not None:  # the image tower's first pass (image search) is slow too
                encoders.clip.encode_images([Image.new("RGB", (64, 64), "white")])
        warm = SearchRequest(query=WARM_UP_QUESTION, rerank=False)
        self.search(local_operator(), warm)

    # ---- queries --------------------------------------------------------------------------------

    def search(self, principal: Principal, request: SearchRequest) -> SearchResponse:
        if not request.query.strip():
            raise FigvaultError("empty question: say what figure you are looking for")
        started = time.perf_counter()
        # Looked up first, encoded after: encoding while the lookup ran saved nothing on 2 cores (the two
        # fight over the cores and the GIL), and an empty answer needs no encoder.
        lookup = self._lookup(principal, request.filters)
        timings: dict[str, float] = {"lookup": lookup.ms}
        if lookup.served is None:
            return self._empty(started, timings, "")
        collection, layout, encoders = lookup.served
        if lookup.expr is None:
            return self._empty(started, timings, layout.embedding_version)
        t = time.perf_counter()
        vectors = self.encode_question(encoders, request.query, scope=principal.caller_key)
        timings["encode"] = _ms(t)
        queries: dict[str, np.ndarray | str] = {}
        for channel in layout.dense:
            if channel.name not in vectors:
                raise StoreError(
                    f"the served collection has a {channel.name!r} channel the configuration does not encode"
                )
            queries[channel.name] = vectors[channel.name]
        if layout.lexical or getattr(encoders, "lexical", False):
            # figvault's own index serves it on every store, also for collections a 2.3 server wrote
            # without the lexical flag (the analyzer is part of their embedding_version).
            queries[LEXICAL] = request.query
        run = SearchRun(principal, request, collection, layout, queries, lookup.expr, lookup.keys, timings)
        return self._recall_and_finish(run, started)

    def check_image_search(self) -> None:
        """FigvaultError when this configuration has no image channel (CLIP) to search by image."""
        if self.encoders.clip is None:
            raise FigvaultError("image search needs the CLIP channel, which this configuration turns off")

    def search_image(
        self, principal: Principal, image: Image.Image, request: SearchRequest
    ) -> SearchResponse:
        """Figures that look like ``image`` (CLIP image vector); ``request.query`` is only used by rerank."""
        started = time.perf_counter()
        self.check_image_search()
        lookup = self._lookup(principal, request.filters)
        timings: dict[str, float] = {"lookup": lookup.ms}
        if lookup.served is None:
            return self._empty(started, timings, "")
        collection, layout, encoders = lookup.served
        if layout.dense_channel("clip") is None:
            raise FigvaultError(
                "the served collection has no CLIP image vectors: re-encode with CLIP enabled"
            )
        if lookup.expr is None:
            return self._empty(started, timings, layout.embedding_version)
        t = time.perf_counter()
        vector = encoders.clip.encode_images([image.convert("RGB")])[0]
        timings["encode"] = _ms(t)
        run = SearchRun(
            principal, request, collection, layout, {"clip": vector}, lookup.expr, lookup.keys, timings
        )
        return self._recall_and_finish(run, started)

    def get_unit(self, principal: Principal, unit_id: str) -> FigureUnit | None:
        """The unit if it exists and ``principal`` may see it; else None (the two look the same).

        Looked up by primary key (the store's fast path; a filtered query scans the collection) and then
        held to the access rule: tenant, a registered group set the principal may see, a shared group.
        """
        served = self.store.served_collection()
        if served is None:
            return None
        rows = self.store.get_rows(served, in_list(F_ID, [unit_id]))
        if not rows or not self._may_see(principal, rows[0], self._visible_keys(principal)):
            return None
        return row_to_unit(rows[0])

    def count(self, principal: Principal, filters: SearchFilters | None = None) -> int:
        served = self.store.served_collection()
        if served is None:
            return 0
        expr = self.filter_for(principal, filters)
        return 0 if expr is None else self.store.count(served, expr)

    def units_by_document(self, principal: Principal, doc_ids: list[str]) -> dict[str, Counter[str]]:
        """How many units of each of ``doc_ids`` ``principal`` may see, by the file version
        (``doc_sha256``) they were made from: one read of their rows per ``COUNT_CHUNK`` documents, where
        ``count`` per document scanned the collection once each (a listing with 300 failed replacements,
        an audit, 2026-12-07)."""
        found: dict[str, Counter[str]] = {d: Counter() for d in doc_ids}
        served = self.store.served_collection()
        for start in range(0, len(doc_ids), COUNT_CHUNK) if served is not None else ():
            expr, keys = self._access(principal, SearchFilters(doc_ids=doc_ids[start : start + COUNT_CHUNK]))
            rows = [] if expr is None else self.store.query_rows(served, expr, VERSION_FIELDS)
            for row in rows:
                # Checked once more, as a fetched hit is: a row the filter let through is never counted
                # (nor its version shown: the page images' ``shown_version`` reads its versions here).
                if row[F_DOC_ID] in found and self._may_see(principal, row, keys):
                    found[row[F_DOC_ID]][row.get(F_SHA, "")] += 1
        return found

    # ---- stages ---------------------------------------------------------------------------------

    def encode_question(self, encoders: Any, text: str, scope: str = "") -> dict[str, np.ndarray]:
        """``text`` in every dense channel ``encoders`` has, by channel name (batched with concurrent
        questions, cached per channel version and ``scope``, the caller's ``Principal.caller_key``:
        ``encoders/questions.py``)."""
        pairs = (("clip", encoders.clip), ("text", encoders.text))
        return {
            name: self.questions.encode(encoder, text, scope)
            for name, encoder in pairs
            if encoder is not None
        }

    def _empty(self, started: float, timings: dict[str, float], version: str) -> SearchResponse:
        timings["total"] = _ms(started)
        return SearchResponse(results=[], no_match=True, embedding_version=version, timings=timings)

    def lexical_args(
        self, principal: Principal, filters: SearchFilters | None, keys: set[str] | None
    ) -> LexicalArgs:
        """The lexical channel's scope: ``principal``'s tenant and visible acl keys (None: all of it)."""
        scope = Scope(principal.tenant, None if keys is None else frozenset(keys))
        return LexicalArgs(scope, request_expression(filters))

    def recall(
        self,
        collection: str,
        queries: dict[str, np.ndarray | str],
        expr: str,
        limit: int,
        lexical: LexicalArgs | None = None,
    ) -> list[RankedUnit]:
        """Fused ids, best first, with each channel's own score (cosine for vectors, BM25 for lexical).

        One filtered search per channel, run side by side, asking for ids and scores only: the rows of the
        few units that are shown are fetched afterwards (``materialize``). Each channel's score is exact,
        and the fusion is Milvus's own formula (``fusion.fuse``).
        """

        def one(channel: str) -> list[ChannelHit]:
            if channel == LEXICAL:
                return self._lexical_hits(collection, str(queries[channel]), lexical, limit)
            return self.store.search_channel(
                collection, channel, np.asarray(queries[channel]), expr, limit, output_fields=[F_ID]
            )

        channels = list(queries)
        if len(channels) == 1:
            per_channel = {channels[0]: one(channels[0])}
        else:
            per_channel = dict(zip(channels, self._channel_pool.map(one, channels), strict=True))
        return self._fused(per_channel, limit)

    def _lexical_hits(
        self, collection: str, query: str, lexical: LexicalArgs | None, limit: int
    ) -> list[ChannelHit]:
        if lexical is None:
            raise FigvaultError("a lexical recall needs the caller's scope (SearchEngine.lexical_args)")
        return self.lexical.search(collection, query, lexical.scope, lexical.filter_expr, limit)

    def _fused(self, per_channel: dict[str, list[ChannelHit]], limit: int) -> list[RankedUnit]:
        """The channels' hits fused with the configured formula, each unit keeping its channels' scores."""
        cfg = self.settings.search
        ranked = fuse(
            {c: [(h.unit_id, h.score) for h in hits] for c, hits in per_channel.items()},
            method=cfg.fusion,
            rrf_k=cfg.rrf_k,
            weights=cfg.weights,
            limit=limit,
        )
        scores: dict[str, dict[str, float]] = {}
        for channel, hits in per_channel.items():
            for h in hits:
                scores.setdefault(h.unit_id, {})[channel] = h.score
        return [RankedUnit(uid, fused, scores[uid]) for uid, fused in ranked]

    def materialize(
        self,
        collection: str,
        principal: Principal,
        ranked: list[RankedUnit],
        queries: dict[str, np.ndarray | str],
        keys: set[str] | Literal["compute"] | None = "compute",
    ) -> list[SearchHit]:
        """The stored rows of ``ranked`` as hits, in order, each checked against ``principal`` again.

        Fetched by primary key alone: every id came out of a search under the access filter, and the
        key lookup is the store's fast path (a filtered query scans the collection). A dense channel that
        did not recall a unit gets its cosine from the fetched vector, so every shown hit has every
        vector channel's score; a lexical score is there when the unit was among the lexical top hits.
        ``keys``: the acl keys ``principal`` may see, when the caller already has them.
        """
        checked = self.materialize_candidates(collection, principal, ranked, queries, keys)
        return [hit_from_candidate(c) for c in checked]

    def materialize_candidates(
        self,
        collection: str,
        principal: Principal,
        ranked: list[RankedUnit],
        queries: dict[str, np.ndarray | str],
        keys: set[str] | Literal["compute"] | None = "compute",
        extra: tuple[str, ...] = (),
    ) -> list[Candidate]:
        """``materialize`` before the rows become hits (the reordering and no_match read the rows);
        ``extra``: more fields to fetch (a vector the duplicate test compares)."""
        if not ranked:
            return []
        # Vectors travel only for a channel that some shown unit has no score from.
        dense = [c for c in queries if c != LEXICAL and any(c not in u.channel_scores for u in ranked)]
        rows = {
            r[F_ID]: r
            for r in self.store.get_rows_by_id(
                collection,
                [r.unit_id for r in ranked],
                fields=list(dict.fromkeys([*OUTPUT_FIELDS, *dense, *extra])),
            )
        }
        if keys == "compute":
            keys = self._visible_keys(principal)
        return self._checked_candidates(principal, ranked, rows, queries, dense, keys)

    def _checked_candidates(
        self,
        principal: Principal,
        ranked: list[RankedUnit],
        rows: dict[str, dict[str, Any]],
        queries: dict[str, np.ndarray | str],
        dense: list[str],
        keys: set[str] | None,
    ) -> list[Candidate]:
        """``ranked`` with their ``rows``, each held to the access rule once more, with every channel's
        score; ``dense``: the channels whose missing scores are computed from the vectors in the rows."""
        checked: list[Candidate] = []
        refused = 0
        for unit in ranked:
            row = rows.get(unit.unit_id)
            if row is None:  # deleted between the search and the fetch
                continue
            if not self._may_see(principal, row, keys):
                refused += 1
                continue
            scores = dict(unit.channel_scores)
            for channel in dense:
                vector = row.pop(channel, None)
                if channel not in scores and vector is not None:
                    scores[channel] = float(np.dot(np.asarray(vector, dtype=np.float32), queries[channel]))
            checked.append(Candidate(unit.unit_id, unit.fused, scores, row, score=unit.fused))
        if refused:
            # Defence in depth: the search filter already did this. A unit regrouped between the recall and
            # this fetch fails here legitimately (pipeline/regroup.py); anything else would be a bug.
            log.error("access filter let %d unit(s) through (or they were regrouped); dropped", refused)
        return checked

    def _visible_keys(self, principal: Principal) -> set[str] | None:
        """The acl keys ``principal`` may see (None: unrestricted, its whole tenant)."""
        if principal.unrestricted:
            return None
        return set(visible_acl_keys(principal, self.acl_sets.sets_of(principal.tenant)))

    @staticmethod
    def _may_see(principal: Principal, row: dict[str, Any], keys: set[str] | None) -> bool:
        """The filter's rule, checked on one row: its tenant, a known group set, a shared group."""
        if keys is not None and row.get(F_ACL_KEY) not in keys:
            return False
        return principal.sees(row[F_TENANT], list(row.get(F_GROUPS) or []))

    def recall_with_rows(
        self,
        collection: str,
        channel: str,
        query: np.ndarray | str,
        expr: str,
        limit: int,
        lexical: LexicalArgs | None = None,
    ) -> tuple[list[RankedUnit], dict[str, dict[str, Any]]]:
        """One channel's top ``limit`` with their rows, in one round trip: with nothing to fuse or rerank
        there is no reason to fetch the rows by key afterwards (5-7 ms on a Milvus server). The lexical
        channel's rows are fetched by key (its index holds no display fields)."""
        if channel == LEXICAL:
            hits = self._lexical_hits(collection, str(query), lexical, limit)
            fetched = self.store.get_rows_by_id(collection, [h.unit_id for h in hits])
            rows = {r[F_ID]: r for r in fetched}
        else:
            hits = self.store.search_channel(
                collection, channel, np.asarray(query), expr, limit, output_fields=OUTPUT_FIELDS
            )
            rows = {h.unit_id: h.row for h in hits}
        return self._fused({channel: hits}, limit), rows

    def _recall_and_finish(self, run: SearchRun, started: float) -> SearchResponse:
        request, timings = run.request, run.timings
        use_rerank, note = self._resolve_rerank(request)
        use_rerank = use_rerank and bool(request.query.strip())
        collapsing = self.settings.search.collapse_duplicates
        limit = max(self.settings.search.candidate_k, request.top_k)
        while True:
            stage = self._first_stage(run, use_rerank, limit)
            visible, signatures, offline_no_match, recalled, vector_field = stage
            reranked, no_match = False, not visible
            if offline_no_match is not None:
                no_match = no_match or offline_no_match[0]
            if use_rerank and visible:
                keep = len(visible) if collapsing else request.top_k
                results, no_match, rerank_timings = self._rerank(request, visible, keep)
                timings.update(rerank_timings)
                reranked = True
            else:
                results = visible
            if collapsing:
                t = time.perf_counter()
                results = collapse(results, signatures, image_vectors=vector_field == "clip")
                _add_ms(timings, "collapse", t)
            # Copies took no slot: without a rerank (it read every candidate already) the recall widens
            # until top_k distinct figures are there or the candidates run out.
            short = collapsing and len(results) < request.top_k and recalled >= limit and not reranked
            if not short or limit >= MAX_COLLAPSE_CANDIDATES:
                break
            limit = min(limit * 2, MAX_COLLAPSE_CANDIDATES)
        if no_match and LEXICAL in run.queries:  # a typo's words match nothing: offer a respelling
            t = time.perf_counter()
            suggestion = self._did_you_mean(run)
            _add_ms(timings, "did_you_mean", t)
        else:
            suggestion = None
        timings["total"] = _ms(started)
        return SearchResponse(
            results=results[: request.top_k],
            no_match=no_match,
            did_you_mean=suggestion,
            reranked=reranked,
            rerank_note=note + self._explain_cut(request, reranked),
            embedding_version=run.layout.embedding_version,
            timings=timings,
            answerable=None if offline_no_match is None or reranked else offline_no_match[1],
        )

    def _did_you_mean(self, run: SearchRun) -> str | None:
        """The question respelled with words of units the caller may see (``retrieval/spelling.py``)."""
        scope = self.lexical_args(run.principal, run.request.filters, run.keys).scope
        view = self.lexical.view(run.collection)

        def rows_of(unit_ids: list[str]) -> list[dict[str, Any]]:
            return self.store.get_rows_by_id(run.collection, unit_ids, fields=[F_ID, *SOURCE_FIELDS])

        return did_you_mean(view, run.request.query, scope, rows_of)

    def _first_stage(self, run: SearchRun, use_rerank: bool, limit: int) -> _Stage:
        """Recall and fetch: (the hits in order, their duplicate signatures when collapsing, the first
        stage's own no_match decision and P(answerable) when it ran, how many units were recalled, the
        vector the duplicate test compares on a collection without hashes). Collapsing fetches every
        candidate (``limit`` of them): a copy must not take a shown slot."""
        collapsing = self.settings.search.collapse_duplicates
        vector_field = None
        if collapsing and F_PHASH in self.store.absent_fields(
            run.collection
        ):  # older: compare vectors instead
            vector_field = fallback_channel([c.name for c in run.layout.dense])
        lexical = None
        if LEXICAL in run.queries:
            lexical = self.lexical_args(run.principal, run.request.filters, run.keys)
        t = time.perf_counter()
        if len(run.queries) == 1 and not use_rerank and vector_field is None:
            return self._one_channel_stage(run, limit if collapsing else run.request.top_k, lexical, t)
        ranked = self.recall(run.collection, run.queries, run.expr, limit, lexical)
        _add_ms(run.timings, "recall", t)
        t = time.perf_counter()
        visible, signatures, offline_no_match = self._fetch_stage(
            run, ranked, use_rerank, vector_field, lexical
        )
        _add_ms(run.timings, "fetch", t)
        return visible, signatures, offline_no_match, len(ranked), vector_field

    def _one_channel_stage(self, run: SearchRun, count: int, lexical: LexicalArgs | None, t: float) -> _Stage:
        """``_first_stage`` with nothing to fuse or rerank: the channel's top ``count`` come with their rows
        (``recall_with_rows``); ``t``: when the recall started."""
        [(channel, query)] = run.queries.items()
        ranked, rows = self.recall_with_rows(run.collection, channel, query, run.expr, count, lexical)
        _add_ms(run.timings, "recall", t)
        checked = self._checked_candidates(run.principal, ranked, rows, run.queries, [], run.keys)
        visible = [hit_from_candidate(c) for c in checked]
        signatures = signatures_of(rows, None) if self.settings.search.collapse_duplicates else {}
        return visible, signatures, None, len(ranked), None

    def _fetch_stage(
        self,
        run: SearchRun,
        ranked: list[RankedUnit],
        use_rerank: bool,
        vector_field: str | None,
        lexical: LexicalArgs | None,
    ) -> tuple[list[SearchHit], dict[str, Signature], tuple[bool, float | None] | None]:
        """The recalled candidates' rows as checked hits in order, their duplicate signatures when
        collapsing, and without a rerank the evidence reordering and the first stage's no_match decision."""
        cfg = self.settings.search
        # The reranker reads every candidate; otherwise the shown hits and the few candidates the priors and
        # the neighbour rule may move up are fetched. Collapsing counts those in groups of copies: it reads
        # the light fields of every candidate first (no texts), and the whole rows of the groups it needs.
        depth = max(run.request.top_k, cfg.evidence_depth)
        extra = (vector_field,) if vector_field else ()
        signatures: dict[str, Signature] = {}
        if use_rerank:
            shown = ranked
        elif cfg.collapse_duplicates:
            signatures, shown = self._group_candidates(run.collection, ranked, depth, vector_field)
        else:
            shown = ranked[:depth]
        candidates = self.materialize_candidates(
            run.collection, run.principal, shown, run.queries, run.keys, extra
        )
        if cfg.collapse_duplicates and use_rerank:
            signatures = signatures_of({c.unit_id: dict(c.row) for c in candidates}, vector_field)
        offline_no_match = None
        if not use_rerank and run.request.query.strip():
            query = run.request.query
            candidates = reorder(query, candidates, EvidenceParams.from_settings(cfg))
            # The caller's store size scales its BM25 scores (IDF): the decision reads them against it.
            store_rows = (
                self.lexical.visible_rows(run.collection, lexical.scope)
                if lexical and cfg.no_match_weights
                else None
            )
            offline_no_match = decide(
                query, candidates, cfg.no_match_weights, cfg.no_match_threshold, store_rows
            )
        visible = [hit_from_candidate(c) for c in candidates]
        return visible, signatures, offline_no_match

    def _group_candidates(
        self, collection: str, ranked: list[RankedUnit], depth: int, vector_field: str | None
    ) -> tuple[dict[str, Signature], list[RankedUnit]]:
        """The duplicate signatures of every candidate, read from their light fields, and the candidates of
        the first ``depth`` groups of copies, in rank order (the ones whose whole rows are fetched)."""
        if not ranked:
            return {}, []
        fields = [*SIGNATURE_FIELDS, *([vector_field] if vector_field else [])]
        rows = {
            r[F_ID]: r for r in self.store.get_rows_by_id(collection, [u.unit_id for u in ranked], fields)
        }
        signatures = signatures_of(rows, vector_field)
        order = [u.unit_id for u in ranked if u.unit_id in rows]
        groups = group_ids(order, signatures, image_vectors=vector_field == "clip")
        wanted = {uid for group in groups[:depth] for uid in group}
        return signatures, [u for u in ranked if u.unit_id in wanted]

    def _explain_cut(self, request: SearchRequest, reranked: bool) -> str:
        """The note for a search that asked more hits explained than ``reranker.explain_max_hits``, or asked
        explanations of a search the reranker did not run for (they come from it: such a search answered
        without any, and without a word why)."""
        if request.explain and not reranked:
            return "; no explanations: they come from the reranker, which did not run"
        cap = self.settings.reranker.explain_max_hits
        explained = request.explain or self.settings.reranker.explain
        if not (reranked and explained and request.top_k > cap):
            return ""
        return f"; explanations for the first {cap} hits only (reranker.explain_max_hits)"

    def _resolve_rerank(self, request: SearchRequest) -> tuple[bool, str]:
        try:
            from figvault.encoders.reranker import ASK_BY_SURFACE, resolve_rerank
        except ImportError as exc:
            return False, f"off: reranker unavailable ({exc})"
        return resolve_rerank(self.settings, request.rerank, ASK_BY_SURFACE[request.surface])

    def _rerank(
        self, request: SearchRequest, hits: list[SearchHit], keep: int
    ) -> tuple[list[SearchHit], bool, dict[str, float]]:
        from figvault.encoders.reranker import load_reranker
        from figvault.retrieval.rerank_stage import rerank_hits

        reranker = load_reranker(self.settings.reranker)
        return rerank_hits(
            reranker,
            request.query,
            hits,
            self.blobs,
            keep,
            self.settings.reranker.no_match_threshold,
            request.explain or self.settings.reranker.explain,
            explain_max_new_tokens=self.settings.reranker.explain_max_new_tokens,
            explain_max_hits=self.settings.reranker.explain_max_hits,
        )
