"""MAC tables and lookups (docs/regulation.md, "Contractors")."""

import pytest
from pydantic import ValidationError

from models.forms import Form
from models.identifiers import US_STATE_CODES
from models.jurisdictions import (
    AB_MAC_JURISDICTIONS,
    DME_MAC_JURISDICTIONS,
    NPE_JURISDICTIONS,
    MacAssignment,
    ab_mac_for_state,
    dme_mac_for_state,
    enrollment_contractor,
    npe_for_state,
)

# --- self-check: every state/territory has exactly one contractor of each kind ----------


@pytest.mark.parametrize("table", [AB_MAC_JURISDICTIONS, NPE_JURISDICTIONS, DME_MAC_JURISDICTIONS])
def test_every_state_has_exactly_one_contractor(table):
    for state in sorted(US_STATE_CODES):
        holders = [row.jurisdiction for row in table if state in row.states]
        assert len(holders) == 1, f"{state}: {holders}"
    listed = set().union(*(row.states for row in table))
    assert listed == US_STATE_CODES, listed ^ US_STATE_CODES


def test_twelve_ab_macs_two_npes_four_dme_macs():
    assert len(AB_MAC_JURISDICTIONS) == 12
    assert {r.jurisdiction for r in NPE_JURISDICTIONS} == {"NPE East", "NPE West"}
    assert {r.jurisdiction for r in DME_MAC_JURISDICTIONS} == {"JA", "JB", "JC", "JD"}


def test_every_row_has_evidence():
    for row in (*AB_MAC_JURISDICTIONS, *DME_MAC_JURISDICTIONS, *NPE_JURISDICTIONS):
        assert row.evidence


def test_unconfirmed_rows_are_exactly_those_domain_md_flags():
    unconfirmed = {
        (r.kind, r.jurisdiction)
        for r in (*AB_MAC_JURISDICTIONS, *DME_MAC_JURISDICTIONS, *NPE_JURISDICTIONS)
        if not r.confirmed
    }
    assert unconfirmed == {
        ("A/B MAC", "JH"),
        ("A/B MAC", "JK"),
        ("DME MAC", "JA"),
        ("DME MAC", "JB"),
    }


# --- A/B MAC lookups --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "jurisdiction", "contractor", "confirmed"),
    [
        ("CA", "JE", "Noridian", True),
        ("GU", "JE", "Noridian", True),
        ("AS", "JE", "Noridian", True),
        ("WA", "JF", "Noridian", True),
        ("AK", "JF", "Noridian", True),
        ("IA", "J5", "WPS", True),
        ("MO", "J5", "WPS", True),
        ("IL", "J6", "NGS", True),
        ("MN", "J6", "NGS", True),
        ("MI", "J8", "WPS", True),
        ("OH", "J15", "CGS", True),
        ("KY", "J15", "CGS", True),
        ("TX", "JH", "Novitas", False),
        ("CO", "JH", "Novitas", False),
        ("GA", "JJ", "Palmetto", True),
        ("TN", "JJ", "Palmetto", True),
        ("NY", "JK", "NGS", False),
        ("MA", "JK", "NGS", False),
        ("PA", "JL", "Novitas", True),
        ("DC", "JL", "Novitas", True),
        ("NC", "JM", "Palmetto", True),
        ("VA", "JM", "Palmetto", True),
        ("FL", "JN", "First Coast", True),
        ("PR", "JN", "First Coast", True),
        ("VI", "JN", "First Coast", True),
    ],
)
def test_ab_mac_for_state(state, jurisdiction, contractor, confirmed):
    assignment = ab_mac_for_state(state)
    assert assignment.kind == "A/B MAC"
    assert assignment.jurisdiction == jurisdiction
    assert contractor in assignment.contractor
    assert assignment.confirmed is confirmed


def test_lookup_normalises_state():
    assert ab_mac_for_state(" ca ").jurisdiction == "JE"


def test_virginia_is_jm_with_northern_virginia_note():
    assignment = ab_mac_for_state("VA")
    assert assignment.jurisdiction == "JM"
    assert assignment.note is not None
    assert "Arlington" in assignment.note
    assert "JL" in assignment.note


def test_jl_carries_northern_virginia_note():
    note = ab_mac_for_state("MD").note
    assert note is not None
    assert "Falls Church" in note


def test_unknown_state_message():
    with pytest.raises(ValueError, match="'ZZ' is not accepted"):
        ab_mac_for_state("ZZ")
    with pytest.raises(ValueError, match="two-letter USPS code"):
        npe_for_state("Texas")
    with pytest.raises(ValueError):
        dme_mac_for_state("")


# --- NPE and DME MAC --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "jurisdiction", "contractor"),
    [
        ("FL", "NPE East", "Novitas"),
        ("NY", "NPE East", "Novitas"),
        ("MS", "NPE East", "Novitas"),
        ("VI", "NPE East", "Novitas"),
        ("TX", "NPE West", "Palmetto"),
        ("MN", "NPE West", "Palmetto"),
        ("GU", "NPE West", "Palmetto"),
    ],
)
def test_npe_for_state(state, jurisdiction, contractor):
    assignment = npe_for_state(state)
    assert assignment.kind == "NPE"
    assert assignment.jurisdiction == jurisdiction
    assert contractor in assignment.contractor
    assert assignment.confirmed


@pytest.mark.parametrize(
    ("state", "jurisdiction", "contractor", "confirmed"),
    [
        ("NY", "JA", "Noridian", False),
        ("OH", "JB", "CGS", False),
        ("TX", "JC", "CGS", True),
        ("PR", "JC", "CGS", True),
        ("CA", "JD", "Noridian", True),
    ],
)
def test_dme_mac_for_state(state, jurisdiction, contractor, confirmed):
    assignment = dme_mac_for_state(state)
    assert assignment.kind == "DME MAC"
    assert assignment.jurisdiction == jurisdiction
    assert contractor in assignment.contractor
    assert assignment.confirmed is confirmed


# --- where an application goes ----------------------------------------------------------


def test_855s_goes_to_npe_by_supplier_state():
    tx = enrollment_contractor(Form.CMS_855S, "TX")
    assert (tx.kind, tx.jurisdiction) == ("NPE", "NPE West")
    assert "Palmetto" in tx.contractor
    fl = enrollment_contractor(Form.CMS_855S, "FL")
    assert (fl.kind, fl.jurisdiction) == ("NPE", "NPE East")
    assert "Novitas" in fl.contractor


@pytest.mark.parametrize(
    "form", [Form.CMS_855A, Form.CMS_855B, Form.CMS_855I, Form.CMS_855O, Form.CMS_20134]
)
def test_other_forms_go_to_ab_mac(form):
    assignment = enrollment_contractor(form, "FL")
    assert (assignment.kind, assignment.jurisdiction) == ("A/B MAC", "JN")
    ny = enrollment_contractor(form, "NY")
    assert ny.jurisdiction == "JK"
    assert ny.confirmed is False


def test_855a_notes_home_health_and_hospice_exception():
    note = enrollment_contractor(Form.CMS_855A, "VA").note
    assert note is not None
    assert "Home Health & Hospice" in note
    assert "Arlington" in note  # the state note is kept


def test_588_notes_dmepos_exception():
    assignment = enrollment_contractor(Form.CMS_588, "TX")
    assert assignment.jurisdiction == "JH"
    assert assignment.note is not None
    assert "NPE" in assignment.note


def test_mac_assignment_is_frozen():
    assignment = ab_mac_for_state("CA")
    assert isinstance(assignment, MacAssignment)
    with pytest.raises(ValidationError):
        assignment.contractor = "someone else"  # type: ignore[misc]
