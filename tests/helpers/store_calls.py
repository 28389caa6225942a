"""The reads a ``MilvusUnitStore`` makes during one channel search: what a caller's search does must not
follow other tenants' rows (tests/retrieval/test_milvus_store.py on Lite, test_server_store.py on a
server)."""

from __future__ import annotations

import numpy as np
import pytest

from figvault.retrieval.milvus_store import MilvusUnitStore

READS = ("count", "query_rows", "get_rows", "_search_once")
"""The store's methods that read rows or search, counted in the order they are called."""


def reads_of_a_search(
    store: MilvusUnitStore,
    collection: str,
    query: np.ndarray,
    expr: str,
    monkeypatch: pytest.MonkeyPatch,
    limit: int = 10,
) -> tuple[list[str], list[str]]:
    """(the store's ``READS`` during one ``search_channel`` of ``limit``, in order; the hits' unit ids)."""
    calls: list[str] = []
    with monkeypatch.context() as m:
        for name in READS:

            def counted(self, *args, _real=getattr(MilvusUnitStore, name), _name=name, **kwargs):
                calls.append(_name)
                return _real(self, *args, **kwargs)

            m.setattr(MilvusUnitStore, name, counted)
        hits = store.search_channel(collection, "text", query, expr, limit)
    return calls, [h.unit_id for h in hits]
