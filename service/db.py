"""Connections to the registry database for the HTTP service: one per worker thread.

FastAPI runs sync endpoints in a thread pool; a SQLite connection must not be shared between threads that
write, and opening one per request wastes time. A thread-local connection per worker is both safe and cheap.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable, Iterator

from figvault.settings import Settings


def connect_registry(settings: Settings) -> sqlite3.Connection:
    """A connection to ``settings.registry_path`` (WAL, busy timeout; see ``registry.connect``)."""
    from figvault.service.registry import connect

    return connect(settings)


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One atomic transaction, on autocommit connections (the registry's) and on default ones alike."""
    if conn.isolation_level is not None:
        with conn:
            yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def ensure_service_tables(connect: Callable[[], sqlite3.Connection]) -> None:
    """Create the service's own tables (users, audit) if missing."""
    from figvault.service import audit, users

    conn = connect()
    users.ensure_schema(conn)
    audit.ensure_schema(conn)


class ThreadLocalDB:
    """``db.conn()`` gives the calling thread its own connection, opened on first use."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                # A connection made with check_same_thread refuses a close from another thread; the
                # process is ending then anyway, and SQLite finishes the WAL on the last close.
                with contextlib.suppress(sqlite3.ProgrammingError):
                    conn.close()
            self._all.clear()
        self._local = threading.local()
