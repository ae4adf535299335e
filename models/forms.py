"""Enrollment application forms, their purposes and the application fee.

Pure: no I/O. docs/regulation.md ("Forms and fees") says what each form is for, who pays the
fee and how much, with the sources.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = [
    "ALLOWED_PURPOSES",
    "APPLICATION_FEE_BY_YEAR",
    "AnnualApplicationFee",
    "FeeDecision",
    "Form",
    "FormInput",
    "Purpose",
    "application_fee",
    "check_form_purpose",
    "form_purpose_schema",
    "is_dmepos",
    "parse_form",
    "retrospective_billing_scope",
    "revalidates",
]


class Form(StrEnum):
    """Medicare enrollment application forms handled by the engine (CMS MLN9658742; NGS
    "Submit Enrollment Application")."""

    CMS_855A = "CMS-855A"  # institutional providers (Part A)
    CMS_855B = "CMS-855B"  # organizational Part B suppliers
    CMS_855I = "CMS-855I"  # individual physicians/NPPs; reassignment since the 5/23 version
    CMS_855O = "CMS-855O"  # ordering/certifying/referring only, no billing
    CMS_855S = "CMS-855S"  # DMEPOS suppliers
    CMS_20134 = "CMS-20134"  # MDPP suppliers (42 CFR 424.205)
    CMS_588 = "CMS-588"  # electronic funds transfer authorization


class Purpose(StrEnum):
    """Why an application is filed."""

    INITIAL = "initial"
    REVALIDATION = "revalidation"
    CHANGE_OF_INFORMATION = "change_of_information"
    REACTIVATION = "reactivation"
    REASSIGNMENT = "reassignment"


# --------------------------------------------------------------------------------------
# Parsing form names
# --------------------------------------------------------------------------------------

_FORM_BY_KEY: Mapping[str, Form] = MappingProxyType(
    {form.value.removeprefix("CMS-"): form for form in Form}
)

# Forms people type that are not (or no longer) enrollment applications handled here.
_REFUSED_FORMS: Mapping[str, str] = MappingProxyType(
    {
        # NGS "Submit Enrollment Application"; MLN9658742.
        "855R": (
            "Form CMS-855R was discontinued on 2023-10-31: reassignments are filed on the "
            "CMS-855I (5/23 version), purpose 'reassignment'"
        ),
        # CMS-460 is the optional participation agreement (NGS; FCSO).
        "460": (
            "Form CMS-460 is the optional participating physician/supplier agreement, not an "
            "enrollment application; file the CMS-855 it accompanies"
        ),
        # CMS-10114 is the NPPES NPI application, outside Medicare enrollment.
        "10114": (
            "Form CMS-10114 is the NPI application filed with NPPES, not a Medicare "
            "enrollment application; obtain the NPI first, then file the CMS-855"
        ),
    }
)


def parse_form(value: str) -> Form:
    """Form from a loose spelling: "855i", "cms 855I", "CMS-855I", "CMS_855I", "588"."""
    key = re.sub(r"[\s_\-]+", "", value).upper()
    key = key.removeprefix("FORM").removeprefix("CMS")
    form = _FORM_BY_KEY.get(key)
    if form is not None:
        return form
    refusal = _REFUSED_FORMS.get(key)
    if refusal is not None:
        raise ValueError(refusal)
    accepted = ", ".join(f.value for f in Form)
    raise ValueError(f"Unknown enrollment form {value!r}: use one of {accepted}")


def _parse_form_input(value: Any) -> Any:
    # Only strings are re-spelled; anything else is left for pydantic's enum check.
    return parse_form(value) if isinstance(value, str) else value


# A Form field that accepts the loose spellings of parse_form and refuses CMS-855R with the
# discontinuation message instead of a bare enum error.
FormInput = Annotated[Form, BeforeValidator(_parse_form_input)]


# --------------------------------------------------------------------------------------
# Which purposes each form can carry
# --------------------------------------------------------------------------------------

_STANDARD_PURPOSES = frozenset(
    {Purpose.INITIAL, Purpose.REVALIDATION, Purpose.CHANGE_OF_INFORMATION, Purpose.REACTIVATION}
)

ALLOWED_PURPOSES: Mapping[Form, frozenset[Purpose]] = MappingProxyType(
    {
        Form.CMS_855A: _STANDARD_PURPOSES,
        Form.CMS_855B: _STANDARD_PURPOSES,
        # Reassignment moved onto the 855I with its 5/23 version (NGS "Submit Enrollment
        # Application"; MLN9658742).
        Form.CMS_855I: _STANDARD_PURPOSES | {Purpose.REASSIGNMENT},
        # 855O-only enrollees do not revalidate (Noridian JE revalidation page); they can be
        # deactivated and reactivated under 42 CFR 424.547 (90 FR 55618).
        Form.CMS_855O: _STANDARD_PURPOSES - {Purpose.REVALIDATION},
        Form.CMS_855S: _STANDARD_PURPOSES,
        Form.CMS_20134: _STANDARD_PURPOSES,
        # The CMS-588 sets up or changes EFT (MLN9658742); the enrollment purpose
        # (revalidation, reactivation) belongs to the 855/20134 it accompanies.
        Form.CMS_588: frozenset({Purpose.INITIAL, Purpose.CHANGE_OF_INFORMATION}),
    }
)


def _why_not_allowed(form: Form, purpose: Purpose) -> str:
    if purpose is Purpose.REASSIGNMENT:
        return (
            "reassignment of benefits is filed on the CMS-855I (5/23 version); "
            "the CMS-855R was discontinued on 2023-10-31"
        )
    if form is Form.CMS_855O and purpose is Purpose.REVALIDATION:
        return "ordering/referring-only (CMS-855O) enrollees do not revalidate"
    if form is Form.CMS_588:
        return (
            "a CMS-588 only sets up (initial) or changes (change_of_information) EFT; the "
            "revalidation or reactivation is the purpose of the CMS-855/20134 it accompanies"
        )
    return "this form does not carry that purpose"


def check_form_purpose(form: Form, purpose: Purpose) -> None:
    """Raise ValueError if ``form`` cannot be filed for ``purpose``."""
    allowed = ALLOWED_PURPOSES[form]
    if purpose in allowed:
        return
    allowed_text = ", ".join(p.value for p in Purpose if p in allowed)
    raise ValueError(
        f"{form.value} cannot be filed for purpose '{purpose.value}': "
        f"{_why_not_allowed(form, purpose)}. Allowed purposes for {form.value}: {allowed_text}"
    )


def form_purpose_schema() -> dict[str, Any]:
    """JSON Schema of ALLOWED_PURPOSES for a body with `form` and `purpose` (OpenAPI): for
    each form that does not carry every purpose, `if` that form `then` its purposes."""
    return {
        "allOf": [
            {
                "if": {"properties": {"form": {"const": form.value}}, "required": ["form"]},
                "then": {
                    "properties": {"purpose": {"enum": [p.value for p in Purpose if p in allowed]}}
                },
            }
            for form, allowed in ALLOWED_PURPOSES.items()
            if allowed != frozenset(Purpose)
        ]
    }


def is_dmepos(form: Form) -> bool:
    """DMEPOS suppliers enroll on the CMS-855S."""
    return form is Form.CMS_855S


def revalidates(form: Form) -> bool:
    """False for the CMS-855O: order/refer-only enrollees do not revalidate (Noridian JE
    revalidation page)."""
    return form is not Form.CMS_855O


def retrospective_billing_scope(
    form: Form, *, idtf: bool = False, asc_or_portable_xray: bool = False
) -> tuple[bool, str]:
    """Whether 42 CFR 424.521's look-back before the effective date applies, and why not when
    it does not. It covers the 424.520(d) types: physicians, non-physician practitioners and
    their organizations, and the listed Part B suppliers (ambulance, labs, pharmacies...)."""
    if form is Form.CMS_855A:
        return False, "certified providers (CMS-855A) take their effective date from 42 CFR 489.13"
    if form is Form.CMS_855S:
        return False, "DMEPOS suppliers (CMS-855S) follow 42 CFR 424.57(b)"
    if form is Form.CMS_855O:
        return False, "a CMS-855O enrollee orders and refers only and bills nothing"
    if form in (Form.CMS_20134, Form.CMS_588):
        return False, f"{form.value} is not a 42 CFR 424.520(d) enrollment"
    if idtf:
        return False, "independent diagnostic testing facilities follow 42 CFR 410.33(i)"
    if asc_or_portable_xray:
        return False, "certified suppliers (ASCs, portable x-ray) follow 42 CFR 489.13"
    return True, "42 CFR 424.520(d), 424.521(a)"


# --------------------------------------------------------------------------------------
# Application fee (42 CFR 424.514; docs/regulation.md, "Forms and fees")
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnnualApplicationFee:
    """The application fee for one calendar year and where that amount is published."""

    amount: Decimal
    citation: str


# The fee in force is the one for the calendar year in which the application is submitted
# (42 CFR 424.514). Add each new year from its Federal Register notice (usually Nov/Dec).
APPLICATION_FEE_BY_YEAR: Mapping[int, AnnualApplicationFee] = MappingProxyType(
    {
        2019: AnnualApplicationFee(
            Decimal("586"), "CMS Medicare Application Fee page (modified 2019-01-03)"
        ),
        2020: AnnualApplicationFee(Decimal("595"), "84 FR 61058 (2019-11-12)"),
        2021: AnnualApplicationFee(Decimal("599"), "CMS MLN9658742 (2021)"),
        2022: AnnualApplicationFee(Decimal("631"), "CMS MLN9658742 (2022)"),
        2023: AnnualApplicationFee(Decimal("688"), "87 FR 74422, CMS-6092-N (2022-12-05)"),
        2024: AnnualApplicationFee(Decimal("709"), "88 FR 76754, CMS-6093-N (2023-11-07)"),
        2025: AnnualApplicationFee(Decimal("730"), "89 FR 95215, FR Doc 2024-28127"),
        2026: AnnualApplicationFee(Decimal("750"), "90 FR 55738, CMS-6096-N (2025-12-03)"),
    }
)

# "Beginning January 1, 2022, CMS no longer requires enrolling MDPP suppliers to pay"
# (MLN9658742, 2022 version).
_MDPP_FEE_ENDS = date(2022, 1, 1)

_WHO_PAYS_CITATION = "42 CFR 424.502; 88 FR 76754; CMS MLN9658742"


class FeeDecision(BaseModel):
    """Whether an application owes the fee, how much, and why."""

    model_config = ConfigDict(frozen=True)

    required: bool
    amount: Decimal | None
    calendar_year: int | None
    reason: str
    citation: str


def _no_fee(reason: str, citation: str = _WHO_PAYS_CITATION) -> FeeDecision:
    return FeeDecision(
        required=False, amount=None, calendar_year=None, reason=reason, citation=citation
    )


def application_fee(
    form: Form,
    purpose: Purpose,
    submission_date: date,
    *,
    physician_or_npp_organization: bool = False,
    adds_practice_location: bool = False,
) -> FeeDecision:
    """Decide the application fee for one application.

    ``physician_or_npp_organization`` only matters for the CMS-855B (such organizations do
    not pay); ``adds_practice_location`` only matters for a change of information.
    Raises ValueError for a form/purpose pair that cannot be filed, or when the fee is due
    in a calendar year with no amount on record.
    """
    check_form_purpose(form, purpose)

    # Who pays: "institutional providers" = 855A, 855B except physician/NPP organizations,
    # 855S (42 CFR 424.502 as quoted in 88 FR 76754). Physicians, NPPs and their
    # organizations do not pay (MLN9658742). 855O: no fee follows from the definition
    # (UNCONFIRMED explicitly). The 588 is not an enrollment application.
    if form in (Form.CMS_855I, Form.CMS_855O):
        return _no_fee(
            f"{form.value} applications (physicians and non-physician practitioners) "
            "do not pay the application fee"
        )
    if form is Form.CMS_588:
        return _no_fee("CMS-588 (EFT authorization) does not carry an application fee")
    if form is Form.CMS_855B and physician_or_npp_organization:
        return _no_fee(
            "CMS-855B filed by a physician or non-physician practitioner organization: "
            "not an institutional provider, no application fee"
        )
    if form is Form.CMS_20134 and submission_date >= _MDPP_FEE_ENDS:
        return _no_fee(
            "MDPP suppliers (CMS-20134) no longer pay the application fee from 2022-01-01",
            citation="CMS MLN9658742 (2022 version)",
        )

    # When the fee is due: initial enrollment, revalidation, re-enrollment, or adding a
    # practice location (88 FR 76754; MLN9658742). Our interpretation: a reactivation is a
    # re-enrollment, so it pays.
    if purpose is Purpose.CHANGE_OF_INFORMATION and not adds_practice_location:
        return _no_fee(
            f"{form.value} change of information that does not add a practice location: "
            "no application fee"
        )

    year = submission_date.year
    annual = APPLICATION_FEE_BY_YEAR.get(year)
    if annual is None:
        known = f"{min(APPLICATION_FEE_BY_YEAR)}-{max(APPLICATION_FEE_BY_YEAR)}"
        raise ValueError(
            f"No application fee amount on record for calendar year {year} (submission date "
            f"{submission_date.isoformat()}); amounts are on record for {known}. Add the "
            f"{year} amount from its Federal Register notice to APPLICATION_FEE_BY_YEAR in "
            "models/forms.py"
        )
    occasion = {
        Purpose.INITIAL: "initial enrollment",
        Purpose.REVALIDATION: "revalidation",
        Purpose.REACTIVATION: "reactivation (treated as re-enrollment)",
        Purpose.CHANGE_OF_INFORMATION: "change of information adding a practice location",
    }[purpose]
    # MDPP suppliers paid before 2022 (MLN9658742, 2022 version: "paid in earlier years").
    payer = (
        "an MDPP supplier (before 2022)" if form is Form.CMS_20134 else "an institutional provider"
    )
    return FeeDecision(
        required=True,
        amount=annual.amount,
        calendar_year=year,
        reason=(
            f"{form.value} {occasion} by {payer}: application fee "
            f"${annual.amount} for calendar year {year} (year of submission)"
        ),
        citation=f"{_WHO_PAYS_CITATION}; {annual.citation}",
    )
