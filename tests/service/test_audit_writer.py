"""The audit writer (service/audit_writer.py): rows of searches committed in batches off the request path,
and none lost: on shutdown, when the queue is full, when the registry fails for a while or for good.
No timing assertions: the writer is held by events, and the waits it has are shortened to run the paths."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from figvault.access import Principal
from figvault.db import Database, open_database, sqlite_url
from figvault.db.models import audit as audit_table
from figvault.pipeline import audit
from figvault.service import audit_writer
from figvault.service.audit_writer import AuditWriter
from tests.service.conftest import World

READER = Principal(user="ada", groups=frozenset({"g0"}), tenant="acme")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(sqlite_url(tmp_path / "registry.sqlite3"))
    yield database
    database.dispose()


def queries(db: Database) -> list[str]:
    with db.read() as conn:
        return list(conn.execute(select(audit_table.c.query).order_by(audit_table.c.id)).scalars())


def row(query: str) -> dict[str, Any]:
    return audit.row(READER, "search", query=query, unit_ids=["u1"], detail={"top_k": 10})


class Switch:
    """``write_rows`` that fails while ``broken``; in the writer thread it waits while ``held`` is clear."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.broken = False
        self.held = threading.Event()
        self.held.set()
        self.attempts = 0
        self.failed = threading.Event()
        monkeypatch.setattr(audit_writer, "write_rows", self)

    def __call__(self, conn: Database, rows: list[dict[str, Any]]) -> None:
        if threading.current_thread().name == "figvault-audit":
            self.attempts += 1
            assert self.held.wait(60), "the test never released the writer"
        if self.broken:
            self.failed.set()
            raise OSError("registry unavailable")
        audit.write_rows(conn, rows)


def test_close_commits_every_row_of_many_threads(db: Database) -> None:
    writer = AuditWriter(lambda: db, capacity=64).start()
    threads = [
        threading.Thread(target=lambda t=t: [writer.submit(row(f"q{t}-{i}")) for i in range(150)])
        for t in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    written = queries(db)
    assert sorted(written) == sorted(f"q{t}-{i}" for t in range(8) for i in range(150))
    assert writer.batches < len(written)  # batched: fewer commits than rows


def test_capacity_zero_writes_in_the_caller(db: Database) -> None:
    writer = AuditWriter(lambda: db, capacity=0).start()
    writer.submit(row("now"))
    assert queries(db) == ["now"]
    assert writer.direct == 1


def test_full_queue_writes_in_the_caller(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit_writer, "FULL_WAIT_S", 0.01)
    switch = Switch(monkeypatch)
    switch.held.clear()  # the writer takes the first row and waits inside its write
    writer = AuditWriter(lambda: db, capacity=1).start()
    writer.submit(row("first"))
    while switch.attempts == 0:
        threading.Event().wait(0.01)
    writer.submit(row("second"))  # queued: the queue has room for one
    writer.submit(row("third"))  # no room: written by the caller, after waiting for room
    assert writer.direct == 1
    switch.held.set()
    writer.close()
    assert sorted(queries(db)) == ["first", "second", "third"]


def test_failed_batches_are_retried_and_callers_see_the_failure(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_writer, "RETRY_S", 0.01)
    switch = Switch(monkeypatch)
    switch.broken = True
    writer = AuditWriter(lambda: db, capacity=8).start()
    writer.submit(row("queued while broken"))
    assert switch.failed.wait(30)  # the writer failed: the row waits for a retry
    while not writer.failing:
        threading.Event().wait(0.01)
    with pytest.raises(OSError):
        writer.submit(row("refused"))  # while failing, a caller writes its own row and sees the error
    switch.broken = False
    assert writer.flush(timeout=30)
    writer.close()
    assert queries(db) == ["queued while broken"]


def test_flush_waits_for_the_rows_queued_before_it_not_for_an_empty_queue(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under steady load the queue is never empty; a read of the trail (GET /v1/audit) must still get the
    rows queued before it, not wait out its whole timeout."""
    stop = threading.Event()
    writer = AuditWriter(lambda: db, capacity=8)

    def busy(conn: Database, rows: list[dict[str, Any]]) -> None:
        audit.write_rows(conn, rows)
        if not stop.is_set():
            writer.submit(row("later"))  # another search answered while this batch was committed

    monkeypatch.setattr(audit_writer, "write_rows", busy)
    writer.start()
    try:
        writer.submit(row("before"))
        assert writer.flush(timeout=5)
        assert "before" in queries(db)
    finally:
        stop.set()
        writer.close()


def test_rows_that_cannot_be_written_at_close_are_logged_in_full(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(audit_writer, "RETRY_S", 0.01)
    switch = Switch(monkeypatch)
    switch.broken = True
    writer = AuditWriter(lambda: db, capacity=8).start()
    writer.submit(row("never stored"))
    with caplog.at_level(logging.ERROR, logger="figvault.service.audit"):
        writer.close()
    assert queries(db) == []
    assert any("never stored" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_a_batch_still_in_flight_when_close_gives_up_is_not_lost_silently(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """close() waits CLOSE_WAIT_S for the writer; a batch that fails after that is logged in full too."""
    monkeypatch.setattr(audit_writer, "RETRY_S", 0.01)
    monkeypatch.setattr(audit_writer, "CLOSE_WAIT_S", 0.01)
    switch = Switch(monkeypatch)
    switch.broken = True
    switch.held.clear()  # the writer takes the row and waits inside its write
    writer = AuditWriter(lambda: db, capacity=8).start()
    writer.submit(row("slow then failing"))
    while switch.attempts == 0:
        threading.Event().wait(0.01)
    with caplog.at_level(logging.ERROR, logger="figvault.service.audit"):
        writer.close()  # gives up waiting: the row is in flight, not in the queue
        switch.held.set()
        assert writer._thread is not None
        writer._thread.join(30)
    assert any("slow then failing" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


def test_searches_answered_before_shutdown_are_all_on_the_trail(world: World) -> None:
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app

    engine = world.client.app.state.engine
    asked = [f"figure audit shutdown {i}" for i in range(12)]
    with TestClient(create_app(world.settings, engine=engine)) as client:
        assert client.app.state.audit.capacity > 0  # the writer is on, as served
        for question in asked:
            response = client.post("/v1/search", json={"query": question}, headers=world.headers("reader"))
            assert response.status_code == 200
    db = open_database(sqlite_url(world.settings.registry_path))
    assert set(asked) <= set(queries(db))


def test_pending_counts_the_rows_waiting_and_the_batch_in_flight(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The gauge figvault_audit_pending_rows: a row being committed is pending, a committed one is not."""
    switch = Switch(monkeypatch)
    switch.held.clear()  # the writer takes the first row and waits inside its write
    writer = AuditWriter(lambda: db, capacity=8).start()
    writer.submit(row("in flight"))
    while switch.attempts == 0:
        threading.Event().wait(0.01)
    writer.submit(row("waiting"))
    assert writer.pending() == 2
    switch.held.set()
    assert writer.flush(timeout=30)
    assert writer.pending() == 0
    writer.close()


def test_rows_waiting_behind_a_stuck_write_are_written_by_close(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """close() stops waiting for a writer stuck in a write: it writes the rows waiting itself, and the stuck
    batch is still committed by the writer once its write returns."""
    monkeypatch.setattr(audit_writer, "CLOSE_WAIT_S", 0.01)
    switch = Switch(monkeypatch)
    switch.held.clear()
    writer = AuditWriter(lambda: db, capacity=8).start()
    writer.submit(row("stuck"))
    while switch.attempts == 0:
        threading.Event().wait(0.01)
    writer.submit(row("waiting"))
    writer.close()
    assert queries(db) == ["waiting"]
    switch.held.set()
    assert writer._thread is not None
    writer._thread.join(30)
    assert sorted(queries(db)) == ["stuck", "waiting"]
    assert writer.pending() == 0
