"""Audit entries name the account, not only the name: ``audit.account`` (``Principal.identity``). A user
removed and added again under the same name is another account, but the trail's user filter matched names,
so the new account was shown the old one's actions.

Existing rows: an API-key user's entries from when its row existed get that row's account; its name's
entries from before (another account that held the name) get none. Every other entry (a token's
``jwt:<sub>``, the command line's ``cli``, names no user row holds) is its name, which is its identity.
Old rows do not say how their caller signed in: the command line's entries under the name of an API-key user
(``cli``) from after that user was added are given the user's account.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT = sa.table("audit", sa.column("user"), sa.column("tenant"), sa.column("account"), sa.column("at"))


def upgrade() -> None:
    op.add_column("audit", sa.Column("account", sa.Text, nullable=False, server_default=""))
    bind = op.get_bind()
    bind.execute(sa.update(_AUDIT).values(account=_AUDIT.c.user))
    users = bind.execute(sa.text("SELECT name, tenant, account_id, created_at FROM users")).all()
    for name, tenant, account, created_at in users:
        since = _audit_time(created_at)
        named = sa.and_(_AUDIT.c.user == name, _AUDIT.c.tenant == tenant)
        bind.execute(sa.update(_AUDIT).where(named, _AUDIT.c.at >= since).values(account=account))
        bind.execute(sa.update(_AUDIT).where(named, _AUDIT.c.at < since).values(account=""))
    op.create_index("audit_tenant_account", "audit", ["tenant", "account", "id"])


def _audit_time(iso: str) -> str:
    """A user row's time in the audit rows' form (UTC, milliseconds), so the two compare as text;
    unreadable: after every entry (none is the account's)."""
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).isoformat(timespec="milliseconds")
    except (TypeError, ValueError):
        return "9999"


def downgrade() -> None:
    op.drop_index("audit_tenant_account", table_name="audit")
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("account")
