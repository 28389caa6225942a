"""An upload that cannot be queued leaves none of its files behind.

On a full disk (`figvault serve` with its data folder on a 5 MB tmpfs) the move of the second upload into
`jobs/<id>/uploads/` stopped part-way, the job was never created, and the partial file (2.4 MB) stayed: no
job names the folder, so nothing removed it, and it held the space an operator then freed.
"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from figvault.pipeline.ingest_job import queue_upload_job, uploads_dir
from figvault.pipeline.jobs import JobStore
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings
from tests.generated_docs import figure_pdf


def test_an_upload_whose_job_cannot_be_created_leaves_no_files(
    offline_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs = JobStore.open(offline_settings)
    made: list[str] = []

    def create_fails(*_args: object, job_id: str, **_kwargs: object) -> None:
        made.append(job_id)
        assert any(uploads_dir(offline_settings, job_id).iterdir())  # the file was moved in
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jobs, "create", create_fails)
    spooled = figure_pdf(tmp_path / "spool.pdf", seed=11)
    with pytest.raises(OSError, match="No space left"):
        queue_upload_job(
            offline_settings, jobs, [("Q3.pdf", spooled)], groups=["eng"], tenant="acme", started_by="a"
        )
    assert made and not uploads_dir(offline_settings, made[0]).parent.exists()
    assert DocumentRegistry(jobs.db).list("acme") == []  # its placeholder went too (as before)
