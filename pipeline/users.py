"""The users table (API-key principals) in the registry database.

One row per user name; the row holds the role, groups and tenant the key acts with, and the salted hash of
the key's secret (never the key). Revoking keeps the row (for the audit trail) and stops the key at once.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update

from figvault.access import LABEL_RE, Role, check_label
from figvault.db import Database, as_database
from figvault.db.models import users
from figvault.errors import FigvaultError
from figvault.pipeline.apikeys import generate_api_key

# The record and its reading (what a queued job re-reads of its caller) are user_records'; re-exported here.
from figvault.pipeline.user_records import UserRecord as UserRecord
from figvault.pipeline.user_records import get_user as get_user
from figvault.pipeline.user_records import record_from_row

# fullmatch, never match with "$": "$" also matches before a trailing newline ("ana\n" was accepted).
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


class UserError(FigvaultError):
    """A users-table request that cannot be done (duplicate name, bad group name, ...)."""


def ensure_schema(conn: Database | Any) -> None:
    """Kept for callers written before migrations: opening the registry creates every table."""
    as_database(conn)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def is_label(value: str) -> bool:
    return LABEL_RE.fullmatch(value) is not None


def validate_label(kind: str, value: str) -> str:
    try:
        return check_label(kind, value)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _clean_groups(groups: list[str]) -> list[str]:
    """A user's groups as stored: checked labels, sorted, each once; at least one."""
    if not groups:
        raise UserError("at least one group is needed: a user without groups sees nothing")
    return sorted({validate_label("group", g) for g in groups})


def add_user(
    conn: Database | Any, name: str, role: Role, groups: list[str], tenant: str = "default"
) -> tuple[UserRecord, str]:
    """Create a user and its API key; returns the record and the key (the only time the key exists).

    A revoked user's name may be taken again: the new row replaces it with a new account (``account_id``):
    the old key stays dead (its key id is gone), and the old account's jobs are not the new one's.
    """
    if not _NAME_RE.fullmatch(name):
        raise UserError(f"invalid user name {name[:80]!r}: use letters, digits and . _ @ - (max 64)")
    clean_groups = _clean_groups(groups)
    validate_label("tenant", tenant)
    new = generate_api_key()
    db = as_database(conn)
    with db.write() as tx:
        existing = tx.execute(select(users.c.revoked_at).where(users.c.name == name)).first()
        if existing is not None and existing[0] is None:
            raise UserError(
                f"user {name!r} exists: `figvault users rotate {name}` gives it a new key,"
                f" `figvault users set {name}` another role or groups"
            )
        tx.execute(delete(users).where(users.c.name == name))
        tx.execute(
            insert(users).values(
                name=name,
                account_id=new_account_id(),
                key_id=new.key_id,
                key_hash=new.key_hash,
                role=Role(role).value,
                groups_json=json.dumps(clean_groups),
                tenant=tenant,
                created_at=_now(),
                revoked_at=None,
            )
        )
    record = get_user(db, name)
    assert record is not None
    return record, new.key


def new_account_id() -> str:
    """A fresh account id: unguessable is not needed (it is no secret), only never reused."""
    return "usr_" + secrets.token_hex(12)


def list_users(conn: Database | Any) -> list[UserRecord]:
    with as_database(conn).read() as tx:
        rows = tx.execute(select(users).order_by(users.c.name)).all()
    return [record_from_row(r) for r in rows]


def revoke_user(conn: Database | Any, name: str) -> bool:
    """Revoke the user's key. False when there is no active user of that name."""
    stmt = update(users).where(users.c.name == name, users.c.revoked_at.is_(None)).values(revoked_at=_now())
    with as_database(conn).write() as tx:
        return tx.execute(stmt).rowcount > 0


def rotate_key(conn: Database | Any, name: str) -> tuple[UserRecord, str]:
    """A new key for the active user ``name``; returns the record and the key (shown this once). The
    account stays (its jobs, audit entries, role, groups, tenant); the old key id is gone, so the old key
    is refused at its next request on every replica, and work queued with it is refused as after a revoke.
    Re-adding a revoked name made a new account: the user's jobs and audit trail were no longer its own."""
    new = generate_api_key()
    stmt = (
        update(users)
        .where(users.c.name == name, users.c.revoked_at.is_(None))
        .values(key_id=new.key_id, key_hash=new.key_hash)
    )
    db = as_database(conn)
    with db.write() as tx:
        if tx.execute(stmt).rowcount == 0:
            raise UserError(f"no active user {name[:80]!r}")
    record = get_user(db, name)
    assert record is not None
    return record, new.key


def set_user(
    conn: Database | Any, name: str, *, role: Role | None = None, groups: list[str] | None = None
) -> tuple[UserRecord, UserRecord]:
    """Change the active user ``name``'s role and/or groups; returns the record before and after. The key,
    account and tenant stay (revoke + add changed the key and made a new account). Nothing is cached
    about them: the authenticator reads the row on every request, and a queued job re-reads its caller,
    so the change holds from the user's next request, in every process."""
    values: dict[str, Any] = {}
    if groups is not None:
        values["groups_json"] = json.dumps(_clean_groups(groups))
    if role is not None:
        values["role"] = Role(role).value
    if not values:
        raise UserError("nothing to change: give --role and/or --groups")
    active = (users.c.name == name, users.c.revoked_at.is_(None))
    db = as_database(conn)
    with db.write() as tx:
        row = tx.execute(select(users).where(*active)).first()
        if row is None:
            raise UserError(f"no active user {name[:80]!r}")
        tx.execute(update(users).where(*active).values(**values))
    after = get_user(db, name)
    assert after is not None
    return record_from_row(row), after


_BY_KEY_ID = select(users).where(users.c.key_id == bindparam("key_id"))
"""Built once: every authenticated request runs it on the event loop (building a select costs more than
running it)."""


def find_by_key_id(conn: Database | Any, key_id: str) -> tuple[UserRecord, str] | None:
    """The user owning ``key_id`` and its stored key hash, revoked or not (the caller decides)."""
    with as_database(conn).read() as tx:
        row = tx.execute(_BY_KEY_ID, {"key_id": key_id}).first()
    if row is None:
        return None
    return record_from_row(row), row._mapping["key_hash"]
