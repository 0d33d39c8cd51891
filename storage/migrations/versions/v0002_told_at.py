"""Jobs remember when their owner was told how they ended (`told_at`).

A job that ended while nobody could tell its owner (the process stopped between the two, a
frontend missed the notification) has `told_at` empty, so the next process tells them once.
Jobs that ended before this revision count as told.

Revision ID: 0002
Revises: 0001
Created: the second release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("told_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_jobs_told_at_status", "jobs", ["told_at", "status"])
    op.execute(
        "UPDATE jobs SET told_at = finished_at WHERE status IN ('done', 'failed', 'cancelled')"
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_told_at_status", table_name="jobs")
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_column("told_at")
