"""The server log has one line for each job's end, whatever the end.

`figvault serve`'s log said nothing when an upload's ingest job succeeded or was cancelled, nor when one
failed for a reason of figvault's own that the job's message already held: the operator reading the log
of a server whose page had ingested a document saw only the upload's `202 Accepted`.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from figvault.errors import FigvaultError
from figvault.pipeline import jobs as jobs_module
from figvault.pipeline.jobs import JobContext, JobState, JobStore, JobType, run_here
from figvault.settings import Settings


def _ends(caplog: pytest.LogCaptureFixture) -> list[tuple[int, str]]:
    return [(r.levelno, r.getMessage()) for r in caplog.records if r.name == jobs_module.log.name]


def _run(settings: Settings, handler: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[str, JobState]:
    monkeypatch.setitem(jobs_module.HANDLERS, JobType.INGEST, lambda: handler)
    job = JobStore.open(settings).create(JobType.INGEST, {}, started_by="bob", tenant="t")
    return job.id, run_here(settings, job).state


def test_a_job_that_succeeds_is_one_info_line(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="figvault")
    job_id, state = _run(offline_settings, lambda ctx: {"summary": "1 new, 23 units"}, monkeypatch)
    assert state == JobState.SUCCEEDED
    assert _ends(caplog) == [(logging.INFO, f"job {job_id} (ingest) succeeded: 1 new, 23 units")]


def test_a_job_that_fails_for_figvault_s_own_reason_is_one_warning(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fails(ctx: JobContext) -> dict[str, Any]:
        raise FigvaultError("every document failed")

    caplog.set_level(logging.INFO, logger="figvault")
    job_id, state = _run(offline_settings, fails, monkeypatch)
    assert state == JobState.FAILED
    assert _ends(caplog) == [(logging.WARNING, f"job {job_id} (ingest) failed: every document failed")]
    # One line: an upload of a password-protected PDF logged a whole traceback for a reason its message
    # already says (a first-hour audit, 2026-12-08).
    assert [r.exc_info for r in caplog.records if r.name == jobs_module.log.name] == [None]


def test_an_unexpected_failure_keeps_its_traceback(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def breaks(ctx: JobContext) -> dict[str, Any]:
        raise KeyError("a bug")

    caplog.set_level(logging.INFO, logger="figvault")
    job_id, state = _run(offline_settings, breaks, monkeypatch)
    assert state == JobState.FAILED
    [record] = [r for r in caplog.records if r.name == jobs_module.log.name]
    assert (record.levelno, record.getMessage()) == (logging.ERROR, f"job {job_id} (ingest) failed")
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_a_cancelled_job_is_one_info_line(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def cancelled(ctx: JobContext) -> dict[str, Any]:
        raise jobs_module.JobCancelled("cancelled by ana")

    caplog.set_level(logging.INFO, logger="figvault")
    job_id, state = _run(offline_settings, cancelled, monkeypatch)
    assert state == JobState.CANCELLED
    assert _ends(caplog) == [(logging.INFO, f"job {job_id} (ingest) cancelled: cancelled by ana")]
