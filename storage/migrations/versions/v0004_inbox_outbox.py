"""Nothing lost at the edges: what platforms deliver, and what the bot sends, is stored.

`inbox` keeps each delivered update until the bot has stored its job or answered it; `outbox`
keeps each message to a user until the platform took it; `jobs.source` names what a job came
from (e.g. a Telegram update), so an update handled twice makes one job.

Revision ID: 0004
Revises: 0003
Created: the fourth release
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _when("received_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("done_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
        sa.UniqueConstraint("platform", "key", name="uq_inbox_platform_key"),
    )
    op.create_index("ix_inbox_done_at_id", "inbox", ["done_at", "id"])
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=True),
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("destination", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _when("next_at"),
        _when("created_at"),
        _when("sent_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_outbox_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_next_at", "outbox", ["status", "next_at"])
    with op.batch_alter_table("jobs") as jobs:
        jobs.add_column(sa.Column("source", sa.String(160), nullable=True))
        jobs.create_unique_constraint("uq_jobs_source", ["source"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as jobs:
        jobs.drop_constraint("uq_jobs_source", type_="unique")
        jobs.drop_column("source")
    op.drop_index("ix_outbox_status_next_at", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_inbox_done_at_id", table_name="inbox")
    op.drop_table("inbox")
