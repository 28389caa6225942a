"""``figvault documents delete ID``: before, a file ingested by mistake, or the old name of a renamed file
(ingest keys documents by file name, so a rename leaves the old document behind), could be removed only
over HTTP by an admin; the CLI had no way back."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline import audit
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry, connect
from figvault.settings import load_settings

load_commands()


def test_delete_by_name_removes_the_record_and_is_audited(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    registry = DocumentRegistry.open(settings)
    for doc_id, name in (("doc_a", "old-name.pdf"), ("doc_b", "kept.pdf")):
        registry.put(DocumentRecord(doc_id=doc_id, tenant="acme", name=name, state=DocState.INDEXED, units=2))
    base = ["--config", "offline", "--data-dir", str(tmp_path), "documents"]
    result = CliRunner().invoke(app, [*base, "delete", "old-name.pdf", "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    assert "deleted old-name.pdf (doc_a, tenant acme)" in result.output
    assert [r.doc_id for r in DocumentRegistry.open(settings).list(tenant="acme")] == ["doc_b"]
    [entry] = audit.list_entries(connect(settings), "acme", limit=1).entries
    assert entry.action == "delete" and entry.detail == {"doc_id": "doc_a"}
    again = CliRunner().invoke(app, [*base, "delete", "old-name.pdf", "--tenant", "acme"])
    assert again.exit_code == 1 and "no document 'old-name.pdf' in tenant 'acme'" in again.output


def test_a_change_refused_while_serve_runs_says_where_to_make_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With `figvault serve` holding the embedded store, `documents delete`, `set-groups` and `set-tags`
    ended with the store's hint, "or do this through the service": they now name where to make the change
    meanwhile (the page's Admin tab and the routes; tags: the PATCH route, the page has no tag editor)."""
    from figvault.errors import StoreInUseError

    def held(*_: object) -> None:
        raise StoreInUseError("the embedded store x is in use by another process: stop it")

    monkeypatch.setattr("figvault.pipeline.ingest_pipeline.delete_document", held)
    monkeypatch.setattr("figvault.pipeline.regroup.set_document_groups", held)
    monkeypatch.setattr("figvault.pipeline.regroup.set_document_tags", held)
    settings = load_settings("offline", data_dir=tmp_path)
    DocumentRegistry.open(settings).put(
        DocumentRecord(doc_id="doc_a", tenant="default", name="a.pdf", state=DocState.INDEXED, units=1)
    )
    base = ["--config", "offline", "--data-dir", str(tmp_path), "documents"]
    for args in (["delete", "doc_a"], ["set-groups", "doc_a", "--groups", "eng"]):
        result = CliRunner().invoke(app, [*base, *args])
        assert result.exit_code == 1, result.output
        assert "in use by another process" in result.output and "page's Admin tab" in result.output
    tagged = CliRunner().invoke(app, [*base, "set-tags", "doc_a", "--tags", "q3"])
    assert tagged.exit_code == 1, tagged.output
    assert "in use by another process" in tagged.output and "PATCH /v1/documents/ID" in tagged.output
