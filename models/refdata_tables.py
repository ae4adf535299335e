"""The reference data tables: each public file's current records, and one row per load.

Written only by the loader (activities/refdata.py) from the published files, so they can always
be rebuilt by loading the files again. They hold public data as published (the LEIE lists the
excluded party's date of birth, which the name + date of birth match needs); nothing of ours.
`seen_load` is the last load that had the record (a load deletes the records it did not see);
`changed_load` the last load that added or changed it, which is how a reload finds the records
it touched.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import DateTime, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Instants are written in UTC (the loader uses datetime.now(UTC)).
_INSTANT = DateTime(timezone=True)


class ReferenceLoadRow(SQLModel, table=True):
    """One load of one reference file, and what it changed since the one before."""

    __tablename__ = "reference_load"

    load_id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(index=True, max_length=40)
    schema_version: str | None = Field(default=None, max_length=20)
    file_name: str = Field(max_length=300)
    # The date the publisher gives the file (e.g. the LEIE month); the load date when unknown.
    source_date: date
    actor: str = Field(max_length=200)
    status: str = Field(default="loading", max_length=16)  # loading | done | failed
    error: str | None = None
    started_at: datetime = Field(sa_type=_INSTANT)
    finished_at: datetime | None = Field(default=None, sa_type=_INSTANT)
    rows: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0  # a key seen again in the same file: the first row counts
    skipped: int = 0  # rows without a key


class ReferenceRecordRow(SQLModel, table=True):
    """One record of a reference file as last loaded."""

    __tablename__ = "reference_record"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_reference_record_kind_key"),
        Index("ix_reference_record_kind_npi", "kind", "npi"),
        Index("ix_reference_record_kind_name", "kind", "name_key"),
        Index("ix_reference_record_kind_changed", "kind", "changed_load"),
        Index("ix_reference_record_kind_owner", "kind", "owner"),
        Index("ix_reference_record_kind_link", "kind", "link"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40)
    key: str = Field(max_length=400)
    npi: str | None = Field(default=None, max_length=10)
    name_key: str | None = Field(default=None, max_length=300)
    owner: str | None = Field(default=None, max_length=40)  # FileSchema.owner's value
    link: str | None = Field(default=None, max_length=40)  # FileSchema.link's value
    fingerprint: str = Field(max_length=40)
    data: str = Field(sa_type=Text)  # the record's values by canonical column, as JSON
    seen_load: int
    changed_load: int
