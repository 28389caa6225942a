"""Dropping an upload's placeholder never removes a document another job wrote in the meantime."""

from __future__ import annotations

from typing import Any

import pytest

from figvault.pipeline.ingest_job import drop_placeholders
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings


def test_a_placeholder_indexed_by_another_job_meanwhile_is_kept(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = DocumentRegistry.open(offline_settings)
    indexed = DocumentRecord(doc_id="d1", tenant="t", name="d1.pdf", sha256="a", units=3, state="indexed")
    for doc_id in ("d1", "d2"):
        registry.put(DocumentRecord(doc_id=doc_id, tenant="t", name=f"{doc_id}.pdf", state=DocState.PENDING))
    write, raced = registry.db.write, []

    def other_job_indexes_d1_first(*args: Any, **kwargs: Any) -> Any:
        if not raced:  # the first write of drop_placeholders: another job indexes d1 just before it
            raced.append(True)
            registry.put(indexed)
        return write(*args, **kwargs)

    monkeypatch.setattr(registry.db, "write", other_job_indexes_d1_first)
    drop_placeholders(registry, "t", [{"doc_id": "d1", "new": True}, {"doc_id": "d2", "new": True}])
    kept = registry.get("t", "d1")
    assert kept is not None and kept.state == DocState.INDEXED and kept.units == 3
    assert registry.get("t", "d2") is None  # an untouched placeholder still goes
