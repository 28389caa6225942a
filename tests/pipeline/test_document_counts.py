"""What a document count holds (pipeline/document_counts.py): the documents a search can find, the failed
ones said apart. A replacement whose ingest failed keeps its older version's units, which a search still
finds: it is counted searchable and failed both (fe58312's docstring says so; no test held it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.pipeline.document_counts import DocumentCounts, searchable
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import load_settings


def _record(name: str, state: DocState, units: int) -> DocumentRecord:
    return DocumentRecord(doc_id=name, tenant="acme", name=name, state=state, units=units)


def test_a_failed_replacement_that_keeps_its_units_is_searchable_and_failed() -> None:
    records = [
        _record("good.pdf", DocState.INDEXED, 4),
        _record("empty.pdf", DocState.INDEXED, 0),  # indexed, no figure found: counted by its state
        _record("broken.pdf", DocState.FAILED, 0),
        _record("replaced.pdf", DocState.FAILED, 3),  # its new version failed; the old units serve
        _record("queued.pdf", DocState.PENDING, 0),
    ]
    assert [r.name for r in records if searchable(r)] == ["good.pdf", "empty.pdf", "replaced.pdf"]
    counts = DocumentCounts.of(records)
    assert (counts.searchable, counts.failed) == (3, 2)
    assert counts.failed_note() == ", 2 failed: see `figvault documents list --failed`"
    assert DocumentCounts.of(records[:2]).failed_note() == ""


def test_the_databases_counts_are_the_records_counts(tmp_path: Path) -> None:
    """``status`` counts by state in the database (it read and validated every record of every tenant,
    twice: 0.75 s at 20,000 documents, a scale audit): the same numbers as counting the records."""
    registry = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path))
    records = [
        _record("good.pdf", DocState.INDEXED, 4),
        _record("empty.pdf", DocState.INDEXED, 0),
        _record("broken.pdf", DocState.FAILED, 0),
        _record("replaced.pdf", DocState.FAILED, 3),
        _record("queued.pdf", DocState.PENDING, 0),
        _record("killed.pdf", DocState.PENDING, 2),  # a run killed while replacing it: the old units serve
    ]
    for n, record in enumerate(records):
        registry.put(record.model_copy(update={"tenant": f"t{n % 2}"}))
    counted = registry.state_counts()
    assert counted == {DocState.INDEXED: (2, 1), DocState.FAILED: (2, 1), DocState.PENDING: (2, 1)}
    assert DocumentCounts.of_states(counted) == DocumentCounts.of(records)
    assert DocumentCounts.of_states({}) == DocumentCounts.of([])


def test_status_counts_without_reading_the_records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from figvault.cli import load_commands
    from figvault.commands import app

    registry = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path))
    registry.put(_record("good.pdf", DocState.INDEXED, 4))
    registry.put(_record("broken.pdf", DocState.FAILED, 0))

    def listed(*_args: object, **_kwargs: object) -> list[DocumentRecord]:
        raise AssertionError("status read every record")

    monkeypatch.setattr(DocumentRegistry, "list", listed)
    load_commands()
    shown = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "status", "--json"])
    assert shown.exit_code == 0, shown.output
    assert '"indexed": 1' in shown.output and '"failed": 1' in shown.output
