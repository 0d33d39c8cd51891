"""How fast each device runs each model family's tasks at each size, for waiting times.

`speeds` keeps, per family, task, bucket of pixel counts and device, moving averages of the
seconds one decoder step and the rest of a call take per image, as jobs finish on any worker.

Revision ID: 0005
Revises: 0004
Created: the fifth release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "speeds",
        sa.Column("family", sa.String(16), nullable=False),
        sa.Column("task", sa.String(16), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("device", sa.String(200), nullable=False),
        sa.Column("pixels", sa.Float(), nullable=False),
        sa.Column("step_seconds", sa.Float(), nullable=False),
        sa.Column("other_seconds", sa.Float(), nullable=False),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("family", "task", "bucket", "device", name=op.f("pk_speeds")),
    )


def downgrade() -> None:
    op.drop_table("speeds")
