"""What the store serves against what the configuration would encode: read by ``figvault status`` and by
``GET /v1/status`` (each prints its own fields, in its own order)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from figvault.access import local_operator
from figvault.errors import FigvaultError
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import StoreLayout
from figvault.settings import Settings


@dataclass(frozen=True)
class ServedState:
    store: MilvusUnitStore
    collection: str | None
    """The collection the alias points at; None before the first ingest."""
    layout: StoreLayout | None
    configured: str | None
    """The configured encoders' ``embedding_version``; None when it cannot be derived (missing weights)."""
    configured_error: str
    """Why ``configured`` is None ("" when it is not)."""

    @property
    def version_matches(self) -> bool:
        return bool(self.layout and self.configured == self.layout.embedding_version)


def served_state(settings: Settings) -> ServedState:
    """The served collection, its layout and the configured version (missing weights: status still reports
    the store)."""
    from figvault.encoders.factory import configured_embedding_version

    store = MilvusUnitStore.from_settings(settings)
    collection = store.served_collection()
    layout = store.layout_of(collection) if collection else None
    try:
        return ServedState(store, collection, layout, configured_embedding_version(settings), "")
    except FigvaultError as exc:
        return ServedState(store, collection, layout, None, str(exc))


def tenant_store_status(settings: Settings, engine: Any, tenant: str) -> dict[str, Any]:
    """What the alias serves, what is configured, what this process's ``engine`` answers with, and how many
    units ``tenant`` has there (a count of the whole store would tell one tenant about the others)."""
    from figvault.retrieval.acl import build_filter

    served = served_state(settings)
    store, collection, layout = served.store, served.collection, served.layout
    serving = getattr(engine, "serving_version", None)
    return {
        "alias": store.alias,
        "collection": collection,
        "embedding_version": layout.embedding_version if layout else None,
        "configured_embedding_version": served.configured,
        "serving_embedding_version": serving() if callable(serving) else None,
        "version_matches": served.version_matches,
        "units": store.count(collection, build_filter(local_operator(tenant), None, None) or "")
        if collection
        else 0,
        "collections": store.list_collections(),
    }
