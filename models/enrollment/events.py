"""What an operator records on an enrollment (a MAC letter, a PECOS submission, a claims
report): one model per event, each declaring the date it carries and its lifecycle rows.
Defining a class here is all it takes to add an event (see models/records.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from models.enrollment.status import ENROLLED, NOT_ENDED
from models.enrollment.status import EnrollmentStatus as _N
from models.lifecycle import Row, row
from models.records import OperatorEvent, event_models
from models.rules import RuleKey, rule
from models.text import Text2000

Rows = tuple[Row[_N], ...]


class EnrollmentOperatorEvent(OperatorEvent):
    """Base of the enrollment's operator events."""

    catalog: ClassVar[list[type[OperatorEvent]]] = []


class ChangeKind(StrEnum):
    PRACTICE_LOCATION = "practice_location"
    OWNERSHIP = "ownership"
    ADVERSE_LEGAL_ACTION = "adverse_legal_action"
    OTHER = "other"


DeactivationReason = Literal[
    "missed_revalidation",
    "unreported_change",
    "non_billing",
    "ordering_referring",
    "recertification",
    "other",
]

# Recorded while enrolled (active or stayed) without changing the status.
_WHILE_ENROLLED: Rows = (row(*ENROLLED),)
# Cures one stay: back to active only when no other stay is open.
_CURES: Rows = (
    row(_N.ACTIVE),
    row(_N.STAYED, to=_N.ACTIVE, guard="last_stay_cured"),
    row(_N.STAYED, guard="other_stay_remains"),
)


class RevalidationNoticeReceived(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["revalidation_notice_received"] = "revalidation_notice_received"
    letter_date: date
    # An off-cycle request or a letter naming another due date replaces the due date.
    due_date: date | None = None


class RevalidationSubmitted(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "receipt_date"
    rows: ClassVar[Rows] = _CURES

    event: Literal["revalidation_submitted"] = "revalidation_submitted"
    receipt_date: date
    application_id: str | None = Field(default=None, max_length=64)


class RevalidationApproved(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "approval_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["revalidation_approved"] = "revalidation_approved"
    approval_date: date
    next_due_date: date | None = None


class ChangeOccurred(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "change_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["change_occurred"] = "change_occurred"
    kind: ChangeKind
    change_date: date
    description: Text2000 | None = None


class ChangeReported(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "reported_on"
    rows: ClassVar[Rows] = _CURES

    event: Literal["change_reported"] = "change_reported"
    reported_on: date
    change_id: str | None = None  # needed only when several changes are unreported


class ClaimActivity(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "latest_claim_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["claim_activity"] = "claim_activity"
    latest_claim_date: date


class Deactivated(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = (row(*ENROLLED, to=_N.DEACTIVATED),)

    event: Literal["deactivated"] = "deactivated"
    letter_date: date
    effective_date: date | None = None
    deactivation_reason: DeactivationReason = "other"


class RebuttalSubmitted(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED),)

    event: Literal["rebuttal_submitted"] = "rebuttal_submitted"
    filed_on: date


class ReactivationSubmitted(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "receipt_date"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED),)

    event: Literal["reactivation_submitted"] = "reactivation_submitted"
    receipt_date: date
    application_id: str | None = Field(default=None, max_length=64)


class ReactivationApproved(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "approval_date"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED, to=_N.ACTIVE),)

    event: Literal["reactivation_approved"] = "reactivation_approved"
    approval_date: date
    next_due_date: date | None = None


class Revoked(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (row(*NOT_ENDED, to=_N.REVOKED),)

    event: Literal["revoked"] = "revoked"
    notice_date: date
    effective_date: date | None = None  # given when the ground is retroactive
    bar_years: int = Field(ge=1, le=20)
    repeat: bool = False
    grounds: Text2000 = Field(min_length=1)

    @model_validator(mode="after")
    def _bar_range(self) -> Revoked:
        top = (
            rule(
                RuleKey.REENROLLMENT_BAR_REPEAT if self.repeat else RuleKey.REENROLLMENT_BAR,
                self.notice_date,
            ).years
            or 10
        )
        if self.bar_years > top:
            raise ValueError(
                f"bar_years {self.bar_years} exceeds {top} years "
                f"({'repeat' if self.repeat else 'first'} revocation, 42 CFR 424.535(c))"
            )
        return self


class VoluntarilyTerminated(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "effective_date"
    rows: ClassVar[Rows] = (row(*NOT_ENDED, to=_N.VOLUNTARILY_TERMINATED),)

    event: Literal["voluntarily_terminated"] = "voluntarily_terminated"
    effective_date: date


# Event name -> its payload model (the API documents and validates `data` per event with it).
ENROLLMENT_EVENT_MODELS = event_models(EnrollmentOperatorEvent.catalog)

# The update's payload type: any of the events above, told apart by `event`.
if TYPE_CHECKING:
    EnrollmentEventRequest = EnrollmentOperatorEvent
else:
    EnrollmentEventRequest = Annotated[
        Union[tuple(EnrollmentOperatorEvent.catalog)],  # noqa: UP007
        Field(discriminator="event"),
    ]
