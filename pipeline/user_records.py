"""API-key users as the registry records them, and what a job may ask of that record
(``figvault.pipeline.credentials`` checks a job's recorded credential, API key or token).

A queued ingest job re-reads its caller's record between batches (pipeline/ingest_job.py); creating,
listing and revoking users is ``figvault.pipeline.users``.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from figvault.access import Action, Credential, Principal, Role
from figvault.db import Database, as_database
from figvault.db.models import users

JWT_USER_PREFIX = "jwt:"
"""Token subjects become ``jwt:<sub>``: API-key user names cannot hold a colon, so a token whose ``sub``
equals an API-key user's name never acts as that user (jobs it may cancel, audit rows under its name)."""


class UserRecord(BaseModel):
    name: str
    account_id: str = ""
    """New each time the name is given (``Principal.account``); migration 0007 gave existing rows one."""
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
        credential = Credential(kind="api_key", key_id=self.key_id)
        return Principal(
            user=self.name,
            account=self.account_id,
            tenant=self.tenant,
            groups=self.groups,
            roles=[self.role],
            credential=credential,
        )


def record_from_row(row: Any) -> UserRecord:
    data = row._mapping
    return UserRecord(
        name=data["name"],
        account_id=data["account_id"],
        role=Role(data["role"]),
        groups=json.loads(data["groups_json"]),
        tenant=data["tenant"],
        key_id=data["key_id"],
        created_at=data["created_at"],
        revoked_at=data["revoked_at"],
    )


def get_user(conn: Database | Any, name: str) -> UserRecord | None:
    with as_database(conn).read() as tx:
        row = tx.execute(select(users).where(users.c.name == name)).first()
    return record_from_row(row) if row else None


def user_by_key_id(conn: Database | Any, key_id: str) -> UserRecord | None:
    """The user owning API key id ``key_id``, revoked or not; None when no user holds it (any more)."""
    with as_database(conn).read() as tx:
        row = tx.execute(select(users).where(users.c.key_id == key_id)).first()
    return record_from_row(row) if row else None


def ingest_refusal(
    conn: Database | Any,
    name: str,
    tenant: str,
    groups: list[str] | None,
    action: Action = Action.INGEST,
    *,
    account: str | None = None,
) -> str | None:
    """``record_refusal`` for API-key user ``name``, read by name (jobs queued before their credential was
    recorded); a name without a record is refused (a token's subject, or a user whose row is gone), and so
    is a record of another account than ``account`` (the job's starter: the name was given again since)."""
    record = get_user(conn, name) if not name.startswith(JWT_USER_PREFIX) else None
    if record is None:
        return f"no user record of {name!r}: the job cannot check its caller"
    if account is not None and record.account_id != account:
        return f"user {name!r} who queued this job is gone: the name was given to another account"
    return record_refusal(record, tenant, groups, action)


def record_refusal(
    record: UserRecord, tenant: str, groups: list[str] | None, action: Action = Action.INGEST
) -> str | None:
    """Why API-key user ``record`` may no longer ingest into ``groups`` of ``tenant`` (revoked, moved,
    demoted, out of one of the groups: the rule of uploads, where only admins give foreign groups), or do
    ``action`` there (a re-encode: ``Action.REENCODE``); None while it still may. A queued job asks before
    it starts and between its batches."""
    name = record.name
    if not record.active:
        return f"user {name!r} was revoked since the job was queued"
    principal = record.principal()
    if record.tenant != tenant or not principal.can(action):
        doing = "ingest into" if action is Action.INGEST else f"{action.value} in"
        return f"user {name!r} may no longer {doing} tenant {tenant!r}"
    foreign = sorted(set(groups or []) - set(record.groups))
    if foreign and not principal.can(Action.DELETE):  # not named: a peer who sees the job shares only one
        return f"user {name!r} is no longer in every group this job writes into or was queued with"
    return None
