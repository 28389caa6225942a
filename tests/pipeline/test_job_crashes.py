"""A job whose process keeps dying is not retried forever: the document in flight is quarantined after
``jobs.quarantine_after`` deaths, and the job fails after ``jobs.max_attempts`` deaths.

A death is simulated the way the runner sees one: the job is left ``running`` by an owner process that
no longer exists, with its in-flight documents in the checkpoint, and ``requeue_orphans`` runs on start.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from figvault.pipeline.ingest_job import fetch_uploads, queue_upload_job
from figvault.pipeline.jobs import CRASHES, DEATHS, IN_FLIGHT, Job, JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

DEAD_OWNER = f"{socket.gethostname()}:999999:1"


@pytest.fixture
def settings(offline_settings: Settings) -> Settings:
    offline_settings.extract.workers = 1
    return offline_settings


def die_while_on(store: JobStore, job_id: str, in_flight: list[str]) -> None:
    """The job's process claimed it, reported what it was on, and died."""
    claimed = store.claim(job_id, DEAD_OWNER)
    assert claimed is not None
    store.progress(job_id, checkpoint={**claimed.checkpoint, IN_FLIGHT: in_flight})


def test_document_in_flight_at_two_deaths_is_quarantined(settings: Settings, tmp_path: Path) -> None:
    store = JobStore.open(settings)
    killer = figure_pdf(tmp_path / "a.pdf", seed=1)
    fine = figure_pdf(tmp_path / "b.pdf", seed=2)
    job = queue_upload_job(
        settings,
        store,
        [("killer.pdf", killer), ("fine.pdf", fine)],
        groups=["g"],
        tenant="t",
        started_by="u",
    )
    spooled = [str(path) for path, _ in fetch_uploads(settings, job.id, job.params["uploads"])]
    for deaths in (1, 2):
        die_while_on(store, job.id, [spooled[0]])
        assert store.requeue_orphans(max_attempts=3) == [job.id]
        requeued = store.require(job.id)
        assert requeued.state == JobState.QUEUED
        assert requeued.checkpoint[CRASHES] == {spooled[0]: deaths} and requeued.checkpoint[DEATHS] == deaths
        assert "999999" not in requeued.message  # no process ids or hosts in what callers read

    final = run_here(settings, store.require(job.id))
    assert final.state == JobState.SUCCEEDED, final.message
    assert final.result["indexed"] == 1 and final.result["failed"] == 1
    assert [(e.item, e.error.split(":")[0]) for e in final.errors] == [("killer.pdf", "quarantined")]
    # The upload is kept for the operator, out of the job's folder (which the job removed).
    assert (settings.data_dir / "quarantine" / job.id / Path(spooled[0]).name).exists()
    names = [r.name for r in DocumentRegistry.open(settings).list(tenant="t")]
    assert names == ["fine.pdf"]


def test_job_dying_max_attempts_times_is_failed_not_requeued(settings: Settings, tmp_path: Path) -> None:
    store = JobStore.open(settings)
    doc = figure_pdf(tmp_path / "a.pdf", seed=1)
    job = queue_upload_job(settings, store, [("crash.pdf", doc)], groups=["g"], tenant="t", started_by="u")
    spooled = [str(path) for path, _ in fetch_uploads(settings, job.id, job.params["uploads"])]
    for _ in range(2):
        die_while_on(store, job.id, spooled)
        assert store.requeue_orphans(max_attempts=3) == [job.id]
    die_while_on(store, job.id, spooled)
    assert store.requeue_orphans(max_attempts=3) == []
    final = store.require(job.id)
    assert final.state == JobState.FAILED
    assert final.message == "gave up: the process running it stopped 3 times (last while on crash.pdf)"


def test_a_failing_cleanup_of_one_ended_orphan_does_not_stop_the_others(settings: Settings) -> None:
    store = JobStore.open(settings)
    cancelled = [store.create(JobType.INGEST, {}, started_by="u", tenant="t") for _ in range(2)]
    plain = store.create(JobType.INGEST, {}, started_by="u", tenant="t")
    for job in [*cancelled, plain]:
        die_while_on(store, job.id, [])
    for job in cancelled:
        store.request_cancel(job.id)
    cleaned: list[str] = []

    def cleanup_fails(job: Job) -> None:
        cleaned.append(job.id)
        raise OSError("storage unreachable")

    assert store.requeue_orphans(on_end=cleanup_fails) == [plain.id]
    assert sorted(cleaned) == sorted(j.id for j in cancelled)
    assert all(store.require(j.id).state == JobState.CANCELLED for j in cancelled)
