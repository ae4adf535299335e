"""The application's clocks as data: for each clock kind, the rule that sets its period, the
timer event it fires when its last day passes, and that event's lifecycle rows."""

from __future__ import annotations

from dataclasses import dataclass

from models.application.status import OPEN_AFTER_SUBMIT
from models.application.status import ApplicationStatus as _S
from models.calendar import ClockKind
from models.lifecycle import Row, row
from models.rules import RuleKey


@dataclass(frozen=True)
class Timer:
    event: str
    rule: RuleKey
    rows: tuple[Row[_S], ...]


_K = ClockKind

TIMERS: dict[ClockKind, Timer] = {
    _K.SIGNATURES: Timer(
        "signature_window_expired",
        RuleKey.SIGNATURE_WINDOW,
        (row(_S.PENDING_SIGNATURE, to=_S.REJECTED),),
    ),
    _K.FEE_PAYMENT: Timer(
        "fee_window_expired",
        RuleKey.FEE_PAYMENT_WINDOW,
        (row(_S.PENDING_FEE, to=_S.REJECTED),),
    ),
    _K.DEVELOPMENT_RESPONSE: Timer(
        "development_window_expired",
        RuleKey.DEVELOPMENT_RESPONSE,
        (row(_S.DEVELOPMENT_REQUESTED, to=_S.REJECTED),),
    ),
    _K.FINGERPRINTS: Timer(
        "fingerprint_window_expired",
        RuleKey.FINGERPRINT_SUBMISSION,
        (row(_S.DEVELOPMENT_REQUESTED, _S.SCREENING, to=_S.DENIED),),
    ),
    _K.FEE_HARDSHIP_DECISION: Timer(
        "fee_hardship_decision_overdue",
        RuleKey.FEE_HARDSHIP_DECISION,
        (row(*OPEN_AFTER_SUBMIT),),
    ),
    _K.CORRECTIVE_ACTION_PLAN: Timer(
        "cap_window_expired", RuleKey.CORRECTIVE_ACTION_PLAN, (row(_S.DENIED),)
    ),
    _K.CORRECTIVE_ACTION_PLAN_DECISION: Timer(
        "cap_decision_overdue",
        RuleKey.CORRECTIVE_ACTION_PLAN_DECISION,
        (row(_S.DENIED, _S.RECONSIDERATION_REQUESTED),),
    ),
    _K.RECONSIDERATION_REQUEST: Timer(
        "reconsideration_window_expired", RuleKey.RECONSIDERATION_REQUEST, (row(_S.DENIED),)
    ),
    _K.RECONSIDERATION_DECISION: Timer(
        "reconsideration_decision_overdue",
        RuleKey.RECONSIDERATION_DECISION,
        (row(_S.RECONSIDERATION_REQUESTED),),
    ),
    # An engine-applied consequence stays withdrawable for a short grace (models/rules.py).
    _K.LATE_RECORDING: Timer(
        "late_recording_window_closed",
        RuleKey.LATE_RECORDING_GRACE,
        (row(_S.REJECTED, _S.DENIED),),
    ),
}

# The timer event each clock fires when its last day passes.
EXPIRY_EVENT: dict[ClockKind, str] = {kind: t.event for kind, t in TIMERS.items()}
