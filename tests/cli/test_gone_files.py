"""A document whose file was deleted from an ingested folder: before, the registry kept no source path, so
the document stayed searchable forever and no ingest said a word. Now ingest names the documents of the
folder whose files are gone, keeps them unless ``--prune`` is given, and ``documents list`` shows each
document's source (same-named twins from two folders are told apart)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from figvault.pipeline import audit
from figvault.pipeline.registry import DocumentRegistry, connect
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf
from tests.helpers.cli import run


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    for sub in ("a", "b"):
        (docs / sub).mkdir(parents=True)
    figure_pdf(docs / "a" / "report.pdf", seed=1)
    figure_pdf(docs / "b" / "report.pdf", seed=2)  # a twin: same name, another folder, other bytes
    figure_pdf(docs / "plan.pdf", seed=3)
    return docs


def test_gone_files_are_named_kept_and_pruned_only_on_request(tmp_path: Path, folder: Path) -> None:
    data = tmp_path / "data"
    code, _, err = run(data, "ingest", str(folder), "--groups", "eng", "-q")
    assert code == 0, err
    code, out, _ = run(data, "documents", "list", "--json")
    sources = sorted(d["source"] for d in json.loads(out))
    assert sources == sorted(str(folder / p) for p in ("a/report.pdf", "b/report.pdf", "plan.pdf"))
    code, out, _ = run(data, "documents", "list")
    assert str(folder / "a" / "report.pdf") in out and str(folder / "b" / "report.pdf") in out

    # A moved file (same name, same bytes) is found again: its source follows it, nothing is gone.
    (folder / "c").mkdir()
    shutil.move(folder / "plan.pdf", folder / "c" / "plan.pdf")
    code, _, err = run(data, "ingest", str(folder), "--groups", "eng", "-q")
    assert code == 0 and "gone" not in err, err

    (folder / "a" / "report.pdf").unlink()
    code, _, err = run(data, "ingest", str(folder), "--groups", "eng", "-q")
    registry = DocumentRegistry.open(load_settings("offline", data_dir=data))
    [gone] = [r for r in registry.list("default") if r.source == str(folder / "a" / "report.pdf")]
    assert code == 0, err
    assert f"note: 1 document whose files are gone: {gone.source} ({gone.doc_id});" in err
    assert "or this ingest again with --prune, removes them" in err
    assert len(registry.list("default")) == 3  # never removed by default

    # Another folder's ingest says nothing of this one's documents.
    other = tmp_path / "other"
    other.mkdir()
    figure_pdf(other / "x.pdf", seed=4)
    code, _, err = run(data, "ingest", str(other), "--groups", "eng", "-q")
    assert code == 0 and "gone" not in err, err

    code, _, err = run(data, "ingest", str(folder), "--groups", "eng", "-q", "--prune")
    assert code == 0, err
    assert f"pruned 1 document whose files are gone: {gone.source} ({gone.doc_id})" in err
    left = {r.source for r in registry.list("default")}
    assert left == {str(folder / "b" / "report.pdf"), str(folder / "c" / "plan.pdf"), str(other / "x.pdf")}
    [entry] = audit.list_entries(connect(load_settings("offline", data_dir=data)), "default", limit=1).entries
    assert entry.action == "delete" and entry.detail == {"doc_id": gone.doc_id, "pruned": gone.source}
