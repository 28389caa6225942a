"""The lexical channel over Milvus Lite: request filters select exactly what Milvus selects, and an index
restored from its snapshot and the change log answers exactly like one rebuilt from the collection."""

from __future__ import annotations

import logging
import random
import threading
from datetime import date
from typing import Any

import pytest

from figvault.retrieval.acl import acl_key, request_expression
from figvault.retrieval.lexical import LexicalChannel
from figvault.retrieval.lexical_index import IndexView, Scope
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID
from figvault.search_models import SearchFilters
from figvault.settings import Settings, load_settings
from tests.retrieval.store_fixtures import LAYOUT, WORDS, random_unit, rows_for

TENANT = "t1"


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("lexical-channel"))
    settings.lexical.snapshot_every = 25
    return settings


@pytest.fixture(scope="module")
def store(settings: Settings) -> tuple[MilvusUnitStore, str]:
    store = MilvusUnitStore.from_settings(settings)
    rng = random.Random(11)
    units = [
        random_unit(
            rng, i, tenant=TENANT, groups=rng.choice([["a"], ["b"], ["a", "b"]]), doc_id=f"doc{i % 9}"
        )
        for i in range(180)
    ]
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows_for(units))
    return store, collection


def test_request_filters_select_exactly_what_milvus_selects(store, settings: Settings) -> None:
    store, collection = store
    channel = LexicalChannel.from_settings(settings, store)
    rng = random.Random(3)
    everyone = Scope(TENANT, None)
    for _ in range(25):
        filters = SearchFilters(
            doc_ids=rng.sample([f"doc{i}" for i in range(9)], rng.randint(0, 3)),
            kinds=rng.sample(["raster", "chart"], rng.randint(0, 1)),
            after=date(2010 + rng.randint(0, 14), 1, 1) if rng.random() < 0.4 else None,
            before=date(2015 + rng.randint(0, 10), 6, 1) if rng.random() < 0.4 else None,
        )
        expr = request_expression(filters)
        # "figure" is in every caption: the lexical candidates are every row, less what the filter drops.
        got = {h.unit_id for h in channel.search(collection, "figure", everyone, expr, 1000)}
        where = f'tenant == "{TENANT}"' + (f" and {expr}" if expr else "")
        assert got == {r[F_ID] for r in store.query_rows(collection, where, [F_ID])}, expr
    # A column the index does not mirror (a long text): checked in Milvus, same answer.
    word = WORDS[4]
    expr = f'caption like "%{word}%"'
    got = {h.unit_id for h in channel.search(collection, "figure", everyone, expr, 1000)}
    assert got and got == {r[F_ID] for r in store.query_rows(collection, expr, [F_ID])}


def test_restart_from_snapshot_and_log_equals_rebuild(
    store, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    store, collection = store
    first = LexicalChannel.from_settings(settings, store)
    first.sync(collection)  # built (and saved) now; everything below arrives through the change log
    rng = random.Random(5)
    rows = {r[F_ID]: r for r in store.query_rows(collection, "", ["*"])}
    ids = sorted(rows)
    fresh = [random_unit(rng, 1000 + i, tenant="t2", groups=["a"], doc_id="new") for i in range(30)]
    store.upsert_rows(collection, rows_for(fresh, seed=9))  # ingest (another tenant)
    store.delete_ids(collection, ids[:20])  # delete
    regrouped = [{**rows[i], "groups": ["c"], "acl_key": acl_key(["c"])} for i in ids[20:40]]
    store.upsert_rows(collection, regrouped)  # regroup
    replaced = [{**rows[i], "caption": f"replaced {rows[i]['caption']} quorum"} for i in ids[40:50]]
    store.upsert_rows(collection, replaced)  # replace

    restarted = LexicalChannel.from_settings(settings, store)
    with caplog.at_level(logging.INFO, logger="figvault.retrieval.lexical"):
        restarted.sync(collection)
    assert not [r for r in caplog.records if "built" in r.message or "rebuilding" in r.message]
    rebuilt = LexicalChannel.from_settings(settings, store)
    rebuilt.rebuild(collection)
    keys = [frozenset({acl_key(["a"])}), frozenset({acl_key(["c"])})]
    scopes = [Scope(TENANT, None), *(Scope(TENANT, k) for k in keys), Scope("t2", None)]
    questions = ["figure", "quorum replaced", *(f"{a} {b}" for a in WORDS for b in WORDS[:3])]
    for scope in scopes:
        for q in questions:
            expected = rebuilt.search(collection, q, scope, "", 20)
            assert first.search(collection, q, scope, "", 20) == expected
            assert restarted.search(collection, q, scope, "", 20) == expected
    assert restarted.describe(collection)["units"] == store.count(collection)
    assert {h.unit_id for h in rebuilt.search(collection, "quorum", Scope(TENANT, None), "", 50)} >= set(
        ids[40:50]
    )


def test_a_search_reads_its_view_while_the_change_log_is_applied(
    store, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search halfway through (scored, ids not yet read) neither holds back the log's catch-up nor sees
    any of it: it answers what the index held when it started."""
    store, collection = store
    channel = LexicalChannel.from_settings(settings, store)
    everyone = Scope(TENANT, None)
    before = channel.search(collection, "figure", everyone, "", 1000)
    halfway, resume = threading.Event(), threading.Event()
    top = IndexView._top

    def held_top(self: IndexView, *args: Any) -> list[tuple[str, float]]:
        if threading.current_thread().name == "held-search":
            halfway.set()
            resume.wait(60)
        return top(self, *args)

    monkeypatch.setattr(IndexView, "_top", held_top)
    answers: list[list] = []
    search = threading.Thread(
        target=lambda: answers.append(channel.search(collection, "figure", everyone, "", 1000)),
        name="held-search",
    )
    search.start()
    try:
        assert halfway.wait(60)
        ids = sorted(h.unit_id for h in before)
        rng = random.Random(17)
        fresh = [random_unit(rng, 2000 + i, tenant=TENANT, groups=["a"], doc_id="fresh") for i in range(120)]
        store.upsert_rows(collection, rows_for(fresh, seed=4))
        store.delete_ids(collection, ids[:40])
        catch_up = threading.Thread(target=channel.sync, args=(collection,))
        catch_up.start()
        catch_up.join(60)
        assert not catch_up.is_alive(), "the catch-up waited for a search to finish"
    finally:
        resume.set()
        search.join(60)
    assert answers == [before]
    rebuilt = LexicalChannel.from_settings(settings, store)
    rebuilt.rebuild(collection)
    after = channel.search(collection, "figure", everyone, "", 1000)
    assert after == rebuilt.search(collection, "figure", everyone, "", 1000)
    got = {h.unit_id for h in after}
    assert got >= {u.unit_id for u in fresh} and not got & set(ids[:40])
