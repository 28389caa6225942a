"""The groups of each ingest job in a table of their own (``job_groups``), and an index on
``jobs(tenant, created_at)``: the jobs an editor may see (started by them, or giving a group of theirs) are
selected in SQL, newest first, instead of parsing every job row of the tenant on each ``GET /v1/jobs``.
Existing jobs get their rows from ``params_json``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "job_groups",
        sa.Column("job_id", sa.Text, nullable=False),
        sa.Column("group_name", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "group_name"),
    )
    op.create_index("job_groups_group", "job_groups", ["group_name", "job_id"])
    op.create_index("jobs_tenant_created", "jobs", ["tenant", "created_at"])
    rows = []
    for job_id, params_json in op.get_bind().execute(sa.text("SELECT id, params_json FROM jobs")):
        try:
            groups = json.loads(params_json or "{}").get("groups")
        except (ValueError, AttributeError):
            continue
        if isinstance(groups, list):
            rows += [{"job_id": job_id, "group_name": str(g)} for g in sorted({str(g) for g in groups})]
    if rows:
        op.bulk_insert(table, rows)


def downgrade() -> None:
    op.drop_index("jobs_tenant_created", table_name="jobs")
    op.drop_index("job_groups_group", table_name="job_groups")
    op.drop_table("job_groups")
