"""Document ids that names cannot collide with: an index on ``documents(tenant, name)``.

New documents get server-chosen ids (``doc_`` + 24 hex digits, pipeline/doc_identity.py) and keep their file
name in ``name``; ingest and the id-or-name lookups find documents by name, hence the index. Rows made
before keep their ids (their file names), unchanged: units in the vector store carry those ids, and
rewriting every unit of a large store inside a registry migration is not something to do behind an
operator's back. Those documents are found by name (and by id) like new ones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("documents_tenant_name", "documents", ["tenant", "name"])


def downgrade() -> None:
    op.drop_index("documents_tenant_name", table_name="documents")
