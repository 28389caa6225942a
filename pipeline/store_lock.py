"""A lock between writers of the served collection and the alias switch of a re-encode.

Ingest holds it *shared* while it writes one document (many ingests may run at once); a re-encode holds it
*exclusive* for its last catch-up, verification and the alias switch, so no unit can land in the old
collection after the new one was verified. Whatever holds it, a dead holder never blocks anyone:

- registry on PostgreSQL (several replicas): a session-level advisory lock (``pg_advisory_lock_shared`` /
  ``pg_advisory_lock``) on a connection of its own, keyed by the store alias; the server releases it
  when that connection ends, including when the process is killed;
- otherwise (one machine, the embedded default): ``flock`` on a file in the data folder; the kernel
  releases it when the process dies (kill -9 included).

Scope of the flock: processes sharing one data folder. Writers on several machines need the registry on
PostgreSQL (docs/deploy.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from figvault.db import Database, open_registry
from figvault.errors import StoreError
from figvault.private_dirs import make_private_dirs
from figvault.settings import Settings

LOCK_NAME = "store-write.lock"
POLL_S = 0.05
"""How often a lock with a time limit is tried again."""


class StoreBusyError(StoreError):
    """The write lock was not granted in time (an ingest or re-encode is writing)."""


def lock_path(settings: Settings) -> Path:
    return settings.data_dir / LOCK_NAME


def advisory_key(settings: Settings) -> int:
    """A signed 64-bit key for this store: writers of other aliases (other deployments) do not contend."""
    digest = hashlib.sha256(f"figvault-store-write:{settings.store.alias}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextlib.contextmanager
def store_write_lock(
    settings: Settings, *, exclusive: bool, timeout_s: float | None = None
) -> Iterator[None]:
    """Hold the lock (shared or exclusive) for the body of the ``with``; blocks until it is granted, or
    raises StoreBusyError after ``timeout_s`` seconds."""
    with _held(
        settings, advisory_key(settings), lock_path(settings), exclusive=exclusive, timeout_s=timeout_s
    ):
        yield


NAMING_LOCK_NAME = "document-naming.lock"


@contextlib.contextmanager
def document_naming_lock(settings: Settings) -> Iterator[None]:
    """Held while an upload looks its files' names up and registers the documents it makes, so that one
    name gets one document: two uploads of a name at once (two callers, or two replicas) each found no
    document and made their own (an audit, 2026-12-07: 8 editors, up to 8 documents of one name).
    The same two kinds as the store write lock (an advisory lock on PostgreSQL, else ``flock``)."""
    digest = hashlib.sha256(f"figvault-document-naming:{settings.store.alias}".encode()).digest()
    key = int.from_bytes(digest[:8], "big", signed=True)
    db = open_registry(settings)
    if db.is_postgresql:  # its holder needs a second connection of the pool for its lookups
        # One thread of this process waits in the server, the others here: a connection per waiting upload
        # (40 request threads a replica) passed the server's max_connections, and every client's new
        # connection failed (a review). Among processes the server keeps the order; among a process's
        # threads a plain lock keeps none.
        with _process_turn(key), _advisory_lock(_unpooled(db), key, exclusive=True, timeout_s=None):
            yield
        return
    with _held(settings, key, settings.data_dir / NAMING_LOCK_NAME, exclusive=True, timeout_s=None):
        yield


def _unpooled(db: Database) -> Engine:
    """An engine of ``db``'s server whose connections are opened for a lock and closed after it, never
    taken from the registry's pool: uploads waiting for the naming lock in ``pg_advisory_lock`` held the
    pool's connections while the holder waited 30 s for one to do its lookups (a review, 2026-12-07: 30
    uploads, 6 TimeoutErrors). Waiting in the server keeps its order, first come first served (polling
    ``pg_try_advisory_lock`` did not: a waiter got the lock after 7 s while others took it 68 times)."""
    key = db.engine.url.render_as_string(hide_password=False)
    with _GUARD:
        if key not in _UNPOOLED:
            _UNPOOLED[key] = create_engine(db.engine.url, poolclass=NullPool)
        return _UNPOOLED[key]


_UNPOOLED: dict[str, Engine] = {}
_GUARD = threading.Lock()
"""Over ``_UNPOOLED`` and ``_TURNS``."""
_TURNS: dict[int, threading.Lock] = {}


def _process_turn(key: int) -> threading.Lock:
    """This process's lock for the advisory lock ``key`` (one thread at a time asks the server for it)."""
    with _GUARD:
        return _TURNS.setdefault(key, threading.Lock())


@contextlib.contextmanager
def _held(
    settings: Settings, key: int, path: Path, *, exclusive: bool, timeout_s: float | None
) -> Iterator[None]:
    """One lock: advisory ``key`` when the registry is on PostgreSQL, else ``flock`` on ``path``."""
    db = open_registry(settings)
    if db.is_postgresql:
        with _advisory_lock(db.engine, key, exclusive=exclusive, timeout_s=timeout_s):
            yield
        return
    make_private_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    try:
        if timeout_s is None:
            fcntl.flock(fd, mode)
        else:
            _within(timeout_s, lambda: _try_flock(fd, mode))
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)


@contextlib.contextmanager
def _advisory_lock(engine: Engine, key: int, *, exclusive: bool, timeout_s: float | None) -> Iterator[None]:
    suffix = "" if exclusive else "_shared"
    # Autocommit: the lock belongs to the session, and no transaction stays open while it is held.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if timeout_s is None:
            conn.execute(text(f"SELECT pg_advisory_lock{suffix}(:key)"), {"key": key})
        else:
            attempt = text(f"SELECT pg_try_advisory_lock{suffix}(:key)")
            _within(timeout_s, lambda: bool(conn.execute(attempt, {"key": key}).scalar()))
        try:
            yield
        finally:
            try:
                conn.execute(text(f"SELECT pg_advisory_unlock{suffix}(:key)"), {"key": key})
            except Exception:  # the session is gone (and its lock with it): never reuse the connection
                conn.invalidate()


def _try_flock(fd: int, mode: int) -> bool:
    try:
        fcntl.flock(fd, mode | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _within(timeout_s: float, attempt: Callable[[], bool]) -> None:
    """Call ``attempt`` until it returns True; StoreBusyError after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not attempt():
        if time.monotonic() >= deadline:
            raise StoreBusyError(
                "the store is busy: an ingest or re-encode is writing; try again when it is done"
            )
        time.sleep(POLL_S)
