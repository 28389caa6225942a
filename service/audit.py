"""The audit table: who did what, when, with which query, and which unit ids came back.

Rows are only ever appended. Reading is per tenant: an admin sees the audit trail of their own tenant.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from figvault.access import Principal
from figvault.pipeline.registry import transaction

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    user          TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    action        TEXT NOT NULL,
    query         TEXT NOT NULL DEFAULT '',
    unit_ids_json TEXT NOT NULL DEFAULT '[]',
    detail_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_tenant_id ON audit (tenant, id);
"""


class AuditEntry(BaseModel):
    id: int
    at: str
    """UTC, ISO 8601."""
    user: str
    tenant: str
    action: str
    query: str = ""
    unit_ids: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    total: int
    limit: int
    offset: int


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def record(
    conn: sqlite3.Connection,
    principal: Principal,
    action: str,
    *,
    query: str = "",
    unit_ids: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry; returns its id."""
    with transaction(conn):
        cur = conn.execute(
            "INSERT INTO audit (at, user, tenant, action, query, unit_ids_json, detail_json)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="milliseconds"),
                principal.user,
                principal.tenant,
                action,
                query,
                json.dumps(unit_ids or []),
                json.dumps(detail or {}, default=str),
            ),
        )
    return int(cur.lastrowid or 0)


def list_entries(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    limit: int = 50,
    offset: int = 0,
    user: str | None = None,
    action: str | None = None,
) -> AuditPage:
    """Newest first, within one tenant, optionally for one user and/or action."""
    where = ["tenant = ?"]
    args: list[Any] = [tenant]
    if user:
        where.append("user = ?")
        args.append(user)
    if action:
        where.append("action = ?")
        args.append(action)
    clause = " AND ".join(where)
    total = conn.execute(f"SELECT COUNT(*) FROM audit WHERE {clause}", args).fetchone()[0]
    rows = conn.execute(
        "SELECT id, at, user, tenant, action, query, unit_ids_json, detail_json FROM audit"
        f" WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    ).fetchall()
    entries = [
        AuditEntry(
            id=r[0],
            at=r[1],
            user=r[2],
            tenant=r[3],
            action=r[4],
            query=r[5],
            unit_ids=json.loads(r[6]),
            detail=json.loads(r[7]),
        )
        for r in rows
    ]
    return AuditPage(entries=entries, total=int(total), limit=limit, offset=offset)
