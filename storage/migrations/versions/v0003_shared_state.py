"""State that every frontend and worker shares through the database.

`bot_state` holds facts such as a paused intake and its message; `pending_inits` the picture
a user chose with /init; `workers`, `worker_requests` and `worker_replies` let admin commands
see and steer the processes that hold pipelines.

Revision ID: 0003
Revises: 0002
Created: the third release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _when(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=True),
        _when("updated_at"),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_bot_state")),
    )
    op.create_table(
        "pending_inits",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=True),
        sa.Column("picture", sa.LargeBinary(), nullable=True),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pending_inits_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_pending_inits_image_id_images"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_pending_inits")),
    )
    op.create_table(
        "workers",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("families", sa.JSON(), nullable=False),
        sa.Column("loaded", sa.JSON(), nullable=False),
        _when("seen_at"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )
    op.create_table(
        "worker_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("family", sa.String(16), nullable=True),
        _when("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_requests")),
    )
    op.create_table(
        "worker_replies",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["worker_requests.id"],
            name=op.f("fk_worker_replies_request_id_worker_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "worker", name=op.f("pk_worker_replies")),
    )


def downgrade() -> None:
    for table in ("worker_replies", "worker_requests", "workers", "pending_inits", "bot_state"):
        op.drop_table(table)
