"""The registry as figvault created it before migrations: documents, jobs, users, audit, acl_sets.

A registry from before Alembic already has some or all of these tables (created one by one with
CREATE TABLE IF NOT EXISTS, the same columns): only the missing ones are created, so it upgrades in place.

Revision ID: 0001
Revises:
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(name: str, default: str | None = None) -> sa.Column:
    return sa.Column(name, sa.Text, nullable=False, server_default=default)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer, nullable=False, server_default="0")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.Double, nullable=nullable)


def _tables(meta: sa.MetaData) -> list[sa.Table]:
    return [
        sa.Table(
            "documents",
            meta,
            _text("doc_id"),
            _text("tenant"),
            _text("name"),
            _text("sha256", ""),
            _text("state"),
            _int("units"),
            _int("pages"),
            _text("groups_json", "[]"),
            _text("error", ""),
            _text("collection", ""),
            _text("embedding_version", ""),
            _time("updated_at"),
            sa.PrimaryKeyConstraint("tenant", "doc_id"),
        ),
        sa.Table(
            "jobs",
            meta,
            sa.Column("id", sa.Text, primary_key=True),
            _text("type"),
            _text("state"),
            _text("phase", ""),
            _int("done"),
            _int("total"),
            sa.Column("rate", sa.Double, nullable=False, server_default="0"),
            _time("eta_s", nullable=True),
            _text("errors_json", "[]"),
            _int("error_count"),
            _text("message", ""),
            _text("started_by", ""),
            _text("tenant", "default"),
            _text("params_json", "{}"),
            _text("checkpoint_json", "{}"),
            _text("result_json", "{}"),
            _int("cancel_requested"),
            _text("owner", ""),
            _int("attempts"),
            _time("created_at"),
            _time("started_at", nullable=True),
            _time("finished_at", nullable=True),
            _time("updated_at"),
            _time("heartbeat_at", nullable=True),
            sa.Index("jobs_state", "state", "created_at"),
        ),
        sa.Table(
            "users",
            meta,
            sa.Column("name", sa.Text, primary_key=True),
            _text("key_id"),
            _text("key_hash"),
            _text("role"),
            _text("groups_json"),
            _text("tenant"),
            _text("created_at"),
            sa.Column("revoked_at", sa.Text, nullable=True),
            sa.UniqueConstraint("key_id", name="uq_users_key_id"),
        ),
        sa.Table(
            "audit",
            meta,
            sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
            _text("at"),
            _text("user"),
            _text("tenant"),
            _text("action"),
            _text("query", ""),
            _text("unit_ids_json", "[]"),
            _text("detail_json", "{}"),
            sa.Index("audit_tenant_id", "tenant", "id"),
            sqlite_autoincrement=True,
        ),
        sa.Table(
            "acl_sets",
            meta,
            _text("tenant"),
            _text("acl_key"),
            _text("groups_json"),
            sa.PrimaryKeyConstraint("tenant", "acl_key"),
        ),
    ]


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in _tables(sa.MetaData()):
        if table.name not in existing:
            table.create(bind)
        elif bind.dialect.name == "sqlite":
            _rebuild(bind, table)


def _rebuild(bind: sa.Connection, table: sa.Table) -> None:
    """Copy a table made by the old code into the declared form (same columns and rows; NOT NULL primary
    keys, named unique constraints), so old and new registries have one schema for later migrations."""
    legacy = f"_legacy_{table.name}"
    columns = ", ".join(f'"{c.name}"' for c in table.columns)
    bind.exec_driver_sql(f'ALTER TABLE "{table.name}" RENAME TO "{legacy}"')
    for index in table.indexes:  # the legacy table still holds the index names
        bind.exec_driver_sql(f'DROP INDEX IF EXISTS "{index.name}"')
    table.create(bind, checkfirst=False)
    bind.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{legacy}"')
    if table.kwargs.get("sqlite_autoincrement"):  # ids never come back: keep the high-water mark
        bind.exec_driver_sql(
            "UPDATE sqlite_sequence SET seq = (SELECT max(seq) FROM sqlite_sequence WHERE name IN (?, ?))"
            " WHERE name = ?",
            (table.name, legacy, table.name),
        )
    bind.exec_driver_sql(f'DROP TABLE "{legacy}"')


def downgrade() -> None:
    for table in reversed(_tables(sa.MetaData())):
        table.drop(op.get_bind())
