"""The registry's frequent reads go through an index (migration 0012), not through every row of a table: the
job runner's round on every replica (documents left ``rewriting``, failed jobs awaiting a retry), each
upload's admission (the caller's pending ingest jobs) and the audit trail's action filter. Without them each
read grew with the whole table (a scale audit, 2026-12-07: 20,000 documents and jobs, 200,000 entries)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect as sa_inspect

from figvault.access import Principal, Role
from figvault.db import Database
from figvault.db.migrate import current, downgrade, head, upgrade
from figvault.pipeline import audit
from figvault.pipeline.jobs import AWAITING_RETRY, JobState, JobStore, remove_unretried
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.service.pending_ingests import check_pending_ingests
from figvault.settings import Settings
from tests.core.test_registry_schema import schema_diff
from tests.pipeline.test_registry_lookups import statements

EDITOR = Principal(user="ana", account="usr_a", tenant="acme", groups=["eng"], roles=[Role.EDITOR])
NEW_INDEXES = {
    "documents": {"documents_rewriting"},
    "jobs": {"jobs_state_phase", "jobs_tenant_starter"},
    "audit": {"audit_tenant_action"},
}


def plans(db: Database, read: Callable[[], Any], marker: str) -> list[list[str]]:
    """The plan of each statement ``read`` sends whose SQL names ``marker`` (PostgreSQL: sequential scans
    off, its choice on a few rows is not the point)."""
    with statements(db) as sent:
        read()
    chosen = [(s, p) for s, p in sent if marker in s and s.lstrip().upper().startswith("SELECT")]
    assert chosen, [s for s, _ in sent]
    out = []
    with db.engine.connect() as conn:
        for statement, parameters in chosen:
            if db.is_postgresql:
                conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
                rows = conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all()
                out.append([str(r[0]) for r in rows])
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                out.append([str(r[-1]) for r in rows])
    return out


def _fill(db: Database) -> None:
    registry, store = DocumentRegistry(db), JobStore(db)
    for n in range(20):
        registry.put(DocumentRecord(doc_id=f"doc_{n}", tenant="acme", name="f.pdf", state=DocState.INDEXED))
    for n in range(20):
        job = store.create("ingest", {}, started_by="ana", tenant="acme", started_by_id=f"usr_{n % 3}")
        if n % 2:
            store.finish(job.id, JobState.FAILED, "x", phase=AWAITING_RETRY if n % 4 == 1 else None)
    for n in range(20):
        audit.record(db, EDITOR, "delete" if n % 5 == 0 else "search")


def _uses(plan: list[str], index: str) -> bool:
    return any(index in line for line in plan)


def test_the_runner_round_and_admission_read_by_index(
    registry_db: Database, offline_settings: Settings
) -> None:
    _fill(registry_db)
    store, settings = JobStore(registry_db), offline_settings
    for plan in plans(registry_db, DocumentRegistry(registry_db).rewriting, "rewriting"):
        assert _uses(plan, "documents_rewriting"), plan
    for plan in plans(registry_db, lambda: remove_unretried(settings, store), "phase"):
        assert _uses(plan, "jobs_state_phase"), plan
    settings.service.max_pending_ingests = 5
    admission = plans(registry_db, lambda: check_pending_ingests(settings, store, EDITOR), "started_by_id")
    assert len(admission) == 2
    for plan in admission:
        assert _uses(plan, "jobs_tenant_starter"), plan


def test_the_audit_trails_action_filter_reads_by_index(registry_db: Database) -> None:
    _fill(registry_db)
    page = audit.list_entries(registry_db, "acme", limit=2, action="delete")
    assert [e.action for e in page.entries] == ["delete", "delete"] and page.total == 4
    read = lambda: audit.list_entries(registry_db, "acme", action="delete")  # noqa: E731
    for plan in plans(registry_db, read, "action"):
        assert _uses(plan, "audit_tenant_action"), plan


def _indexes(db: Database) -> dict[str, set[str]]:
    with db.read() as conn:
        inspector = sa_inspect(conn)
        return {table: {ix["name"] for ix in inspector.get_indexes(table)} for table in NEW_INDEXES}


@pytest.mark.usefixtures("offline_settings")
def test_a_registry_of_the_previous_schema_gets_the_indexes(registry_db: Database) -> None:
    """A registry at 0011 with rows in it upgrades in place; a downgrade takes the indexes away again."""
    downgrade(registry_db, "0011")
    assert all(not (NEW_INDEXES[t] & names) for t, names in _indexes(registry_db).items())
    _fill(registry_db)
    upgrade(registry_db)
    assert current(registry_db) == head() and schema_diff(registry_db) == []
    assert all(NEW_INDEXES[t] <= names for t, names in _indexes(registry_db).items())
    assert len(DocumentRegistry(registry_db).list("acme")) == 20
    assert len(JobStore(registry_db).list(states=[JobState.FAILED], phase=AWAITING_RETRY)) == 5
