"""Accounts, not names: ``users.account_id`` (new each time a name is given) and ``jobs.started_by_id``
(the starter's account). Jobs were matched to callers by user name, so a user removed and added again under
the same name saw, cancelled and retried the old account's jobs, and shared its pending-ingest bound.

Existing rows: every user gets an account id. A job gets its starter's account from what it recorded: the
API key that queued it (``params.principal.credential.key_id``; a key no user holds any more: no account,
nobody's job); a token's subject (``jwt:<sub>``) or the process's own name (``cli``, ``local``
credentials) as it is; a job of an API-key user from before credentials were recorded, that user's account
only when the user row is older than the job (else the name was given again since: no account).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_USERS = sa.table("users", sa.column("name"), sa.column("account_id"))
_JOBS = sa.table("jobs", sa.column("id"), sa.column("started_by_id"))


def upgrade() -> None:
    op.add_column("users", sa.Column("account_id", sa.Text, nullable=False, server_default=""))
    op.add_column("jobs", sa.Column("started_by_id", sa.Text, nullable=False, server_default=""))
    bind = op.get_bind()
    accounts: dict[str, tuple[str, str, float]] = {}  # key_id -> (name, account, created)
    # All rows read first: no update runs under a cursor still open on the same table.
    for name, key_id, created_at in bind.execute(sa.text("SELECT name, key_id, created_at FROM users")).all():
        account = "usr_" + secrets.token_hex(12)
        bind.execute(sa.update(_USERS).where(_USERS.c.name == name).values(account_id=account))
        accounts[key_id] = (name, account, _unix(created_at))
    op.create_index("users_account_id", "users", ["account_id"], unique=True)
    by_name = {name: (account, created) for name, account, created in accounts.values()}
    rows = bind.execute(sa.text("SELECT id, started_by, params_json, created_at FROM jobs")).all()
    for job_id, started_by, params_json, created_at in rows:
        owner = _starter(started_by or "", params_json, float(created_at or 0), accounts, by_name)
        if owner:
            bind.execute(sa.update(_JOBS).where(_JOBS.c.id == job_id).values(started_by_id=owner))


def _unix(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return float("inf")  # unreadable: never older than a job


def _starter(
    started_by: str,
    params_json: str,
    created_at: float,
    accounts: dict[str, tuple[str, str, float]],
    by_name: dict[str, tuple[str, float]],
) -> str:
    try:
        recorded: Any = (json.loads(params_json or "{}") or {}).get("principal") or {}
        credential = recorded.get("credential") or {}
    except (ValueError, AttributeError):
        credential = {}
    if credential.get("kind") == "api_key":
        found = accounts.get(str(credential.get("key_id") or ""))
        return found[1] if found is not None and found[0] == started_by else ""
    if credential.get("kind") in ("jwt", "local") or started_by.startswith("jwt:"):
        return started_by
    if started_by in by_name:
        account, created = by_name[started_by]
        return account if created <= created_at else ""
    return started_by


def downgrade() -> None:
    op.drop_index("users_account_id", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("account_id")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("started_by_id")
