"""The registry database as the HTTP service holds it.

One ``Database`` (figvault.db) per app: its engine pools connections, so each worker thread of the
thread pool gets one of its own and returns it after the call.
"""

from __future__ import annotations

from collections.abc import Callable

from figvault.db import Database


class RegistryDB:
    """``db.conn()``: the registry database (opened on first use, so the app factory stays cheap)."""

    def __init__(self, connect: Callable[[], Database]) -> None:
        self._connect = connect
        self._db: Database | None = None

    def conn(self) -> Database:
        if self._db is None:
            self._db = self._connect()
        return self._db

    def close(self) -> None:
        """Nothing to close: the process's engines are shared (figvault.db keeps them per URL)."""
        self._db = None


ThreadLocalDB = RegistryDB
"""The name from when each thread held its own sqlite3 connection (kept for code written against it)."""
