"""When the changes that gave a document its groups and its tags were asked for: ``documents.groups_asked_at``
and ``documents.tags_asked_at`` (an ingest job's creation time, or the time of a set-groups, set-tags or PATCH
call). An ingest job asked for before leaves that field of those documents as it is (a job resumed after a
crash, or queued behind the change, used to set the groups it was given back; docs/jobs.md). Rows from
before are 0: any job's groups and tags apply to them, as before. And ``documents.rewriting``: 1 while an
ingest rewrites the document's rows in place, so that a crash between the rows and the record is finished by
the next run.

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

COLUMNS = (
    ("groups_asked_at", sa.Double, "0"),
    ("tags_asked_at", sa.Double, "0"),
    ("rewriting", sa.Integer, "0"),
)


def upgrade() -> None:
    for name, kind, default in COLUMNS:
        op.add_column("documents", sa.Column(name, kind, nullable=False, server_default=default))


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        for name, _kind, _default in COLUMNS:
            batch.drop_column(name)
