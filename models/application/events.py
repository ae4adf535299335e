"""What an operator records on an application: one model per event, each declaring the date
it carries (`date_field`) and the lifecycle rows it may take (`rows`). Defining a class here is
all it takes to add an event: the table, the API's validation and the workflow's payload type
are built from `ApplicationOperatorEvent.catalog`."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from models.application.details import ApplicationDetails
from models.application.status import OPEN_AFTER_SUBMIT
from models.application.status import ApplicationStatus as _S
from models.calendar import WrittenDate
from models.identifiers import PTAN, EnrollmentId, MacCaseNumber, WebTrackingId
from models.lifecycle import Row, row
from models.records import Assignment, NoteAddition, OperatorEvent, event_models
from models.signatures import SignerKind
from models.text import Paragraph2000, Text100, Text500
from models.written import Flag

Rows = tuple[Row[_S], ...]

# States in which the fee may still be settled (paid, or a hardship request decided).
_FEE_OPEN = (_S.PENDING_SIGNATURE, _S.SUBMITTED, _S.IN_REVIEW)
# A denial, before or during its reconsideration.
_DENIED = (_S.DENIED, _S.RECONSIDERATION_REQUESTED)


class DenialGround(StrEnum):
    """The paragraph of 42 CFR 424.530(a) a denial notice cites, as far as the engine needs it:
    only a noncompliance denial can be answered with a corrective action plan (405.809)."""

    NONCOMPLIANCE = "noncompliance"  # (a)(1)
    EXCLUSION = "exclusion"  # (a)(2)
    FELONY = "felony"  # (a)(3)
    FALSE_INFORMATION = "false_information"  # (a)(4)
    NOT_OPERATIONAL = "not_operational"  # (a)(5)
    OTHER = "other"


class ApplicationOperatorEvent(OperatorEvent):
    """Base of the application's operator events."""

    catalog: ClassVar[list[type[OperatorEvent]]] = []


class ApplicationDetailsChange(ApplicationDetails):
    """A partial update: only the fields sent are changed (null clears a field)."""

    # Only the fields that were sent are serialized, so "not sent" survives the trip through
    # Temporal payloads instead of arriving as an explicit null that would clear the field.
    @model_serializer(mode="wrap")
    def _only_sent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k in self.model_fields_set}

    asc_or_portable_xray: Flag | None = None  # type: ignore[assignment]
    physician_or_npp_organization: Flag | None = None  # type: ignore[assignment]
    adds_practice_location: Flag | None = None  # type: ignore[assignment]
    declared_disaster: Flag | None = None  # type: ignore[assignment]
    idtf: Flag | None = None  # type: ignore[assignment]


class UpdateDraft(ApplicationOperatorEvent):
    rows: ClassVar[Rows] = (row(_S.DRAFT),)

    event: Literal["update_draft"] = "update_draft"
    changes: ApplicationDetailsChange


class Submit(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "submitted_on"
    rows: ClassVar[Rows] = (
        row(_S.DRAFT, to=_S.PENDING_SIGNATURE, guard="signatures_outstanding"),
        row(_S.DRAFT, to=_S.SUBMITTED, guard="signed_at_submission"),
    )

    event: Literal["submit"] = "submit"
    web_tracking_id: WebTrackingId
    submitted_on: WrittenDate | None = None
    # Every signature already in (e-signatures done at submission): no signature clock.
    signed_on: WrittenDate | None = None
    # Who signed the certification statement, when known: the wrong kind of signer is refused
    # with the rule (models/signatures.py).
    signers: list[SignerKind] | None = Field(default=None, max_length=4)


class SignaturesCompleted(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "signed_on"
    rows: ClassVar[Rows] = (row(_S.PENDING_SIGNATURE, to=_S.SUBMITTED),)

    event: Literal["signatures_completed"] = "signatures_completed"
    signed_on: WrittenDate | None = None


class FeeRequested(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = (row(_S.SUBMITTED, _S.IN_REVIEW, to=_S.PENDING_FEE),)

    event: Literal["fee_requested"] = "fee_requested"
    letter_date: WrittenDate


class FeePaid(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "paid_on"
    rows: ClassVar[Rows] = (
        # Paying before any fee letter is recorded without a state change.
        row(_S.PENDING_SIGNATURE, _S.SUBMITTED, _S.IN_REVIEW),
        row(_S.PENDING_FEE, to=_S.IN_REVIEW, guard="received_by_mac"),
        row(_S.PENDING_FEE, to=_S.SUBMITTED, guard="not_received_by_mac"),
    )

    event: Literal["fee_paid"] = "fee_paid"
    paid_on: WrittenDate | None = None
    confirmation: Text100 | None = None
    # Kept for events recorded before fee_hardship_requested existed: true records a hardship
    # request, not a payment.
    hardship_exception: Flag = False


class FeeHardshipRequested(ApplicationOperatorEvent):
    """A hardship exception request instead of the fee (42 CFR 424.514): CMS decides it
    within 60 days; the fee letter's clock stops meanwhile."""

    date_field: ClassVar[str | None] = "requested_on"
    rows: ClassVar[Rows] = (row(*_FEE_OPEN, _S.PENDING_FEE),)

    event: Literal["fee_hardship_requested"] = "fee_hardship_requested"
    requested_on: WrittenDate


class FeeHardshipApproved(ApplicationOperatorEvent):
    """CMS approved the hardship request: no fee is owed."""

    date_field: ClassVar[str | None] = "decision_date"
    # CMS decides on an application the MAC has (not one still waiting for signatures).
    rows: ClassVar[Rows] = (
        row(_S.SUBMITTED, _S.IN_REVIEW, _S.DEVELOPMENT_REQUESTED, _S.SCREENING),
        row(_S.PENDING_FEE, to=_S.IN_REVIEW, guard="received_by_mac"),
        row(_S.PENDING_FEE, to=_S.SUBMITTED, guard="not_received_by_mac"),
    )

    event: Literal["fee_hardship_approved"] = "fee_hardship_approved"
    decision_date: WrittenDate


class FeeHardshipDenied(ApplicationOperatorEvent):
    """CMS denied the hardship request: 30 days to pay, else the application is rejected."""

    date_field: ClassVar[str | None] = "decision_date"
    rows: ClassVar[Rows] = (row(_S.SUBMITTED, _S.IN_REVIEW, _S.PENDING_FEE, to=_S.PENDING_FEE),)

    event: Literal["fee_hardship_denied"] = "fee_hardship_denied"
    decision_date: WrittenDate


class ReceivedByMac(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "receipt_date"
    rows: ClassVar[Rows] = (row(_S.SUBMITTED, to=_S.IN_REVIEW),)

    event: Literal["received_by_mac"] = "received_by_mac"
    case_number: MacCaseNumber
    receipt_date: WrittenDate


class DevelopmentRequested(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "request_date"
    rows: ClassVar[Rows] = (
        row(_S.IN_REVIEW, _S.DEVELOPMENT_REQUESTED, _S.SCREENING, to=_S.DEVELOPMENT_REQUESTED),
    )

    event: Literal["development_requested"] = "development_requested"
    request_date: WrittenDate
    items: list[Text500] = Field(min_length=1)


class DevelopmentResponded(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "responded_on"
    # Fingerprints stay owed through a development request (42 CFR 424.518(c)).
    rows: ClassVar[Rows] = (
        row(_S.DEVELOPMENT_REQUESTED, to=_S.IN_REVIEW, guard="no_fingerprints_outstanding"),
        row(_S.DEVELOPMENT_REQUESTED, to=_S.SCREENING, guard="fingerprints_outstanding"),
    )

    event: Literal["development_responded"] = "development_responded"
    responded_on: WrittenDate | None = None


class SiteVisitCompleted(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "visit_date"
    rows: ClassVar[Rows] = (row(_S.IN_REVIEW, _S.SCREENING),)

    event: Literal["site_visit_completed"] = "site_visit_completed"
    visit_date: WrittenDate
    result: Literal["passed", "failed", "not_operational"] = "passed"


class FingerprintsRequested(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = (row(_S.IN_REVIEW, to=_S.SCREENING),)

    event: Literal["fingerprints_requested"] = "fingerprints_requested"
    letter_date: WrittenDate


class FingerprintsReceived(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "received_on"
    rows: ClassVar[Rows] = (
        row(_S.DEVELOPMENT_REQUESTED),
        row(_S.SCREENING, to=_S.IN_REVIEW),
    )

    event: Literal["fingerprints_received"] = "fingerprints_received"
    received_on: WrittenDate | None = None


class Approved(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "approval_date"
    rows: ClassVar[Rows] = (row(_S.IN_REVIEW, to=_S.APPROVED),)

    event: Literal["approved"] = "approved"
    ptan: PTAN
    approval_date: WrittenDate
    enrollment_id: EnrollmentId | None = None
    effective_date: WrittenDate | None = None


class Denied(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (
        row(_S.IN_REVIEW, _S.DEVELOPMENT_REQUESTED, _S.SCREENING, to=_S.DENIED),
        # The MAC's own notice replaces the engine's inferred denial: its windows count from it.
        row(_S.DENIED, guard="denied_by_engine"),
    )

    event: Literal["denied"] = "denied"
    notice_date: WrittenDate
    grounds: Paragraph2000 = Field(min_length=1)
    received_on: WrittenDate | None = None
    # The paragraph the notice cites; None (not stated): the CAP window opens, as it may be a
    # noncompliance denial.
    ground: DenialGround | None = None


class CapSubmitted(ApplicationOperatorEvent):
    """A corrective action plan against a noncompliance denial (42 CFR 405.809); it does not
    stop the reconsideration window. (Once reconsideration is requested the engine counts the
    CAP window as closed.)"""

    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(_S.DENIED),)

    event: Literal["cap_submitted"] = "cap_submitted"
    filed_on: WrittenDate


def _needs_ptan_when(field: str, value: str) -> dict[str, Any]:
    """JSON Schema: `ptan` is required (not null) when `field` is `value`."""
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "then": {"required": ["ptan"], "properties": {"ptan": {"not": {"type": "null"}}}},
    }


class CapDecided(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "decision_date"
    rows: ClassVar[Rows] = (
        row(*_DENIED, to=_S.APPROVED, guard="cap_accepted"),
        row(_S.DENIED, guard="cap_not_accepted"),
        row(_S.RECONSIDERATION_REQUESTED, guard="cap_not_accepted"),
    )

    # The document says what _acceptance_needs_ptan checks (the API's event body schema).
    model_config = ConfigDict(json_schema_extra=_needs_ptan_when("outcome", "accepted"))

    event: Literal["cap_decided"] = "cap_decided"
    decision_date: WrittenDate
    outcome: Literal["accepted", "not_accepted"]
    ptan: PTAN | None = None
    enrollment_id: EnrollmentId | None = None
    effective_date: WrittenDate | None = None

    @model_validator(mode="after")
    def _acceptance_needs_ptan(self) -> CapDecided:
        if self.outcome == "accepted" and self.ptan is None:
            raise ValueError(
                "an accepted corrective action plan approves the application: give the PTAN"
            )
        return self


class ReconsiderationRequested(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(_S.DENIED, to=_S.RECONSIDERATION_REQUESTED),)

    event: Literal["reconsideration_requested"] = "reconsideration_requested"
    filed_on: WrittenDate | None = None


class ReconsiderationDecided(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "decision_date"
    rows: ClassVar[Rows] = (
        row(_S.RECONSIDERATION_REQUESTED, to=_S.APPROVED, guard="denial_reversed"),
        row(_S.RECONSIDERATION_REQUESTED, to=_S.DENIED, guard="denial_upheld"),
    )

    # The document says what _reversal_needs_ptan checks (the API's event body schema).
    model_config = ConfigDict(json_schema_extra=_needs_ptan_when("outcome", "reversed"))

    event: Literal["reconsideration_decided"] = "reconsideration_decided"
    decision_date: WrittenDate
    outcome: Literal["upheld", "reversed"]
    ptan: PTAN | None = None
    enrollment_id: EnrollmentId | None = None
    effective_date: WrittenDate | None = None

    @model_validator(mode="after")
    def _reversal_needs_ptan(self) -> ReconsiderationDecided:
        if self.outcome == "reversed" and self.ptan is None:
            raise ValueError("a reversed denial approves the application: give the PTAN")
        return self


class Rejected(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (row(*OPEN_AFTER_SUBMIT, to=_S.REJECTED),)

    event: Literal["rejected"] = "rejected"
    notice_date: WrittenDate | None = None
    grounds: Paragraph2000 = Field(min_length=1)


class Returned(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (row(*OPEN_AFTER_SUBMIT, to=_S.RETURNED),)

    event: Literal["returned"] = "returned"
    notice_date: WrittenDate | None = None
    grounds: Paragraph2000 = Field(min_length=1)


class Withdrawn(ApplicationOperatorEvent):
    date_field: ClassVar[str | None] = "requested_on"
    rows: ClassVar[Rows] = (row(_S.DRAFT, *OPEN_AFTER_SUBMIT, to=_S.WITHDRAWN),)

    event: Literal["withdrawn"] = "withdrawn"
    requested_on: WrittenDate | None = None


# Bookkeeping (who works on the application, notes): in every state, final ones included. A
# final application's workflow still runs while a clock is open (a denial's reconsideration
# window, the late-recording grace of a rejection), and that is when the team works on it; once
# the workflow completes the application is closed and takes no event at all.
_EVERY_STATE: Rows = (row(*_S),)


class Assigned(Assignment, ApplicationOperatorEvent):
    rows: ClassVar[Rows] = _EVERY_STATE

    event: Literal["assigned"] = "assigned"


class NoteAdded(NoteAddition, ApplicationOperatorEvent):
    rows: ClassVar[Rows] = _EVERY_STATE

    event: Literal["note_added"] = "note_added"


# Event name -> its payload model (the API documents and validates `data` per event with it).
EVENT_MODELS = event_models(ApplicationOperatorEvent.catalog)

# The update's payload type: any of the events above, told apart by `event`.
if TYPE_CHECKING:
    ApplicationEventRequest = ApplicationOperatorEvent
else:
    ApplicationEventRequest = Annotated[
        Union[tuple(ApplicationOperatorEvent.catalog)],  # noqa: UP007
        Field(discriminator="event"),
    ]
