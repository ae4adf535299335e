"""The reference data tables (issue 17): one row per load of a public file (what it added,
changed and removed), and each file's current records with the indexed columns the data checks
look them up by (NPI, name, owner and linked enrollment, the load that last changed them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 20:19:08.671703
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reference_load",
        sa.Column("load_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("schema_version", sa.String(length=20), nullable=True),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("load_id"),
    )
    with op.batch_alter_table("reference_load", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reference_load_kind"), ["kind"], unique=False)

    op.create_table(
        "reference_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("name_key", sa.String(length=300), nullable=True),
        sa.Column("owner", sa.String(length=40), nullable=True),
        sa.Column("link", sa.String(length=40), nullable=True),
        sa.Column("fingerprint", sa.String(length=40), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("seen_load", sa.Integer(), nullable=False),
        sa.Column("changed_load", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_reference_record_kind_key"),
    )
    with op.batch_alter_table("reference_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reference_record_kind_changed", ["kind", "changed_load"], unique=False
        )
        batch_op.create_index("ix_reference_record_kind_link", ["kind", "link"], unique=False)
        batch_op.create_index("ix_reference_record_kind_name", ["kind", "name_key"], unique=False)
        batch_op.create_index("ix_reference_record_kind_npi", ["kind", "npi"], unique=False)
        batch_op.create_index("ix_reference_record_kind_owner", ["kind", "owner"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reference_record", schema=None) as batch_op:
        batch_op.drop_index("ix_reference_record_kind_owner")
        batch_op.drop_index("ix_reference_record_kind_npi")
        batch_op.drop_index("ix_reference_record_kind_name")
        batch_op.drop_index("ix_reference_record_kind_link")
        batch_op.drop_index("ix_reference_record_kind_changed")

    op.drop_table("reference_record")
    with op.batch_alter_table("reference_load", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reference_load_kind"))

    op.drop_table("reference_load")
