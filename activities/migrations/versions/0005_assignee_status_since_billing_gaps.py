"""Assignee, status_since and billing gaps on application and enrollment rows (issue 19).

Who works on a record (event assigned), the day it entered its current status (the portfolio's
ages) and an enrollment's billing gaps (the portfolio's unbillable days in the last 12 months).
Only columns are added, all nullable: rows projected before this revision get them at their
record's next projection (`enroll reindex` rebuilds them all from Temporal at once).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 20:16:31.777916
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("status_since", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_application_assignee"), ["assignee"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_application_status_since"), ["status_since"], unique=False
        )

    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("status_since", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("billing_gaps", sa.String(length=2000), nullable=True))
        batch_op.create_index(batch_op.f("ix_enrollment_assignee"), ["assignee"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrollment_status_since"), ["status_since"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_status_since"))
        batch_op.drop_index(batch_op.f("ix_enrollment_assignee"))
        batch_op.drop_column("billing_gaps")
        batch_op.drop_column("status_since")
        batch_op.drop_column("assignee")

    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_status_since"))
        batch_op.drop_index(batch_op.f("ix_application_assignee"))
        batch_op.drop_column("status_since")
        batch_op.drop_column("assignee")
