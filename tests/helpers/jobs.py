"""Waiting for a job over HTTP, as a client polls ``GET /v1/jobs/{id}``."""

from __future__ import annotations

import time
from typing import Any

FINISHED = ("succeeded", "failed", "cancelled")


def finished_job(client: Any, job_id: str, headers: dict[str, str], timeout_s: float = 180) -> dict[str, Any]:
    """The job as ``GET /v1/jobs/{job_id}`` gives it once it ended; AssertionError after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["state"] in FINISHED:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")
