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
    assert table[0][7] == "tags"  # then error, added after it
    assert {row[1]: row[7] for row in table[1:]} == {"doc_a": "q3,raft", "doc_b": "(none)"}


def test_documents_list_shows_a_raw_path_on_one_row_and_its_json_exactly(tmp_path: Path) -> None:
    """A server file's path is kept exact (``source``), and the table printed it as it was: a line break
    in a folder's or file's name split the row (scripts read the table by tabs and lines), a terminal
    escape sequence acted on the operator's screen, a bidi override reversed what followed. The table now
    shows such characters escaped; the JSON keeps the path exact."""
    raw = "/srv/drop/Q3\n\x1b[2Jrep\u202eort.pdf"
    registry = DocumentRegistry.open(load_settings("offline", data_dir=tmp_path))
    record = DocumentRecord(
        doc_id="doc_a", tenant="default", name="old\u202ename.pdf", state=DocState.INDEXED
    )
    registry.put(record.model_copy(update={"source": raw}))
    base = ["--config", "offline", "--data-dir", str(tmp_path), "documents", "list"]
    lines = CliRunner().invoke(app, base).stdout.splitlines()
    assert len(lines) == 2 and len(lines[1].split("\t")) == 9, lines
    name, _, _, _, _, _, source, _, _ = lines[1].split("\t")
    assert (name, source) == ("old\\u202ename.pdf", "/srv/drop/Q3\\n\\x1b[2Jrep\\u202eort.pdf")
    listed = CliRunner().invoke(app, [*base, "--json"])
    assert [d["source"] for d in json.loads(listed.stdout)] == [raw]


def test_an_editors_tags_reach_the_operators_terminal_escaped(tmp_path: Path) -> None:
    """Tags are an editor's (``PATCH /v1/documents/{id}``), and the table and ``set-tags`` printed them as
    they were: a CSI (U+009B) acted on the operator's terminal, a line separator split the row for
    ``str.splitlines`` readers, a bidi override reversed what followed. Tags stored before
    ``figvault/tags.py`` refused such characters are now shown escaped (failed before: the row split, the
    characters raw); the JSON keeps them exact."""
    stored = ["a\x9b2Jb", "c\u2028d", "pay\u202elortnoc"]
    settings = load_settings("offline", data_dir=tmp_path)
    registry = DocumentRegistry.open(settings)
    registry.put(
        DocumentRecord(doc_id="doc_a", tenant="default", name="a.pdf", state=DocState.INDEXED, tags=stored)
    )
    base = ["--config", "offline", "--data-dir", str(tmp_path), "documents"]
    lines = CliRunner().invoke(app, [*base, "list"]).stdout.splitlines()
    assert len(lines) == 2 and len(lines[1].split("\t")) == 9, lines
    assert lines[1].split("\t")[7] == "a\\x9b2Jb,c\\u2028d,pay\\u202elortnoc"
    listed = CliRunner().invoke(app, [*base, "list", "--json"])
    assert json.loads(listed.stdout)[0]["tags"] == stored
    changed = CliRunner().invoke(app, [*base, "set-tags", "doc_a", "--tags", "ok"])
    assert changed.exit_code == 0, changed.output
    assert "a\\x9b2Jb,c\\u2028d,pay\\u202elortnoc -> ok;" in changed.stdout
    assert not any(ch in changed.stdout for ch in "\x9b\u2028\u202e")
