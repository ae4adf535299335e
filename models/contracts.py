"""The contracts between workflows and activities: activity names and their payloads.

Workflows call activities by these names (they never import activity implementations), and the
activities register under them; both sides share these pure models.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.checks import ApplicationFacts
from models.notices import Notice

CHECK_APPLICATION = "check_application"
RECORD_NOTIFICATION = "record_notification"
PROJECT_APPLICATION = "project_application"
PROJECT_ENROLLMENT = "project_enrollment"

RecordKind = Literal["application", "enrollment"]


class CheckRequest(BaseModel):
    """Pre-submission checks of a draft as of a date (the submission date, or today)."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    facts: ApplicationFacts
    as_of: date


class NotificationRequest(BaseModel):
    """One notice to deliver. `idempotency_key` is unique per workflow chain and notice, so a
    retried activity, a replayed workflow or a restarted worker never delivers it twice."""

    model_config = ConfigDict(frozen=True)

    workflow_id: str
    record_kind: RecordKind
    record_id: str
    organization_id: str
    npi: str | None = None
    notice: Notice

    @property
    def idempotency_key(self) -> str:
        return f"{self.workflow_id}/{self.notice.key}"


class ApplicationProgress(BaseModel):
    """What a revalidation or reactivation application tells its enrollment: it was filed (the
    MAC's receipt counts from then) or approved. Sent as a signal: the application must not
    depend on the enrollment's worker being up."""

    model_config = ConfigDict(frozen=True)

    application_id: str
    purpose: Literal["revalidation", "reactivation"]
    stage: Literal["submitted", "approved"]
    on: date
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
