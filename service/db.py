"""Registry connections for the HTTP service: one per worker thread.

FastAPI runs sync endpoints in a thread pool; a SQLite connection must not be shared between threads that
write, and opening one per request wastes time. A thread-local connection per worker is both safe and cheap.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Callable


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
