"""A caller's documents are selected in SQL (``registry.may_meet``), not by parsing every record of the
tenant: that listing's time grew with the documents the caller may not see (5,000 of them: 7 ms to 132 ms
for ``GET /v1/documents`` and the empty search's hint; an audit, 2026-12-07), which told their number.
The SQL condition may select more than it should (the caller checks each record) but never less."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from figvault.db.models import documents
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings

AWKWARD = ["g1", "100%", "a_b", 'say "hi"', "back\\slash", "Équipe", "日本", "G1"]


def _put(registry: DocumentRegistry, doc_id: str, groups: list[str]) -> None:
    registry.put(
        DocumentRecord(
            doc_id=doc_id, tenant="acme", name=f"{doc_id}.pdf", state=DocState.INDEXED, groups=groups
        )
    )


@pytest.mark.parametrize("group", AWKWARD)
def test_every_document_of_a_group_is_selected_and_others_mostly_not(
    offline_settings: Settings, group: str
) -> None:
    registry = DocumentRegistry.open(offline_settings)
    for number, other in enumerate(AWKWARD):
        _put(registry, f"doc_{number}", [other])
        _put(registry, f"doc_{number}_pair", ["zz", other])
    _put(registry, "doc_none", [])
    selected = {r.doc_id for r in registry.list("acme", meeting=[group])}
    mine = {r.doc_id for r in registry.list("acme") if group in r.groups}
    assert mine and mine <= selected
    assert "doc_none" not in selected and len(selected) <= 2 * len(mine)  # SQLite's LIKE: "G1" meets "g1"
    assert registry.list("acme", meeting=[]) == []


def test_a_record_written_with_escaped_unicode_is_selected(offline_settings: Settings) -> None:
    """Records whose groups were written as ASCII JSON (``\\u00c9quipe``) are found by the group too."""
    registry = DocumentRegistry.open(offline_settings)
    _put(registry, "doc_old", ["Équipe"])
    with registry.db.write() as conn:
        conn.execute(update(documents).values(groups_json=json.dumps(["Équipe"], ensure_ascii=True)))
    assert [r.doc_id for r in registry.list("acme", meeting=["Équipe"])] == ["doc_old"]


def test_a_caller_of_thousands_of_groups_gets_the_tenants_documents_to_check(
    offline_settings: Settings,
) -> None:
    """One condition of 1,000 groups was past SQLite's expression depth (1,000): a caller of that many
    groups (a JWT's claim, a user's list: no bound) got 500 from its listing and its empty searches. Past
    MEETING_CHUNK groups the registry gives every document of the tenant, which the caller checks."""
    registry = DocumentRegistry.open(offline_settings)
    groups = [f"team-{n:04d}" for n in range(2_500)]
    for number in (0, 999, 1_000, 2_499):
        _put(registry, f"doc_{number}", ["other", groups[number]])
    _put(registry, "doc_outside", ["other"])
    selected = [r.doc_id for r in registry.list("acme", meeting=groups)]
    assert selected == ["doc_0", "doc_1000", "doc_2499", "doc_999", "doc_outside"]  # each once, by id


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
