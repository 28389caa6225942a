"""The change log that keeps every process's lexical index in step with the Milvus collection.

A table in the registry database (beside ``acl_sets``): one entry per write call of the store
(``MilvusUnitStore.upsert_rows`` / ``delete_ids``, the only two ways rows change), naming the collection
and the unit ids it wrote or deleted. Entries are appended *after* Milvus accepted the write, so a reader
that sees an entry and then reads those ids by primary key sees the write. A searching process asks for
``max(seq)`` (one indexed lookup) and, when it moved, re-reads the named ids from Milvus: present ones are
(re)indexed, absent ones dropped. The order of entries does not matter, because the current rows are read.

``epoch`` identifies this log: a snapshot written against another registry (a replaced or restored data
folder) does not match and is rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

from figvault.retrieval.acl_sets import open_sqlite

IDS_PER_ENTRY = 1000
RESET = '"*"'
"""An entry that names no ids but the whole collection (dropped): indexes older than it are rebuilt."""


class ChangeLog:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lexical_changes ("
            " seq INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL,"
            " unit_ids TEXT NOT NULL, at REAL NOT NULL)"
        )
        conn.execute(
            "CREATE TABLE IF NOT EXISTS lexical_log_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT OR IGNORE INTO lexical_log_meta (key, value) VALUES ('epoch', ?)", (uuid.uuid4().hex,)
        )
        (self.epoch,) = conn.execute("SELECT value FROM lexical_log_meta WHERE key = 'epoch'").fetchone()

    @classmethod
    def at(cls, path: Path) -> ChangeLog:
        return cls(open_sqlite(path))

    def record(self, collection: str, unit_ids: Iterable[str]) -> None:
        """Note that the rows of ``unit_ids`` in ``collection`` were written or deleted (after the fact)."""
        ids = sorted(set(unit_ids))
        now = time.time()
        with self._lock:
            for start in range(0, len(ids), IDS_PER_ENTRY):
                chunk = ids[start : start + IDS_PER_ENTRY]
                self.conn.execute(
                    "INSERT INTO lexical_changes (collection, unit_ids, at) VALUES (?, ?, ?)",
                    (collection, json.dumps(chunk), now),
                )

    def record_reset(self, collection: str) -> None:
        """Note that ``collection`` was dropped (a collection of the same name later is another one)."""
        with self._lock:
            self.conn.execute(
                "INSERT INTO lexical_changes (collection, unit_ids, at) VALUES (?, ?, ?)",
                (collection, RESET, time.time()),
            )

    def head(self) -> int:
        """The newest entry's number (0: none yet). One lookup on the primary key."""
        with self._lock:
            (seq,) = self.conn.execute("SELECT COALESCE(MAX(seq), 0) FROM lexical_changes").fetchone()
        return int(seq)

    def changed(self, collection: str, after: int, upto: int) -> set[str] | None:
        """Unit ids of ``collection`` named by entries ``after < seq <= upto``; None when the collection was
        dropped in between (only a rebuild is right then)."""
        with self._lock:
            rows = self.conn.execute(
                "SELECT unit_ids FROM lexical_changes WHERE seq > ? AND seq <= ? AND collection = ?",
                (after, upto, collection),
            ).fetchall()
        ids: set[str] = set()
        for (raw,) in rows:
            if raw == RESET:
                return None
            ids.update(json.loads(raw))
        return ids
