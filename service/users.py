"""The users table (API-key principals) in the registry database.

One row per user name; the row holds the role, groups and tenant the key acts with, and the salted hash of
the key's secret (never the key). Revoking keeps the row (for the audit trail) and stops the key at once.
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime

from pydantic import BaseModel

from figvault.access import Principal, Role
from figvault.errors import FigvaultError
from figvault.pipeline.registry import transaction
from figvault.service.apikeys import generate_api_key

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# Group and tenant names end up inside store filter expressions and URLs: a plain, quote-free charset.
_LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,63}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL,
    role        TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
"""


class UserError(FigvaultError):
    """A users-table request that cannot be done (duplicate name, bad group name, ...)."""


class UserRecord(BaseModel):
    name: str
    role: Role
    groups: list[str]
    tenant: str
    key_id: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def principal(self) -> Principal:
        # API-key principals are never unrestricted: they see exactly their groups.
        return Principal(user=self.name, tenant=self.tenant, groups=self.groups, roles=[self.role])


def ensure_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def validate_label(kind: str, value: str) -> str:
    if not _LABEL_RE.match(value):
        raise UserError(f"invalid {kind} name {value!r}: use letters, digits and . _ : / @ - (max 64)")
    return value


def _record(row: sqlite3.Row | tuple) -> UserRecord:
    name, key_id, _hash, role, groups_json, tenant, created_at, revoked_at = tuple(row)
    return UserRecord(
        name=name,
        role=Role(role),
        groups=json.loads(groups_json),
        tenant=tenant,
        key_id=key_id,
        created_at=created_at,
        revoked_at=revoked_at,
    )


_COLUMNS = "name, key_id, key_hash, role, groups_json, tenant, created_at, revoked_at"


def add_user(
    conn: sqlite3.Connection, name: str, role: Role, groups: list[str], tenant: str = "default"
) -> tuple[UserRecord, str]:
    """Create a user and its API key; returns the record and the key (the only time the key exists).

    A revoked user's name may be taken again: the new row replaces it, and the old key stays dead
    (its key id is gone).
    """
    if not _NAME_RE.match(name):
        raise UserError(f"invalid user name {name!r}: use letters, digits and . _ @ - (max 64)")
    if not groups:
        raise UserError("at least one group is needed: a user without groups sees nothing")
    clean_groups = sorted({validate_label("group", g) for g in groups})
    validate_label("tenant", tenant)
    new = generate_api_key()
    with transaction(conn):
        existing = conn.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
        if existing is not None and existing[0] is None:
            raise UserError(f"user {name!r} exists; revoke it first to issue a new key")
        conn.execute("DELETE FROM users WHERE name = ?", (name,))
        conn.execute(
            f"INSERT INTO users ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            (name, new.key_id, new.key_hash, Role(role).value, json.dumps(clean_groups), tenant, _now()),
        )
    record = get_user(conn, name)
    assert record is not None
    return record, new.key


def get_user(conn: sqlite3.Connection, name: str) -> UserRecord | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
    return _record(row) if row else None


def list_users(conn: sqlite3.Connection) -> list[UserRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name").fetchall()
    return [_record(r) for r in rows]


def revoke_user(conn: sqlite3.Connection, name: str) -> bool:
    """Revoke the user's key. False when there is no active user of that name."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL", (_now(), name)
        )
    return cur.rowcount > 0


def find_by_key_id(conn: sqlite3.Connection, key_id: str) -> tuple[UserRecord, str] | None:
    """The user owning ``key_id`` and its stored key hash, revoked or not (the caller decides)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE key_id = ?", (key_id,)).fetchone()
    if row is None:
        return None
    return _record(row), row[2]
