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
