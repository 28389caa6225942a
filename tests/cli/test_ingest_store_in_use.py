"""A CLI ingest while another process (``figvault serve``) holds the embedded store: before, it created a job
that failed at once and stayed in ``jobs list`` as failed (one per try). It is now refused before any job
is recorded: exit 1, one line with the reason and what to do meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.jobs import DETAIL, JobState, JobStore
from figvault.settings import load_settings
from tests.conftest import REPO
from tests.generated_docs import figure_pdf

load_commands()

HOLD_THE_STORE = """
import sys
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import load_settings

MilvusUnitStore.from_settings(load_settings("offline", data_dir=sys.argv[1]))
print("holding", flush=True)
sys.stdin.read()
"""


def test_an_ingest_refused_for_a_held_store_records_no_job(tmp_path: Path) -> None:
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    data = tmp_path / "data"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_STORE, str(data)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        args = ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "--groups", "eng"]
        result = CliRunner().invoke(app, args)
    finally:
        holder.communicate("", timeout=60)
    assert JobStore.open(load_settings("offline", data_dir=data)).list() == []
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()  # no "who will see these documents" for an ingest that won't run
    assert "in use by another process" in line and "Upload tab" in line and "no job recorded" in line


def test_an_ingest_into_a_store_of_another_version_records_no_job(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Changed encoder settings (here text.precision): the ingest failed inside its job, listed as failed,
    with a traceback in the log; it is now refused before, with the fix and the setting that changed
    (which status --json lists too: encoder_changes)."""
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    data = tmp_path / "data"
    base = ["--config", "offline", "--data-dir", str(data), "ingest", "--groups", "eng", "--quiet"]
    first = CliRunner().invoke(app, [*base, str(doc)])
    assert first.exit_code == 0, first.output
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    result = CliRunner().invoke(app, [*base, str(figure_pdf(tmp_path / "other.pdf", seed=2))])
    assert len(JobStore.open(load_settings("offline", data_dir=data)).list()) == 1
    assert result.exit_code == 1, result.output
    [line] = result.stderr.splitlines()
    assert "run `figvault reencode`" in line and "no job recorded" in line
    assert "(text.precision fp32 -> bf16)" in line  # what changed since the store was written
    status = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(data), "status", "--json"])
    assert json.loads(status.stdout)["encoder_changes"] == ["text.precision fp32 -> bf16"]


def test_a_store_switched_after_the_check_fails_the_job_with_the_same_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check before the job and the job's own check are apart in time: a store switched in between (a
    re-encode, another configuration) fails the job. Its error said only "store serves X, configured Y:
    run `figvault reencode`"; it now says what the check says: the setting that changed, both ways out."""
    from figvault.commands import ingest as ingest_command

    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    data = tmp_path / "data"
    base = ["--config", "offline", "--data-dir", str(data), "ingest", "--groups", "eng", "--quiet", "--json"]
    assert CliRunner().invoke(app, [*base, str(doc)]).exit_code == 0
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    other = str(figure_pdf(tmp_path / "other.pdf", seed=2))
    refused = CliRunner().invoke(app, [*base, other])
    assert refused.exit_code == 1
    [line] = refused.stderr.splitlines()
    sentence = line.removeprefix("error: ").removesuffix(" (nothing was ingested, no job recorded)")
    assert "(text.precision fp32 -> bf16)" in sentence and "restore the encoder settings" in sentence
    monkeypatch.setattr(ingest_command, "_refuse_before_the_job", lambda settings: None)  # the window
    raced = CliRunner().invoke(app, [*base[:-1], other])
    assert raced.exit_code == 1
    assert f"error: {sentence}" in raced.stderr, raced.stderr  # what the operator reads at the terminal
    jobs = JobStore.open(load_settings("offline", data_dir=data)).list()
    [failed] = [job for job in jobs if job.state == JobState.FAILED]
    # Its message, read over HTTP too, is the fixed sentence of a version mismatch (errors.SERVER_SIDE: the
    # settings that changed may name server paths); the whole reason is the operator's detail.
    assert "an admin must re-encode (figvault reencode)" in failed.message
    assert "try again later" not in failed.message
    assert failed.result[DETAIL] == sentence
