"""The re-enrollment bar a revocation sets (42 CFR 424.526, 424.535(c))."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from models.calendar import add_days
from models.checks import KnownEnrollment, reenrollment_bar_message
from models.enrollment.guards import refusals
from models.enrollment.state import EnrollmentState


class ReenrollmentBar(BaseModel):
    revoked_effective: date
    years: int
    barred_through: date | None  # None: no bar (42 CFR 424.535(c)(1)(ii))
    may_apply_from: date
    expired: bool


def reenrollment_bar(state: EnrollmentState) -> ReenrollmentBar | None:
    """The bar a revocation set, for the `reenrollment_bar` query."""
    r = state.revocation
    if r is None or r.reversed_on is not None:
        return None
    return ReenrollmentBar(
        revoked_effective=r.effective_date,
        years=r.bar_years,
        barred_through=r.barred_through,
        may_apply_from=add_days(r.barred_through, 1) if r.barred_through else r.effective_date,
        expired=r.bar_expired or r.barred_through is None,
    )


def known_enrollment(state: EnrollmentState) -> KnownEnrollment:
    """What an initial application for the same NPI needs to know of this enrollment."""
    r = state.revocation if state.revocation and not state.revocation.reversed_on else None
    return KnownEnrollment(
        enrollment_id=state.enrollment_id,
        form=state.form,
        state=state.state,
        status=state.status.value,
        revoked_effective=r.effective_date if r else None,
        barred_through=r.barred_through if r else None,
    )


def refuse_if_barred(state: EnrollmentState, receipt_date: date) -> None:
    """Refuse an initial application received while the bar runs (it would be returned,
    42 CFR 424.526)."""
    message = reenrollment_bar_message(known_enrollment(state), receipt_date)
    if message is not None:
        raise refusals(state).barred(message, "receipt_date")
