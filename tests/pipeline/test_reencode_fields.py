"""A data folder from before document tags and image hashes: it keeps working, and one re-encode (same
encoders) copies it into a collection with the new fields: tags from the registry, hashes from the blobs."""

from __future__ import annotations

from typing import Any

import pytest

from figvault.access import local_operator
from figvault.errors import FigvaultError
from figvault.pipeline.ingest_pipeline import ingest_paths, store_layout
from figvault.pipeline.jobs import GLOBAL_TENANT, JobState, JobStore, JobType, run_here
from figvault.pipeline.reencode import ROW_FIELDS_SUFFIX, plan_reencode
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import OPTIONAL_FIELDS
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchFilters, SearchRequest
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


def store_without_the_new_fields(tmp_path) -> tuple[Settings, Any, MilvusUnitStore]:
    """The offline settings, their encoders, and a store serving a collection written before the optional
    fields (tags, aspect, hash) existed."""
    from figvault.encoders.factory import build_encoders

    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    encoders = build_encoders(settings)
    store = MilvusUnitStore.from_settings(settings)
    old = store.collection_name_for(store.supported_layout(store_layout(encoders)))
    store._create(old, store.supported_layout(store_layout(encoders)), omit=frozenset(OPTIONAL_FIELDS))
    store.client.create_alias(collection_name=old, alias=store.alias)
    return settings, encoders, store


def test_reencode_adds_the_new_row_fields(tmp_path) -> None:
    settings, encoders, store = store_without_the_new_fields(tmp_path)
    docs = [figure_pdf(tmp_path / f"r{i}.pdf", seed=70 + i, n_figures=1) for i in range(2)]
    for path, tags in zip(docs, (["finance"], []), strict=True):
        report = ingest_paths(settings, [path], groups=["g"], tenant="default", progress=False, tags=tags)
        assert not report.failed
    engine = SearchEngine.from_settings(settings, encoders=encoders)
    tagged = SearchRequest(query="figure", top_k=5, filters=SearchFilters(tags=["finance"]))
    with pytest.raises(FigvaultError, match="figvault reencode"):
        engine.search(local_operator(), tagged)
    assert engine.search(local_operator(), SearchRequest(query="figure", top_k=5)).results

    plan = plan_reencode(store, encoders)
    assert plan is not None and plan.target.endswith(ROW_FIELDS_SUFFIX)
    jobs = JobStore.open(settings)
    job = jobs.create(JobType.REENCODE, {}, started_by="test", tenant=GLOBAL_TENANT)
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED, final
    assert store.served_collection() == plan.target and not store.absent_fields(plan.target)
    assert plan_reencode(store, encoders) is None  # nothing left to do
    rows = store.get_rows(plan.target, "")
    assert all(len(r["phash"]) == 64 for r in rows)
    assert {r["doc"]: r["tags"] for r in rows} == {"r0.pdf": ["finance"], "r1.pdf": []}
    hits = engine.search(local_operator(), tagged).results
    assert [h.doc for h in hits] == ["r0.pdf"]


def test_a_retag_between_a_batchs_read_and_its_write_reaches_the_collection_with_the_new_fields(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy of a source without tags takes them from the registry as it reads a batch; a retag between
    that read and the batch's write rewrote the new collection and the registry, then the write put the old
    tags back, and the comparison (access keys only for such a source) never saw it (a review, 2026-12-07)."""
    from figvault.pipeline.registry import DocumentRegistry
    from tests.pipeline.retag_race import retag_before_the_first_write

    settings, encoders, store = store_without_the_new_fields(tmp_path)
    for i in range(2):
        path = figure_pdf(tmp_path / f"r{i}.pdf", seed=70 + i, n_figures=1)
        assert not ingest_paths(
            settings, [path], groups=["g"], tenant="default", progress=False, tags=["q3"]
        ).failed
    first = next(r for r in DocumentRegistry.open(settings).list("default") if r.name == "r0.pdf")
    retagged = retag_before_the_first_write(monkeypatch, settings, first.doc_id)
    plan = plan_reencode(store, encoders)
    assert plan is not None and plan.target.endswith(ROW_FIELDS_SUFFIX)
    job = JobStore.open(settings).create(JobType.REENCODE, {}, started_by="test", tenant=GLOBAL_TENANT)
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED and retagged, final
    rows = store.get_rows(plan.target, f'doc_id == "{first.doc_id}"', fields=["unit_id", "tags"])
    assert rows and all(list(r["tags"]) == ["fresh"] for r in rows), rows
