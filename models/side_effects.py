"""The contract of the side-effect round activity (activities/effects.py): one drain round's
read-model projection and notices, worked in one activity instead of one activity each."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from models.contracts import NotificationRequest
from models.read_model import ApplicationProjection, EnrollmentProjection

RECORD_EFFECTS = "record_effects"


class EffectsRound(BaseModel):
    """What one round owes the read model: the record's latest projection (at most one of the
    two kinds) and the notices due, in their order."""

    model_config = ConfigDict(frozen=True)

    application: ApplicationProjection | None = None
    enrollment: EnrollmentProjection | None = None
    notices: list[NotificationRequest] = Field(default_factory=list)
    # The round's attempts (workflows/effects.py ROUND_RETRY): an attempt before the last raises
    # on a passing failure, so the quick retries absorb a blip; the last one reports each
    # effect's failure instead, so only the effects that failed become incidents.
    attempts: int = Field(ge=1)


class EffectFailure(BaseModel):
    """One effect of a round that failed: its queue key ("projection", "notice:<key>") and the
    failure as an incident tells it (no values)."""

    model_config = ConfigDict(frozen=True)

    key: str
    error_type: str
    message: str


class EffectsOutcome(BaseModel):
    """What a round did: every effect not named in `failures` is done. `delivered` names the
    notices (their keys) this round delivered; the others were delivered before (a replayed or
    carried notice), as record_notification's False said (the audit timeline shows it)."""

    model_config = ConfigDict(frozen=True)

    failures: list[EffectFailure] = Field(default_factory=list)
    delivered: list[str] = Field(default_factory=list)
