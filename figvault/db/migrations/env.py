"""Alembic environment: figvault runs migrations on a connection it opened (figvault/db/migrate.py)."""

from alembic import context

from figvault.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("figvault migrations run through figvault.db.migrate (they need its connection)")

# render_as_batch: SQLite alters a table by copying it; Alembic does that when a migration uses batch ops.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
