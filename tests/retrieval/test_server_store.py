"""The server code path: the same store operations against a real Milvus 2.3 server on loopback.

The ``milvus`` package (dev extra) ships a 2.3.5 standalone binary. It has no BM25 function: the store
must detect that, and still insert, search under the access filter, and switch aliases; the lexical channel
is figvault's own index there too, kept current across processes. The server ignores SIGTERM, so it is
stopped by pid (SIGKILL).
"""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from figvault.access import Principal
from figvault.retrieval.acl import acl_key, build_filter
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.lexical import LexicalChannel
from figvault.retrieval.lexical_index import Scope
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID, StoreLayout
from figvault.settings import load_settings
from tests.helpers.store_calls import reads_of_a_search
from tests.retrieval.store_fixtures import LAYOUT, filter_cases, random_unit, rows_for, shaped_units

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server_uri(milvus_uri: str) -> str:
    """The session's one Milvus 2.3.5 server (tests/fixtures_registry.py; the two-replica test uses it too).
    It runs in a network namespace of its own (since 5bcf57e), so its fixed ports would not stop a second
    standalone; one is shared because each start takes a server's start-up time and memory."""
    return milvus_uri


@pytest.fixture(scope="module")
def server_store(server_uri: str, tmp_path_factory: pytest.TempPathFactory) -> MilvusUnitStore:
    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("server-data"))
    settings.store.uri = server_uri
    return MilvusUnitStore.from_settings(settings)


def test_capabilities_of_a_23_server(server_store: MilvusUnitStore) -> None:
    caps = server_store.capabilities
    assert not caps.lite and not caps.bm25
    # The lexical channel is figvault's own index, on a 2.3 server too; only Milvus's BM25 field goes.
    reduced = server_store.supported_layout(replace(LAYOUT, native_bm25=True))
    assert reduced.lexical and not reduced.native_bm25
    assert reduced.embedding_version == LAYOUT.embedding_version


def test_insert_search_acl_and_alias_on_the_server(server_store: MilvusUnitStore, tmp_path: Path) -> None:
    rng = random.Random(3)
    groups = ["a", "b", "c"]
    units = [
        random_unit(rng, i, tenant="t", groups=rng.sample(groups, rng.randint(1, 2)), doc_id=f"d{i % 3}")
        for i in range(120)
    ]
    table = AclSetTable.at(tmp_path / "registry.sqlite3")
    for u in units:
        table.register(u.tenant, u.groups)
    collection = server_store.ensure_collection(LAYOUT)
    assert server_store.served_collection() == collection
    layout = server_store.layout_of(collection)
    assert layout.lexical and not layout.native_bm25
    rows = [{k: v for k, v in r.items() if k != "search_text"} for r in rows_for(units, seed=5)]
    server_store.upsert_rows(collection, rows)
    server_store.upsert_rows(collection, rows[:10])  # upsert: no duplicates
    assert server_store.count(collection) == 120

    hits = server_store.search_channel(collection, "text", np.asarray(rows[7]["text"]), 'tenant == "t"', 5)
    assert hits[0].unit_id == rows[7][F_ID]

    principal = Principal(user="u", tenant="t", groups=["a"])
    expr = build_filter(principal, None, table.sets_of("t"))
    truth = {u.unit_id for u in units if principal.sees(u.tenant, u.groups)}
    assert {r[F_ID] for r in server_store.query_rows(collection, expr, [F_ID])} == truth
    found = server_store.search_channel(collection, "text", np.asarray(rows[0]["text"]), expr, 200)
    assert {h.unit_id for h in found} == truth  # complete, and nothing hidden
    assert server_store.capabilities.access_form == "groups"  # what a server is given: the array predicate
    by_groups = build_filter(principal, None, table.sets_of("t"), form="groups")
    assert by_groups is not None and "array_contains_any" in by_groups
    assert {r[F_ID] for r in server_store.query_rows(collection, by_groups, [F_ID])} == truth
    found = server_store.search_channel(collection, "text", np.asarray(rows[0]["text"]), by_groups, 200)
    assert {h.unit_id for h in found} == truth

    ids = server_store.unit_ids_of_doc(collection, "t", "d1")
    server_store.delete_ids(collection, ids)
    assert server_store.unit_ids_of_doc(collection, "t", "d1") == set()

    other = server_store.ensure_collection(
        StoreLayout(embedding_version="vserver2", dense=LAYOUT.dense, lexical=False), set_alias=False
    )
    server_store.switch_alias(other)
    assert server_store.served_collection() == other
    server_store.switch_alias(collection)
    server_store.drop_collection(other)
    server_store.client.drop_alias(server_store.alias)  # dropped outside figvault after it was seen
    assert server_store.served_collection() is None
    server_store.switch_alias(collection)
    assert server_store.served_collection() == collection


WRITER = """
import random, sys
from figvault.retrieval.acl import acl_key
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import load_settings
from tests.retrieval.store_fixtures import random_unit, rows_for

settings = load_settings("offline", data_dir=sys.argv[1])
settings.store.uri, settings.store.alias = sys.argv[2], "lexical_xproc"
store = MilvusUnitStore.from_settings(settings)
collection = store.served_collection()
rows = {r["unit_id"]: r for r in store.query_rows(collection, 'tenant == "t"', ["*"])}
by_doc = lambda d: [r for r in rows.values() if r["doc_id"] == d]
new = [random_unit(random.Random(1), 500 + i, tenant="t", groups=["a"], doc_id="new") for i in range(4)]
store.upsert_rows(collection, [{**r, "caption": "quillwort " + r["caption"]} for r in rows_for(new)])
store.upsert_rows(collection, [{**r, "caption": "quillwort replaced"} for r in by_doc("d0")])
store.delete_ids(collection, [r["unit_id"] for r in by_doc("d1")])
store.upsert_rows(collection, [{**r, "groups": ["z"], "acl_key": acl_key(["z"])} for r in by_doc("d2")])
"""


def test_lexical_index_follows_another_process_writes(server_uri: str, tmp_path: Path) -> None:
    """``figvault serve`` searches while the CLI ingests, replaces, deletes and regroups against the same
    server: the next search sees every change (the change log in the shared registry, then Milvus)."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.store.uri, settings.store.alias = server_uri, "lexical_xproc"
    store = MilvusUnitStore.from_settings(settings)
    rng = random.Random(8)
    units = [random_unit(rng, i, tenant="t", groups=["a"], doc_id=f"d{i % 4}") for i in range(40)]
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows_for(units))
    channel = LexicalChannel.from_settings(settings, store)
    everyone, group_a = Scope("t", None), Scope("t", frozenset({acl_key(["a"])}))
    assert channel.search(collection, "quillwort", everyone, "", 50) == []
    d1 = {u.unit_id for u in units if u.doc_id == "d1"}
    assert d1 <= {h.unit_id for h in channel.search(collection, "figure", everyone, "", 50)}

    script = textwrap.dedent(WRITER)
    done = subprocess.run(
        [sys.executable, "-c", script, str(settings.data_dir), server_uri],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]

    found = {h.unit_id for h in channel.search(collection, "quillwort", everyone, "", 50)}
    d0 = {u.unit_id for u in units if u.doc_id == "d0"}
    assert len(found) == 4 + len(d0) and d0 <= found  # ingested and replaced
    assert not d1 & {h.unit_id for h in channel.search(collection, "figure", everyone, "", 50)}  # deleted
    d2 = {u.unit_id for u in units if u.doc_id == "d2"}
    assert not d2 & {h.unit_id for h in channel.search(collection, "figure", group_a, "", 50)}  # regrouped
    z = Scope("t", frozenset({acl_key(["z"])}))
    assert {h.unit_id for h in channel.search(collection, "figure", z, "", 50)} == d2


def test_request_filters_select_the_same_units_as_on_lite(
    server_store: MilvusUnitStore, tmp_path: Path
) -> None:
    """Tags, pages, pixel size and aspect: the cases tests/retrieval/test_filters.py runs on Milvus Lite,
    in both forms of the access clause a server can be given."""
    units = shaped_units(random.Random(5), 160, tenant="shapes")
    table = AclSetTable.at(tmp_path / "registry.sqlite3")
    table.register("shapes", ["g"])
    collection = server_store.ensure_collection(LAYOUT)
    rows = [{k: v for k, v in r.items() if k != "search_text"} for r in rows_for(units, seed=2)]
    server_store.upsert_rows(collection, rows)
    principal = Principal(user="u", tenant="shapes", groups=["g"])
    for filters, rule in filter_cases():
        want = {u.unit_id for u in units if rule(u)}
        for form in ("acl_key", "groups"):
            expr = build_filter(principal, filters, table.sets_of("shapes"), form=form)
            got = {r[F_ID] for r in server_store.query_rows(collection, expr, [F_ID])}
            assert got == want, (filters, form)


def test_a_short_answer_makes_no_count_and_the_same_calls_whatever_others_hold(
    server_store: MilvusUnitStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A caller holding fewer units than the limit gets a short answer on every search; the store counted
    the filter's matches on each (and searched again and scanned when HNSW under-filled, which others' rows
    decide). Counted, not timed, on the 2.3.5 server: one search and one read of at most ``limit`` of the
    caller's rows, scored exactly, with no other rows and with 600 of another tenant, and the caller's every
    unit in exact order (tests/retrieval/test_milvus_store.py forces HNSW to under-fill on Lite's side)."""
    rng = random.Random(11)
    mine = [random_unit(rng, i, tenant="tiny13", groups=["g1"], doc_id="mine") for i in range(4)]
    others = [random_unit(rng, i, tenant="big13", groups=["g1"], doc_id=f"o{i % 9}") for i in range(4, 604)]
    rows = [{k: v for k, v in r.items() if k != "search_text"} for r in rows_for(mine + others, seed=4)]
    collection = server_store.ensure_collection(LAYOUT)
    server_store.upsert_rows(collection, rows[:4])
    query = np.asarray(rows[5]["text"], dtype=np.float32)
    expected = [r[F_ID] for r in sorted(rows[:4], key=lambda r: -float(np.dot(query, r["text"])))]
    expr = 'tenant == "tiny13"'

    alone = reads_of_a_search(server_store, collection, query, expr, monkeypatch)
    server_store.upsert_rows(collection, rows[4:])
    server_store.flush(collection)
    crowded = reads_of_a_search(server_store, collection, query, expr, monkeypatch)
    assert alone == crowded == (["_search_once", "get_rows"], expected)
