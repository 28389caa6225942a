"""The serve warm-up also runs as callers of the registered group sets: their access filters' masks over
Lite's segments are made before /readyz is ready, so a real caller's first search evaluates none of them,
and the warm-up's callers see nothing a caller with those groups would not. Then the start-up's objects are
frozen out of the garbage collector's generations, so the first full collection does not walk them all."""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from figvault.access import Principal
from figvault.retrieval import lite_patch
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.service import warmup
from figvault.settings import load_settings
from figvault.storage import BlobStore
from tests.retrieval.store_fixtures import LAYOUT, random_unit, rows_for

TENANT = "t1"
GROUP_SETS = [["a"], ["b"], ["a", "c"]]


@pytest.fixture(autouse=True)
def _thawed() -> Iterator[None]:
    """A warm-up freezes the heap: thaw it as serve's shutdown does, so later tests' cycles are collected."""
    yield
    warmup.thaw_heap()


class FixedQuestion:  # the store only sees numbers: one question vector is enough
    embedding_version = LAYOUT.embedding_version
    clip = None

    @staticmethod
    def load() -> None:
        pass

    class text:
        embedding_version = "text_test"

        @staticmethod
        def prepare_questions(runtime: str, threads: int) -> str:
            return "fixed"

        @staticmethod
        def encode_texts(texts: list[str]) -> np.ndarray:
            return np.random.default_rng(len(texts[0])).standard_normal((1, 8)).astype(np.float32)


def make_engine(data_dir: Path) -> tuple[SearchEngine, dict[str, list[str]]]:
    settings = load_settings("offline", data_dir=data_dir)
    store = MilvusUnitStore.from_settings(settings)
    rng = random.Random(8)
    units = [
        random_unit(rng, i, tenant=TENANT, groups=GROUP_SETS[i % 3], doc_id=f"d{i % 5}") for i in range(90)
    ]
    collection = store.ensure_collection(LAYOUT)
    store.upsert_rows(collection, rows_for(units, seed=3))
    store.client.flush(collection)  # into Lite's segments, where filter masks are kept
    table = AclSetTable.at(settings.registry_path)
    for groups in GROUP_SETS:
        table.register(TENANT, groups)
    engine = SearchEngine(settings, store, FixedQuestion(), table, BlobStore(settings.blob_dir))
    return engine, {u.unit_id: u.groups for u in units}


def test_a_registered_sets_first_search_finds_its_filter_masks_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine, _ = make_engine(tmp_path)
    assert lite_patch.apply()
    warm = warmup.WarmUp(engine).start()
    assert warm.join(60) and warm.status() is True
    request = SearchRequest(query="chart of revenue", rerank=False)
    made: list[bool] = []  # per dense search: True when its filter's masks were made for it
    masks = lite_patch._filter_masks

    def watched(sset: Any, compiled_filter: Any, plan: Any) -> Any:
        made.append(id(compiled_filter) not in sset.filters)
        return masks(sset, compiled_filter, plan)

    monkeypatch.setattr(lite_patch, "_filter_masks", watched)
    answer = engine.search(Principal(user="someone", tenant=TENANT, groups=["b"]), request)
    assert answer.results and made and not any(made)
    # A caller outside every registered set is not warmed: its filter's masks are made on its first search.
    made.clear()
    engine.search(Principal(user="other", tenant=TENANT, groups=["c"]), request)
    assert made and all(made)


def test_the_warm_up_is_capped_and_sees_only_what_its_groups_see(tmp_path: Path) -> None:
    engine, groups_of = make_engine(tmp_path)
    assert warmup.warm_access_filters(engine, limit=2) == 2
    seen: list[tuple[list[str], list[list[str]]]] = []
    search = engine.search

    def recorded(principal: Principal, request: SearchRequest) -> Any:
        answer = search(principal, request)
        seen.append((principal.groups, [groups_of[hit.unit_id] for hit in answer.results]))
        return answer

    engine.search = recorded  # type: ignore[method-assign]
    assert warmup.warm_access_filters(engine) == len(GROUP_SETS)
    assert sorted(tuple(groups) for groups, _ in seen) == sorted(tuple(g) for g in GROUP_SETS)
    for groups, hits in seen:
        assert hits and all(set(groups) & set(unit_groups) for unit_groups in hits)


def test_after_the_warm_up_a_full_collection_walks_none_of_the_start_ups_objects(tmp_path: Path) -> None:
    engine, _ = make_engine(tmp_path)
    gc.unfreeze()  # another test's warm-up may have frozen the heap already
    warm = warmup.WarmUp(engine).start()
    assert warm.join(60) and warm.status() is True
    walked = gc.get_objects()  # what a full collection walks: every generation, not the frozen
    assert gc.get_freeze_count() > len(walked)
    assert not any(obj is engine or obj is engine.store for obj in walked)
    del walked
    warmup.thaw_heap()
    assert any(obj is engine for obj in gc.get_objects())  # collectable again after shutdown's thaw
