"""The outward checks as pure functions: each fires on its fact and stays quiet without it."""

from __future__ import annotations

from datetime import date

from models.checks import ApplicationParty, Severity, checked_parties
from models.data_checks import (
    ExclusionEntry,
    FindingDisposition,
    exclusion_findings,
    match_level,
    merge_findings,
    order_referring_findings,
    pecos_findings,
)

LIST_DATE = date(2026, 11, 1)
DOB = date(1970, 2, 2)


def entry(**overrides: object) -> ExclusionEntry:
    values: dict[str, object] = {
        "source": "OIG LEIE",
        "source_date": LIST_DATE,
        "record_key": "DOE|RICHARD||",
        "name": "DOE, RICHARD",
        "name_key": "DOE|RICHARD",
        "npi": None,
        "date_of_birth": DOB,
        "exclusion_type": "1128a1",
        "excluded_on": date(2021, 3, 1),
    }
    values.update(overrides)
    return ExclusionEntry.model_validate(values)


def parties(**provider: object) -> tuple:  # type: ignore[type-arg]
    return checked_parties(
        str(provider.get("name", "Richard Doe")),
        False,
        provider.get("npi"),  # type: ignore[arg-type]
        provider.get("dob"),  # type: ignore[arg-type]
        provider.get("parties", ()),  # type: ignore[arg-type]
    )


def test_match_levels() -> None:
    (doe,) = parties(npi="1234567893", dob=DOB)
    assert match_level(doe, entry(npi="1234567893", name_key="X|Y")) == "npi"
    assert match_level(doe, entry()) == "name_dob"
    (no_dob,) = parties()
    assert match_level(no_dob, entry()) == "name"
    (other_dob,) = parties(dob=date(1980, 1, 1))
    assert match_level(other_dob, entry()) is None  # same name, someone else
    (comma,) = parties(name="Doe, Richard A.")
    assert match_level(comma, entry(date_of_birth=None)) == "name"
    (stranger,) = parties(name="Jane Roe")
    assert match_level(stranger, entry()) is None


def test_an_exact_match_is_an_exclusion_with_its_evidence() -> None:
    (finding,) = exclusion_findings(parties(npi="1234567893"), [entry(npi="1234567893")])
    assert (finding.code, finding.severity, finding.field) == (
        "excluded",
        Severity.ERROR,
        "legal_name",
    )
    assert finding.source == "OIG LEIE" and finding.source_date == LIST_DATE
    assert "1128a1" in (finding.evidence or "") and "2021-03-01" in (finding.evidence or "")
    assert "1970" not in finding.message + (finding.evidence or "")  # no date of birth shown
    assert "DOE|RICHARD" not in (finding.evidence or "") and "DOE|" not in (finding.key or "")
    assert finding.check == "exclusions" and finding.key


def test_owners_of_five_percent_and_managing_employees_are_checked() -> None:
    listed = [
        entry(record_key="a", name="ROE, MARY", name_key="ROE|MARY", date_of_birth=None),
        entry(record_key="b", name="POE, ED", name_key="POE|ED", date_of_birth=None),
        entry(record_key="c", name="LOE, AL", name_key="LOE|AL", date_of_birth=None),
    ]
    reported = (
        ApplicationParty(role="owner", name="Mary Roe", ownership_percent=5),
        ApplicationParty(role="owner", name="Ed Poe", ownership_percent=4.9),
        ApplicationParty(role="managing_employee", name="Al Loe"),
    )
    found = exclusion_findings(parties(name="Sunshine Group LLC", parties=reported), listed)
    assert sorted(f.field or "" for f in found) == ["parties[0]", "parties[2]"]
    assert all(f.code == "exclusion_suspected" for f in found)


def test_a_suspected_match_waits_for_a_disposition() -> None:
    checked = parties()
    (suspected,) = exclusion_findings(checked, [entry()])
    assert (suspected.code, suspected.severity) == ("exclusion_suspected", Severity.ERROR)
    assert suspected.key is not None
    cleared = FindingDisposition(
        finding_key=suspected.key,
        disposition="cleared",
        reason="different middle name and city",
        actor="ops@example.org",
        decided_on=date(2026, 11, 30),
    )
    (after,) = exclusion_findings(checked, [entry()], (cleared,))
    assert (after.code, after.severity) == ("exclusion_cleared", Severity.INFO)
    assert "different middle name" in after.message
    confirmed = cleared.model_copy(update={"disposition": "confirmed"})
    (after,) = exclusion_findings(checked, [entry()], (confirmed,))
    assert (after.code, after.severity) == ("excluded", Severity.ERROR)


def test_nobody_listed_nothing_found() -> None:
    assert exclusion_findings(parties(npi="1234567893"), []) == []


def test_order_and_referring() -> None:
    (missing,) = order_referring_findings("1234567893", False, LIST_DATE, orders_or_refers=True)
    assert missing.code == "not_in_order_referring" and missing.source_date == LIST_DATE
    assert order_referring_findings("1234567893", True, LIST_DATE, orders_or_refers=True) == []
    assert order_referring_findings("1234567893", False, None, orders_or_refers=True) == []
    assert order_referring_findings("1234567893", False, LIST_DATE, orders_or_refers=False) == []


def test_pecos_reconciliation_shows_both_dates_and_which_the_clocks_use() -> None:
    found = pecos_findings(
        "I20200101000001",
        date(2027, 3, 31),
        ppef_date=LIST_DATE,
        in_ppef=False,
        due_list_date=LIST_DATE,
        listed_due_date=date(2027, 6, 30),
        listed_due_kind="adjusted",
    )
    assert [f.code for f in found] == ["pecos_enrollment_missing", "due_date_differs"]
    differs = found[1]
    assert "2027-06-30 (adjusted due date)" in differs.message
    assert "2027-03-31, which its clocks use" in differs.message
    quiet = pecos_findings(
        "I20200101000001",
        date(2027, 3, 31),
        ppef_date=LIST_DATE,
        in_ppef=True,
        due_list_date=LIST_DATE,
        listed_due_date=date(2027, 3, 31),
        listed_due_kind="revalidation",
    )
    assert quiet == []


def test_the_same_fact_twice_is_one_finding_and_only_new_facts_are_news() -> None:
    (one,) = exclusion_findings(parties(npi="1234567893"), [entry(npi="1234567893")])
    merged, added = merge_findings([], [one, one], frozenset({"exclusions"}))
    assert merged == [one] and added == [one]
    merged, added = merge_findings(merged, [one], frozenset({"exclusions"}))
    assert merged == [one] and added == []
    merged, added = merge_findings(merged, [], frozenset({"exclusions"}))
    assert merged == [] and added == []
