"""The Milvus Lite search patch (retrieval/lite_patch.py) returns exactly what Lite's own search returns.

A real Lite collection with rows in several segments, keys upserted across segments, deletes folded into
segments' tombstones and deletes still in the memtable, and unflushed rows: every search (with and without
a filter, FLAT and HNSW) is run with Lite's original function and with the patch, and must agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from figvault.retrieval import lite_patch

pytestmark = pytest.mark.skipif(
    lite_patch.why_not_applicable() is not None, reason=f"{lite_patch.why_not_applicable()}"
)

DIM = 8
TAGS = ("a", "b", "c")


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from pymilvus import MilvusClient

    client = MilvusClient(str(Path(tmp_path_factory.mktemp("lite")) / "patch.db"))
    rng = np.random.default_rng(5)
    for name, index in (("flat", "FLAT"), ("hnsw", "HNSW")):
        _create_collection(client, name, index)

        def rows(ids: range, version: int) -> list[dict]:
            vectors = rng.standard_normal((len(ids), DIM)).astype(np.float32)
            return [
                {"pk": f"k{i:04d}", "tag": TAGS[(i + version) % 3], "n": version, "vec": v.tolist()}
                for i, v in zip(ids, vectors, strict=True)
            ]

        client.insert(name, rows(range(0, 300), 0))
        client.flush(name)  # segment 1
        client.insert(name, rows(range(300, 600), 0))
        client.upsert(name, rows(range(250, 350), 1))  # newer versions of keys in both segments
        client.flush(name)  # segment 2
        client.delete(name, filter='pk in ["k0003", "k0260", "k0310", "k0500"]')
        client.flush(name)  # tombstones folded
        client.upsert(name, rows(range(100, 140), 2))  # memtable: newer versions of segment rows
        client.insert(name, rows(range(600, 640), 0))  # memtable: new keys
        client.delete(name, filter='pk in ["k0010", "k0120", "k0610"]')  # memtable tombstones
        client.load_collection(name)
    yield client
    client.close()


def _create_collection(client: Any, name: str, index: str) -> None:
    """A collection of the tests' layout: key, tag, number and a DIM-wide vector under a cosine ``index``."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.VARCHAR, max_length=32, is_primary=True)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    schema.add_field("n", DataType.INT64)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=DIM)
    params = client.prepare_index_params()
    params.add_index(
        "vec", index_type=index, metric_type="COSINE", params={"M": 8} if index == "HNSW" else {}
    )
    client.create_collection(name, schema=schema, index_params=params)


def _search(
    client: Any, name: str, query: list[float], expr: str, fields: list[str] | None = None
) -> list[tuple[str, float, int]]:
    hits = client.search(
        name,
        data=[query],
        anns_field="vec",
        filter=expr,
        limit=50,
        output_fields=["n", "tag"] if fields is None else fields,
        search_params={"metric_type": "COSINE", "params": {"ef": 64}},
    )[0]
    return [(h["pk"], round(float(h["distance"]), 5), h["entity"].get("n")) for h in hits]


def _entities(client: Any, name: str, query: list[float], fields: list[str] | None) -> list[Any]:
    hits = client.search(
        name,
        data=[query],
        anns_field="vec",
        limit=20,
        search_params={"metric_type": "COSINE", "params": {"ef": 64}},
        **({} if fields is None else {"output_fields": fields}),
    )[0]
    return [
        (h["pk"], {k: (np.round(v, 5).tolist() if k == "vec" else v) for k, v in h["entity"].items()})
        for h in hits
    ]


FIELD_CHOICES = [None, ["pk"], ["tag"], ["n", "tag"], ["vec", "n"], ["*"], ["pk", "n", "pk"]]


@pytest.mark.parametrize("name", ["flat", "hnsw"])
def test_projected_rows_equal_lites_own(client: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each output-field choice gets the same entities from the patch (which turns only the asked-for
    columns into Python objects) as from Lite's own search (which turns every column)."""
    from milvus_lite.engine import collection

    assert lite_patch.apply()
    queries = np.random.default_rng(11).standard_normal((4, DIM)).astype(np.float32).tolist()
    patched = [_entities(client, name, q, f) for q in queries for f in FIELD_CHOICES]
    monkeypatch.setattr(collection, "execute_search_with_index", lite_patch.original_search())
    original = [_entities(client, name, q, f) for q in queries for f in FIELD_CHOICES]
    assert patched == original
    assert any(e and "vec" in e[0][1] for e in patched)  # the whole-row choices did return the vector


def test_ids_only_search_reads_no_whole_row(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A search that asks for ids (and a few columns) never materialises a segment row whole."""
    from milvus_lite.storage.segment import Segment

    assert lite_patch.apply()
    whole: list[int] = []
    original = Segment.row_to_dict
    monkeypatch.setattr(Segment, "row_to_dict", lambda self, row: whole.append(row) or original(self, row))
    query = np.random.default_rng(12).standard_normal(DIM).astype(np.float32).tolist()
    assert _search(client, "hnsw", query, "", ["pk"]) and _search(client, "flat", query, 'tag == "a"')
    assert whole == []
    assert _entities(client, "flat", query, None)  # all fields: Lite's whole row, as before
    assert whole


@pytest.mark.parametrize("name", ["flat", "hnsw"])
def test_patched_search_equals_lites_own(client: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from milvus_lite.engine import collection

    assert lite_patch.apply()
    rng = np.random.default_rng(9)
    queries = rng.standard_normal((12, DIM)).astype(np.float32).tolist()
    exprs = ["", 'tag == "a"', 'tag in ["b", "c"] and n >= 1']
    patched = {(i, e): _search(client, name, q, e) for i, q in enumerate(queries) for e in exprs}
    monkeypatch.setattr(collection, "execute_search_with_index", lite_patch.original_search())
    original = {(i, e): _search(client, name, q, e) for i, q in enumerate(queries) for e in exprs}
    # A segment whose passing rows are few (``EXACT_ROWS``), or whose HNSW answer under a filter came back
    # short, is scored exactly by the patch (``_recall``): its answer is then as long or longer and at least
    # as close at every rank. A flat index is exact already: Lite's own answer.
    changed = {k for k in original if patched[k] != original[k]}
    assert name == "hnsw" or not changed  # a flat index is exact already
    for key in changed:
        assert len(patched[key]) >= len(original[key])
        # FAISS's and the brute-force kernel's cosines differ in the 6th digit (rounded to 5 here).
        assert all(p[1] >= o[1] - 2e-5 for p, o in zip(patched[key], original[key], strict=False))
    found = {pk for hits in patched.values() for pk, _d, _n in hits}
    assert not found & {"k0003", "k0260", "k0310", "k0500", "k0010", "k0120", "k0610"}  # deletes hold
    newest = {pk: n for hits in patched.values() for pk, _d, n in hits}
    assert all(newest[pk] == 2 for pk in newest if 100 <= int(pk[1:]) < 140)  # memtable versions win
    assert all(newest[pk] == 1 for pk in newest if 250 <= int(pk[1:]) < 350 and not 100 <= int(pk[1:]) < 140)


def test_not_applied_to_another_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import milvus_lite

    monkeypatch.setattr(milvus_lite, "__version__", "9.9.9")
    assert "9.9.9" in (lite_patch.why_not_applicable() or "")


def test_an_empty_memtable_is_not_snapshotted(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """All rows flushed (figvault's usual state): the same hits as Lite's own search, and Lite's memtable
    snapshot (which built an empty Arrow table per search) is skipped; with rows in the memtable it is not."""
    from milvus_lite.engine import collection
    from milvus_lite.storage.memtable import MemTable

    assert lite_patch.apply()
    if not client.has_collection("sealed"):
        # FLAT: exact whether or not Lite's background index build after the flush is done yet (with
        # HNSW the two searches compared could run on either side of it and differ as approximations do).
        _create_collection(client, "sealed", "FLAT")
        vectors = np.random.default_rng(3).standard_normal((200, DIM)).astype(np.float32)
        rows = [
            {"pk": f"s{i:03d}", "tag": TAGS[i % 3], "n": i, "vec": v.tolist()} for i, v in enumerate(vectors)
        ]
        client.insert("sealed", rows)
        client.flush("sealed")
        client.load_collection("sealed")
    snapshots: list[int] = []
    original = MemTable.to_search_snapshot
    monkeypatch.setattr(
        MemTable, "to_search_snapshot", lambda self, **kw: snapshots.append(1) or original(self, **kw)
    )
    queries = np.random.default_rng(13).standard_normal((6, DIM)).astype(np.float32).tolist()
    exprs = ["", 'tag == "a"']
    patched = [_search(client, "sealed", q, e) for q in queries for e in exprs]
    assert snapshots == []
    assert _search(client, "flat", queries[0], "") and snapshots  # memtable rows there: snapshotted
    monkeypatch.setattr(collection, "execute_search_with_index", lite_patch.original_search())
    assert patched == [_search(client, "sealed", q, e) for q in queries for e in exprs]
    assert all(len(hits) == 50 for hits in patched[::2])


def test_a_filter_is_evaluated_once_per_segment_until_the_segments_change(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Repeated searches with one filter evaluate it on each segment once (a segment's rows never change);
    a flush makes a new segment set, whose rows the filter is evaluated on again: the new rows are found,
    as by Lite's own search."""
    from milvus_lite.engine import collection
    from milvus_lite.search import indexed_filter

    assert lite_patch.apply()
    _create_collection(client, "masks", "FLAT")
    rng = np.random.default_rng(21)

    def rows(start: int, count: int, tag: str) -> list[dict]:
        vectors = rng.standard_normal((count, DIM)).astype(np.float32)
        return [{"pk": f"m{start + i}", "tag": tag, "n": 0, "vec": v.tolist()} for i, v in enumerate(vectors)]

    client.insert("masks", rows(0, 60, "a") + rows(60, 60, "b"))
    client.flush("masks")
    client.load_collection("masks")
    calls: list[int] = []
    evaluate = indexed_filter.evaluate_segment_filter

    def counted(seg: Any, *args: Any) -> Any:
        calls.append(seg.num_rows)
        return evaluate(seg, *args)

    monkeypatch.setattr(indexed_filter, "evaluate_segment_filter", counted)
    query = rng.standard_normal(DIM).astype(np.float32).tolist()
    first = _search(client, "masks", query, 'tag == "a"')
    assert _search(client, "masks", query, 'tag == "a"') == first and calls == [120]
    client.insert("masks", rows(1000, 40, "a"))
    client.flush("masks")
    after = _search(client, "masks", query, 'tag == "a"')
    assert 40 in calls[1:]  # the new segment set's filter masks were evaluated
    assert {pk for pk, _d, _n in after} & {f"m{1000 + i}" for i in range(40)}
    monkeypatch.setattr(collection, "execute_search_with_index", lite_patch.original_search())
    assert _search(client, "masks", query, 'tag == "a"') == after
