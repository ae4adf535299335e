"""What an operator records on an enrollment (a MAC letter, a PECOS submission, a claims
report): one model per event, each declaring the date it carries and its lifecycle rows.
Defining a class here is all it takes to add an event (see models/records.py)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

from pydantic import ConfigDict, Field, model_validator

from models.calendar import WrittenDate
from models.enrollment.status import ENROLLED, NOT_ENDED, REVOCATION
from models.enrollment.status import EnrollmentStatus as _N
from models.identifiers import EnrollmentId
from models.lifecycle import Row, row
from models.records import Assignment, NoteAddition, OperatorEvent, event_models
from models.rules import NO_BAR_YEARS, RuleKey, rule
from models.text import Line, Paragraph2000, Text100
from models.written import Flag, WholeNumber

Rows = tuple[Row[_N], ...]


class EnrollmentOperatorEvent(OperatorEvent):
    """Base of the enrollment's operator events."""

    catalog: ClassVar[list[type[OperatorEvent]]] = []


class ChangeKind(StrEnum):
    PRACTICE_LOCATION = "practice_location"
    OWNERSHIP = "ownership"
    ADVERSE_LEGAL_ACTION = "adverse_legal_action"
    # A change of control (42 CFR 424.516(e)(1)): 30 days, not the 90 of other changes.
    AUTHORIZED_OFFICIAL = "authorized_official"
    OTHER = "other"


class RevocationGround(StrEnum):
    """The paragraph of 42 CFR 424.535(a) a revocation notice cites, as far as the engine
    needs it: whether a corrective action plan is possible and whether a bar applies."""

    # (a)(1): noncompliance with the enrollment requirements; a CAP is possible.
    NONCOMPLIANCE = "noncompliance"
    # (a)(1) for not answering a revalidation or information request: a CAP is possible and
    # no re-enrollment bar applies (424.535(c)(1)(ii)).
    REVALIDATION_NONRESPONSE = "revalidation_nonresponse"
    EXCLUSION = "exclusion"  # (a)(2)
    FELONY = "felony"  # (a)(3)
    FALSE_INFORMATION = "false_information"  # (a)(4)
    NOT_OPERATIONAL = "not_operational"  # (a)(5)
    OTHER = "other"


# Grounds a corrective action plan can answer (42 CFR 405.809: noncompliance only).
CORRECTABLE_REVOCATIONS = frozenset(
    {RevocationGround.NONCOMPLIANCE, RevocationGround.REVALIDATION_NONRESPONSE}
)

# What became of a revalidation or reactivation application that was not approved.
NotApprovedOutcome = Literal["rejected", "returned", "denied", "withdrawn"]
StayCause = Literal["revalidation", "unreported_change", "other"]


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
# A MAC decision on a revocation (CAP or reconsideration): reinstated, or not.
_REVOCATION_DECIDED: Rows = (
    row(*REVOCATION, to=_N.ACTIVE, guard="revocation_reversed"),
    row(_N.REVOCATION_PENDING, guard="revocation_stands"),
    row(_N.REVOKED, guard="revocation_stands"),
)
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
    letter_date: WrittenDate
    # An off-cycle request or a letter naming another due date replaces the due date.
    due_date: WrittenDate | None = None


class RevalidationSubmitted(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "receipt_date"
    rows: ClassVar[Rows] = _CURES

    event: Literal["revalidation_submitted"] = "revalidation_submitted"
    receipt_date: WrittenDate
    application_id: Line | None = Field(default=None, max_length=64)


class RevalidationApproved(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "approval_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["revalidation_approved"] = "revalidation_approved"
    approval_date: WrittenDate
    next_due_date: WrittenDate | None = None


class RevalidationNotApproved(EnrollmentOperatorEvent):
    """The revalidation on record was rejected, returned, denied or withdrawn: its filing does
    not count (a rejected application keeps no filing date), so the deadlines it closed open
    again, or their consequences follow if they have passed."""

    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (row(*NOT_ENDED),)

    event: Literal["revalidation_not_approved"] = "revalidation_not_approved"
    notice_date: WrittenDate
    outcome: NotApprovedOutcome
    application_id: Line | None = Field(default=None, max_length=64)


class ChangeOccurred(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "change_date"
    rows: ClassVar[Rows] = _WHILE_ENROLLED

    event: Literal["change_occurred"] = "change_occurred"
    kind: ChangeKind
    change_date: WrittenDate
    description: Paragraph2000 | None = None


class ChangeReported(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "reported_on"
    rows: ClassVar[Rows] = _CURES

    event: Literal["change_reported"] = "change_reported"
    reported_on: WrittenDate
    change_id: Text100 | None = None  # needed only when several changes are unreported


class ClaimActivity(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "latest_claim_date"
    # A revoked provider may bill until the revocation takes effect (424.535(g)).
    rows: ClassVar[Rows] = (row(*ENROLLED, _N.REVOCATION_PENDING),)

    event: Literal["claim_activity"] = "claim_activity"
    latest_claim_date: WrittenDate


class Deactivated(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = (row(*ENROLLED, to=_N.DEACTIVATED),)

    event: Literal["deactivated"] = "deactivated"
    letter_date: WrittenDate
    effective_date: WrittenDate | None = None
    deactivation_reason: DeactivationReason = "other"


class StayImposed(EnrollmentOperatorEvent):
    """The MAC's stay letter (42 CFR 424.541): at most 60 days from the letter."""

    date_field: ClassVar[str | None] = "letter_date"
    rows: ClassVar[Rows] = (row(*ENROLLED, to=_N.STAYED),)

    event: Literal["stay_imposed"] = "stay_imposed"
    letter_date: WrittenDate
    cause: StayCause
    ends_on: WrittenDate | None = None  # the letter's last day of the stay, if it gives one
    change_id: Text100 | None = None  # the unreported change it is for, if several are open
    grounds: Paragraph2000 | None = None


class StayLifted(EnrollmentOperatorEvent):
    """The MAC found compliance restored (or lifted the stay on rebuttal)."""

    date_field: ClassVar[str | None] = "lifted_on"
    rows: ClassVar[Rows] = (
        row(_N.STAYED, to=_N.ACTIVE, guard="last_stay_cured"),
        row(_N.STAYED, guard="other_stay_remains"),
    )

    event: Literal["stay_lifted"] = "stay_lifted"
    lifted_on: WrittenDate
    stay_id: Text100 | None = None  # needed only when several stays are open


class RebuttalSubmitted(EnrollmentOperatorEvent):
    """A rebuttal of the deactivation, or of the stay the MAC imposed."""

    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED), row(_N.STAYED))

    event: Literal["rebuttal_submitted"] = "rebuttal_submitted"
    filed_on: WrittenDate


class ReactivationSubmitted(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "receipt_date"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED),)

    event: Literal["reactivation_submitted"] = "reactivation_submitted"
    receipt_date: WrittenDate
    application_id: Line | None = Field(default=None, max_length=64)


class ReactivationApproved(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "approval_date"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED, to=_N.ACTIVE),)

    event: Literal["reactivation_approved"] = "reactivation_approved"
    approval_date: WrittenDate
    next_due_date: WrittenDate | None = None


class ReactivationNotApproved(EnrollmentOperatorEvent):
    """The reactivation on record was rejected, returned, denied or withdrawn: its receipt
    date does not count, the unbillable period goes on."""

    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (row(_N.DEACTIVATED),)

    event: Literal["reactivation_not_approved"] = "reactivation_not_approved"
    notice_date: WrittenDate
    outcome: NotApprovedOutcome
    application_id: Line | None = Field(default=None, max_length=64)


def _bar_schema() -> dict[str, Any]:
    """JSON Schema of Revoked's bar rules (42 CFR 424.535(c)), as the latest rules set them."""
    first = rule(RuleKey.REENROLLMENT_BAR, date.max).years or 10
    repeat = rule(RuleKey.REENROLLMENT_BAR_REPEAT, date.max).years or 20
    extension = rule(RuleKey.REENROLLMENT_BAR_IDENTITY_EXTENSION, date.max).years or 3
    nonresponse = RevocationGround.REVALIDATION_NONRESPONSE.value
    return {
        "allOf": [
            {
                "if": {"properties": {"ground": {"const": nonresponse}}, "required": ["ground"]},
                "then": {"properties": {"bar_years": {"enum": [NO_BAR_YEARS, None]}}},
                "else": {
                    "required": ["bar_years"],
                    "properties": {"bar_years": {"type": "integer", "minimum": 1}},
                },
            },
            {
                "if": {"properties": {"repeat": {"const": True}}, "required": ["repeat"]},
                "then": {"properties": {"bar_years": {"maximum": repeat}}},
                "else": {"properties": {"bar_years": {"maximum": first}}},
            },
            {"properties": {"identity_extension_years": {"maximum": extension}}},
        ]
    }


_REVOCATION_BAR_SCHEMA = _bar_schema()


class Revoked(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "notice_date"
    rows: ClassVar[Rows] = (
        row(*NOT_ENDED, to=_N.REVOCATION_PENDING, guard="revocation_takes_effect_later"),
        row(*NOT_ENDED, to=_N.REVOKED, guard="revocation_in_effect"),
    )

    # The document says what _bar_range checks (the API's event body schema): the bar's
    # bounds have been the same since the 2019 rule, whatever the notice date.
    model_config = ConfigDict(json_schema_extra=_REVOCATION_BAR_SCHEMA)

    event: Literal["revoked"] = "revoked"
    notice_date: WrittenDate
    effective_date: WrittenDate | None = None  # given when the ground is retroactive
    # The paragraph of 424.535(a) the notice cites (None: not stated; no CAP window opens).
    ground: RevocationGround | None = None
    # Set in the notice; None only where no bar applies (revalidation non-response).
    bar_years: WholeNumber | None = Field(default=None, ge=0, le=20)
    # Up to 3 more years for re-enrolling under another identity (424.535(c)(2)).
    identity_extension_years: WholeNumber = Field(default=0, ge=0)
    repeat: Flag = False
    grounds: Paragraph2000 = Field(min_length=1)

    @model_validator(mode="after")
    def _bar_range(self) -> Revoked:
        on = self.notice_date
        if self.ground is RevocationGround.REVALIDATION_NONRESPONSE:
            if self.bar_years not in (None, NO_BAR_YEARS):
                raise ValueError(
                    "bar_years must be 0 (or left out) for a revocation for not answering a "
                    "revalidation or information request: no re-enrollment bar applies "
                    "(42 CFR 424.535(c)(1)(ii))"
                )
        elif self.bar_years is None or self.bar_years < 1:
            raise ValueError(
                "bar_years is required: at least 1 year, as the revocation notice sets it "
                "(42 CFR 424.535(c)(1)); only a revocation for not answering a revalidation "
                "request (ground revalidation_nonresponse) has none"
            )
        key = RuleKey.REENROLLMENT_BAR_REPEAT if self.repeat else RuleKey.REENROLLMENT_BAR
        top = rule(key, on).years or 10
        if (self.bar_years or 0) > top:
            raise ValueError(
                f"bar_years {self.bar_years} exceeds {top} years "
                f"({'repeat' if self.repeat else 'first'} revocation, 42 CFR 424.535(c))"
            )
        extra = rule(RuleKey.REENROLLMENT_BAR_IDENTITY_EXTENSION, on).years or 3
        if self.identity_extension_years > extra:
            raise ValueError(
                f"identity_extension_years {self.identity_extension_years} exceeds {extra} "
                "years (42 CFR 424.535(c)(2))"
            )
        return self

    @property
    def total_bar_years(self) -> int:
        return (self.bar_years or 0) + self.identity_extension_years


class CapSubmitted(EnrollmentOperatorEvent):
    """A corrective action plan against the revocation (42 CFR 405.809)."""

    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(*REVOCATION),)

    event: Literal["cap_submitted"] = "cap_submitted"
    filed_on: WrittenDate


class CapDecided(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "decision_date"
    rows: ClassVar[Rows] = _REVOCATION_DECIDED

    event: Literal["cap_decided"] = "cap_decided"
    decision_date: WrittenDate
    outcome: Literal["accepted", "not_accepted"]


class ReconsiderationRequested(EnrollmentOperatorEvent):
    """A request for reconsideration of the revocation (42 CFR 498.22, 405.803)."""

    date_field: ClassVar[str | None] = "filed_on"
    rows: ClassVar[Rows] = (row(*REVOCATION),)

    event: Literal["reconsideration_requested"] = "reconsideration_requested"
    filed_on: WrittenDate


class ReconsiderationDecided(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "decision_date"
    rows: ClassVar[Rows] = _REVOCATION_DECIDED

    event: Literal["reconsideration_decided"] = "reconsideration_decided"
    decision_date: WrittenDate
    outcome: Literal["upheld", "reversed"]


class EnrollmentIdAssigned(EnrollmentOperatorEvent):
    """The PECOS enrollment ID of an enrollment tracked under a provisional id: the record goes
    on under it (a new workflow, carrying everything), and this one ends."""

    rows: ClassVar[Rows] = (row(*NOT_ENDED, *REVOCATION, to=_N.REPLACED),)

    event: Literal["enrollment_id_assigned"] = "enrollment_id_assigned"
    enrollment_id: EnrollmentId


class VoluntarilyTerminated(EnrollmentOperatorEvent):
    date_field: ClassVar[str | None] = "effective_date"
    rows: ClassVar[Rows] = (row(*NOT_ENDED, _N.REVOCATION_PENDING, to=_N.VOLUNTARILY_TERMINATED),)

    event: Literal["voluntarily_terminated"] = "voluntarily_terminated"
    effective_date: WrittenDate


# Bookkeeping (who works on the enrollment, notes): in every state, ended ones included, while
# the workflow runs (an ended enrollment's bar or reactivation clocks still need an owner); the
# assignee and the latest notes are carried across continue-as-new (cycle.next_cycle_state).
_EVERY_STATE: Rows = (row(*_N),)


class Assigned(Assignment, EnrollmentOperatorEvent):
    rows: ClassVar[Rows] = _EVERY_STATE

    event: Literal["assigned"] = "assigned"


class NoteAdded(NoteAddition, EnrollmentOperatorEvent):
    rows: ClassVar[Rows] = _EVERY_STATE

    event: Literal["note_added"] = "note_added"


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
