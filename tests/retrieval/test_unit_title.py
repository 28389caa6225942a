"""The unit's ``title``: stored and read back, in search hits and the HTTP unit, and empty (never an error)
in a collection written before the field existed."""

from __future__ import annotations

import random

import pytest

from figvault.retrieval import milvus_store
from figvault.retrieval.acl import in_list
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import (
    F_ID,
    F_TITLE,
    OUTPUT_FIELDS,
    row_to_unit,
    text_channel_input,
    unit_to_row,
)
from figvault.retrieval.search import hit_from_row
from figvault.settings import load_settings
from figvault.units import OCR_MARKER, split_figure_text
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for


def _titled_units(n: int = 6):  # type: ignore[no-untyped-def]
    rng = random.Random(3)
    units = [random_unit(rng, i, tenant="t1", groups=["g1"], doc_id="survey") for i in range(n)]
    return [u.model_copy(update={"title": f"Adoption by region {i}"}) for i, u in enumerate(units)]


def test_title_is_in_the_row_the_search_text_and_the_text_channel() -> None:
    unit = _titled_units(1)[0]
    row = unit_to_row(unit, "acl", {}, lexical=True)
    assert row[F_TITLE] == "Adoption by region 0"
    assert row_to_unit(row).title == "Adoption by region 0"
    assert "Adoption by region 0" in unit.search_text()
    assert "Adoption by region 0" in text_channel_input(unit, "page words")
    hit = hit_from_row(row, 0.5, {"text": 0.5})
    assert hit.title == "Adoption by region 0"
    old_row = {k: v for k, v in row.items() if k != F_TITLE}
    assert row_to_unit(old_row).title == "" and hit_from_row(old_row, 0.5, {}).title == ""


@pytest.fixture
def store(tmp_path) -> MilvusUnitStore:  # type: ignore[no-untyped-def]
    return MilvusUnitStore.from_settings(load_settings("offline", data_dir=tmp_path))


def test_new_collection_stores_the_title(store: MilvusUnitStore) -> None:
    units = _titled_units()
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows_for(units))
    rows = store.get_rows(collection, in_list(F_ID, [u.unit_id for u in units]))
    assert sorted(row_to_unit(r).title for r in rows) == sorted(u.title for u in units)


def test_collection_written_before_the_title_reads_and_writes_without_it(
    store: MilvusUnitStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_fields = tuple(f for f in milvus_store._TEXT_FIELDS if f != F_TITLE)
    monkeypatch.setattr(milvus_store, "_TEXT_FIELDS", old_fields)
    collection = store.ensure_collection(LAYOUT)  # created as an old release did: no title field
    monkeypatch.undo()
    fresh = MilvusUnitStore(store.uri, store.settings)  # a new process opening the old collection
    units = _titled_units()
    assert fresh.upsert_rows(collection, rows_for(units)) == len(units)
    ids = [u.unit_id for u in units]
    rows = fresh.get_rows(collection, in_list(F_ID, ids))
    assert len(rows) == len(units) and all(row_to_unit(r).title == "" for r in rows)
    assert len(fresh.query_rows(collection, in_list(F_ID, ids), OUTPUT_FIELDS)) == len(units)
    hits = fresh.search_channel(collection, "text", [1.0] + [0.0] * 7, "", 3)
    assert hits and all(h.row.get(F_TITLE, "") == "" for h in hits)


def test_ocr_words_are_marked_in_figure_text() -> None:
    text = f"Axis label\nLegend\n{OCR_MARKER}\nWords in the picture"
    assert split_figure_text(text) == ("Axis label\nLegend", "Words in the picture")
    assert split_figure_text("Axis label") == ("Axis label", "")
    assert split_figure_text(f"{OCR_MARKER}\nonly pixels") == ("", "only pixels")
