"""The notification outbox claims, delivers and marks (issue 16, defect 7).

Each notice's row gains a state (pending, claimed, sent, failed), who claimed it and until when,
how many deliveries were started and the last error (never a value). Rows written before this
revision were delivered when they were recorded: they become `sent`, after one attempt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 19:56:30.178169
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        # The server defaults fill the rows already there (the engine always writes both; an
        # old pod during a rollout writes neither and gets `sent`, as it delivered inline).
        batch_op.add_column(
            sa.Column("state", sa.String(length=8), nullable=False, server_default="sent")
        )
        batch_op.add_column(sa.Column("claimed_by", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("last_error", sa.String(length=500), nullable=True))
        batch_op.create_index(batch_op.f("ix_notification_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_state"))
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("state")
