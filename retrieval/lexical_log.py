"""The change log that keeps every process's lexical index in step with the Milvus collection.

A table in the registry database (``figvault.db``, ``lexical_changes``): one entry per write call of the
store (``MilvusUnitStore.upsert_rows`` / ``delete_ids``, the only two ways rows change), naming the
collection and the unit ids it wrote or deleted. Entries are appended *after* Milvus accepted the write, so
a reader that sees an entry and then reads those ids by primary key sees the write. A searching process asks
for ``max(seq)`` (one indexed lookup) and, when it moved, re-reads the named ids from Milvus: present ones
are (re)indexed, absent ones dropped. The order of entries does not matter: the current rows are read.

``epoch`` identifies this log: a snapshot written against another registry (a replaced or restored data
folder) does not match and is rebuilt.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from figvault.db import Database, as_database, open_database, open_registry, sqlite_url
from figvault.db.models import lexical_changes, lexical_log_meta
from figvault.settings import Settings

IDS_PER_ENTRY = 1000
RESET = '"*"'
"""An entry that names no ids but the whole collection (dropped): indexes older than it are rebuilt."""
_HEAD = select(func.coalesce(func.max(lexical_changes.c.seq), 0))
"""Built once: every search reads the head (building the select cost more than running it: 300 -> 130 us)."""


class ChangeLog:
    def __init__(self, conn: Database | Any) -> None:
        self.db = as_database(conn)
        with self.db.write() as c:
            c.execute(
                self.db.insert(lexical_log_meta)
                .values(key="epoch", value=uuid.uuid4().hex)
                .on_conflict_do_nothing(index_elements=["key"])
            )
        with self.db.read() as c:
            self.epoch: str = c.execute(
                select(lexical_log_meta.c.value).where(lexical_log_meta.c.key == "epoch")
            ).scalar_one()

    @classmethod
    def at(cls, path: Path) -> ChangeLog:
        """The log in the SQLite registry file ``path``."""
        return cls(open_database(sqlite_url(path)))

    @classmethod
    def open(cls, settings: Settings) -> ChangeLog:
        """The log in the configured registry (SQLite in the data folder, or ``registry.url``)."""
        return cls(open_registry(settings))

    def record(self, collection: str, unit_ids: Iterable[str]) -> None:
        """Note that the rows of ``unit_ids`` in ``collection`` were written or deleted (after the fact)."""
        ids = sorted(set(unit_ids))
        now = time.time()
        entries = [
            {"collection": collection, "unit_ids_json": json.dumps(ids[i : i + IDS_PER_ENTRY]), "at": now}
            for i in range(0, len(ids), IDS_PER_ENTRY)
        ]
        if entries:
            with self.db.write() as c:
                c.execute(lexical_changes.insert(), entries)

    def record_reset(self, collection: str) -> None:
        """Note that ``collection`` was dropped (a collection of the same name later is another one)."""
        with self.db.write() as c:
            c.execute(
                lexical_changes.insert().values(collection=collection, unit_ids_json=RESET, at=time.time())
            )

    def head(self) -> int:
        """The newest entry's number (0: none yet). One lookup on the primary key."""
        with self.db.read() as c:
            return int(c.execute(_HEAD).scalar_one())

    def changed(self, collection: str, after: int, upto: int) -> set[str] | None:
        """Unit ids of ``collection`` named by entries ``after < seq <= upto``; None when the collection was
        dropped in between (only a rebuild is right then)."""
        t = lexical_changes.c
        with self.db.read() as c:
            rows = c.execute(
                select(t.unit_ids_json).where(t.seq > after, t.seq <= upto, t.collection == collection)
            ).scalars()
            ids: set[str] = set()
            for raw in rows:
                if raw == RESET:
                    return None
                ids.update(json.loads(raw))
        return ids
