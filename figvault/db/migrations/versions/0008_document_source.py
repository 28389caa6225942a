"""Where each document's file was read from: ``documents.source`` (the path as the ingest was given it,
empty for uploads and for every document indexed before), so a folder ingested again can say which of its
documents' files are gone (``pipeline/gone_files.py``) and ``documents list`` tells same-named twins apart.
Indexed with the tenant: the gone-file check selects a tenant's documents by a folder prefix.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("source", sa.Text, nullable=False, server_default=""))
    op.create_index("documents_tenant_source", "documents", ["tenant", "source"])


def downgrade() -> None:
    op.drop_index("documents_tenant_source", table_name="documents")
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("source")
