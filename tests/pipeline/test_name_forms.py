"""A document's name in either Unicode form finds it. Stored names are NFC (``display_name``); a name sent
decomposed (NFD, as macOS writes file names) answered 404 by ``GET /v1/documents/{name}`` and as an
upload's ``doc_id`` (an audit, 2026-12-07), and selected nothing as a search's document filter."""

from __future__ import annotations

import unicodedata

from figvault.pipeline.doc_identity import filter_ids, find_document
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings

COMPOSED = unicodedata.normalize("NFC", "Résumé.pdf")
DECOMPOSED = unicodedata.normalize("NFD", COMPOSED)


def test_a_decomposed_name_finds_the_document_and_an_id_matches_only_as_given(
    offline_settings: Settings,
) -> None:
    assert COMPOSED != DECOMPOSED
    registry = DocumentRegistry.open(offline_settings)
    record = DocumentRecord(doc_id="doc_1", tenant="acme", name=COMPOSED, state=DocState.INDEXED, units=1)
    registry.put(record)
    # A document from before server-chosen ids keeps its raw (here decomposed) file name as its id.
    registry.put(record.model_copy(update={"doc_id": DECOMPOSED, "name": "other.pdf"}))
    found = find_document(registry, "acme", DECOMPOSED)
    assert found is not None and found.doc_id == DECOMPOSED  # an exact id still wins over a name
    assert find_document(registry, "acme", COMPOSED).doc_id == "doc_1"  # type: ignore[union-attr]
    registry.delete("acme", DECOMPOSED)
    assert find_document(registry, "acme", DECOMPOSED).doc_id == "doc_1"  # type: ignore[union-attr]
    assert filter_ids(registry, "acme", [DECOMPOSED], lambda _r: True) == ["doc_1"]
    assert find_document(registry, "other", DECOMPOSED) is None
