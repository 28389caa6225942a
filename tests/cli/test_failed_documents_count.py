"""Documents whose ingest failed are not counted as documents, and are said apart with where to read why.

The first-hour walk of 2026-12-05 ingested 2 good and 2 broken files: ``users add`` said "ana can see 4 of the
4 documents" (the failed files have registry records too) and ``documents list`` showed them as ``failed``
without the reason (only ``--json`` had it)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import load_settings


def _registry_with_two_failed(data_dir: Path) -> None:
    registry = DocumentRegistry.open(load_settings("offline", data_dir=data_dir))
    for doc_id, state, units, error in (
        ("report.pdf", DocState.INDEXED, 4, ""),
        ("deck.pptx", DocState.INDEXED, 2, ""),
        ("empty.pdf", DocState.FAILED, 0, "empty file"),
        ("secret.pdf", DocState.FAILED, 0, "encrypted PDF (password required)"),
    ):
        record = DocumentRecord(
            doc_id=doc_id,
            tenant="default",
            name=doc_id,
            state=state,
            units=units,
            groups=["eng"],
            error=error,
        )
        registry.put(record)


def test_users_add_counts_searchable_documents_and_the_failed_apart(tmp_path: Path) -> None:
    _registry_with_two_failed(tmp_path)
    load_commands()
    base = ["--config", "offline", "--data-dir", str(tmp_path), "users", "add"]
    added = CliRunner().invoke(app, [*base, "ana", "--role", "admin", "--groups", "eng"])
    assert added.exit_code == 0, added.output
    assert (
        "ana can see 2 of the 2 documents of tenant default, 2 failed:"
        " see `figvault documents list --failed`\n"
    ) in added.stderr
    blind = CliRunner().invoke(app, [*base, "bob", "--groups", "hr"])
    assert (
        "bob can see 0 of the 2 documents of tenant default: the documents' groups are eng: give bob one of"
        " them (`figvault users set bob --groups ...`), or give a document this group too (`figvault"
        " documents set-groups ID --groups` its groups and this one: the groups left out are taken away),"
        " 2 failed: see `figvault documents list --failed`\n"
    ) in blind.stderr


def test_documents_list_says_why_a_document_failed(tmp_path: Path) -> None:
    _registry_with_two_failed(tmp_path)
    load_commands()
    listed = CliRunner().invoke(
        app, ["--config", "offline", "--data-dir", str(tmp_path), "documents", "list"]
    )
    assert listed.exit_code == 0, listed.output
    table = [line.split("\t") for line in listed.stdout.splitlines()]
    assert table[0][-1] == "error"
    errors = {row[1]: (row[5], row[-1]) for row in table[1:]}
    assert errors == {
        "report.pdf": ("indexed", "-"),
        "deck.pptx": ("indexed", "-"),
        "empty.pdf": ("failed", "empty file"),
        "secret.pdf": ("failed", "encrypted PDF (password required)"),
    }


def test_users_add_in_a_data_folder_without_documents_asks_if_it_is_the_served_one(tmp_path: Path) -> None:
    """A mistyped ``--data-dir`` (or a shell without serve's FIGVAULT_DATA_DIR) made a key for a new, empty
    store, and the server answered it 401; the line said only "zed can see 0 of the 0 documents"."""
    load_commands()
    empty = tmp_path / "mistyped"
    result = CliRunner().invoke(
        app,
        ["--config", "offline", "--data-dir", str(empty), "users", "add", "zed", "--groups", "eng"],
    )
    assert result.exit_code == 0, result.output
    assert (
        f"zed can see 0 of the 0 documents of tenant default; the data folder {empty} holds no documents yet:"
        " is it the one `figvault serve` uses? (--data-dir, FIGVAULT_DATA_DIR)"
    ) in result.stderr.splitlines()
    _registry_with_two_failed(tmp_path / "real")
    served = CliRunner().invoke(
        app,
        ["--config", "offline", "--data-dir", str(tmp_path / "real"), "users", "add", "ana", "--groups", "x"],
    )
    assert "holds no documents yet" not in served.output  # a folder with documents: nothing to ask
