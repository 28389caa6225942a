"""``figvault jobs show ID`` prints an ingest's per-document warnings and its gone files: before, it
printed the errors only, and a damaged PDF or a skipped picture of a finished job was in --json alone."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.jobs import JobState, JobStore, JobType
from figvault.settings import load_settings

load_commands()
DAMAGED = "damaged PDF (truncated or badly written: its cross-reference table was rebuilt)"


def test_jobs_show_prints_warnings_and_gone_files(tmp_path: Path) -> None:
    store = JobStore.open(load_settings("offline", data_dir=tmp_path))
    upload = {"key": "jobs/j/uploads/0000.pdf", "name": "q3-report.pdf", "doc_id": "doc_a"}
    job = store.create(JobType.INGEST, {"uploads": [upload]}, started_by="ana", tenant="default")
    spooled = str(tmp_path / "jobs" / job.id / "uploads" / "0000.pdf")
    result = {
        "documents": [{"path": spooled, "doc_id": "doc_a", "status": "indexed", "warnings": [DAMAGED]}],
        "gone": [{"doc_id": "doc_b", "name": "old.pdf", "source": "/share/old.pdf"}],
    }
    store.finish(job.id, JobState.SUCCEEDED, "1 new", result)
    base = ["--config", "offline", "--data-dir", str(tmp_path)]
    shown = CliRunner().invoke(app, [*base, "jobs", "show", job.id])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert f"warning: {DAMAGED} (q3-report.pdf)" in lines  # the upload's name, not the spool file
    gone = "note: 1 document whose files are gone: /share/old.pdf (doc_b);"
    assert any(line.startswith(gone) for line in lines), lines


def test_jobs_list_gives_the_operator_a_failures_whole_reason(tmp_path: Path) -> None:
    """A command-line ingest refused because `figvault serve` held the embedded store was listed by `jobs
    list` as "the vector store is unavailable or failed; try again later" (the fixed sentence HTTP callers
    read), which no retry cures while the service runs. The operator's listing gives the whole reason."""
    from figvault.errors import StoreError, public_line
    from figvault.pipeline.jobs import operator_detail

    store = JobStore.open(load_settings("offline", data_dir=tmp_path))
    job = store.create(JobType.INGEST, {"paths": ["/docs"]}, started_by="cli", tenant="default")
    held = StoreError("the embedded store /data/milvus/figvault.db is in use by another process: stop it")
    store.finish(job.id, JobState.FAILED, public_line(held), operator_detail(held))
    listed = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "jobs", "list"])
    assert listed.exit_code == 0, listed.output
    assert "is in use by another process: stop it" in listed.output
    assert "try again later" not in listed.output
