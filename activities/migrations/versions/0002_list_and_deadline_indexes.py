"""Composite indexes for the list and deadline queries (issue 20).

The lists page newest first by (updated_at, id), overall and within an organisation
(api/reads.py); the deadline screen reads an organisation's deadlines by last day.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 19:10:17.907803
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(
            "ix_application_organization_id_updated_at",
            ["organization_id", "updated_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_application_updated_at_application_id",
            ["updated_at", "application_id"],
            unique=False,
        )

    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(
            "ix_deadline_organization_id_last_day", ["organization_id", "last_day"], unique=False
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollment_organization_id_updated_at",
            ["organization_id", "updated_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_enrollment_updated_at_enrollment_id", ["updated_at", "enrollment_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollment_updated_at_enrollment_id")
        batch_op.drop_index("ix_enrollment_organization_id_updated_at")

    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index("ix_deadline_organization_id_last_day")

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index("ix_application_updated_at_application_id")
        batch_op.drop_index("ix_application_organization_id_updated_at")
