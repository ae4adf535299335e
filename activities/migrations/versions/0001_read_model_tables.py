"""Read model: the application, enrollment, deadline and notification tables.

The schema `create_all` made before migrations existed: a database created then has these
tables and no alembic_version, and is stamped with this revision (activities/migrations).

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-30 19:10:10.087976
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "application",
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("legal_name", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=True),
        sa.Column("mac_jurisdiction", sa.String(length=16), nullable=True),
        sa.Column("web_tracking_id", sa.String(length=50), nullable=True),
        sa.Column("case_number", sa.String(length=50), nullable=True),
        sa.Column("ptan", sa.String(length=50), nullable=True),
        sa.Column("enrollment_id", sa.String(length=15), nullable=True),
        sa.Column("submitted_on", sa.Date(), nullable=True),
        sa.Column("receipt_date", sa.Date(), nullable=True),
        sa.Column("approval_date", sa.Date(), nullable=True),
        sa.Column("effective_date", sa.Date(), nullable=True),
        sa.Column("next_deadline", sa.Date(), nullable=True),
        sa.Column("next_deadline_kind", sa.String(length=40), nullable=True),
        sa.Column("open_findings", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("projected_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("application_id"),
    )
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_application_form"), ["form"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_application_mac_jurisdiction"), ["mac_jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_application_next_deadline"), ["next_deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_application_npi"), ["npi"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_application_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_application_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_application_updated_at"), ["updated_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_application_workflow_id"), ["workflow_id"], unique=False
        )

    op.create_table(
        "deadline",
        sa.Column("deadline_id", sa.String(length=200), nullable=False),
        sa.Column("workflow_id", sa.String(length=100), nullable=False),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("record_status", sa.String(length=32), nullable=False),
        sa.Column("clock_kind", sa.String(length=40), nullable=False),
        sa.Column("rule_key", sa.String(length=60), nullable=False),
        sa.Column("rule_citation", sa.String(length=300), nullable=False),
        sa.Column("rule_version", sa.String(length=40), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("fires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("explanation", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("deadline_id"),
    )
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deadline_last_day"), ["last_day"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadline_npi"), ["npi"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_deadline_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_deadline_record_id"), ["record_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deadline_workflow_id"), ["workflow_id"], unique=False)

    op.create_table(
        "enrollment",
        sa.Column("enrollment_id", sa.String(length=15), nullable=False),
        sa.Column("workflow_id", sa.String(length=100), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=False),
        sa.Column("ptan", sa.String(length=50), nullable=False),
        sa.Column("form", sa.String(length=16), nullable=False),
        sa.Column("legal_name", sa.String(length=300), nullable=True),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("mac_jurisdiction", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("action_since", sa.Date(), nullable=True),
        sa.Column("action_required", sa.String(), nullable=True),
        sa.Column("revoked_effective", sa.Date(), nullable=True),
        sa.Column("barred_through", sa.Date(), nullable=True),
        sa.Column("cycle", sa.Integer(), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("revalidation_due_date", sa.Date(), nullable=True),
        sa.Column("next_deadline", sa.Date(), nullable=True),
        sa.Column("next_deadline_kind", sa.String(length=40), nullable=True),
        sa.Column("open_clocks", sa.Integer(), nullable=False),
        sa.Column("unbillable_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("projected_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id"),
    )
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_enrollment_action_since"), ["action_since"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrollment_form"), ["form"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrollment_mac_jurisdiction"), ["mac_jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrollment_next_deadline"), ["next_deadline"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_enrollment_npi"), ["npi"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrollment_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_enrollment_revalidation_due_date"),
            ["revalidation_due_date"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_enrollment_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollment_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_enrollment_updated_at"), ["updated_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_enrollment_workflow_id"), ["workflow_id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=300), nullable=False),
        sa.Column("workflow_id", sa.String(length=100), nullable=False),
        sa.Column("record_kind", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.Column("record_status", sa.String(length=32), nullable=False),
        sa.Column("clock_id", sa.String(length=80), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("idempotency_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_organization_id"), ["organization_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_notification_workflow_id"), ["workflow_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notification_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_notification_organization_id"))

    op.drop_table("notification")
    with op.batch_alter_table("enrollment", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_enrollment_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_enrollment_updated_at"))
        batch_op.drop_index(batch_op.f("ix_enrollment_status"))
        batch_op.drop_index(batch_op.f("ix_enrollment_state"))
        batch_op.drop_index(batch_op.f("ix_enrollment_revalidation_due_date"))
        batch_op.drop_index(batch_op.f("ix_enrollment_organization_id"))
        batch_op.drop_index(batch_op.f("ix_enrollment_npi"))
        batch_op.drop_index(batch_op.f("ix_enrollment_next_deadline"))
        batch_op.drop_index(batch_op.f("ix_enrollment_mac_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_enrollment_form"))
        batch_op.drop_index(batch_op.f("ix_enrollment_action_since"))

    op.drop_table("enrollment")
    with op.batch_alter_table("deadline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deadline_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_deadline_record_id"))
        batch_op.drop_index(batch_op.f("ix_deadline_organization_id"))
        batch_op.drop_index(batch_op.f("ix_deadline_npi"))
        batch_op.drop_index(batch_op.f("ix_deadline_last_day"))

    op.drop_table("deadline")
    with op.batch_alter_table("application", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_application_workflow_id"))
        batch_op.drop_index(batch_op.f("ix_application_updated_at"))
        batch_op.drop_index(batch_op.f("ix_application_status"))
        batch_op.drop_index(batch_op.f("ix_application_state"))
        batch_op.drop_index(batch_op.f("ix_application_organization_id"))
        batch_op.drop_index(batch_op.f("ix_application_npi"))
        batch_op.drop_index(batch_op.f("ix_application_next_deadline"))
        batch_op.drop_index(batch_op.f("ix_application_mac_jurisdiction"))
        batch_op.drop_index(batch_op.f("ix_application_form"))

    op.drop_table("application")
