"""A job that ends without succeeding (cancelled, failed) records what its handler had done by then
(``jobs.carry_result``): an ingest's document outcomes, by which each viewer's read of the job is judged
(``JobOut``). Before, a cancelled or failed job recorded none, and its errors, counts and rate were shown
whole to a peer who may no longer see some of its documents (tests/service/test_jobs_api.py has the
failed upload over HTTP)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from figvault.errors import FigvaultError
from figvault.pipeline import jobs
from figvault.settings import load_settings

OUTCOMES = [{"path": "/d/a.pdf", "doc_id": "doc_a", "status": "indexed", "units": 2, "pages": 1}]


def _ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop: BaseException) -> jobs.Job:
    """The job's end when its handler, having done ``OUTCOMES``, raises ``stop`` (the outcomes carried by
    ``stop``, or by the exception it was raised from: an ingest's full disk is raised anew from the cause)."""

    def handler(ctx: jobs.JobContext) -> dict[str, Any]:
        jobs.carry_result(stop.__cause__ or stop, {"documents": OUTCOMES})
        raise stop

    monkeypatch.setitem(jobs.HANDLERS, jobs.JobType.INGEST, lambda: handler)
    settings = load_settings("offline", data_dir=tmp_path / "data")
    store = jobs.JobStore.open(settings)
    job = store.create(jobs.JobType.INGEST, {}, started_by="cli", tenant="default")
    claimed = store.claim(job.id, jobs.this_owner())
    assert claimed is not None
    return jobs.execute(jobs.JobContext(store, claimed, settings))


def test_a_cancelled_job_keeps_its_outcomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    final = _ended(tmp_path, monkeypatch, jobs.JobCancelled("cancelled on request"))
    assert final.state == jobs.JobState.CANCELLED and final.message == "cancelled on request"
    assert final.result == {"documents": OUTCOMES}


def test_a_failed_job_keeps_its_outcomes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stop = FigvaultError("the store went away")
    stop.__cause__ = OSError("connection reset")
    final = _ended(tmp_path, monkeypatch, stop)
    assert final.state == jobs.JobState.FAILED and final.message == "the store went away"
    assert final.result["documents"] == OUTCOMES
