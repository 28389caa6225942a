"""What kind of failure a failed document's last ingest had: ``documents.failure`` (``file``: its bytes
caused it, so an ingest of the unchanged file skips it instead of reading it again, perhaps for its whole CPU
budget; ``transient``: read again; pipeline/failures.py). Rows from before are empty: read again, as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("failure", sa.Text, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("failure")
