"""Alembic, run from code: every open of a registry brings it to the newest schema first.

The migration scripts live in ``figvault/db/migrations/versions`` and form one chain (a new one names the
newest as its ``down_revision``). A registry made before migrations existed (tables, no
``alembic_version``) goes through the baseline like an empty one: the baseline creates only the tables
that are missing. Concurrent starts (replicas, the CLI beside the service) are serialised: a PostgreSQL
advisory lock, SQLite's write lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from figvault.db.database import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK_KEY = 0x66766D67  # "fvmg": the advisory lock of schema changes on PostgreSQL


def alembic_config(conn: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head() or ""


def current(db: Database) -> str:
    with db.read() as conn:
        return MigrationContext.configure(conn).get_current_revision() or ""


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring ``db`` to ``revision`` (default: the newest), in one transaction."""
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(conn), revision)


def downgrade(db: Database, revision: str) -> None:
    with db.write() as conn:
        if db.is_postgresql:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        command.downgrade(alembic_config(conn), revision)
