"""``figvault search`` loads the models before it times its search. Before, the models loaded lazily inside
the first question's encoding, so the table's footer said "encode 5264 ms ... total 5407 ms" for a search
that takes tens of milliseconds once loaded: a newcomer judging search speed from the command line read
the model load as the search. Now the load is said apart, and ``encode`` is the question's alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.retrieval.search import SearchEngine
from tests.generated_docs import figure_pdf

load_commands()


def test_the_search_is_timed_with_its_models_already_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    report = figure_pdf(tmp_path / "report.pdf", seed=7, n_figures=1)
    ingested = CliRunner().invoke(app, [*base, "ingest", str(report), "--groups", "eng", "-q"])
    assert ingested.exit_code == 0, ingested.output

    loaded_when_searching: list[bool] = []
    search = SearchEngine.search

    def spy(self: SearchEngine, *args: object, **kwargs: object) -> object:
        loaded_when_searching.append(self.encoders_loaded())
        return search(self, *args, **kwargs)

    monkeypatch.setattr(SearchEngine, "search", spy)
    monkeypatch.setenv("COLUMNS", "300")
    result = CliRunner().invoke(app, [*base, "search", "figure in report"])
    assert result.exit_code == 0, result.output
    assert loaded_when_searching == [True]
    assert "(before it, the models loaded in " in result.stdout
