"""A document found by id or name is read through the id and name indexes, never by reading every document
of its tenant: ``tenant = ? AND (doc_id IN ... OR name IN ...)`` made SQLite walk the tenant's rows (0.54 ms
at 2,000 documents, 3.2 ms at 20,000; a scale audit, 2026-12-07), and every document route, the search's
document filter and ingest's per-file lookup ask it (an ingest of N files: N times the tenant)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from figvault.db import Database
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry

CAFE_NFD = unicodedata.normalize("NFD", "café.pdf")


@contextmanager
def statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements (and their parameters) sent to ``db`` inside the ``with``."""
    sent: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def sqlite_plan(db: Database, statement: str, parameters: Any) -> list[str]:
    with db.engine.connect() as conn:
        return [str(r[-1]) for r in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)]


def _registry(db: Database) -> DocumentRegistry:
    registry = DocumentRegistry(db)
    rows = [("doc_a", "report.pdf"), ("doc_b", "report.pdf"), ("doc_c", "doc_a"), ("doc_d", "café.pdf")]
    rows += [(f"doc_x{n:03d}", f"other{n}.pdf") for n in range(30)]
    for doc_id, name in rows:
        registry.put(DocumentRecord(doc_id=doc_id, tenant="acme", name=name, state=DocState.INDEXED))
    registry.put(DocumentRecord(doc_id="doc_a", tenant="else", name="report.pdf", state=DocState.INDEXED))
    return registry


def test_lookups_by_id_or_name_find_what_they_found(registry_db: Database) -> None:
    """The same records in the same order: the id first, then by id; each record once; names in either
    Unicode form; the tenant's own only."""
    registry = _registry(registry_db)
    ids = lambda records: [r.doc_id for r in records]  # noqa: E731
    assert ids(registry.matching("acme", "doc_a")) == ["doc_a", "doc_c"]  # the id, then a name equal to it
    assert ids(registry.matching("acme", "report.pdf")) == ["doc_a", "doc_b"]
    assert ids(registry.matching("acme", CAFE_NFD)) == ["doc_d"]
    assert ids(registry.matching("acme", "nothing")) == []
    assert ids(registry.matching("else", "doc_a")) == ["doc_a"]
    keys = ["report.pdf", "doc_a", "doc_x005", CAFE_NFD, "gone"]
    assert ids(registry.matching_any("acme", keys)) == ["doc_a", "doc_b", "doc_c", "doc_d", "doc_x005"]
    assert registry.matching_any("acme", []) == []
    assert [r.tenant for r in registry.matching_any("else", keys)] == ["else"]


def _lookups(registry: DocumentRegistry) -> list[Callable[[], object]]:
    return [
        lambda: registry.matching("acme", "doc_x007"),
        lambda: registry.matching("acme", CAFE_NFD),
        lambda: registry.matching_any("acme", ["doc_x001", "other2.pdf", "doc_x003"]),
    ]


def test_lookups_by_id_or_name_search_the_indexes(registry_db: Database) -> None:
    if registry_db.is_postgresql:
        pytest.skip("the scan of the tenant was SQLite's plan")
    registry = _registry(registry_db)
    for lookup in _lookups(registry):
        with statements(registry_db) as sent:
            lookup()
        for statement, parameters in sent:
            plan = sqlite_plan(registry_db, statement, parameters)
            searches = [line for line in plan if line.startswith(("SEARCH documents", "SCAN documents"))]
            assert searches, plan
            for line in searches:  # each read goes by tenant and id, or tenant and name
                assert "tenant=? AND doc_id=?" in line or "tenant=? AND name=?" in line, plan
