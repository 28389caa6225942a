"""``documents list`` showed no tags, in its table or its JSON: a user who ingested with --tags (or ran
``documents set-tags``) could not see which tags the search filter ``--tags`` would match."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import load_settings

load_commands()


def test_documents_list_shows_each_documents_tags(tmp_path: Path) -> None:
    registry = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path))
    registry.put(
        DocumentRecord(
            doc_id="doc_a", tenant="default", name="a.pdf", state=DocState.INDEXED, tags=["raft", "q3"]
        )
    )
    registry.put(DocumentRecord(doc_id="doc_b", tenant="default", name="b.pdf", state=DocState.INDEXED))
    base = ["--config", "offline", "--data-dir", str(tmp_path), "documents", "list"]
    listed = CliRunner().invoke(app, [*base, "--json"])
    assert listed.exit_code == 0, listed.output
    assert {d["doc_id"]: d["tags"] for d in json.loads(listed.stdout)} == {
        "doc_a": ["q3", "raft"],
        "doc_b": [],
    }
    table = [line.split("\t") for line in CliRunner().invoke(app, base).stdout.splitlines()]
    assert table[0][-1] == "tags"
    assert {row[1]: row[-1] for row in table[1:]} == {"doc_a": "q3,raft", "doc_b": "(none)"}
