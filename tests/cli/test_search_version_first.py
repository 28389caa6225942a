"""``figvault search`` on a store of another embedding_version said so only after loading the models (about
50 s on a busy machine, the second first-hour walk): the check now comes before the load."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.retrieval.search import SearchEngine
from tests.generated_docs import figure_pdf

load_commands()


def test_search_names_the_version_change_before_loading_the_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    assert CliRunner().invoke(app, [*base, "ingest", str(doc), "--groups", "eng", "-q"]).exit_code == 0
    monkeypatch.setenv("FIGVAULT_TEXT__PRECISION", "bf16")
    loads: list[str] = []
    monkeypatch.setattr(SearchEngine, "load_encoders", lambda self: loads.append("loaded"))
    done = CliRunner().invoke(app, [*base, "search", "revenue chart", "--groups", "eng"])
    assert done.exit_code == 1, done.output
    assert "text.precision fp32 -> bf16" in done.output and "run `figvault reencode`" in done.output
    assert loads == []  # refused before the models load
