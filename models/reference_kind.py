"""Which public reference file a load is (models/refdata.py reads them).

On its own, without pydantic, because `enroll refdata load --kind` takes it as an option's type
and every `enroll` command builds the whole command line.
"""

from __future__ import annotations

from enum import StrEnum


class ReferenceKind(StrEnum):
    LEIE = "leie"
    SAM = "sam"
    PPEF_ENROLLMENT = "ppef_enrollment"
    PPEF_REASSIGNMENT = "ppef_reassignment"
    PPEF_PRACTICE_LOCATION = "ppef_practice_location"
    ORDER_REFERRING = "order_referring"
    REVALIDATION_DUE_DATES = "revalidation_due_dates"
    GROUP_REASSIGNMENT = "group_reassignment"
