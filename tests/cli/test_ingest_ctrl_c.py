"""Ctrl-C in the middle of ``figvault ingest`` (a first-hour walk, 2026-12-05): the command ended without a
word (typer's exit 130) and its job stayed ``running`` under a dead process; ``jobs list`` showed it running,
and the next ``figvault serve`` resumed the ingest its user had stopped (a dead owner's job is requeued by
any job runner). Now the job is cancelled, one line says so and that a re-run goes on, exit 130."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline import jobs as job_module
from figvault.pipeline.jobs import JobState, JobStore, JobType
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf

load_commands()


def test_ctrl_c_cancels_the_ingest_job_and_says_a_re_run_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(_ctx: object) -> None:
        raise KeyboardInterrupt  # what Ctrl-C raises in the main thread, here inside the job's handler

    monkeypatch.setitem(job_module.HANDLERS, JobType.INGEST, lambda: interrupted)
    doc = figure_pdf(tmp_path / "report.pdf", seed=2)
    data = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "--groups", "eng"]
    )
    assert result.exit_code == 130, result.output
    [job] = JobStore.open(load_settings("offline", data_dir=data)).list()
    assert job.state == JobState.CANCELLED and "Ctrl-C" in job.message
    assert "ingest: interrupted (Ctrl-C): what was stored stays, and the same command run again goes on" in (
        result.output
    )
    assert f"(job {job.id} cancelled)" in result.output
