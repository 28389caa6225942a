"""A folder's files changing under a running ingest (twelfth hostile pass): one deleted between the listing
and its extraction, one replaced by other bytes after the plan hashed it. Each fails alone, the rest of the
batch is ingested, the next run reads the new version, and running the ingest again changes nothing. Until
2026-12-06 the replaced file was stored as the bytes the worker read; now bytes other than those the plan
hashed fail the file (``CHANGED_SINCE_READ``): the same swap made with a link out of the folder stored a
file from outside it (tests/pipeline/test_swapped_after_listing.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest

from figvault.ingest.extract import CHANGED_SINCE_READ
from figvault.pipeline import stages
from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, SKIPPED, ingest_paths
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    s = load_settings("offline", data_dir=tmp_path / "data")
    s.extract.workers = 1
    return s


def test_files_deleted_or_replaced_while_the_batch_runs_fail_or_are_read_alone(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i, name in enumerate(("gone.pdf", "kept.pdf", "swapped.pdf")):
        figure_pdf(folder / name, seed=i)
    other = figure_pdf(tmp_path / "other.pdf", seed=7)
    real = stages.extract_limited

    def changing(path: Path, *args: Any, **kwargs: Any) -> Any:
        if path.name == "gone.pdf":
            path.unlink()
        elif path.name == "swapped.pdf":
            os.replace(other, path)  # as a sync tool writes a new version: rename over the old
        return real(path, *args, **kwargs)

    monkeypatch.setattr(stages, "extract_limited", changing)
    report = ingest_paths(settings, [folder], groups=["eng"], tenant="acme", progress=False)
    outcome = {Path(d.path).name: d for d in report.documents}
    assert outcome["gone.pdf"].status == FAILED and "No such file or directory" in outcome["gone.pdf"].error
    assert str(folder) not in outcome["gone.pdf"].error
    assert outcome["kept.pdf"].status == INDEXED
    assert (outcome["swapped.pdf"].status, outcome["swapped.pdf"].error) == (FAILED, CHANGED_SINCE_READ)

    monkeypatch.setattr(stages, "extract_limited", real)
    again = ingest_paths(settings, [folder], groups=["eng"], tenant="acme", progress=False)
    assert {Path(d.path).name: d.status for d in again.documents} == {
        "kept.pdf": SKIPPED,
        "swapped.pdf": INDEXED,
    }
    records = {r.name: r for r in DocumentRegistry.open(settings).list("acme")}
    assert records["swapped.pdf"].sha256 == hashlib.sha256((folder / "swapped.pdf").read_bytes()).hexdigest()
    for _ in range(2):  # again: nothing read is changed; the gone file is no longer listed
        again = ingest_paths(settings, [folder], groups=["eng"], tenant="acme", progress=False)
        assert sorted((Path(d.path).name, d.status) for d in again.documents) == [
            ("kept.pdf", SKIPPED),
            ("swapped.pdf", SKIPPED),
        ]
