"""``figvault reencode`` ended with "old collection X kept" and nothing on what to do with it: the store
doubled and a newcomer saw neither the way back nor how to free the space. It now says both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from tests.generated_docs import figure_pdf

load_commands()


def test_reencode_says_what_becomes_of_the_old_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    assert CliRunner().invoke(app, [*base, "ingest", str(doc), "--groups", "eng", "-q"]).exit_code == 0
    listed = CliRunner().invoke(app, [*base, "collections", "list", "--json"])
    [old] = [c["collection"] for c in json.loads(listed.stdout)["collections"]]
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    done = CliRunner().invoke(app, [*base, "reencode", "-q"])
    assert done.exit_code == 0, done.output
    assert f"`figvault collections drop {old}` frees its space" in done.stdout
    assert "re-uses its vectors" in done.stdout


class Crash(BaseException):
    """The process dies here (kill -9)."""


def test_reencode_finishes_a_switch_a_stopped_process_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the alias moved, before the records followed: `figvault reencode` said "nothing to do"
    (the alias serves the configured version) and the job stayed running; the next ingest read every
    document again. Now the command finds the stopped job and finishes it (a read-only crash audit)."""
    from figvault.pipeline import reencode as reencode_module
    from figvault.pipeline.jobs import JobState, JobStore
    from figvault.settings import load_settings

    data = tmp_path / "data"
    base = ["--config", "offline", "--data-dir", str(data)]
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    assert CliRunner().invoke(app, [*base, "ingest", str(doc), "--groups", "eng", "-q"]).exit_code == 0
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    point = reencode_module.point_records

    def dies(*_args: object) -> int:
        raise Crash

    monkeypatch.setattr(reencode_module, "point_records", dies)
    with pytest.raises(Crash):
        CliRunner().invoke(app, [*base, "reencode", "-q"], catch_exceptions=False)
    monkeypatch.setattr(reencode_module, "point_records", point)
    jobs = JobStore.open(load_settings("offline", data_dir=data))
    [stopped] = [j for j in jobs.list() if j.type == "reencode"]
    jobs._update(stopped.id, owner="nohost:999999:1", heartbeat_at=0.0)  # its process is gone

    done = CliRunner().invoke(app, [*base, "reencode"])
    assert done.exit_code == 0, done.output
    assert "(finishing its switch)" in done.output and "1 documents' records name it now" in done.stdout
    assert jobs.require(stopped.id).state == JobState.SUCCEEDED
    again = CliRunner().invoke(app, [*base, "ingest", str(doc), "--groups", "eng", "-q"])
    assert again.exit_code == 0 and "1 unchanged" in again.stdout, again.output
