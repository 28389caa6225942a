"""Each figure image is hashed once per ingest: its sha256 (the blob key, the unit's ``image``) is computed
when its unit is prepared and reused to note and store the blob. At 0.4 s per 643 MB of PNGs, hashing it
again for the note and again in ``BlobStore.put`` cost a large document over a second for nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from figvault.pipeline.ingest_pipeline import INDEXED, ingest_paths
from figvault.settings import Settings
from figvault.storage import BlobStore
from tests.generated_docs import figure_pdf


def test_each_image_is_hashed_once(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hashed: Counter[bytes] = Counter()
    key_for = BlobStore.key_for

    def counting(data: bytes) -> str:
        hashed[data] += 1
        return key_for(data)

    monkeypatch.setattr(BlobStore, "key_for", staticmethod(counting))
    doc = figure_pdf(tmp_path / "report.pdf", seed=3)
    report = ingest_paths(settings, [doc], groups=["eng"], tenant="acme", progress=False)
    assert [d.status for d in report.documents] == [INDEXED]
    assert report.units == 2
    blobs = BlobStore.from_settings(settings)
    listed = blobs.keys()  # a BlobStore, not a dict: its keys are listed from storage
    stored = {key: blobs.get(key) for key in listed}
    assert len(stored) == 2
    # Every stored image under its true hash, each hashed once.
    assert all(key_for(png) == key for key, png in stored.items())
    assert sorted(hashed[png] for png in stored.values()) == [1, 1]
