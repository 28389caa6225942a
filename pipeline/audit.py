"""The audit table: who did what, when, with which query, and which unit ids came back.

Rows are only ever appended. Reading is per tenant: an admin sees the audit trail of their own tenant.
Every read of content is a row (searches, unit and image fetches, page images, document lists, the map,
audit reads), and no row grows without bound: the query, the unit ids and the details are cut to fixed
sizes (a filter of 90,000 ids once wrote a megabyte), with the full counts kept beside what was cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, insert, select

from figvault.access import Principal
from figvault.db import Database, as_database
from figvault.db.models import audit
from figvault.pipeline.user_records import get_user

MAX_QUERY_CHARS = 2000
MAX_UNIT_IDS = 500
"""Unit ids kept per row (a map of 20,000 units keeps its first 500 and the count)."""
MAX_DETAIL_ITEMS = 50
MAX_DETAIL_CHARS = 300
MAX_DETAIL_BYTES = 8192


def bounded(value: Any, depth: int = 0) -> Any:
    """``value`` with strings, lists and mappings cut to the row limits (what was cut is counted)."""
    if isinstance(value, str):
        return value if len(value) <= MAX_DETAIL_CHARS else value[:MAX_DETAIL_CHARS] + "..."
    if depth > 4:
        return "..."
    if isinstance(value, list | tuple | set):
        items = [bounded(v, depth + 1) for v in list(value)[:MAX_DETAIL_ITEMS]]
        if len(value) > MAX_DETAIL_ITEMS:
            items.append(f"... and {len(value) - MAX_DETAIL_ITEMS} more")
        return items
    if isinstance(value, dict):
        kept = list(value.items())[:MAX_DETAIL_ITEMS]
        return {str(k)[:64]: bounded(v, depth + 1) for k, v in kept}
    return value


def _detail_json(detail: dict[str, Any]) -> str:
    text = json.dumps(bounded(detail), default=str)
    if len(text) > MAX_DETAIL_BYTES:
        return json.dumps({"truncated": True, "keys": sorted(str(k)[:64] for k in detail)[:MAX_DETAIL_ITEMS]})
    return text


class AuditEntry(BaseModel):
    id: int
    """The entry's place in its tenant's trail (1: the first), never the table's row id: that sequence is
    shared by every tenant."""
    at: str
    """UTC, ISO 8601."""
    user: str
    """The caller's name, for people (a name may be given again to another account)."""
    account: str = ""
    """The caller's account (``Principal.identity``: ``usr_...`` for an API-key user, ``jwt:<sub>``, or the
    process's own name); empty for an entry of a name from before it was given to its present account."""
    tenant: str
    action: str
    query: str = ""
    unit_ids: list[str] = Field(default_factory=list)
    detail: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    total: int
    """The entries that match (with ``before``: those older than it, a number that stays put)."""
    limit: int
    offset: int
    before: int | None = None
    """The cursor asked for: only entries older than the entry of this ``id``."""


def ensure_schema(conn: Database | Any) -> None:
    """Kept for callers written before migrations: opening the registry creates every table."""
    as_database(conn)


def row(
    principal: Principal,
    action: str,
    *,
    query: str = "",
    unit_ids: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The audit row of one entry, cut to the row limits and stamped with the current time."""
    ids = list(unit_ids or [])
    detail = dict(detail or {})
    if len(ids) > MAX_UNIT_IDS:
        detail["unit_ids_total"] = len(ids)
        ids = ids[:MAX_UNIT_IDS]
    return {
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "user": principal.user,
        "account": principal.identity,
        "tenant": principal.tenant,
        "action": action,
        "query": query[:MAX_QUERY_CHARS],
        "unit_ids_json": json.dumps(ids),
        "detail_json": _detail_json(detail),
    }


def record(
    conn: Database | Any,
    principal: Principal,
    action: str,
    *,
    query: str = "",
    unit_ids: list[str] | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry (cut to the row limits) in its own transaction; returns its id."""
    values = row(principal, action, query=query, unit_ids=unit_ids, detail=detail)
    with as_database(conn).write() as tx:
        return int(tx.execute(insert(audit).values(**values).returning(audit.c.id)).scalar_one())


def write_rows(conn: Database | Any, rows: list[dict[str, Any]]) -> None:
    """Append ``rows`` (from ``row``) in one transaction: all of them or, on an error, none."""
    if rows:
        with as_database(conn).write() as tx:
            tx.execute(insert(audit), rows)


def account_of(conn: Database | Any, tenant: str, user: str) -> str:
    """The account a user name stands for in ``tenant``'s trail: the one the API-key user of that name has
    now (revoked or not), else the name itself (a token's ``jwt:<sub>``, the command line's ``cli``), never
    the accounts the name was given to before."""
    record = get_user(conn, user)
    return record.account_id if record is not None and record.tenant == tenant else user


def list_entries(
    conn: Database | Any,
    tenant: str,
    *,
    limit: int = 50,
    offset: int = 0,
    accounts: Iterable[str] = (),
    action: str | None = None,
    before: int | None = None,
) -> AuditPage:
    """Newest first, within one tenant, optionally only entries of each of ``accounts`` (``account_of``; two
    different ones: none) and/or of one action, and only those older than the entry ``before`` (an entry's
    ``id``, its place in the trail). Paged by ``offset`` alone, every entry written meanwhile (the read of
    the trail itself is one) pushed the next page down, and entries came twice (an audit, 2026-12-07);
    ``before`` the last entry read does not move."""
    where = [audit.c.tenant == tenant, *(audit.c.account == a for a in set(accounts))]
    if action:
        where.append(audit.c.action == action)
    with as_database(conn).read() as tx:
        if before is not None:
            cut = tx.execute(
                select(audit.c.id)
                .where(audit.c.tenant == tenant)
                .order_by(audit.c.id)
                .offset(before - 1)
                .limit(1)
            ).scalar()
            if cut is not None:  # past the trail's end: every entry is older
                where.append(audit.c.id < cut)
        total = tx.execute(select(func.count()).select_from(audit).where(*where)).scalar_one()
        rows = tx.execute(
            select(audit).where(*where).order_by(audit.c.id.desc()).limit(limit).offset(offset)
        ).all()
        places = _places_in_trail(tx, tenant, [r.id for r in rows])
    entries = [
        AuditEntry(
            id=places[r.id],
            at=r.at,
            user=r.user,
            account=r.account,
            tenant=r.tenant,
            action=r.action,
            query=r.query,
            unit_ids=json.loads(r.unit_ids_json),
            detail=json.loads(r.detail_json),
        )
        for r in rows
    ]
    return AuditPage(entries=entries, total=int(total), limit=limit, offset=offset, before=before)


def _places_in_trail(tx: Any, tenant: str, row_ids: list[int]) -> dict[int, int]:
    """Each row's place in ``tenant``'s own trail (1: its first entry), the entry ``id`` callers see.

    The row id is one sequence for every tenant: shown, the gap between two of a tenant's entries told its
    admin how many searches, views and uploads all other tenants made in between. Counted as the newest
    row's place, then back through the tenant's rows between the page's newest and oldest (a page of the
    whole trail: the page itself)."""
    if not row_ids:
        return {}
    top, bottom = max(row_ids), min(row_ids)
    in_trail = audit.c.tenant == tenant
    newest = tx.execute(
        select(func.count()).select_from(audit).where(in_trail, audit.c.id <= top)
    ).scalar_one()
    back = func.row_number().over(order_by=audit.c.id.desc()).label("back")
    span = select(audit.c.id, back).where(in_trail, audit.c.id.between(bottom, top)).subquery()
    found = tx.execute(select(span.c.id, span.c.back).where(span.c.id.in_(row_ids)))
    return {int(r.id): int(newest) - int(r.back) + 1 for r in found}
