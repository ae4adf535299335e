"""Which Medicare Administrative Contractor handles a state, and where an application goes.

Pure data and lookups (docs/regulation.md, "Contractors"; CMS and MAC pages named below). Rows
whose contractor or states are not confirmed by a CMS or MAC source carry ``confirmed=False``;
keep those in configuration and verify them before relying on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.forms import Form, is_dmepos
from models.identifiers import US_STATE_CODES, validate_state_code

__all__ = [
    "AB_MAC_JURISDICTIONS",
    "DME_MAC_JURISDICTIONS",
    "NPE_JURISDICTIONS",
    "MacAssignment",
    "MacJurisdiction",
    "MacKind",
    "ab_mac_for_state",
    "dme_mac_for_state",
    "enrollment_contractor",
    "npe_for_state",
]

MacKind = Literal["A/B MAC", "DME MAC", "NPE"]


@dataclass(frozen=True, slots=True)
class MacJurisdiction:
    """One row of a contractor table: a jurisdiction, who holds it, which states."""

    jurisdiction: str
    contractor: str
    kind: MacKind
    states: frozenset[str]
    confirmed: bool
    evidence: str
    note: str | None = None


class MacAssignment(BaseModel):
    """The contractor responsible for one state, for one kind of workload."""

    model_config = ConfigDict(frozen=True)

    jurisdiction: str
    contractor: str
    kind: MacKind
    confirmed: bool
    note: str | None


def _states(*codes: str) -> frozenset[str]:
    return frozenset(codes)


_NOVITAS = "Novitas Solutions"
_NORIDIAN = "Noridian"
_PALMETTO = "Palmetto GBA"
_NGS = "National Government Services (NGS)"
_WPS = "Wisconsin Physicians Service (WPS)"
_CGS = "CGS Administrators"

_NORTHERN_VIRGINIA = (
    "Arlington and Fairfax counties and the cities of Fairfax, Falls Church and Alexandria, VA"
)

# The 12 A/B MAC jurisdictions (CMS "Who are the MACs").
AB_MAC_JURISDICTIONS: tuple[MacJurisdiction, ...] = (
    MacJurisdiction(
        "JE", _NORIDIAN, "A/B MAC", _states("CA", "HI", "NV", "AS", "GU", "MP"), True,
        "CMS Spotlight 2013-02-26: JE awarded to Noridian (California, Hawaii, Nevada and "
        "the Pacific territories)",
    ),
    MacJurisdiction(
        "JF", _NORIDIAN, "A/B MAC",
        _states("AK", "AZ", "ID", "MT", "ND", "OR", "SD", "UT", "WA", "WY"), True,
        "Contractor: Noridian JF web pages [MAC]; states: Lexology (JF = old J2+J3) [2nd]",
    ),
    MacJurisdiction(
        "J5", _WPS, "A/B MAC", _states("IA", "KS", "MO", "NE"), True,
        "CMS Spotlight (2012-09-17 archive): J5 awarded 2012-07-31",
    ),
    MacJurisdiction(
        "J6", _NGS, "A/B MAC", _states("IL", "MN", "WI"), True,
        "CMS J6 Fact Sheet: awarded 2012-09-27",
    ),
    MacJurisdiction(
        "J8", _WPS, "A/B MAC", _states("IN", "MI"), True, "CMS Spotlight (2012)",
    ),
    MacJurisdiction(
        "J15", _CGS, "A/B MAC", _states("KY", "OH"), True,
        "CMS MAC What's New archive: new contract awarded 2023-11-30",
    ),
    MacJurisdiction(
        # Current holder UNCONFIRMED in a CMS source.
        "JH", _NOVITAS, "A/B MAC", _states("AR", "CO", "LA", "MS", "NM", "OK", "TX"), False,
        "States: Lexology (JH = old J4+J7) [2nd]; CMS Spotlight 2012: award made to Highmark "
        "(Nov 2011); current holder Novitas UNCONFIRMED in a CMS source",
    ),
    MacJurisdiction(
        "JJ", _PALMETTO, "A/B MAC", _states("AL", "GA", "TN"), True,
        "Contractor: Palmetto 'Jurisdiction J Part A/Part B MAC' site [MAC]; states: "
        "iprostatecancer (old J10) [2nd]",
    ),
    MacJurisdiction(
        # Contractor UNCONFIRMED in a CMS source.
        "JK", _NGS, "A/B MAC", _states("CT", "ME", "MA", "NH", "RI", "VT", "NY"), False,
        "States: Lexology (JK = old J13+J14) [2nd]; contractor NGS: pmbinstitute [2nd], "
        "UNCONFIRMED in a CMS source",
    ),
    MacJurisdiction(
        "JL", _NOVITAS, "A/B MAC", _states("DE", "DC", "MD", "NJ", "PA"), True,
        "CMS 'Who are the MACs: A/B MAC Jurisdiction L (JL)'; CMS Spotlight: awarded to "
        "Novitas 2012-09-17",
        note=f"JL also handles Part B for {_NORTHERN_VIRGINIA}; the rest of Virginia is JM",
    ),
    MacJurisdiction(
        "JM", _PALMETTO, "A/B MAC", _states("NC", "SC", "VA", "WV"), True,
        "Contractor: Palmetto 'Jurisdiction M Part A/B MAC' [MAC]; states: iprostatecancer "
        "(old J11) [2nd]",
    ),
    MacJurisdiction(
        "JN", "First Coast Service Options (FCSO)", "A/B MAC", _states("FL", "PR", "VI"), True,
        "FCSO: 'MAC for jurisdiction N (JN)... Florida, Puerto Rico, and the U.S. Virgin "
        "Islands' [MAC]",
    ),
)  # fmt: skip

# DME MACs process DMEPOS claims by beneficiary residence (CMS MAC pages).
DME_MAC_JURISDICTIONS: tuple[MacJurisdiction, ...] = (
    MacJurisdiction(
        "JA", _NORIDIAN, "DME MAC",
        _states("CT", "DE", "DC", "ME", "MD", "MA", "NH", "NJ", "NY", "PA", "RI", "VT"),
        False, "UNCONFIRMED: GitHub config only [2nd]",
    ),
    MacJurisdiction(
        "JB", _CGS, "DME MAC", _states("IL", "IN", "KY", "MI", "MN", "OH", "WI"), False,
        "UNCONFIRMED: GitHub config [2nd]; CMS archive shows a JB award on 2023-03-28 but the "
        "text was truncated",
    ),
    MacJurisdiction(
        "JC", _CGS, "DME MAC",
        _states(
            "AL", "AR", "CO", "FL", "GA", "LA", "MS", "NM", "NC", "OK", "PR", "SC", "TN",
            "TX", "VI", "VA", "WV",
        ),
        True,
        "CGS 'DME MAC Jurisdiction C Transition' (contract 2020-09-01 to 2027-08-31) [MAC]; "
        "CMS Spotlight 2012",
    ),
    MacJurisdiction(
        "JD", _NORIDIAN, "DME MAC",
        _states(
            "AK", "AS", "AZ", "CA", "GU", "HI", "ID", "IA", "KS", "MO", "MT", "NE", "NV",
            "ND", "MP", "OR", "SD", "UT", "WA", "WY",
        ),
        True, "CMS MAC archive: award 2024-03-01",
    ),
)  # fmt: skip

# Since Nov 2022 two National Provider Enrollment contractors process all
# CMS-855S enrollment, by the location of the supplier's office (Noridian JA DME
# "Enrollment" page, effective 2022-11-07).
NPE_JURISDICTIONS: tuple[MacJurisdiction, ...] = (
    MacJurisdiction(
        "NPE East", _NOVITAS, "NPE",
        _states(
            "AL", "CT", "DE", "FL", "GA", "IL", "IN", "KY", "ME", "MD", "MA", "MI", "MS",
            "NH", "NJ", "NY", "NC", "OH", "PA", "RI", "SC", "TN", "VT", "VA", "WV", "WI",
            "DC", "PR", "VI",
        ),
        True, "Noridian JA DME 'Enrollment' page (effective 2022-11-07) [MAC]",
    ),
    MacJurisdiction(
        "NPE West", _PALMETTO, "NPE",
        _states(
            "AK", "AZ", "AR", "CA", "CO", "HI", "ID", "IA", "KS", "LA", "MN", "MO", "MT",
            "NE", "NV", "NM", "ND", "OK", "OR", "SD", "TX", "UT", "WA", "WY", "AS", "GU",
            "MP",
        ),
        True, "Noridian JA DME 'Enrollment' page (effective 2022-11-07) [MAC]",
    ),
)  # fmt: skip

# Notes that apply to one state rather than to the whole jurisdiction.
_STATE_NOTES: Mapping[tuple[MacKind, str], str] = MappingProxyType(
    {
        # CMS "Who are the MACs: JL".
        ("A/B MAC", "VA"): (
            f"Part B for {_NORTHERN_VIRGINIA} is JL (Novitas Solutions), not JM; "
            "Part A and the rest of Virginia are JM"
        ),
    }
)

# Home health agencies and hospices enroll with their Home Health & Hospice MAC, whose
# state split differs from the A/B table (CMS 2023 HH+H award; the full HH+H state table was
# not found, so it is not encoded here).
_HHH_NOTE = (
    "if the provider is a home health agency or hospice, its contractor is the Home Health & "
    "Hospice MAC (J6 NGS, J15 CGS, JM Palmetto or JK NGS), not necessarily this A/B MAC; "
    "the HH+H state table is not encoded"
)

# A DMEPOS supplier's EFT form follows its CMS-855S to the NPE (our reading; UNCONFIRMED).
_EFT_NOTE = (
    "a DMEPOS supplier's CMS-588 goes to its NPE (npe_for_state), not the A/B MAC (UNCONFIRMED)"
)


def _index(table: tuple[MacJurisdiction, ...]) -> Mapping[str, MacJurisdiction]:
    by_state: dict[str, MacJurisdiction] = {}
    for row in table:
        for state in row.states:
            if state not in US_STATE_CODES:
                raise ValueError(f"{row.kind} table row {row.jurisdiction}: unknown state {state}")
            if state in by_state:
                raise ValueError(
                    f"{row.kind} table lists {state} under both "
                    f"{by_state[state].jurisdiction} and {row.jurisdiction}"
                )
            by_state[state] = row
    return MappingProxyType(by_state)


_AB_MAC_BY_STATE = _index(AB_MAC_JURISDICTIONS)
_DME_MAC_BY_STATE = _index(DME_MAC_JURISDICTIONS)
_NPE_BY_STATE = _index(NPE_JURISDICTIONS)


def _lookup(by_state: Mapping[str, MacJurisdiction], kind: MacKind, state: str) -> MacAssignment:
    code = validate_state_code(state)
    row = by_state.get(code)
    if row is None:
        raise ValueError(
            f"No {kind} on record for state {code}: add it to the {kind} table in "
            "models/jurisdictions.py from a CMS source"
        )
    return MacAssignment(
        jurisdiction=row.jurisdiction,
        contractor=row.contractor,
        kind=row.kind,
        confirmed=row.confirmed,
        note=_STATE_NOTES.get((kind, code), row.note),
    )


def ab_mac_for_state(state: str) -> MacAssignment:
    """A/B MAC for a state. Raises ValueError for an unknown state."""
    return _lookup(_AB_MAC_BY_STATE, "A/B MAC", state)


def dme_mac_for_state(state: str) -> MacAssignment:
    """DME MAC (claims, by beneficiary residence) for a state."""
    return _lookup(_DME_MAC_BY_STATE, "DME MAC", state)


def npe_for_state(state: str) -> MacAssignment:
    """NPE that enrolls DMEPOS suppliers whose office is in ``state``."""
    return _lookup(_NPE_BY_STATE, "NPE", state)


def _with_note(assignment: MacAssignment, extra: str) -> MacAssignment:
    note = f"{assignment.note}; {extra}" if assignment.note else extra
    return assignment.model_copy(update={"note": note})


def enrollment_contractor(form: Form, state: str) -> MacAssignment:
    """Contractor an application goes to.

    CMS-855S goes to the NPE for the supplier's state; every other form to the A/B MAC of the
    state. Applications sent to the wrong contractor are returned (42 CFR 424.526; FCSO).
    """
    if is_dmepos(form):
        return npe_for_state(state)
    assignment = ab_mac_for_state(state)
    if form is Form.CMS_855A:
        return _with_note(assignment, _HHH_NOTE)
    if form is Form.CMS_588:
        return _with_note(assignment, _EFT_NOTE)
    return assignment
