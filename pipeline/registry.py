"""The document registry: which documents are indexed, from which bytes, into which collection, how it went.

SQLite in the data folder (``settings.registry_path``). Other parts of the service keep their own tables
(users, audit, jobs) in the same file through ``connect(settings)``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from enum import StrEnum

from pydantic import BaseModel, Field

from figvault.retrieval.acl_sets import open_sqlite
from figvault.settings import Settings


def connect(settings: Settings) -> sqlite3.Connection:
    """A connection to the registry database (WAL mode, busy timeout, rows as ``sqlite3.Row``)."""
    return open_sqlite(settings.registry_path)


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


class DocState(StrEnum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"


class DocumentRecord(BaseModel):
    doc_id: str
    tenant: str
    name: str
    sha256: str = ""
    state: DocState
    units: int = 0
    pages: int = 0
    groups: list[str] = Field(default_factory=list)
    error: str = ""
    collection: str = ""
    embedding_version: str = ""
    updated_at: float = 0.0
    """Unix time of the last change."""


_COLUMNS = (
    "doc_id, tenant, name, sha256, state, units, pages, groups_json, error, collection, embedding_version,"
    " updated_at"
)


class DocumentRegistry:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        conn.execute(
            "CREATE TABLE IF NOT EXISTS documents ("
            " doc_id TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,"
            " sha256 TEXT NOT NULL DEFAULT '',"
            " state TEXT NOT NULL, units INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,"
            " groups_json TEXT NOT NULL DEFAULT '[]', error TEXT NOT NULL DEFAULT '',"
            " collection TEXT NOT NULL DEFAULT '', embedding_version TEXT NOT NULL DEFAULT '',"
            " updated_at REAL NOT NULL, PRIMARY KEY (tenant, doc_id))"
        )

    @classmethod
    def open(cls, settings: Settings) -> DocumentRegistry:
        return cls(connect(settings))

    @staticmethod
    def _record(row: sqlite3.Row) -> DocumentRecord:
        data = dict(row)
        data["groups"] = json.loads(data.pop("groups_json") or "[]")
        return DocumentRecord.model_validate(data)

    def get(self, tenant: str, doc_id: str) -> DocumentRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM documents WHERE tenant = ? AND doc_id = ?", (tenant, doc_id)
        ).fetchone()
        return self._record(row) if row else None

    def list(self, tenant: str | None = None, state: DocState | None = None) -> list[DocumentRecord]:
        sql = f"SELECT {_COLUMNS} FROM documents WHERE 1=1"
        args: list[str] = []
        if tenant is not None:
            sql += " AND tenant = ?"
            args.append(tenant)
        if state is not None:
            sql += " AND state = ?"
            args.append(str(state))
        return [self._record(r) for r in self.conn.execute(sql + " ORDER BY tenant, doc_id", args)]

    def put(self, record: DocumentRecord) -> DocumentRecord:
        record = record.model_copy(update={"updated_at": time.time()})
        self.conn.execute(
            f"INSERT OR REPLACE INTO documents ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.doc_id,
                record.tenant,
                record.name,
                record.sha256,
                str(record.state),
                record.units,
                record.pages,
                json.dumps(sorted(set(record.groups)), ensure_ascii=False),
                record.error,
                record.collection,
                record.embedding_version,
                record.updated_at,
            ),
        )
        return record

    def delete(self, tenant: str, doc_id: str) -> bool:
        cur = self.conn.execute("DELETE FROM documents WHERE tenant = ? AND doc_id = ?", (tenant, doc_id))
        return cur.rowcount > 0
