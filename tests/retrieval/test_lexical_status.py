"""``figvault status --json`` reported ``lexical.units`` from the saved snapshot's header: a snapshot is
saved only every ``lexical.snapshot_every`` changed units, so a store of 58 units read 41. ``units`` (and
the other sizes) are now the index's as it serves, caught up with the change log; the snapshot's own
count is ``snapshot_units``."""

from __future__ import annotations

import random

import pytest

from figvault.retrieval.lexical import LexicalChannel
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import load_settings
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for


def test_status_counts_the_units_written_since_the_snapshot(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("lexical-status"))
    settings.lexical.snapshot_every = 1000  # the later writes stay out of the snapshot
    store = MilvusUnitStore.from_settings(settings)
    rng = random.Random(7)
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(
        collection, rows_for([random_unit(rng, i, tenant="t1", groups=["a"], doc_id="d1") for i in range(41)])
    )
    LexicalChannel.from_settings(settings, store).sync(collection)  # built and saved: 41 units
    later = [random_unit(rng, 100 + i, tenant="t1", groups=["a"], doc_id="d2") for i in range(17)]
    store.upsert_rows(collection, rows_for(later, seed=3))
    LexicalChannel.from_settings(settings, store).sync(collection)  # caught up, not saved

    info = LexicalChannel.from_settings(settings, store).status(collection)
    assert store.count(collection) == 58
    assert info["units"] == 58
    assert info["snapshot_units"] == 41 and info["seq"] < info["log_head"]
