"""Roster and CMS Revalidation Due Date List parsing (models/roster.py;
docs/regulation.md, "Revalidation")."""

from __future__ import annotations

from datetime import date

import pytest

from models.enrollment import EnrollmentStart
from models.roster import RosterFileError, normalise_header, parse_date, parse_roster

HEADER = "enrollment_id,npi,ptan,form,state,effective_date"
CMS_HEADER = (
    "Enrollment ID,National Provider Identifier,First Name,Last Name,Organization Name,"
    "Enrollment State Code,Enrollment Type,Provider Type Text,Enrollment Specialty,"
    "Revalidation Due Date,Adjusted Due Date,Individual Total Reassign To,"
    "Receiving Benefits Reassignment"
)


def cms_line(enrollment_id: str, npi: str, due: str, adjusted: str = "") -> str:
    return f"{enrollment_id},{npi},JANE,DOE,,FL,Individual,Physician,FP,{due},{adjusted},1,0"


def test_good_rows_are_enrollment_start_ready() -> None:
    parsed = parse_roster(
        f"{HEADER}\nI20031103000001,1234567893,00G577550,855i,fl,04/01/2023\n",
        organization_id="sunrise",
    )
    assert parsed.problems == []
    [row] = parsed.rows
    assert row.row == 2
    assert row.start == {
        "enrollment_id": "I20031103000001",
        "organization_id": "sunrise",
        "npi": "1234567893",
        "ptan": "00G577550",
        "form": "CMS-855I",
        "state": "FL",
        "effective_date": date(2023, 4, 1),
        "provider_type": None,
        "revalidation_due_date": None,
        "legal_name": None,
        "source": "import",
    }
    start = EnrollmentStart.model_validate({**row.start, "actor": "ops@example.org"})
    assert start.source == "import"


def test_the_providers_name_from_the_roster_or_the_cms_list() -> None:
    due_dates = "\n".join(
        [
            CMS_HEADER,
            cms_line("I20031103000001", "1234567893", "04/30/2028"),
            "I20031103000002,1234567893,,,SUNRISE CLINIC LLC,FL,Org,Clinic,GP,04/30/2028,,0,1",
        ]
    )
    parsed = parse_roster(
        f"{HEADER},Name\n"
        "I20031103000001,1234567893,P1,855I,FL,04/01/2023,\n"
        "I20031103000002,1234567893,P2,855B,FL,04/01/2023,\n"
        "I20031103000003,1234567893,P3,855I,FL,04/01/2023,Jane Q. Doe\n",
        due_dates,
    )
    assert parsed.problems == []
    names = [r.start["legal_name"] for r in parsed.rows]
    assert names == ["JANE DOE", "SUNRISE CLINIC LLC", "Jane Q. Doe"]
    long = parse_roster(
        f"{HEADER},Provider Name\nI20031103000001,1234567893,P1,855I,FL,04/01/2023,{'x' * 301}\n"
    )
    assert long.problems[0].column == "Provider Name" and "300" in long.problems[0].reason


def test_bom_header_variants_extra_columns_and_column_order() -> None:
    text = (
        "\ufeffNotes, Effective Date ,STATE,Form,PTAN,NPI,Enrollment-ID,Organization_ID,"
        "Provider Type,Revalidation Due Date\r\n"
        'call Mon,2023-04-01,ga,CMS-855B,PT1,1487726881,O20031216000213,acme,"GROUP, PRACTICE",'
        "2028-04-30\r\n"
    )
    parsed = parse_roster(text)
    assert parsed.problems == []
    [row] = parsed.rows
    assert row.start["enrollment_id"] == "O20031216000213"
    assert row.start["organization_id"] == "acme"
    assert row.start["provider_type"] == "GROUP, PRACTICE"
    assert row.start["revalidation_due_date"] == date(2028, 4, 30)
    assert row.due_date_source == "roster"


def test_header_names_normalise() -> None:
    assert normalise_header(" Enrollment ID ") == "enrollment_id"
    assert normalise_header("\ufeffEFFECTIVE-DATE") == "effective_date"
    assert normalise_header("revalidation__due  date") == "revalidation_due_date"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("04/01/2023", date(2023, 4, 1)),
        ("4/1/2023", date(2023, 4, 1)),
        ("2023-04-01", date(2023, 4, 1)),
        (" 12/31/2027 ", date(2027, 12, 31)),
    ],
)
def test_date_formats(text: str, expected: date) -> None:
    assert parse_date(text, "effective_date") == expected


@pytest.mark.parametrize("text", ["2023/04/01", "01-04-2023", "April 1 2023", "02/30/2024"])
def test_bad_dates_say_which_formats_work(text: str) -> None:
    with pytest.raises(ValueError, match="MM/DD/YYYY or YYYY-MM-DD"):
        parse_date(text, "effective_date")


def test_bad_rows_name_line_column_and_reason_and_good_rows_still_parse() -> None:
    text = "\n".join(
        [
            "Enrollment ID,NPI,PTAN,Form,State,Effective Date",
            "I20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023",
            "I20031103000002,1234567890,P2,CMS-855I,FL,04/01/2023",
            "",  # blank lines are skipped but still counted
            "I20031103000003,1487726881,P3,CMS-855I,ZZ,04/01/2023",
            "I20031103000004,1487797189,P4,CMS-855I,FL,",
            "I20031103000001,1659387512,P5,CMS-855I,FL,04/01/2023",
            "I20031103000006,1396796645,P6,CMS-855R,FL,04/01/2023",
        ]
    )
    parsed = parse_roster(text)
    assert [r.row for r in parsed.rows] == [2]
    got = {(p.row, p.column): p.reason for p in parsed.problems}
    assert set(got) == {
        (3, "NPI"),
        (5, "State"),
        (6, "Effective Date"),
        (7, "Enrollment ID"),
        (8, "Form"),
    }
    assert "fails the check digit: the last digit should be 3" in got[(3, "NPI")]
    assert "1234567890" in got[(3, "NPI")]
    assert "'ZZ'" in got[(5, "State")]
    assert got[(6, "Effective Date")].startswith("effective_date is empty")
    assert "repeats line 2" in got[(7, "Enrollment ID")]
    assert "855R" in got[(8, "Form")]
    assert {p.enrollment_id for p in parsed.problems if p.row == 3} == {"I20031103000002"}
    assert parsed.data_rows == 6  # non-blank data lines


def test_every_bad_cell_of_a_row_is_reported() -> None:
    parsed = parse_roster(f"{HEADER}\nX1,123,,CMS-855I,FL,yesterday\n")
    assert [p.column for p in parsed.problems] == ["enrollment_id", "npi", "ptan", "effective_date"]
    assert parsed.rows == []


def test_whole_row_rules_come_from_enrollment_start() -> None:
    parsed = parse_roster(
        f"{HEADER},revalidation_due_date\n"
        "I20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023,04/15/2028\n"
        "I20031103000002,1487726881,P2,CMS-855O,FL,04/01/2023,04/30/2028\n"
    )
    reasons = {p.row: (p.column, p.reason) for p in parsed.problems}
    assert reasons[2][0] == "revalidation_due_date" and "not a month end" in reasons[2][1]
    assert reasons[3][0] == "revalidation_due_date" and "do not revalidate" in reasons[3][1]


def test_a_missing_required_column_refuses_the_file_naming_every_missing_one() -> None:
    with pytest.raises(RosterFileError) as err:
        parse_roster("Enrollment ID,NPI,Form,Notes\nI20031103000001,1234567893,CMS-855I,x\n")
    message = str(err.value)
    assert err.value.file == "roster"
    assert "missing required column(s) 'ptan', 'state', 'effective_date'" in message
    assert "'Notes'" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty"),
        ("\ufeff\n\n", "empty"),
        (f"{HEADER},NPI\n", "twice"),
    ],
)
def test_unreadable_rosters(text: str, fragment: str) -> None:
    with pytest.raises(RosterFileError, match=fragment):
        parse_roster(text)


def test_cms_list_joins_on_enrollment_id_adjusted_wins_tbd_is_unknown() -> None:
    roster = "\n".join(
        [
            f"{HEADER},revalidation_due_date",
            "I20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023,",
            "I20031103000002,1487726881,P2,CMS-855I,FL,04/01/2023,2028-04-30",
            "I20031103000003,1487797189,P3,CMS-855I,FL,04/01/2023,",
            "I20031103000004,1659387512,P4,CMS-855I,FL,04/01/2023,2028-04-30",
        ]
    )
    cms = "\n".join(
        [
            "\ufeff" + CMS_HEADER,
            cms_line("I20031103000001", "1234567893", "06/30/2027"),
            cms_line("I20031103000002", "1487726881", "07/31/2027", "2027-10-31"),
            cms_line("I20031103000003", "1487797189", "TBD"),
            cms_line("I20031103000004", "1659387512", "TBD", "TBD"),
            cms_line("I20990101000009", "1396796645", "08/31/2027"),  # not ours
            cms_line("not-an-id", "", "garbage"),  # not ours either
        ]
    )
    parsed = parse_roster(roster, cms)
    assert parsed.problems == []
    by_id = {r.start["enrollment_id"]: r for r in parsed.rows}
    one, two, three, four = (by_id[f"I2003110300000{n}"] for n in range(1, 5))
    assert (one.start["revalidation_due_date"], one.due_date_source) == (
        date(2027, 6, 30),
        "cms_list",
    )
    assert (two.start["revalidation_due_date"], two.due_date_source) == (
        date(2027, 10, 31),
        "cms_list_adjusted",
    )
    assert two.due_dates_row == 3
    assert "replaces the roster's 2028-04-30" in two.notes[0]
    assert (three.start["revalidation_due_date"], three.due_date_source) == (None, None)
    assert "TBD" in three.notes[0]
    # TBD in the list keeps the roster's own date.
    assert (four.start["revalidation_due_date"], four.due_date_source) == (
        date(2028, 4, 30),
        "roster",
    )
    assert (parsed.due_dates_rows, parsed.due_dates_matched) == (6, 4)


def test_cms_list_problems_refuse_the_roster_row_they_would_date() -> None:
    roster = "\n".join(
        [
            HEADER,
            "I20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023",
            "I20031103000002,1487726881,P2,CMS-855I,FL,04/01/2023",
            "I20031103000003,1487797189,P3,CMS-855I,FL,04/01/2023",
        ]
    )
    cms = "\n".join(
        [
            "enrollment id,national provider identifier,revalidation due date,adjusted due date",
            "I20031103000001,1234567893,13/31/2027,",
            "I20031103000002,1234567893,07/31/2027,",
            "I20031103000003,1487797189,07/31/2027,",
        ]
    )
    parsed = parse_roster(roster, cms)
    assert [r.row for r in parsed.rows] == [4]
    got = {p.row: p for p in parsed.problems}
    assert got[2].column == "enrollment_id"
    assert "CMS due-date list (line 2, column 'revalidation due date')" in got[2].reason
    assert got[3].column == "npi" and "differs from the CMS due-date list" in got[3].reason


def test_a_cms_list_without_its_date_column_is_refused() -> None:
    with pytest.raises(RosterFileError) as err:
        parse_roster(
            f"{HEADER}\nI20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023\n",
            "Enrollment ID,National Provider Identifier\nI20031103000001,1234567893\n",
        )
    assert err.value.file == "due_dates"
    assert "'Revalidation Due Date'" in str(err.value)


def test_quoted_multiline_cells_keep_the_line_numbers_of_the_file() -> None:
    text = (
        f"{HEADER},provider_type\n"
        'I20031103000001,1234567893,P1,CMS-855I,FL,04/01/2023,"two\nlines"\n'
        "I20031103000002,1234567890,P2,CMS-855I,FL,04/01/2023,x\n"
    )
    parsed = parse_roster(text)
    # A provider type is one line of free text (models/text.py): the wrapped cell is refused
    # at its own row, and the next record is still reported at its file line.
    assert [r.row for r in parsed.rows] == []
    assert [(p.row, p.column) for p in parsed.problems] == [(2, "provider_type"), (4, "npi")]
    assert "U+000A" in parsed.problems[0].reason
