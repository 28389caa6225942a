"""The audit table: who did what, when, with which query, and which unit ids came back.

Rows are only ever appended. Reading is per tenant: an admin sees the audit trail of their own tenant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select

from figvault.access import Principal
from figvault.db import Database, as_database
from figvault.db.models import audit


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


def ensure_schema(conn: Database | Any) -> None:
    """Kept for callers written before migrations: opening the registry creates every table."""
    as_database(conn)


def record(
    conn: Database | Any,
    principal: Principal,
    action: str,
    *,
    query: str = "",
    unit_ids: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry; returns its id."""
    stmt = (
        insert(audit)
        .values(
            at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            user=principal.user,
            tenant=principal.tenant,
            action=action,
            query=query,
            unit_ids_json=json.dumps(unit_ids or []),
            detail_json=json.dumps(detail or {}, default=str),
        )
        .returning(audit.c.id)
    )
    with as_database(conn).write() as tx:
        return int(tx.execute(stmt).scalar_one())


def list_entries(
    conn: Database | Any,
    tenant: str,
    *,
    limit: int = 50,
    offset: int = 0,
    user: str | None = None,
    action: str | None = None,
) -> AuditPage:
    """Newest first, within one tenant, optionally for one user and/or action."""
    where = [audit.c.tenant == tenant]
    if user:
        where.append(audit.c.user == user)
    if action:
        where.append(audit.c.action == action)
    with as_database(conn).read() as tx:
        total = tx.execute(select(func.count()).select_from(audit).where(*where)).scalar_one()
        rows = tx.execute(
            select(audit).where(*where).order_by(audit.c.id.desc()).limit(limit).offset(offset)
        ).all()
    entries = [
        AuditEntry(
            id=r.id,
            at=r.at,
            user=r.user,
            tenant=r.tenant,
            action=r.action,
            query=r.query,
            unit_ids=json.loads(r.unit_ids_json),
            detail=json.loads(r.detail_json),
        )
        for r in rows
    ]
    return AuditPage(entries=entries, total=int(total), limit=limit, offset=offset)
