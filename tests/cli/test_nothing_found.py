"""A search that finds nothing says why: before, ``figvault search`` printed "no figures found" whether
nothing was ingested, the documents were in another tenant (the demo's are in ``demo``), none shared a
group with ``--groups``, or a filter such as a misspelt ``--doc`` left nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.access import local_operator
from figvault.cli import load_commands
from figvault.commands import app
from figvault.commands._retrieval_cli import nothing_found_line
from figvault.commands.search import LOADING
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import load_settings

load_commands()


def record(doc_id: str, tenant: str, groups: list[str], units: int = 3) -> DocumentRecord:
    return DocumentRecord(
        doc_id=doc_id, tenant=tenant, name=f"{doc_id}.pdf", state=DocState.INDEXED, units=units, groups=groups
    )


RECORDS = [record("q3", "acme", ["red"]), record("notes", "acme", ["red"], units=0), record("d", "demo", [])]


def test_nothing_ingested_says_how_to_ingest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    line = nothing_found_line(local_operator("default"), [record("empty", "default", [], units=0)], [])
    assert "nothing is indexed in this data folder yet" in line and "figvault ingest FOLDER" in line
    # The folder named whole: a relative or mistyped FIGVAULT_DATA_DIR is a new, empty store.
    monkeypatch.chdir(tmp_path)
    named = nothing_found_line(local_operator("default"), [], [], Path("relative-data"))
    assert f"nothing is indexed in this data folder ({tmp_path / 'relative-data'}) yet" in named


def test_another_tenant_names_the_tenants_that_hold_figures() -> None:
    line = nothing_found_line(local_operator("default"), RECORDS, [])
    assert (
        line
        == "no figures found: tenant 'default' has no figures; they are in: --tenant acme or --tenant demo"
    )


def test_groups_that_share_nothing_are_named() -> None:
    line = nothing_found_line(local_operator("acme", ["blue"]), RECORDS, [])
    assert "--groups blue shares no group with the 1 document with figures in tenant 'acme'" in line


def test_filters_that_leave_nothing_are_named() -> None:
    line = nothing_found_line(local_operator("acme", ["red"]), RECORDS, ["--doc", "--tags"])
    assert (
        line
        == "no figures found that pass --doc, --tags; without them the search covers 1 document with figures"
    )
    assert nothing_found_line(local_operator("acme"), RECORDS, []) == "no figures found"


def test_the_cli_says_which_tenant_holds_the_documents(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    DocumentRegistry.open(settings).put(record("deck", "demo", []))
    base = ["--config", "offline", "--data-dir", str(tmp_path), "search"]
    result = CliRunner().invoke(app, [*base, "revenue by region"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(LOADING)  # the model load is a wait, not a hang: it is said first
    assert "tenant 'default' has no figures; they are in: --tenant demo" in result.output
    filtered = CliRunner().invoke(app, [*base, "revenue by region", "--tenant", "demo", "--doc", "dek.pptx"])
    assert "no figures found that pass --doc; without them the search covers 1 document" in filtered.output


def test_the_json_answer_says_why_nothing_was_found(tmp_path: Path) -> None:
    """``search --json`` with nothing found gave only ``"no_match": true``: the reason the plain output gives
    (another tenant, groups, filters, nothing ingested) is now its ``nothing_found`` field (an audit)."""
    import json

    settings = load_settings("offline", data_dir=tmp_path)
    DocumentRegistry.open(settings).put(record("deck", "demo", []))
    base = ["--config", "offline", "--data-dir", str(tmp_path), "search", "revenue by region", "--json"]
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["results"] == [] and answer["no_match"] is True
    assert "tenant 'default' has no figures; they are in: --tenant demo" in answer["nothing_found"]
