"""Milvus Lite's search reads made in process (retrieval/lite_direct.py) answer exactly what the same reads
answer through Lite's gRPC server: searches (filters, limits, fields), queries (by key, by filter, counts),
the alias, and the failures (a missing alias, a missing collection)."""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pytest

from figvault.retrieval import lite_direct
from figvault.retrieval.acl import in_list
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID, OUTPUT_FIELDS
from figvault.settings import load_settings
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for, unit_vector

pytestmark = pytest.mark.skipif(
    lite_direct.why_not_applicable() is not None, reason=f"{lite_direct.why_not_applicable()}"
)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[MilvusUnitStore, str, list[dict]]:
    store = MilvusUnitStore.from_settings(load_settings("offline", data_dir=tmp_path_factory.mktemp("d")))
    rng = random.Random(5)
    units = [
        random_unit(rng, i, tenant="t", groups=["g1"] if i % 3 else ["g2"], doc_id=f"doc{i % 4}")
        for i in range(120)
    ]
    rows = rows_for(units, seed=4)
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows[:80])
    store.flush(collection)
    store.upsert_rows(collection, rows[80:])  # unflushed rows too
    store.delete_ids(collection, [rows[5][F_ID], rows[90][F_ID]])
    return store, collection, rows


def _both_ways(store: MilvusUnitStore, read: Callable[[], Any]) -> tuple[Any, Any]:
    """``read()`` in process, then through gRPC (the stub pymilvus had), as results or as the error."""
    handler = store.client._get_connection()
    assert isinstance(handler._stub, lite_direct._Stub)
    direct_stub = handler._stub

    def outcome() -> Any:
        try:
            return read()
        except Exception as exc:  # the failure itself is compared
            return (type(exc).__name__, str(exc))

    direct = outcome()
    handler._stub = direct_stub.wire
    try:
        wire = outcome()
    finally:
        handler._stub = direct_stub
    return direct, wire


def test_search_reads_answer_the_same_in_process(loaded) -> None:
    store, collection, rows = loaded
    assert lite_direct.applied(store.client)
    rng = np.random.default_rng(8)
    exprs = ["", 'tenant == "t"', 'tenant == "t" and acl_key in ["nope"]', 'doc_id in ["doc1", "doc2"]']
    for expr in exprs:
        for limit, fields in ((10, [F_ID]), (50, OUTPUT_FIELDS), (3, [F_ID, "caption", "text"])):
            query = np.asarray(unit_vector(rng), dtype=np.float32)
            direct, wire = _both_ways(
                store,
                partial(store.search_channel, collection, "text", query, expr, limit, output_fields=fields),
            )
            assert direct == wire
    ids = [r[F_ID] for r in rows[:100]]
    for read in (
        lambda: store.get_rows(collection, in_list(F_ID, ids), fields=OUTPUT_FIELDS, for_search=True),
        lambda: store.query_rows(collection, 'doc_id == "doc3"', [F_ID, "caption"]),
        lambda: store.count(collection, 'tenant == "t"'),
        lambda: store.served_collection(),
        lambda: store.client.describe_alias("no_such_alias"),
        lambda: store.client.search("no_such_collection", data=[[0.0] * 8], anns_field="text", limit=3),
        lambda: store.client.query("no_such_collection", filter='unit_id == "x"'),
    ):
        direct, wire = _both_ways(store, read)
        assert direct == wire
    assert store.served_collection() == collection
    assert store.count(collection) == 118


def test_writes_still_go_through_grpc_and_reads_see_them(loaded) -> None:
    store, collection, rows = loaded
    stub = store.client._get_connection()._stub
    assert {"Search", "Query", "DescribeAlias"} <= set(vars(stub)) and "Upsert" not in vars(stub)
    store.upsert_rows(collection, [{**rows[7], "caption": "written after"}])
    got = store.get_rows(collection, in_list(F_ID, [rows[7][F_ID]]), fields=[F_ID, "caption"])
    assert got == [{F_ID: rows[7][F_ID], "caption": "written after"}]


def test_not_applied_to_other_versions(monkeypatch: pytest.MonkeyPatch) -> None:
    import pymilvus

    monkeypatch.setattr(pymilvus, "__version__", "9.9.9")
    assert "9.9.9" in (lite_direct.why_not_applicable() or "")
