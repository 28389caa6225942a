"""The request filters of issue 14 (tags, pages, pixel size, aspect) inside the Milvus expression: each case
selects exactly what its Python rule says, on Milvus Lite here and on a 2.3 server in test_server_store.py.
A collection written before the new fields keeps working, and refuses only the filters it cannot answer."""

from __future__ import annotations

import random

import numpy as np
import pytest

from figvault.access import Principal
from figvault.errors import FigvaultError
from figvault.retrieval.acl import build_filter, filtered_fields
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID, OPTIONAL_FIELDS, OUTPUT_FIELDS, row_to_unit
from figvault.search_models import SearchFilters, SearchRequest
from figvault.settings import load_settings
from tests.retrieval.store_fixtures import LAYOUT, filter_cases, rows_for, shaped_units


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("filters"))
    store = MilvusUnitStore.from_settings(settings)
    units = shaped_units(random.Random(5), 160)
    table = AclSetTable.at(settings.registry_path)
    table.register("t", ["g"])
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows_for(units, seed=2))
    return store, collection, units, table


@pytest.mark.parametrize("case", range(len(filter_cases())))
def test_each_filter_selects_what_it_says(world, case: int) -> None:
    store, collection, units, table = world
    filters, rule = filter_cases()[case]
    principal = Principal(user="u", tenant="t", groups=["g"])
    expr = build_filter(principal, filters, table.sets_of("t"))
    got = {r[F_ID] for r in store.query_rows(collection, expr, [F_ID])}
    assert got == {u.unit_id for u in units if rule(u)}


def test_new_fields_round_trip(world) -> None:
    store, collection, units, _ = world
    row = store.get_rows(collection, f'unit_id == "{units[3].unit_id}"', fields=[*OUTPUT_FIELDS, "aspect"])[0]
    assert row_to_unit(row).tags == units[3].tags
    assert row_to_unit(row).width == 1200 and row["aspect"] == pytest.approx(4.0)


def test_bad_filters_are_refused_with_a_reason() -> None:
    for bad in ({"pages": "7-3"}, {"pages": "x"}, {"min_width": 9, "max_width": 3}, {"tags": ["a,b"]}):
        with pytest.raises(ValueError, match=r"pages|min_width|comma"):
            SearchFilters.model_validate(bad)
    with pytest.raises(ValueError):
        SearchFilters.model_validate({"tags": [f"t{i}" for i in range(33)]})  # bounded list
    with pytest.raises(ValueError):
        SearchFilters.model_validate({"tags": ["x" * 65]})  # bounded string


def test_a_mistyped_filter_or_a_reversed_day_range_is_refused() -> None:
    """Before: an unknown key ("tag", "min_widht") was dropped and the search ran unfiltered, and a day
    range ending before it began matched nothing, without a word (every other reversed range was refused)."""
    for typo in ({"tag": ["secret"]}, {"min_widht": 5000}, {"page": "5"}):
        with pytest.raises(ValueError, match=next(iter(typo))):
            SearchFilters.model_validate(typo)
    with pytest.raises(ValueError, match="after is later than before"):
        SearchFilters.model_validate({"after": "2025-01-01", "before": "2000-01-01"})
    one_day = SearchFilters.model_validate({"after": "2025-01-01", "before": "2025-01-01"})
    assert one_day.after == one_day.before  # both ends are inclusive: one day is a range


def test_an_older_collection_reads_the_new_fields_as_empty(tmp_path) -> None:
    """A collection written before tags/aspect/phash: writes drop them, reads give empty values, plain
    searches work, and a filter it cannot answer is one clear error naming the re-encode."""
    from figvault.retrieval.search import SearchEngine
    from figvault.storage import BlobStore

    settings = load_settings("offline", data_dir=tmp_path)
    store = MilvusUnitStore.from_settings(settings)
    name = store.collection_name_for(LAYOUT)
    store._create(name, LAYOUT, omit=frozenset(OPTIONAL_FIELDS))
    store.client.create_alias(collection_name=name, alias=store.alias)
    assert store.absent_fields(name) == frozenset(OPTIONAL_FIELDS)
    fresh = MilvusUnitStore.from_settings(settings)  # another process: learns it from the collection
    assert fresh.absent_fields(name) == frozenset(OPTIONAL_FIELDS)
    units = shaped_units(random.Random(1), 20)
    units[8] = units[8].model_copy(update={"width": units[1].width, "height": units[1].height})
    table = AclSetTable.at(settings.registry_path)
    table.register("t", ["g"])
    written = rows_for(units, seed=1)
    written[8]["text"] = written[1]["text"]  # the same figure twice: no hash here, so vectors and size tell
    fresh.upsert_rows(name, written)
    rows = fresh.get_rows(name, "")
    assert len(rows) == 20 and all(row_to_unit(r).tags == [] and row_to_unit(r).phash == "" for r in rows)

    class TextOnly:  # the store only sees numbers: a fixed question vector is enough
        embedding_version = LAYOUT.embedding_version
        clip = None

        class text:
            embedding_version = "text_test"

            @staticmethod
            def encode_texts(texts):
                return np.asarray([written[1]["text"]], dtype=np.float32)

    # The fixed question vector picks units[1] in the text channel; "chart" in the lexical channel is noise
    # over random texts, so fuse without the offline profile's lexical x2 (RRF k 60, equal weights).
    settings.search.rrf_k = 60
    settings.search.weights = {name: 1.0 for name in settings.search.weights}
    engine = SearchEngine(settings, fresh, TextOnly(), table, BlobStore(settings.blob_dir))
    principal = Principal(user="u", tenant="t", groups=["g"])
    plain = engine.search(
        principal, SearchRequest(query="chart", top_k=5, filters=SearchFilters(pages="1-3"))
    )
    assert plain.results and all(1 <= h.page <= 3 for h in plain.results)
    top = engine.search(principal, SearchRequest(query="chart", top_k=5)).results
    assert len(top) == 5
    first = top[0]
    assert {first.unit_id, *(r.unit_id for r in first.also_in)} == {units[1].unit_id, units[8].unit_id}
    assert filtered_fields(SearchFilters(tags=["finance"], aspect="square")) == {"tags", "aspect"}
    with pytest.raises(FigvaultError, match=r"predates the tags field.*figvault reencode"):
        engine.search(principal, SearchRequest(query="chart", filters=SearchFilters(tags=["finance"])))
