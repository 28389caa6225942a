"""When the change that gave a document its groups and tags was asked for: ``documents.asked_at`` (an
ingest job's creation time, or the time of a set-groups or set-tags call). An ingest job that was asked for
before it leaves those documents' groups and tags as they are (a job resumed after a crash, or queued behind
the change, used to set the groups it was given back; docs/jobs.md). Rows from before are 0: any job's
groups apply to them, as before. And ``documents.rewriting``: 1 while an ingest rewrites the document's rows
in place, so that a crash between the rows and the record is written again whole by the next run.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("asked_at", sa.Double, nullable=False, server_default="0"))
    op.add_column("documents", sa.Column("rewriting", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("asked_at")
        batch.drop_column("rewriting")
