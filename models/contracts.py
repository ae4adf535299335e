"""The contracts between workflows and activities: activity names and their payloads.

Workflows call activities by these names (they never import activity implementations), and the
activities register under them; both sides share these pure models.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.checks import ApplicationFacts, Finding
from models.data_checks import FindingDisposition
from models.notices import Notice

CHECK_APPLICATION = "check_application"
RECORD_NOTIFICATION = "record_notification"
PROJECT_APPLICATION = "project_application"
PROJECT_ENROLLMENT = "project_enrollment"
RUN_REFERENCE_CHECKS = "run_reference_checks"

RecordKind = Literal["application", "enrollment"]


class CheckRequest(BaseModel):
    """Pre-submission checks of a draft as of a date (the submission date, or today)."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    facts: ApplicationFacts
    as_of: date
    # An operator's decisions on suspected exclusion matches (event finding_disposition).
    dispositions: tuple[FindingDisposition, ...] = ()


class ReferenceCheckRun(BaseModel):
    """Check enrollments against the reference files: those a load touched (`load_id`), or
    every open one (the monthly run, `load_id` None)."""

    model_config = ConfigDict(frozen=True)

    load_id: int | None = None
    kind: str | None = None


class EnrollmentFindings(BaseModel):
    """What a run of the outward checks found for one enrollment: its findings replace those
    of the same `checks`; a new fact is told in a notice, once."""

    model_config = ConfigDict(frozen=True)

    checks: tuple[str, ...]
    findings: list[Finding]
    load_id: int | None = None


class NotificationRequest(BaseModel):
    """One notice to deliver. `idempotency_key` is unique per workflow chain and notice, so a
    retried activity, a replayed workflow or a restarted worker never delivers it twice."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    # "organization": a notice about the organisation itself (PECOS access hygiene).
    record_kind: RecordKind | Literal["organization"]
    record_id: str
    organization_id: str
    npi: str | None = None
    notice: Notice

    @property
    def idempotency_key(self) -> str:
        return f"{self.workflow_id}/{self.notice.key}"


ProgressStage = Literal["submitted", "approved", "rejected", "returned", "denied", "withdrawn"]


class ApplicationProgress(BaseModel):
    """What a revalidation or reactivation application tells its enrollment: it was filed (the
    MAC's receipt counts from then), approved, or not approved (rejected, returned, denied,
    withdrawn: its filing no longer counts). Sent as a signal: the application must not depend
    on the enrollment's worker being up."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    purpose: Literal["revalidation", "reactivation"]
    stage: ProgressStage
    on: date
    # The filing date, with an approval: the enrollment may have let the filing go (a denial
    # later reversed on reconsideration).
    filed_on: date | None = None
    actor: str
    role: str | None = None
    reason: str


class OpenApplication(BaseModel):
    """An enrollment opens its own revalidation or reactivation application (a child workflow,
    pre-filled from the enrollment; the operator completes the draft and drives it)."""

    model_config = ConfigDict(frozen=True)

    purpose: Literal["revalidation", "reactivation"]
    actor: str
    role: str | None = None
    reason: str


# Activity failures the workflows tell apart (ApplicationError.type). A rejected write cannot
# succeed by retrying; an unavailable database can.
READ_MODEL_DATA_REJECTED = "ReadModelDataRejected"
READ_MODEL_UNAVAILABLE = "ReadModelUnavailable"
# A notice its channel refuses for good (a bounced address): parked like a refused row.
NOTICE_REFUSED = "NoticeRefused"
NON_RETRYABLE_EFFECT_ERRORS = (READ_MODEL_DATA_REJECTED, NOTICE_REFUSED)


class Incident(BaseModel):
    """A side effect of a record (read-model projection, a notice, the checks) that keeps
    failing. The record itself is unharmed: its state and clocks go on; the effect is retried on
    a bounded schedule and an operator can re-run it at any time. Messages never carry values
    (names, identifiers): only the error type and what failed."""

    key: str  # "projection", "checks", "notice:<notice key>"
    effect: str  # in words: "read model", "pre-submission checks", "notice event-3"
    error_type: str
    message: str
    first_failed_at: datetime
    last_failed_at: datetime
    rounds: int  # failed rounds (each round is one activity with its own short retries)
    next_retry_at: datetime | None  # None: waiting for an operator to re-run it


class CarriedEffects(BaseModel):
    """What a run hands the next when it continues as new with side effects not yet done."""

    notices: list[Notice] = Field(default_factory=list)
    incidents: list[Incident] = Field(default_factory=list)


class RetryEffects(BaseModel):
    """An operator re-runs a record's failed side effects now."""

    model_config = ConfigDict(frozen=True)

    actor: str
    role: str | None = None
    reason: str


SWEEP_NOTIFICATIONS = "sweep_notifications"


class SweepSchedule(BaseModel):
    """When the daily notification sweep runs (workflows/notification_sweep.py): at `hour`
    o'clock in `time_zone`, every day; a run hands over to the next after `days_per_run`."""

    model_config = ConfigDict(frozen=True)

    hour: int = Field(default=7, ge=0, le=23)
    time_zone: str
    days_per_run: int = Field(default=30, ge=1)
