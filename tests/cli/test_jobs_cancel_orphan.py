"""``figvault jobs cancel`` of a job still marked running whose process is gone (a CLI ingest killed, a
machine rebooted; a first-hour walk, 2026-12-05): it answered "cancel requested" and the job stayed
``running`` in ``jobs list`` until some ``figvault serve`` started. No process will reach its next batch,
so the cancel now ends it at once, as a job runner's start would."""

from __future__ import annotations

import socket
from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.jobs import ORPHAN_CANCELLED, JobState, JobStore, JobType, this_owner
from figvault.settings import load_settings

load_commands()


def test_cancelling_a_job_whose_process_is_gone_ends_it_at_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = JobStore.open(load_settings("offline", data_dir=data))
    dead = store.create(JobType.INGEST, {"paths": []}, started_by="cli", tenant="default")
    assert store.claim(dead.id, f"{socket.gethostname()}:999999999:1") is not None  # no such pid
    alive = store.create(JobType.INGEST, {"paths": []}, started_by="cli", tenant="default")
    assert store.claim(alive.id, this_owner()) is not None  # this very process: it runs

    def cancel(job_id: str) -> str:
        result = CliRunner().invoke(
            app, ["--config", "offline", "--data-dir", str(data), "jobs", "cancel", job_id]
        )
        assert result.exit_code == 0, result.output
        return result.output.strip()

    assert cancel(dead.id) == f"job {dead.id}: cancelled"
    ended = store.require(dead.id)
    assert (ended.state, ended.message) == (JobState.CANCELLED, ORPHAN_CANCELLED)
    assert cancel(alive.id) == f"job {alive.id}: cancel requested"  # a live process stops at its next batch
    assert store.require(alive.id).state == JobState.RUNNING


def test_a_job_whose_process_is_gone_says_so_in_the_list(tmp_path: Path) -> None:
    """A data folder restored from a copy taken while a job ran (a 2026-12-05 operator walk) lists that job
    as running for good: the copy names a process that is gone. The list and `jobs show` now say so."""
    data = tmp_path / "data"
    store = JobStore.open(load_settings("offline", data_dir=data))
    dead = store.create(JobType.INGEST, {"paths": []}, started_by="cli", tenant="default")
    assert store.claim(dead.id, f"{socket.gethostname()}:999999999:1") is not None  # no such pid
    alive = store.create(JobType.INGEST, {"paths": []}, started_by="cli", tenant="default")
    assert store.claim(alive.id, this_owner()) is not None

    def run(*args: str) -> str:
        result = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(data), "jobs", *args])
        assert result.exit_code == 0, result.output
        return result.output

    listed = {line.split()[0]: line for line in run("list").splitlines()}
    assert "its process is gone" in listed[dead.id] and f"jobs cancel {dead.id}" in listed[dead.id]
    assert "its process is gone" not in listed[alive.id]
    assert "its process is gone" in run("show", dead.id)
