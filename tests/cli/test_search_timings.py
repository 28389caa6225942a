"""``figvault search`` loads the models before it times its search. Before, the models loaded lazily inside
the first question's encoding, so the table's footer said "encode 5264 ms ... total 5407 ms" for a search
that takes tens of milliseconds once loaded: a newcomer judging search speed from the command line read
the model load as the search. Now the load is said apart, and ``encode`` is the question's alone."""

from __future__ import annotations

import json
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


def test_search_top_k_setting_is_the_default_number_of_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``search.top_k`` (``FIGVAULT_SEARCH__TOP_K``, both profiles' TOML) was read nowhere: a search without
    ``--top-k`` gave 10 whatever it said (a first-hour walk, 2026-12-06)."""
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    report = figure_pdf(tmp_path / "report.pdf", seed=8, n_figures=2)
    ingested = CliRunner().invoke(app, [*base, "ingest", str(report), "--groups", "eng", "-q"])
    assert ingested.exit_code == 0, ingested.output

    def results(*extra: str) -> int:
        found = CliRunner().invoke(app, [*base, "search", "figure in report", "--json", *extra])
        assert found.exit_code == 0, found.output
        return len(json.loads(found.stdout)["results"])

    assert results() == 2  # both units: fewer than the default 10
    monkeypatch.setenv("FIGVAULT_SEARCH__TOP_K", "1")
    assert results() == 1
    assert results("--top-k", "2") == 2  # the flag still wins
