"""An index on ``documents(tenant, sha256, doc_id)``: ingest looks up the documents of a new file's bytes
(a renamed or copied file, ``DocumentRegistry.with_content``) once per new file; without it each lookup read
every document row of the tenant, so a batch of N new files into a store of M documents read N x M rows
(``doc_id`` last: the lookup's order comes from the index, so no planner prefers the primary key to skip a
sort).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("documents_tenant_sha256", "documents", ["tenant", "sha256", "doc_id"])


def downgrade() -> None:
    op.drop_index("documents_tenant_sha256", table_name="documents")
