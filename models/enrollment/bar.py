"""The re-enrollment bar a revocation sets (42 CFR 424.526, 424.535(c))."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel

from models.calendar import add_days
from models.enrollment.guards import refusals
from models.enrollment.state import EnrollmentState


class ReenrollmentBar(BaseModel):
    revoked_effective: date
    years: int
    barred_through: date
    may_apply_from: date
    expired: bool


def reenrollment_bar(state: EnrollmentState) -> ReenrollmentBar | None:
    """The bar a revocation set, for the `reenrollment_bar` query."""
    r = state.revocation
    if r is None:
        return None
    return ReenrollmentBar(
        revoked_effective=r.effective_date,
        years=r.bar_years,
        barred_through=r.barred_through,
        may_apply_from=add_days(r.barred_through, 1),
        expired=r.bar_expired,
    )


def refuse_if_barred(state: EnrollmentState, receipt_date: date) -> None:
    """Refuse an initial application received while the bar runs (it would be returned,
    42 CFR 424.526)."""
    bar = reenrollment_bar(state)
    if bar is not None and receipt_date <= bar.barred_through:
        raise refusals(state).barred(
            f"Enrollment {state.enrollment_id} was revoked effective {bar.revoked_effective} "
            f"with a {bar.years}-year re-enrollment bar (42 CFR 424.535(c)): an initial "
            f"application received before {bar.may_apply_from} is returned (42 CFR 424.526).",
            "receipt_date",
        )
