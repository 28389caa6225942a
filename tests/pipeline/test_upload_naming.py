"""An upload's documents are chosen by name once per name, whoever uploads and however many at once.

Before (a read-only audit, 2026-12-07): two editors of one group uploading one name at the same moment
each looked the name up, found nothing and registered a document of their own (8 editors: up to 8
documents named alike, after which every upload of the name answered 409); and two files of one name in
one upload both went to one document, the first file silently lost.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from figvault.access import Credential, Principal, Role
from figvault.errors import FigvaultError
from figvault.pipeline import ingest_job
from figvault.pipeline.ingest_job import queue_upload_job
from figvault.pipeline.jobs import JobStore
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

EDITORS = 6


def _editor(number: int) -> Principal:
    return Principal(
        user=f"ed{number}",
        tenant="acme",
        groups=["eng"],
        roles=[Role.EDITOR],
        credential=Credential(kind="api_key", key_id=f"k{number}"),
    )


@pytest.fixture
def naming_settings(
    offline_settings: Settings, registry_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """``offline_settings`` on each registry backend; on PostgreSQL with a pool of 3 connections (3 s to get
    one): uploads waiting for the naming lock inside ``pg_advisory_lock`` held the pool's connections, and
    the holder waited for one to do its lookups (a review, 2026-12-07: 30 uploads, the 25 of the default
    pool, a 30 s stall and 6 TimeoutErrors)."""
    from figvault.db import database

    real = database.create_engine

    def small_pool(url: Any, **kwargs: Any) -> Any:
        if str(url).startswith("postgresql"):
            kwargs |= {"pool_size": 3, "max_overflow": 0, "pool_timeout": 3}
        return real(url, **kwargs)

    monkeypatch.setattr(database, "create_engine", small_pool)
    offline_settings.registry.url = registry_url
    return offline_settings


def test_editors_uploading_one_name_at_once_get_one_document(
    naming_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_settings = naming_settings
    looked_up = ingest_job.resolve_target

    def slow_lookup(*args: Any, **kwargs: Any) -> Any:
        found = looked_up(*args, **kwargs)
        time.sleep(0.3)  # every editor has looked the name up before any registers it (as on a busy server)
        return found

    monkeypatch.setattr(ingest_job, "resolve_target", slow_lookup)
    jobs = JobStore.open(offline_settings)
    start = threading.Barrier(EDITORS)
    chosen: list[str] = []

    def upload(number: int) -> None:
        spooled = figure_pdf(tmp_path / f"spool-{number}.pdf", seed=11)
        start.wait()
        job = queue_upload_job(
            offline_settings,
            jobs,
            [("Q3.pdf", spooled)],
            groups=["eng"],
            tenant="acme",
            started_by=f"ed{number}",
            principal=_editor(number),
        )
        chosen.append(job.params["uploads"][0]["doc_id"])

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(EDITORS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(chosen) == EDITORS and len(set(chosen)) == 1
    assert [r.doc_id for r in DocumentRegistry(jobs.db).list("acme")] == chosen[:1]


def test_two_files_of_one_name_in_one_upload_are_refused(offline_settings: Settings, tmp_path: Path) -> None:
    jobs = JobStore.open(offline_settings)
    files = [("Q3.pdf", figure_pdf(tmp_path / f"spool-{seed}.pdf", seed=seed)) for seed in (11, 12)]
    with pytest.raises(FigvaultError, match=r"two files named 'Q3\.pdf'"):
        queue_upload_job(offline_settings, jobs, files, groups=["eng"], tenant="acme", started_by="a")
    assert DocumentRegistry(jobs.db).list("acme") == []  # nothing registered, nothing queued
    assert jobs.list(tenants=["acme"]) == []


def test_one_thread_of_a_process_waits_for_the_naming_lock_in_postgresql(
    offline_settings: Settings, postgres_server: Any
) -> None:
    """Each upload waiting in ``pg_advisory_lock`` held a connection of its own: 40 request threads of a
    replica passed the server's max_connections and every client's new connection failed (a review). Now
    one thread of a process waits in the server, the others in the process."""
    from sqlalchemy import text

    from figvault.db import open_registry
    from figvault.pipeline.store_lock import document_naming_lock

    offline_settings.registry.url = postgres_server.new_database()
    db = open_registry(offline_settings)
    held, release = threading.Event(), threading.Event()

    def holder() -> None:
        with document_naming_lock(offline_settings):
            held.set()
            release.wait(60)

    def waiter() -> None:
        with document_naming_lock(offline_settings):
            pass

    threads = [threading.Thread(target=holder)] + [threading.Thread(target=waiter) for _ in range(6)]
    threads[0].start()
    assert held.wait(60)
    for thread in threads[1:]:
        thread.start()
    time.sleep(1.0)  # the waiters have asked (none can get the lock while it is held)
    sessions = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        " AND query LIKE '%pg_advisory_lock%'"
    )
    with db.engine.connect() as conn:
        locking = conn.execute(sessions).scalar()
    release.set()
    for thread in threads:
        thread.join(60)
    assert not [thread for thread in threads if thread.is_alive()]  # every waiter got the lock in turn
    assert locking is not None and locking <= 2  # the holder's session and one waiter's
