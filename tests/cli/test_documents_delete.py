"""``figvault documents delete ID``: before, a file ingested by mistake, or the old name of a renamed file
(ingest keys documents by file name, so a rename leaves the old document behind), could be removed only
over HTTP by an admin; the CLI had no way back."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry, connect
from figvault.service import audit
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
