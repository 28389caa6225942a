"""Figure units in Milvus: versioned collections read through an alias, upsert/delete, filtered vector search.

One code path for embedded Milvus Lite (a folder in the data dir) and a Milvus server (URI + token). What a
server can do is detected once (``StoreCapabilities``): a 2.3 server has no BM25 function, so the store then
has no lexical field. The search fuses its channels client-side everywhere (``retrieval/fusion.py``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from figvault.errors import StoreError, StoreInUseError, one_line
from figvault.private_dirs import make_private_dirs
from figvault.retrieval.acl import AccessForm
from figvault.retrieval.lexical_log import ChangeLog
from figvault.retrieval.row_cache import RowCache, project_row, shared_row_cache
from figvault.retrieval.schema import (
    F_ACL_KEY,
    F_ASPECT,
    F_CAPTION,
    F_CONTEXT,
    F_CREATED,
    F_DOC,
    F_DOC_ID,
    F_FIGURE_TEXT,
    F_GEOMETRY,
    F_GROUPS,
    F_HEIGHT,
    F_ID,
    F_IMAGE,
    F_KIND,
    F_LABEL,
    F_META,
    F_PAGE,
    F_PAGE_TEXT,
    F_PHASH,
    F_SEARCH_TEXT,
    F_SHA,
    F_TAGS,
    F_TENANT,
    F_TITLE,
    F_VERSION,
    F_WIDTH,
    GROUP_MAX_LENGTH,
    LEXICAL,
    MAX_GROUPS,
    OPTIONAL_FIELDS,
    OUTPUT_FIELDS,
    PROP_LAYOUT,
    PROP_VERSION,
    TAG_MAX_LENGTH,
    VARCHAR_LIMITS,
    StoreLayout,
    collection_name,
    with_native_bm25_input,
)
from figvault.settings import Settings, StoreSettings
from figvault.tags import MAX_TAGS

log = logging.getLogger(__name__)

_TEXT_FIELDS = (
    F_DOC_ID,
    F_DOC,
    F_SHA,
    F_KIND,
    F_LABEL,
    F_TITLE,
    F_CAPTION,
    F_CONTEXT,
    F_FIGURE_TEXT,
    F_IMAGE,
)
"""The plain VARCHAR fields of a new collection."""


def _drop_lite_unimplemented_rpc(record: logging.LogRecord) -> bool:
    # pymilvus asks for AllocTimestamp while waiting on an index; Milvus Lite's in-process gRPC server lacks
    # that RPC, logs a full traceback, and pymilvus carries on. The traceback is noise, not a fault.
    return "Method not implemented" not in record.getMessage()


logging.getLogger("grpc._server").addFilter(_drop_lite_unimplemented_rpc)

_lite_start_failure = threading.local()


def _keep_lite_start_failure(record: logging.LogRecord) -> bool:
    # Milvus Lite logs a full traceback when it cannot open its folder (most often: another process, such as
    # a running `figvault serve`, holds it) and pymilvus then raises only "Open local milvus failed". Keep the
    # cause for the one-line StoreError instead of the traceback.
    if record.getMessage().startswith("Failed to start MilvusLite server") and record.exc_info:
        _lite_start_failure.reason = one_line(record.exc_info[1])
        return False
    return True


logging.getLogger("milvus_lite.server_manager").addFilter(_keep_lite_start_failure)
LITE_IN_USE_HINT = (
    "Milvus Lite serves a data folder from one process: another figvault process holds this one (a"
    " `figvault serve`, or an ingest or re-encode still running: wait for it to end, or stop it)"
)
"""Said by every command that finds the folder held; each adds where its change can be made meanwhile (the
page's tabs, the routes). Before: "... or do this through the service", which `serve` itself printed while
an ingest held the folder."""

LITE_DB_NAME = "figvault.db"
QUERY_WINDOW = 16_384
"""Milvus returns at most this many rows per query call."""
MAX_EF = 32_768
EXACT_FALLBACK_MAX_ROWS = 50_000
"""Above this many matching rows an exact client-side scan costs more than it saves."""

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


@dataclass(frozen=True)
class StoreCapabilities:
    server_version: str
    lite: bool
    bm25: bool
    upsert: bool = True
    """False on 2.3: its upsert routes partition-key rows so that a tenant filter no longer finds them."""

    @property
    def access_form(self) -> AccessForm:
        """How the access clause is written here (``retrieval/acl.py``): the form this store runs fast."""
        return "acl_key" if self.lite else "groups"


@dataclass
class ChannelHit:
    unit_id: str
    score: float
    row: dict[str, Any]


def _parse_version(text: str) -> tuple[int, int]:
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else (0, 0)


def detect_capabilities(server_version: str) -> StoreCapabilities:
    lite = server_version.startswith("milvus_lite")
    if lite:
        return StoreCapabilities(server_version, lite=True, bm25=True)
    major_minor = _parse_version(server_version)
    # BM25 functions came with 2.5.
    return StoreCapabilities(
        server_version,
        lite=False,
        bm25=major_minor >= (2, 5),
        upsert=major_minor >= (2, 4),
    )


def lite_path(settings: Settings) -> Path:
    return settings.milvus_path / LITE_DB_NAME


def is_embedded(uri: str) -> bool:
    """A Milvus Lite folder rather than a server address (pymilvus's own rule)."""
    from urllib.parse import urlparse

    return urlparse(uri).scheme.lower() not in {"unix", "http", "https", "tcp", "grpc"}


LITE_CHANNEL_OPTIONS = {"grpc.keepalive_time_ms": 2**31 - 1, "grpc.keepalive_permit_without_calls": False}
"""gRPC keepalive off for Milvus Lite's channel (gRPC's own client default; 2**31 - 1 ms is its "never").
pymilvus pings every 10 s, idle or not; Lite's server keeps gRPC's default policy (at most one ping per 5
minutes while it sends nothing), so after three pings in an idle half minute it answered GOAWAY
``too_many_pings`` and the client logged it, once per backed-off interval, on every long ingest or idle
``serve``. A ping finds a peer lost across a network; Lite is this machine's own child on loopback, whose
end the socket reports at once. A Milvus server, across a network, keeps pymilvus's keepalive."""


def _client_for(uri: str, token: str) -> Any:
    # One client per target and process: Milvus Lite serves a folder from one in-process server.
    from pymilvus import MilvusClient

    key = f"{uri}|{token}"
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            options: dict[str, Any] = {"token": token} if token else {}
            if is_embedded(uri):
                options["grpc_options"] = LITE_CHANNEL_OPTIONS
            client = MilvusClient(uri=uri, **options)
            _clients[key] = client
        return client


def _is_not_found(exc: Exception) -> bool:
    text = str(exc).lower()
    return "not found" in text or "not exist" in text or "doesn't exist" in text or "does not exist" in text


class MilvusUnitStore:
    """Figure units of one alias (``settings.store.alias``) in Milvus Lite or a Milvus server."""

    def __init__(
        self, uri: str, store_settings: StoreSettings, *, token: str = "", changes: ChangeLog | None = None
    ) -> None:
        self.uri = uri
        self.changes = changes
        """Where every write is noted for the lexical indexes of all processes (``lexical_log.py``)."""
        self.settings = store_settings
        self.alias = store_settings.alias
        _lite_start_failure.reason = ""
        try:
            self.client = _client_for(uri, token)
            version = str(self.client.get_server_version())
        except Exception as exc:
            cause = getattr(_lite_start_failure, "reason", "")
            if "another process holds the lock" in cause:
                raise StoreInUseError(
                    f"the embedded store {uri} is in use by another process: {LITE_IN_USE_HINT}"
                ) from exc
            raise StoreError(f"cannot open the Milvus store at {uri}: {cause or exc}") from exc
        self.capabilities = detect_capabilities(version)
        self.embedded = is_embedded(uri)
        if self.embedded and store_settings.lite_direct_reads:
            from figvault.retrieval import lite_direct

            lite_direct.apply(self.client, uri)
        self.row_cache: RowCache | None = (
            shared_row_cache(uri, store_settings.row_cache_rows) if self.embedded else None
        )
        """The hit rows of the embedded store (``row_cache.py``): every write of this process goes through
        it; reads use it when ``store.row_cache_rows`` > 0."""
        self._loaded: set[str] = set()
        self._layouts: dict[str, StoreLayout] = {}
        self._lacking: dict[str, frozenset[str]] = {}
        self._alias_seen = False

    @classmethod
    def from_settings(cls, settings: Settings) -> MilvusUnitStore:
        changes = ChangeLog.open(settings)
        if settings.store.uri:
            return cls(settings.store.uri, settings.store, token=settings.store.token, changes=changes)
        if settings.store.lite_fast_mask:
            from figvault.retrieval import lite_patch

            lite_patch.apply()
        path = lite_path(settings)
        make_private_dirs(path.parent)
        return cls(str(path), settings.store, changes=changes)

    # ---- collections and the alias ------------------------------------------------------------------

    def supported_layout(self, layout: StoreLayout) -> StoreLayout:
        """``layout`` minus what this server cannot do (Milvus's own BM25 field on a 2.3 server).

        The lexical channel itself is figvault's index (``retrieval/lexical.py``) and works on every store;
        new layouts never ask for the native field."""
        if layout.native_bm25 and not self.capabilities.bm25:
            return replace(layout, native_bm25=False)
        return layout

    def collection_name_for(self, layout: StoreLayout, suffix: str = "") -> str:
        name = collection_name(self.alias, layout.embedding_version)
        return f"{name}_{suffix}" if suffix else name

    def served_collection(self) -> str | None:
        """The collection the alias points at, or None when there is no alias yet."""
        try:
            # Until the alias has been seen, list first: describing a missing alias makes pymilvus log an
            # error for a normal state. Once it exists it is described directly: one round trip a search.
            if not self._alias_seen and self.alias not in (self.client.list_aliases().get("aliases") or []):
                return None
            info = self.client.describe_alias(self.alias)
        except Exception as exc:
            if _is_not_found(exc):
                self._alias_seen = False
                return None
            raise StoreError(f"cannot read alias {self.alias}: {exc}") from exc
        name = info.get("collection_name") or None
        self._alias_seen = name is not None
        return name

    def layout_of(self, collection: str) -> StoreLayout:
        cached = self._layouts.get(collection)
        if cached is not None:
            return cached
        try:
            info = self.client.describe_collection(collection)
        except Exception as exc:
            raise StoreError(f"cannot describe collection {collection}: {exc}") from exc
        props = info.get("properties") or {}
        raw = props.get(PROP_LAYOUT)
        if not raw:
            raise StoreError(f"collection {collection} was not written by figvault (no layout property)")
        layout = StoreLayout.from_json(raw)
        self._layouts[collection] = layout
        return layout

    def served_layout(self) -> StoreLayout | None:
        name = self.served_collection()
        return self.layout_of(name) if name else None

    def list_collections(self) -> list[str]:
        prefix = collection_name(self.alias, "")
        return sorted(n for n in self.client.list_collections() if n.startswith(prefix))

    def ensure_collection(self, layout: StoreLayout, *, suffix: str = "", set_alias: bool = True) -> str:
        """Create the collection of ``layout`` if missing and, when there is no alias yet, point it there."""
        layout = self.supported_layout(layout)
        name = self.collection_name_for(layout, suffix)
        if not self.client.has_collection(name):
            self._create(name, layout)
        if set_alias and self.served_collection() is None:
            self.client.create_alias(collection_name=name, alias=self.alias)
        self.ensure_loaded(name)
        return name

    def switch_alias(self, collection: str) -> None:
        """Point the alias at ``collection`` atomically (readers see the old one or the new one)."""
        if self.served_collection() is None:
            self.client.create_alias(collection_name=collection, alias=self.alias)
        else:
            self.client.alter_alias(collection_name=collection, alias=self.alias)

    def drop_collection(self, collection: str) -> None:
        if collection == self.served_collection():
            # No command moves the alias but a re-encode ("switch the alias first" named none).
            raise StoreError(
                f"{collection} is served by alias {self.alias} and is never dropped; a `figvault reencode` to"
                " new encoder settings moves the alias to a new collection, after which this one can go"
            )
        self.client.drop_collection(collection)
        if self.row_cache is not None:
            self.row_cache.forget(collection)
        if self.changes is not None:
            self.changes.record_reset(collection)
        self._loaded.discard(collection)
        self._layouts.pop(collection, None)
        self._lacking.pop(collection, None)

    def _lacks(self, collection: str) -> frozenset[str]:
        """The OPTIONAL_FIELDS ``collection`` was written without (collections older than those fields)."""
        lacking = self._lacking.get(collection)
        if lacking is None:
            try:
                info = self.client.describe_collection(collection)
            except Exception as exc:
                raise StoreError(f"cannot describe collection {collection}: {exc}") from exc
            names = {f.get("name") for f in info.get("fields", [])}
            lacking = frozenset(OPTIONAL_FIELDS - names)
            self._lacking[collection] = lacking
        return lacking

    def absent_fields(self, collection: str) -> frozenset[str]:
        """The optional fields (``schema.OPTIONAL_FIELDS``) ``collection`` was written without."""
        return self._lacks(collection)

    def missing_fields(self, collection: str, wanted: set[str]) -> set[str]:
        return set(wanted) & self._lacks(collection)

    def _readable(self, collection: str, fields: list[str]) -> list[str]:
        lacking = self._lacks(collection)
        return [f for f in fields if f not in lacking] if lacking else fields

    def ensure_loaded(self, collection: str) -> None:
        if collection in self._loaded:
            return
        state = str(self.client.get_load_state(collection).get("state", ""))
        if "Loaded" not in state or "NotLoad" in state:
            self.client.load_collection(collection)
        self._loaded.add(collection)

    def _create(self, name: str, layout: StoreLayout, *, omit: frozenset[str] = frozenset()) -> None:
        """``omit``: optional fields to leave out, as collections written before them lack them (tests)."""
        client = self.client
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        _add_unit_fields(schema, omit)
        _add_search_fields(schema, layout)
        index = client.prepare_index_params()
        for channel in layout.dense:
            index.add_index(channel.name, **self._dense_index())
        if layout.native_bm25:
            index.add_index(LEXICAL, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        try:
            client.create_collection(
                name,
                schema=schema,
                index_params=index,
                consistency_level="Strong",
                properties={PROP_LAYOUT: layout.to_json(), PROP_VERSION: layout.embedding_version},
            )
        except Exception as exc:
            raise StoreError(f"cannot create collection {name}: {exc}") from exc
        self._layouts[name] = layout

    def _dense_index(self) -> dict[str, Any]:
        kind = self.settings.index
        if kind == "HNSW":
            params = {"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction}
            return {"index_type": "HNSW", "metric_type": "COSINE", "params": params}
        return {"index_type": kind, "metric_type": "COSINE", "params": {}}

    # ---- writes -----------------------------------------------------------------------------------

    def upsert_rows(
        self, collection: str, rows: Sequence[dict[str, Any]], *, one_request: bool = False
    ) -> int:
        """Write ``rows`` (insert or replace by unit id), in batches of ``store.insert_batch``, or all in
        one request (``one_request``: what a regroup needs, see ``rewrite_access``)."""
        lacking = self._lacks(collection)
        if lacking:
            rows = [{k: v for k, v in row.items() if k not in lacking} for row in rows]
        batch = max(1, len(rows) if one_request else self.settings.insert_batch)
        native = self.layout_of(collection).native_bm25
        written = 0
        for start in range(0, len(rows), batch):
            chunk = [with_native_bm25_input(r, native) for r in rows[start : start + batch]]
            try:
                with self._writing(collection, [r[F_ID] for r in chunk]):
                    if self.capabilities.upsert:
                        self.client.upsert(collection, chunk)
                    else:
                        # Measured on 2.3.5: upserted rows vanish from `tenant == ...` filters (partition
                        # key). Delete + insert is not atomic, but leaves each row findable.
                        self.delete_ids(collection, [r[F_ID] for r in chunk])
                        self.client.insert(collection, chunk)
            except Exception as exc:
                raise StoreError(f"cannot write {len(chunk)} units to {collection}: {exc}") from exc
            self._changed(collection, [r[F_ID] for r in chunk])
            written += len(chunk)
        return written

    @contextmanager
    def _writing(self, collection: str, unit_ids: list[str]) -> Iterator[None]:
        """Bracket a write of ``unit_ids`` for the row cache (nothing to do on a server)."""
        if self.row_cache is None:
            yield
            return
        with self.row_cache.writing(collection, unit_ids):
            yield

    def _changed(self, collection: str, unit_ids: list[str]) -> None:
        # After the write: a reader that sees the entry and reads these ids sees the write (lexical_log.py).
        if self.changes is not None and unit_ids:
            self.changes.record(collection, unit_ids)

    def written_fields(self, collection: str) -> list[str]:
        """Every field a row of ``collection`` is written with: all but function outputs (BM25's sparse
        vector, which the store computes from ``search_text``)."""
        try:
            info = self.client.describe_collection(collection)
        except Exception as exc:
            raise StoreError(f"cannot describe collection {collection}: {exc}") from exc
        outputs = {n for f in info.get("functions") or [] for n in f.get("output_field_names") or []}
        return [
            f["name"]
            for f in info.get("fields") or []
            if f["name"] not in outputs and not f.get("is_function_output")
        ]

    def rewrite_access(self, collection: str, tenant: str, doc_id: str, groups: list[str], key: str) -> int:
        """Give every unit of one document new ``groups`` and ``acl_key`` in place; returns how many.

        The rows are read whole (vectors and texts included) and written back with only the access fields
        changed: nothing is extracted or encoded again. They go back in one upsert request. On a Milvus
        server one request is applied at one timestamp, so a read by key (``get_rows``) sees the document
        either all old or all new; on Milvus Lite one upsert of one tenant's rows is a single memtable
        operation under its lock. A search's own hits are still held to the rows' access fields by the
        engine (``SearchEngine._may_see``). A 2.3 server has no usable upsert (delete then insert): there a
        concurrent search may briefly miss the document's units, never see them with the wrong groups.
        """
        return self.rewrite_fields(collection, tenant, doc_id, {F_GROUPS: list(groups), F_ACL_KEY: key})

    def rewrite_fields(
        self,
        collection: str,
        tenant: str,
        doc_id: str,
        changes: dict[str, Any],
        only: Callable[[dict[str, Any]], bool] | None = None,
    ) -> int:
        """Set ``changes`` (field -> value) on every unit of one document in place (``only``: on those of
        its rows it accepts), the way ``rewrite_access`` does (rows read whole, written back in one upsert
        request); returns how many. A collection written before one of the fields is left alone (0): its
        re-encode adds the field."""
        from figvault.retrieval.acl import quote

        if set(changes) & self._lacks(collection):
            return 0
        expr = f"{F_TENANT} == {quote(tenant)} and {F_DOC_ID} == {quote(doc_id)}"
        rows = self.query_rows(collection, expr, self.written_fields(collection))
        rows = rows if only is None else [r for r in rows if only(r)]
        if not rows:
            return 0
        for row in rows:
            row.update(changes)
        return self.upsert_rows(collection, rows, one_request=True)

    def flush(self, collection: str) -> None:
        """Seal what was written so it gets indexed. Lite searches unsealed rows by brute force: measured at
        10k rows, 390 ms per search before a flush and 22 ms after."""
        try:
            self.client.flush(collection)
        except Exception as exc:
            raise StoreError(f"cannot flush {collection}: {exc}") from exc

    def delete_ids(self, collection: str, unit_ids: Iterable[str]) -> int:
        from figvault.retrieval.acl import in_list

        ids = sorted(set(unit_ids))
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            with self._writing(collection, chunk):
                self.client.delete(collection, filter=in_list(F_ID, chunk))
            self._changed(collection, chunk)
        return len(ids)

    def unit_ids_of_doc(self, collection: str, tenant: str, doc_id: str) -> set[str]:
        from figvault.retrieval.acl import quote

        expr = f"{F_TENANT} == {quote(tenant)} and {F_DOC_ID} == {quote(doc_id)}"
        return {r[F_ID] for r in self.query_rows(collection, expr, [F_ID])}

    # ---- reads ------------------------------------------------------------------------------------

    def query_rows(
        self, collection: str, expr: str, fields: list[str], *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """All rows matching ``expr`` (paged past Milvus's query window), at most ``limit``."""
        self.ensure_loaded(collection)
        fields = self._readable(collection, fields)
        wanted = limit if limit is not None else None
        first = list(
            self.client.query(
                collection,
                filter=expr,
                output_fields=fields,
                limit=min(wanted or QUERY_WINDOW, QUERY_WINDOW),
            )
        )
        if len(first) < QUERY_WINDOW or (wanted is not None and wanted <= QUERY_WINDOW):
            return first
        rows: list[dict[str, Any]] = []
        iterator = self.client.query_iterator(collection, batch_size=4096, filter=expr, output_fields=fields)
        try:
            while True:
                page = iterator.next()
                if not page:
                    break
                rows.extend(page)
                if wanted is not None and len(rows) >= wanted:
                    return rows[:wanted]
        finally:
            iterator.close()
        return rows

    def iter_rows(
        self, collection: str, expr: str, fields: list[str], *, batch_size: int = 4096
    ) -> Iterator[list[dict[str, Any]]]:
        """Every row matching ``expr``, one page at a time (only a page is held in memory). A result that fits
        one query window is one query (Lite's iterator rescans the collection for every page)."""
        self.ensure_loaded(collection)
        fields = self._readable(collection, fields)
        first = list(self.client.query(collection, filter=expr, output_fields=fields, limit=QUERY_WINDOW))
        if len(first) < QUERY_WINDOW:
            if first:
                yield first
            return
        del first
        iterator = self.client.query_iterator(
            collection, batch_size=batch_size, filter=expr, output_fields=fields
        )
        try:
            while page := iterator.next():
                yield list(page)
        finally:
            iterator.close()

    def count(self, collection: str, expr: str = "") -> int:
        self.ensure_loaded(collection)
        result = self.client.query(collection, filter=expr, output_fields=["count(*)"])
        return int(result[0]["count(*)"]) if result else 0

    def get_rows(
        self,
        collection: str,
        expr: str,
        *,
        fields: list[str] | None = None,
        for_search: bool = False,
        limit: int = QUERY_WINDOW,
    ) -> list[dict[str, Any]]:
        """Rows matching ``expr``, at most ``limit`` (up to ``QUERY_WINDOW``). ``for_search``: a read for a
        search, at its consistency (``store.read_consistency``); every other read is ``Strong`` (the
        collections' level)."""
        self.ensure_loaded(collection)
        extra: dict[str, Any] = {"limit": min(limit, QUERY_WINDOW)} if limit < QUERY_WINDOW else {}
        if for_search:
            extra["consistency_level"] = self.settings.read_consistency
        fields = self._readable(collection, fields or OUTPUT_FIELDS)
        return list(self.client.query(collection, filter=expr, output_fields=fields, **extra))

    def get_rows_by_id(
        self, collection: str, unit_ids: Sequence[str], fields: list[str] | None = None
    ) -> list[dict[str, Any]]:
        """The rows of ``unit_ids`` that exist, with ``fields`` (default ``OUTPUT_FIELDS``), in that order:
        ``get_rows(in_list(unit_id, ids), for_search=True)``, served from the row cache where the store has
        one (``row_cache.py``: the embedded store, ``store.row_cache_rows`` > 0) for the fields it keeps."""
        from figvault.retrieval.acl import in_list

        ids = list(dict.fromkeys(unit_ids))
        if not ids:
            return []
        wanted = self._readable(collection, fields or OUTPUT_FIELDS)
        kept = self._cached_fields(collection)
        if self.row_cache is None or self.settings.row_cache_rows <= 0 or not set(wanted) <= set(kept):
            return self.get_rows(collection, in_list(F_ID, ids), fields=wanted, for_search=True)
        found, missing, token = self.row_cache.lookup(collection, ids, wanted)
        if missing:
            read = self.get_rows(collection, in_list(F_ID, missing), fields=kept, for_search=True)
            self.row_cache.keep(collection, read, token)
            found.update((r[F_ID], project_row(r, wanted)) for r in read)
        return [found[uid] for uid in ids if uid in found]

    def _cached_fields(self, collection: str) -> list[str]:
        """What the row cache keeps of a row: the shown fields and the dense vectors (a channel that did not
        recall a shown unit gets its score from its vector)."""
        dense = [c.name for c in self.layout_of(collection).dense]
        return self._readable(collection, list(dict.fromkeys([*OUTPUT_FIELDS, *dense])))

    def search_channel(
        self,
        collection: str,
        channel: str,
        query: np.ndarray,
        expr: str,
        limit: int,
        *,
        output_fields: list[str] | None = None,
    ) -> list[ChannelHit]:
        """Top ``limit`` units of one dense channel under ``expr``, complete even where HNSW under-fills.

        A selective filter can leave HNSW with fewer than ``limit`` reachable matches although enough rows
        match. On Lite the patched search completes itself (``_complete_search``). On a server a short
        answer is completed by ``_complete_short``. (The lexical channel is not searched here: see
        ``retrieval/lexical.py``.)
        """
        if channel == LEXICAL:
            raise StoreError("the lexical channel is figvault's own index (retrieval/lexical.py), not Milvus")
        self.ensure_loaded(collection)
        fields = self._readable(collection, output_fields if output_fields is not None else OUTPUT_FIELDS)
        ef = max(self.settings.search_ef, limit)
        hits = self._search_once(collection, channel, query, expr, limit, fields, ef=ef)
        if len(hits) >= limit or self._complete_search():
            return hits
        return self._complete_short(collection, channel, query, expr, limit, fields, hits, ef)

    def _complete_short(
        self,
        collection: str,
        channel: str,
        query: np.ndarray,
        expr: str,
        limit: int,
        fields: list[str],
        hits: list[ChannelHit],
        ef: int,
    ) -> list[ChannelHit]:
        """A server's short answer made complete. A caller whose filter passes fewer than ``limit`` rows
        (a small tenant or group: a short answer on every search) has those rows, read at most ``limit``,
        scored exactly, whether or not HNSW found them all: the same two calls every time. Before, the store
        counted the filter's matches and, when HNSW had under-filled (which the share of the segments
        that caller's rows are decides, so other tenants' rows do), searched again and scanned: the
        calls, and so the ``recall`` time, followed others' rows. A filter passing ``limit`` rows or more:
        retry with a wider beam, then score the filtered rows exactly."""
        query = np.asarray(query, dtype=np.float32)
        window = min(limit, QUERY_WINDOW)
        mine = self.get_rows(collection, expr, fields=[*fields, channel], for_search=True, limit=window)
        if len(mine) < window:
            return _scored(mine, channel, query, limit)
        matching = self.count(collection, expr)
        target = min(limit, matching)
        if len(hits) >= target:
            return hits
        wide = min(MAX_EF, max(ef * 8, matching))
        log.info("HNSW under-filled (%d of %d): retrying with ef=%d", len(hits), target, wide)
        hits = self._search_once(collection, channel, query, expr, limit, fields, ef=wide)
        if len(hits) >= target or matching > EXACT_FALLBACK_MAX_ROWS:
            return hits
        log.info("HNSW still under-filled (%d of %d): exact scan of %d rows", len(hits), target, matching)
        return self._exact_search(collection, channel, query, expr, limit, fields)

    def _complete_search(self) -> bool:
        """Whether this store's filtered search returns every match up to its limit by itself (Lite with
        ``retrieval/lite_patch.py``): then a short answer needs no count, whose cost on Lite grows with every
        tenant's rows (a caller holding fewer units than ``top_k`` paid it on every search: 16 ms with no
        other rows, 1.1 s with 40,000 of another tenant)."""
        if not self.capabilities.lite:
            return False
        from figvault.retrieval import lite_patch

        return lite_patch.complete_search()

    def _search_once(
        self,
        collection: str,
        channel: str,
        query: np.ndarray,
        expr: str,
        limit: int,
        fields: list[str],
        *,
        ef: int,
    ) -> list[ChannelHit]:
        data = [np.asarray(query, dtype=np.float32).tolist()]
        params = {"metric_type": "COSINE", "params": {"ef": ef} if self.settings.index == "HNSW" else {}}
        try:
            result = self.client.search(
                collection,
                data=data,
                anns_field=channel,
                filter=expr,
                limit=limit,
                output_fields=fields,
                search_params=params,
                consistency_level=self.settings.read_consistency,
            )
        except Exception as exc:
            raise StoreError(f"search of channel {channel} failed: {exc}") from exc
        return [self._hit(h) for h in (result[0] if result else [])]

    @staticmethod
    def _hit(raw: dict[str, Any]) -> ChannelHit:
        score = float(raw["distance"])
        entity = dict(raw.get("entity") or {})
        entity.setdefault(F_ID, raw.get("id", raw.get(F_ID)))
        return ChannelHit(unit_id=entity[F_ID], score=score, row=entity)

    def _exact_search(
        self, collection: str, channel: str, query: np.ndarray, expr: str, limit: int, fields: list[str]
    ) -> list[ChannelHit]:
        return _scored(self.query_rows(collection, expr, [*fields, channel]), channel, query, limit)


def _scored(rows: list[dict[str, Any]], channel: str, query: np.ndarray, limit: int) -> list[ChannelHit]:
    """The top ``limit`` of ``rows`` by the cosine of their ``channel`` vector with ``query``."""
    if not rows:
        return []
    matrix = np.asarray([r[channel] for r in rows], dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1) * (np.linalg.norm(query) or 1.0)
    scores = matrix @ query / np.where(norms == 0, 1.0, norms)
    order = np.argsort(-scores, kind="stable")[:limit]
    hits = []
    for i in order:
        row = {k: v for k, v in rows[int(i)].items() if k != channel}
        hits.append(ChannelHit(unit_id=row[F_ID], score=float(scores[int(i)]), row=row))
    return hits


def _add_unit_fields(schema: Any, omit: frozenset[str]) -> None:
    """The unit's scalar fields, less the optional ones in ``omit``."""
    from pymilvus import DataType

    varchar = DataType.VARCHAR
    schema.add_field(F_ID, varchar, max_length=VARCHAR_LIMITS[F_ID], is_primary=True)
    schema.add_field(F_TENANT, varchar, max_length=VARCHAR_LIMITS[F_TENANT], is_partition_key=True)
    for fname in _TEXT_FIELDS:
        if fname not in omit:
            schema.add_field(fname, varchar, max_length=VARCHAR_LIMITS[fname])
    schema.add_field(F_ACL_KEY, varchar, max_length=VARCHAR_LIMITS[F_ACL_KEY])
    schema.add_field(F_PAGE_TEXT, varchar, max_length=VARCHAR_LIMITS[F_PAGE_TEXT])
    schema.add_field(F_VERSION, varchar, max_length=VARCHAR_LIMITS[F_VERSION])
    schema.add_field(F_PAGE, DataType.INT64)
    schema.add_field(F_WIDTH, DataType.INT64)
    schema.add_field(F_HEIGHT, DataType.INT64)
    schema.add_field(F_CREATED, DataType.INT64)
    if F_ASPECT not in omit:
        schema.add_field(F_ASPECT, DataType.FLOAT)
    if F_PHASH not in omit:
        schema.add_field(F_PHASH, varchar, max_length=VARCHAR_LIMITS[F_PHASH])
    schema.add_field(F_GEOMETRY, DataType.JSON)
    schema.add_field(F_META, DataType.JSON)
    schema.add_field(
        F_GROUPS,
        DataType.ARRAY,
        element_type=varchar,
        max_capacity=MAX_GROUPS,
        max_length=GROUP_MAX_LENGTH,
    )
    if F_TAGS not in omit:
        schema.add_field(
            F_TAGS, DataType.ARRAY, element_type=varchar, max_capacity=MAX_TAGS, max_length=TAG_MAX_LENGTH
        )


def _add_search_fields(schema: Any, layout: StoreLayout) -> None:
    """One vector field per dense channel of ``layout``, and the analysed text with its BM25 function when
    the store computes the lexical channel itself."""
    from pymilvus import DataType, Function, FunctionType

    for channel in layout.dense:
        schema.add_field(channel.name, DataType.FLOAT_VECTOR, dim=channel.dim)
    if layout.native_bm25:
        schema.add_field(
            F_SEARCH_TEXT,
            DataType.VARCHAR,
            max_length=VARCHAR_LIMITS[F_SEARCH_TEXT],
            enable_analyzer=True,
            analyzer_params={"tokenizer": layout.analyzer, "filter": ["lowercase"]},
        )
        schema.add_field(LEXICAL, DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(
            Function(
                name="bm25",
                function_type=FunctionType.BM25,
                input_field_names=[F_SEARCH_TEXT],
                output_field_names=[LEXICAL],
            )
        )
