"""Notification acknowledgements (issue 18).

Who acknowledged a notice (POST /v1/notifications/{id}/ack), when and why: one row per notice,
keyed by its outbox key; an acknowledged deadline no longer escalates.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 20:21:04.686581
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_ack",
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("idempotency_key"),
    )


def downgrade() -> None:
    op.drop_table("notification_ack")
