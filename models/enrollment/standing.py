"""Where an enrollment stands, in words: its status with the date that matters ("stayed since
D", "revocation pending, effective D") and, when it cannot bill or soon will not, what to do.
The deadlines screen keeps these enrollments at its top; an import reports them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from models.calendar import add_days
from models.enrollment.state import EnrollmentState, StayRecord
from models.enrollment.status import EnrollmentStatus

_S = EnrollmentStatus


class Standing(BaseModel):
    """An enrollment that needs action: since when, and what to do."""

    status: str
    since: date
    summary: str  # "stayed since 2026-07-01"
    action: str  # what to do, and what happens otherwise


def _stay_start(stay: StayRecord) -> date:
    # An inferred stay begins the day after the missed date; the MAC's on its letter's date.
    return stay.letter_date or add_days(stay.missed_on, 1)


def standing(state: EnrollmentState) -> Standing | None:
    """None while the enrollment bills normally (or has ended for good)."""
    if state.status == _S.STAYED and state.open_stays():
        stay = min(state.open_stays(), key=lambda s: s.last_day)
        since = _stay_start(stay)
        deactivated = stay.deactivation_effective or add_days(stay.last_day, 1)
        cure = {
            "revalidation": "file the revalidation",
            "unreported_change": "report the change (CMS-855 change of information)",
            "other": "restore compliance as the MAC's stay letter asks (or rebut it)",
        }[stay.cause]
        return Standing(
            status=state.status.value,
            since=since,
            summary=f"stayed since {since}",
            action=f"Stayed since {since}: {cure} by {stay.last_day}, or the enrollment is "
            f"deactivated effective {deactivated}. Claims for dates of service in the stay are "
            "rejected until compliance is restored (42 CFR 424.541).",
        )
    if state.status == _S.DEACTIVATED and state.deactivation is not None:
        d = state.deactivation
        receipt = d.reactivation_receipt_date
        action = (
            f"Deactivated effective {d.effective_date}: reactivation received {receipt}, "
            "waiting for its approval; no payment for services from "
            f"{d.effective_date} through {add_days(receipt, -1)} (42 CFR 424.540(b))."
            if receipt
            else f"Deactivated effective {d.effective_date}: file a reactivation (a CMS-855 "
            "reactivation or revalidation application) now. No payment for services from "
            f"{d.effective_date} until the MAC's receipt date of the application it approves "
            "(42 CFR 424.540(b))."
        )
        return Standing(
            status=state.status.value,
            since=d.effective_date,
            summary=f"deactivated effective {d.effective_date}",
            action=action,
        )
    if state.status == _S.REVOCATION_PENDING and state.revocation is not None:
        r = state.revocation
        return Standing(
            status=state.status.value,
            since=r.notice_date,
            summary=f"revocation pending, effective {r.effective_date}",
            action=f"Revocation pending, effective {r.effective_date} (notice of "
            f"{r.notice_date}): services may be billed until then. Request reconsideration, "
            "or submit a corrective action plan where the notice allows one (42 CFR 405.809, "
            "498.22).",
        )
    return None


def status_text(state: EnrollmentState) -> str:
    """The status as people read it, with the date that matters."""
    found = standing(state)
    if found is not None:
        return found.summary
    r = state.revocation
    if state.status == _S.REVOKED and r is not None:
        return f"revoked effective {r.effective_date}"
    if state.status == _S.REPLACED and state.replaced_by:
        return f"replaced by {state.replaced_by}"
    if state.status == _S.VOLUNTARILY_TERMINATED and state.terminated_on:
        return f"voluntarily terminated effective {state.terminated_on}"
    return state.status.value
