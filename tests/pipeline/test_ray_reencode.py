"""``figvault reencode --engine ray`` on a local Ray (2 CPUs, loopback, no dashboard): the re-encoded
collection equals the local engine's row for row even when the encoder actor dies mid-run or Ray gives it
up, and a re-encode reproduces what a fresh ingest with the new encoders stores."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from figvault.pipeline import ray_engine
from figvault.pipeline.jobs import GLOBAL_TENANT, Job, JobState, JobStore, JobType, run_here
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, TINY_B, tiny_settings
from tests.generated_docs import figure_pdf
from tests.pipeline.engine_checks import assert_same_rows, stored_rows

COMPARED_JOB = "compared-ingest"
"""One job id for every ingest compared: each file gets the same document id, hence the same unit ids."""


pytestmark = pytest.mark.usefixtures("local_ray")


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("docs")
    return [figure_pdf(folder / f"report-{i}.pdf", seed=40 + i, n_figures=1 + i % 2) for i in range(3)]


def settings_for(data_dir: Path, model: Path) -> Settings:
    settings = tiny_settings(data_dir, model)
    settings.extract.workers = 1
    settings.jobs.batch_size = 2  # several batches: one in flight while another is written
    return settings


def ingest(settings: Settings, docs: list[Path]) -> None:
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in docs], "groups": ["eng"], "engine": "local"}
    job = jobs.create(JobType.INGEST, params, started_by="t", tenant="acme", job_id=COMPARED_JOB)
    assert run_here(settings, job).state == JobState.SUCCEEDED


def reencode(settings: Settings, engine: str) -> Job:
    jobs = JobStore.open(settings)
    job = jobs.create(JobType.REENCODE, {"engine": engine}, started_by="t", tenant=GLOBAL_TENANT)
    return run_here(settings, job)


def reencoded_rows(data_dir: Path, docs: list[Path], engine: str) -> tuple[Job, dict[str, Any]]:
    """Ingest ``docs`` with model A, re-encode to model B with ``engine``: the job and the new rows."""
    ingest(settings_for(data_dir, TINY_A), docs)
    settings_b = settings_for(data_dir, TINY_B)
    final = reencode(settings_b, engine)
    assert final.state == JobState.SUCCEEDED, final.message
    rows = stored_rows(settings_b)
    store = MilvusUnitStore.from_settings(settings_b)
    assert store.count(final.result["target"]) == len(rows)  # no unit stored twice
    return final, rows


@pytest.fixture(scope="module")
def local_reencode(tmp_path_factory: pytest.TempPathFactory, docs: list[Path]) -> dict[str, Any]:
    final, rows = reencoded_rows(tmp_path_factory.mktemp("local"), docs, "local")
    assert final.result["engine"] == "local" and final.result["encoded"] == len(rows) == 4
    return rows


def dies_on_second_batch(calls: Path, marker: Path) -> type:
    """An encoder actor whose process exits during its second re-encode batch, once (files count the
    calls: the restarted actor remembers nothing). Defined here, so Ray ships it by value."""

    class DiesOnce(ray_engine.EncoderActor):
        def encode_units(self, job: Any, channels: Any) -> Any:
            with calls.open("a") as f:
                f.write(".")
            if calls.stat().st_size == 2 and not marker.exists():
                marker.touch()
                os._exit(1)
            return super().encode_units(job, channels)

    return DiesOnce


def test_a_ray_reencode_whose_actor_dies_equals_the_local_one(
    tmp_path: Path, docs: list[Path], local_reencode: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "died-once"
    monkeypatch.setattr(ray_engine, "EncoderActor", dies_on_second_batch(tmp_path / "calls", marker))
    final, rows = reencoded_rows(tmp_path / "data", docs, "ray")
    assert marker.exists(), "the actor never died: the test proves nothing"
    assert final.result["engine"] == "ray" and final.result["encoded"] == len(rows)
    assert final.result["timings"]["model_load"] > 0  # the actor's load, reported apart from encoding
    assert_same_rows(rows, local_reencode)


def test_a_reencode_batch_whose_actor_ray_lost_is_encoded_again_once(
    tmp_path: Path, docs: list[Path], local_reencode: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The actor's process exits on its first batch with Ray's own restart and retry off
    (``ACTOR_RESTARTS = 0``), as when a node is lost mid-call: the driver sends the batch (and the other
    one in flight on that actor) once to a fresh actor, as an ingest batch; before, the job failed."""
    marker = tmp_path / "died-once"

    class DiesOnFirstBatch(ray_engine.EncoderActor):  # a local class: pickled by value into the actor
        def encode_units(self, job: Any, channels: Any) -> Any:
            if not marker.exists():
                marker.touch()
                os._exit(1)
            return super().encode_units(job, channels)

    monkeypatch.setattr(ray_engine, "EncoderActor", DiesOnFirstBatch)
    monkeypatch.setattr(ray_engine, "ACTOR_RESTARTS", 0)
    final, rows = reencoded_rows(tmp_path / "data", docs, "ray")
    assert marker.exists(), "the actor never died: the test proves nothing"
    assert final.result["encoded"] == len(rows)
    assert_same_rows(rows, local_reencode)


def test_a_reencode_stores_what_a_fresh_ingest_with_the_new_encoders_stores(
    tmp_path: Path, docs: list[Path], local_reencode: dict[str, Any]
) -> None:
    """Page text included: the text channel's input and the BM25 field come from the stored page text."""
    fresh = settings_for(tmp_path / "fresh", TINY_B)
    ingest(fresh, docs)
    ingested = stored_rows(fresh)
    assert any(row["page_text"] for row in ingested.values())
    assert_same_rows(local_reencode, ingested)
