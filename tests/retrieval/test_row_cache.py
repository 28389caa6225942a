"""The row cache of the embedded store (retrieval/row_cache.py): the same rows as reading Lite by key, and
never a row older than the last write of this process, also when a write races a read."""

from __future__ import annotations

import random
from typing import Any

import pytest

from figvault.retrieval.acl import in_list
from figvault.retrieval.duplicates import SIGNATURE_FIELDS
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.row_cache import RowCache
from figvault.retrieval.schema import F_CAPTION, F_GROUPS, F_ID, OUTPUT_FIELDS, with_native_bm25_input
from figvault.settings import Settings, load_settings
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for

FIELD_SETS = [OUTPUT_FIELDS, SIGNATURE_FIELDS, [*OUTPUT_FIELDS, "text"], [F_ID, F_CAPTION]]


# ---- the cache alone ---------------------------------------------------------------------------------


def _row(uid: str, caption: str) -> dict[str, Any]:
    return {F_ID: uid, F_CAPTION: caption, "geometry": {"bbox": [1.0, 2.0]}, "text": [0.5] * 32}


def test_a_row_read_across_a_write_is_not_kept() -> None:
    cache = RowCache(100)
    _found, missing, token = cache.lookup("c", ["a"], [F_CAPTION])
    assert missing == ["a"]
    with cache.writing("c", ["a"]):  # began and ended while "a" was being read
        pass
    assert cache.keep("c", [_row("a", "old")], token) == 0
    assert cache.lookup("c", ["a"], [F_CAPTION])[1] == ["a"]


def test_a_row_whose_write_is_in_flight_is_not_kept() -> None:
    cache = RowCache(100)
    with cache.writing("c", ["a"]):
        _found, _missing, token = cache.lookup("c", ["a", "b"], [F_CAPTION])
        assert cache.keep("c", [_row("a", "either"), _row("b", "b")], token) == 1
        assert cache.lookup("c", ["a", "b"], [F_CAPTION])[1] == ["a"]
    assert cache.lookup("c", ["a"], [F_CAPTION])[1] == ["a"]


def test_a_write_evicts_and_rows_are_copies() -> None:
    cache = RowCache(100)
    token = cache.lookup("c", ["a", "b"], [])[2]
    assert cache.keep("c", [_row("a", "x"), _row("b", "y")], token) == 2
    found = cache.lookup("c", ["a"], [F_CAPTION, "geometry", "text"])[0]["a"]
    assert found == {F_ID: "a", **{k: v for k, v in _row("a", "x").items() if k != F_ID}}
    assert type(found["text"]) is list
    found["geometry"]["bbox"].append(9.0)
    found["text"].pop()
    assert cache.lookup("c", ["a"], ["geometry", "text"])[0]["a"] == {
        F_ID: "a",
        "geometry": {"bbox": [1.0, 2.0]},
        "text": [0.5] * 32,
    }
    with cache.writing("c", ["a"]):
        pass
    assert cache.lookup("c", ["a", "b"], [])[1] == ["a"]
    cache.forget("c")
    assert cache.lookup("c", ["b"], [])[1] == ["b"]


def test_the_cache_is_bounded() -> None:
    cache = RowCache(3)
    token = cache.lookup("c", [], [])[2]
    cache.keep("c", [_row(str(i), "") for i in range(5)], token)
    assert len(cache) == 3
    assert cache.lookup("c", ["0", "1", "4"], [])[1] == ["0", "1"]


# ---- on a Lite store ---------------------------------------------------------------------------------


@pytest.fixture()
def settings(tmp_path) -> Settings:
    return load_settings("offline", data_dir=tmp_path)


@pytest.fixture()
def loaded(settings: Settings) -> tuple[MilvusUnitStore, str, list[dict]]:
    store = MilvusUnitStore.from_settings(settings)
    rng = random.Random(3)
    units = [random_unit(rng, i, tenant="t", groups=["g1"], doc_id=f"doc{i % 3}") for i in range(60)]
    rows = rows_for(units, seed=2)
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows)
    store.flush(collection)
    return store, collection, rows


def _from_lite(store: MilvusUnitStore, collection: str, ids: list[str], fields: list[str]) -> dict:
    rows = store.get_rows(collection, in_list(F_ID, ids), fields=fields, for_search=True)
    return {r[F_ID]: r for r in rows}


def _cached(store: MilvusUnitStore, collection: str, ids: list[str], fields: list[str]) -> dict:
    return {r[F_ID]: r for r in store.get_rows_by_id(collection, ids, fields)}


def test_cached_rows_equal_lites(loaded) -> None:
    store, collection, rows = loaded
    assert store.row_cache is not None and store.settings.row_cache_rows > 0
    ids = [r[F_ID] for r in rows[:40]] + ["0" * 32]  # one that does not exist
    for fields in FIELD_SETS:
        first = _cached(store, collection, ids, fields)  # read from Lite, kept
        again = _cached(store, collection, ids, fields)  # from the cache
        assert first == again == _from_lite(store, collection, ids, fields)
        assert len(first) == 40
    assert len(store.row_cache) >= 40
    assert [r[F_ID] for r in store.get_rows_by_id(collection, ids[:5][::-1])] == ids[:5][::-1]


def test_every_write_shows_at_once(settings: Settings, loaded) -> None:
    """Upserts, an access rewrite and deletes, through this store and through another store object of
    the same process: the next read by key shows each of them (the cache held the old rows)."""
    store, collection, rows = loaded
    ids = [r[F_ID] for r in rows]
    other = MilvusUnitStore.from_settings(
        settings.model_copy(update={"store": settings.store.model_copy(update={"row_cache_rows": 0})})
    )
    _cached(store, collection, ids, OUTPUT_FIELDS)

    changed = [{**rows[0], F_CAPTION: "a new caption"}]
    store.upsert_rows(collection, changed)
    assert _cached(store, collection, ids[:1], OUTPUT_FIELDS)[ids[0]][F_CAPTION] == "a new caption"

    other.upsert_rows(collection, [{**rows[1], F_CAPTION: "written elsewhere"}])
    assert _cached(store, collection, ids[1:2], OUTPUT_FIELDS)[ids[1]][F_CAPTION] == "written elsewhere"

    doc_ids = {r[F_ID] for r in rows if r["doc_id"] == "doc1"}
    assert other.rewrite_access(collection, "t", "doc1", ["g2"], "key-g2") == len(doc_ids)
    now = _cached(store, collection, ids, OUTPUT_FIELDS)
    assert {uid for uid, r in now.items() if r[F_GROUPS] == ["g2"] and r["acl_key"] == "key-g2"} == doc_ids

    store.delete_ids(collection, ids[2:5])
    other.delete_ids(collection, ids[5:6])
    assert set(_cached(store, collection, ids, OUTPUT_FIELDS)) == set(ids) - set(ids[2:6])
    assert _cached(store, collection, ids, OUTPUT_FIELDS) == _from_lite(store, collection, ids, OUTPUT_FIELDS)


def test_a_write_racing_a_read_leaves_no_stale_row(loaded, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row read from Lite just before a write to it is answered to that read, never kept after it."""
    store, collection, rows = loaded
    target = rows[7]
    real = store.get_rows

    def read_then_write(*args: Any, **kwargs: Any) -> list[dict]:
        read = real(*args, **kwargs)  # the old row is read...
        monkeypatch.setattr(store, "get_rows", real)
        store.upsert_rows(collection, [{**target, F_CAPTION: "after the read"}])  # ...then written
        return read

    monkeypatch.setattr(store, "get_rows", read_then_write)
    racing = _cached(store, collection, [target[F_ID]], OUTPUT_FIELDS)
    assert racing[target[F_ID]][F_CAPTION] == target[F_CAPTION]
    assert (
        _cached(store, collection, [target[F_ID]], OUTPUT_FIELDS)[target[F_ID]][F_CAPTION] == "after the read"
    )


def test_without_the_cache_every_read_goes_to_lite(settings: Settings, loaded) -> None:
    _store, collection, rows = loaded
    off = MilvusUnitStore.from_settings(
        settings.model_copy(update={"store": settings.store.model_copy(update={"row_cache_rows": 0})})
    )
    ids = [r[F_ID] for r in rows[:10]]
    before = len(off.row_cache)
    assert _cached(off, collection, ids, OUTPUT_FIELDS) == _from_lite(off, collection, ids, OUTPUT_FIELDS)
    assert len(off.row_cache) == before


def test_a_dropped_collection_leaves_no_rows(loaded) -> None:
    """A collection dropped and made again under the same name (a re-encode redone) is read afresh."""
    store, _collection, rows = loaded
    spare = store.ensure_collection(LAYOUT, suffix="spare", set_alias=False)
    store.upsert_rows(spare, rows[:5])
    ids = [r[F_ID] for r in rows[:5]]
    assert len(_cached(store, spare, ids, OUTPUT_FIELDS)) == 5
    store.drop_collection(spare)
    again = store.ensure_collection(LAYOUT, suffix="spare", set_alias=False)
    row = with_native_bm25_input({**rows[0], F_CAPTION: "made again"}, LAYOUT.native_bm25)
    store.client.insert(again, [row])  # written past the store: as a
    # collection made by another run of figvault before this process started
    assert _cached(store, again, ids, [F_ID, F_CAPTION]) == {ids[0]: {F_ID: ids[0], F_CAPTION: "made again"}}
