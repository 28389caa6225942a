"""Indexes for the registry's frequent reads, which read every row of a table before (a scale audit,
2026-12-07: 20,000 documents and jobs, 200,000 audit entries):

- ``documents_rewriting``: the documents left ``rewriting`` (``DocumentRegistry.rewriting``, every job
  runner round on every replica), partial (``rewriting != 0``: nearly always no row);
- ``jobs_state_phase``: the failed jobs awaiting a retry (``remove_unretried``, each runner round), newest
  first;
- ``jobs_tenant_starter``: one caller's ingest jobs queued, running or awaiting a retry (the admission of
  each upload, ``service/pending_ingests.py``);
- ``audit_tenant_action``: the trail's action filter (``GET /v1/audit?action=``), newest first.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REWRITING = sa.text("rewriting != 0")

INDEXES = (
    ("jobs_state_phase", "jobs", ["state", "phase", "created_at"]),
    ("jobs_tenant_starter", "jobs", ["tenant", "started_by_id", "state", "phase"]),
    ("audit_tenant_action", "audit", ["tenant", "action", "id"]),
)


def upgrade() -> None:
    op.create_index(
        "documents_rewriting", "documents", ["rewriting"], sqlite_where=REWRITING, postgresql_where=REWRITING
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_index("documents_rewriting", table_name="documents")
