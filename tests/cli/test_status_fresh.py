"""``figvault status`` on a data folder nothing was ingested into printed ``collection None`` and
``version_matches False`` and nothing else: a newcomer's first status read as a fault. It now says that
nothing is ingested yet and how to begin."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def test_status_of_a_fresh_data_folder_says_nothing_is_ingested_yet(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "status"])
    assert result.exit_code == 0, result.output
    assert "nothing ingested yet" in result.stdout and "figvault ingest FOLDER" in result.stdout


def test_status_says_where_the_registry_and_the_files_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas share the registry and the files (docs/deploy.md); `status` named the store and the data
    folder only, so a replica missing FIGVAULT_REGISTRY__URL or FIGVAULT_STORAGE__URL looked the same."""
    import json

    base = ["--config", "offline", "--data-dir", str(tmp_path / "data"), "status", "--json"]
    plain = json.loads(CliRunner().invoke(app, base).stdout)
    assert plain["registry"] == f"sqlite:///{(tmp_path / 'data' / 'registry.sqlite3').resolve()}"
    assert plain["files"] == "data_dir"
    # A relative folder is named whole (a TOML's `data_dir = "dd"` printed "dd": which folder?).
    monkeypatch.chdir(tmp_path)
    relative = json.loads(CliRunner().invoke(app, [*base[:3], "dd", *base[4:]]).stdout)
    assert relative["data_dir"] == str(tmp_path / "dd")
    monkeypatch.setenv("FIGVAULT_REGISTRY__URL", f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    monkeypatch.setenv("FIGVAULT_STORAGE__URL", "memory://figvault:s3cret@shared/files")
    result = CliRunner().invoke(app, base)
    assert result.exit_code == 0, result.output
    shared = json.loads(result.stdout)
    assert shared["registry"] == f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    assert shared["files"] == "memory://figvault:***@shared/files" and "s3cret" not in result.stdout


def test_status_prints_values_not_python_reprs(tmp_path: Path) -> None:
    """The table printed ``collection None``, ``channels []``, ``documents {}`` and, once documents were in,
    ``documents {'indexed': 6, 'failed': 3}`` (a first-hour walk, 2026-12-05)."""
    from figvault.commands.status import shown

    result = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "status"])
    assert result.exit_code == 0, result.output
    table = result.stdout.split("nothing ingested yet")[0]
    assert not any(mark in table for mark in ("None", "[]", "{}", "True", "False")), table
    assert shown({"indexed": 6, "failed": 3}) == "indexed 6; failed 3"
    assert shown({"fields": ["title", "caption"], "on": True}) == "fields title, caption; on yes"


def test_status_says_where_the_reasons_of_failed_documents_are(tmp_path: Path) -> None:
    """``documents indexed 2; failed 2`` counted the failed files apart but did not say where their reasons
    are (the first-hour walk of 2026-12-06); ``documents list`` has them in its error column."""
    from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
    from figvault.settings import load_settings

    registry = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path))
    for doc_id, state in (
        ("a.pdf", DocState.INDEXED),
        ("b.pdf", DocState.FAILED),
        ("c.pdf", DocState.FAILED),
    ):
        registry.put(DocumentRecord(doc_id=doc_id, tenant="default", name=doc_id, state=state, units=0))
    result = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "status"])
    assert result.exit_code == 0, result.output
    assert "documents: 1 searchable, 2 failed: see `figvault documents list --failed`\n" in result.stdout
    fresh = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path / "new"), "status"])
    assert "failed" not in fresh.stdout
