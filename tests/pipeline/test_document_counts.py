"""What a document count holds (pipeline/document_counts.py): the documents a search can find, the failed
ones said apart. A replacement whose ingest failed keeps its older version's units, which a search still
finds: it is counted searchable and failed both (fe58312's docstring says so; no test held it)."""

from __future__ import annotations

from figvault.pipeline.document_counts import DocumentCounts, searchable
from figvault.pipeline.registry import DocState, DocumentRecord


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
