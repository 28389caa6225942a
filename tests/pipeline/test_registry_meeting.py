"""A caller's documents are selected in SQL (``registry.meets`` through ``page`` and ``count``), not by
parsing every record of the tenant: that listing's time grew with the documents the caller may not see
(5,000 of them: 7 ms to 132 ms for ``GET /v1/documents`` and the empty search's hint; an audit,
2026-12-07), which told their number. The condition is exact: a group's documents, no other (case, a
JSON string inside another's, either encoding of non-ASCII text), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from figvault.db import Database
from figvault.db.models import documents
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings

AWKWARD = ["g1", "100%", "a_b", 'say "hi"', "back\\slash", "Équipe", "日本", "G1", 'x","g1']
"""Groups that a LIKE on the JSON text confuses: case, wildcards, quotes, escapes, and one whose JSON text
holds another group's ('x","g1' holds "g1")."""


def _put(registry: DocumentRegistry, doc_id: str, groups: list[str]) -> None:
    registry.put(
        DocumentRecord(
            doc_id=doc_id, tenant="acme", name=f"{doc_id}.pdf", state=DocState.INDEXED, groups=groups
        )
    )


def _selected(registry: DocumentRegistry, meeting: list[str]) -> list[str]:
    """The ids ``page`` lists for ``meeting`` (checked against ``count``, which must agree)."""
    page = registry.page("acme", meeting=meeting)
    ids = [r.doc_id for r in page.records]
    assert page.total == len(ids) == registry.count("acme", meeting=meeting)
    return ids


def test_exactly_the_documents_of_a_group_are_selected(registry_db: Database) -> None:
    registry = DocumentRegistry(registry_db)
    for number, other in enumerate(AWKWARD):
        _put(registry, f"doc_{number}", [other])
        _put(registry, f"doc_{number}_pair", ["zz", other])
    _put(registry, "doc_none", [])
    for group in AWKWARD:
        mine = sorted(r.doc_id for r in registry.list("acme") if group in r.groups)
        assert len(mine) == 2 and _selected(registry, [group]) == mine, group  # "G1" never meets "g1"
    assert _selected(registry, []) == []


def test_a_record_written_with_escaped_unicode_is_selected(registry_db: Database) -> None:
    """Records whose groups were written as ASCII JSON (``\\u00c9quipe``) are found by the group too."""
    registry = DocumentRegistry(registry_db)
    _put(registry, "doc_old", ["Équipe"])
    with registry.db.write() as conn:
        conn.execute(update(documents).values(groups_json=json.dumps(["Équipe"], ensure_ascii=True)))
    assert _selected(registry, ["Équipe"]) == ["doc_old"]


def test_a_caller_of_thousands_of_groups_gets_exactly_its_documents(registry_db: Database) -> None:
    """One condition of 1,000 groups was past SQLite's expression depth (1,000): a caller of that many
    groups (a JWT's claim, a user's list: no bound) got 500 from its listing and its empty searches. Past
    MEETING_CHUNK groups ``meets`` drops its LIKE prefilter and still selects exactly."""
    registry = DocumentRegistry(registry_db)
    groups = [f"team-{n:04d}" for n in range(2_500)]
    for number in (0, 999, 1_000, 2_499):
        _put(registry, f"doc_{number}", ["other", groups[number]])
    _put(registry, "doc_outside", ["other"])
    assert _selected(registry, groups) == ["doc_0", "doc_1000", "doc_2499", "doc_999"]  # each once, by id


def test_a_name_lookup_reads_only_records_the_caller_may_meet(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A document route or a search's ``doc_ids`` given a name that many documents of other groups carry
    read and checked every one of them: 124 ms against 6 ms for an unknown name at 3,000 (a trust audit,
    2026-12-07), which told how many there were. Counted as records read, not timed."""
    from figvault.access import Principal, Role
    from figvault.pipeline.doc_identity import with_filter_ids
    from figvault.search_models import SearchFilters
    from figvault.service.visible_documents import find_document

    registry = DocumentRegistry.open(offline_settings)
    for number in range(40):
        registry.put(
            DocumentRecord(
                doc_id=f"doc_{number:02d}",
                tenant="acme",
                name="plan.pdf",
                state=DocState.INDEXED,
                groups=["other"],
            )
        )
    registry.put(
        DocumentRecord(
            doc_id="doc_mine", tenant="acme", name="plan.pdf", state=DocState.INDEXED, groups=["g"]
        )
    )
    read: list[str] = []
    real = DocumentRegistry._record

    def counted(row: object) -> DocumentRecord:
        record = real(row)
        read.append(record.doc_id)
        return record

    monkeypatch.setattr(DocumentRegistry, "_record", staticmethod(counted))
    caller = Principal(user="u", tenant="acme", groups=["g"], roles=[Role.READER])
    found = find_document(registry.db, caller, "plan.pdf")
    assert found is not None and found.doc_id == "doc_mine" and read == ["doc_mine"]
    read.clear()
    filters = with_filter_ids(registry, caller, SearchFilters(doc_ids=["plan.pdf"]))
    assert filters.doc_ids == ["doc_mine"] and read == ["doc_mine"]
    # However many groups the caller holds (past MEETING_CHUNK the LIKE prefilter is not used: a review).
    read.clear()
    many = Principal(
        user="m", tenant="acme", groups=["g", *(f"t{n}" for n in range(150))], roles=[Role.READER]
    )
    found = find_document(registry.db, many, "plan.pdf")
    assert found is not None and found.doc_id == "doc_mine" and read == ["doc_mine"]
