"""Identifier validation: NPI check digit, PECOS IDs, TINs, states (docs/regulation.md,
"Identifiers")."""

import re

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from models.identifiers import (
    EIN,
    NPI,
    PTAN,
    SSN,
    US_STATE_CODES,
    EnrollmentId,
    MacCaseNumber,
    PacId,
    StateCode,
    WebTrackingId,
    is_valid_npi,
    mask_tin,
    npi_check_digit,
    tin_last4,
    validate_ein,
    validate_enrollment_id,
    validate_npi,
    validate_opaque_identifier,
    validate_pac_id,
    validate_ssn,
    validate_state_code,
)

# Real NPIs from CMS, DAB decisions and the NPPES API sample.
VALID_NPIS = [
    "1234567893",
    "1487726881",
    "1487797189",
    "1659387512",
    "1396796645",
    "1023043635",
    "1619081304",
    "1003000126",
]
INVALID_NPIS = ["1234567890", "1487726882", "3333333333", "1234567001"]


# --- NPI ------------------------------------------------------------------------------


def test_cms_worked_example_check_digit():
    assert npi_check_digit("123456789") == 3


@pytest.mark.parametrize("npi", VALID_NPIS)
def test_valid_npis(npi):
    assert is_valid_npi(npi)
    assert validate_npi(npi) == npi
    assert npi_check_digit(npi[:9]) == int(npi[9])


@pytest.mark.parametrize("npi", INVALID_NPIS)
def test_invalid_npis(npi):
    assert not is_valid_npi(npi)
    with pytest.raises(ValueError):
        validate_npi(npi)


def test_npi_check_digit_message_gives_expected_digit():
    with pytest.raises(ValueError) as excinfo:
        validate_npi("1234567890")
    message = str(excinfo.value)
    assert "fails the check digit" in message
    assert "should be 3" in message
    assert "80840" in message
    assert "NPPES" in message


def test_npi_1487726882_should_end_in_1():
    with pytest.raises(ValueError, match="should be 1"):
        validate_npi("1487726882")


def test_npi_first_digit_message():
    with pytest.raises(ValueError, match="first digit must be 1 or 2"):
        validate_npi("3333333333")


def test_npi_1234567001_fails_check_digit():
    with pytest.raises(ValueError, match="fails the check digit"):
        validate_npi("1234567001")


def test_npi_length_message():
    with pytest.raises(ValueError, match="not 10 digits") as excinfo:
        validate_npi("123456789")
    assert "has 9" in str(excinfo.value)


def test_npi_non_digit_message():
    with pytest.raises(ValueError, match="non-digit characters") as excinfo:
        validate_npi("12345-6789")
    assert "'-'" in str(excinfo.value)


def test_npi_empty_message():
    with pytest.raises(ValueError, match="empty"):
        validate_npi("   ")


def test_npi_whitespace_is_stripped_by_validator_not_by_predicate():
    assert validate_npi("  1234567893\n") == "1234567893"
    assert not is_valid_npi(" 1234567893")


def test_npi_check_digit_rejects_bad_base():
    with pytest.raises(ValueError, match="9 digits"):
        npi_check_digit("12345678")


def test_npi_rejects_non_ascii_digits():
    # Arabic-Indic digits satisfy str.isdigit() but are not an NPI.
    with pytest.raises(ValueError, match="non-digit"):
        validate_npi("١٢٣٤٥٦٧٨٩٣")
    assert not is_valid_npi("١٢٣٤٥٦٧٨٩٣")


# --- pydantic integration ---------------------------------------------------------------


class Provider(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    npi: NPI
    enrollment_id: EnrollmentId | None = None
    pac_id: PacId | None = None
    ptan: PTAN | None = None
    web_tracking_id: WebTrackingId | None = None
    mac_case_number: MacCaseNumber | None = None
    ein: EIN | None = None
    ssn: SSN | None = None
    state: StateCode | None = None


def test_model_normalises_all_fields():
    provider = Provider(
        npi=" 1003000126 ",
        enrollment_id="i20031103000001",
        pac_id="8022920719",
        ptan=" VV3324C588 ",
        web_tracking_id="T12345",
        mac_case_number="  CASE-1 ",
        ein="123456789",
        ssn="123456789",
        state=" md",
    )
    assert provider.npi == "1003000126"
    assert provider.enrollment_id == "I20031103000001"
    assert provider.ptan == "VV3324C588"
    assert provider.mac_case_number == "CASE-1"
    assert provider.ein == "12-3456789"
    assert provider.ssn == "123-45-6789"
    assert provider.state == "MD"


def test_bad_npi_in_model_names_the_field_and_reason():
    with pytest.raises(ValidationError) as excinfo:
        Provider(npi="1234567890")
    errors = excinfo.value.errors()
    assert len(errors) == 1
    assert errors[0]["loc"] == ("npi",)
    assert "should be 3" in errors[0]["msg"]
    assert "npi" in str(excinfo.value)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("enrollment_id", "X20031103000001", "not I (individual) or O"),
        ("pac_id", "802292071", "10 digits"),
        ("ptan", "   ", "PTAN is empty"),
        ("web_tracking_id", "A" * 51, "Web Tracking ID is 51 characters"),
        ("mac_case_number", "12\t34", "MAC case number"),
        ("ein", "12-345678", "EIN"),
        ("ssn", "000-12-3456", "never issued"),
        ("state", "ZZ", "two-letter USPS code"),
    ],
)
def test_each_field_type_reports_field_and_reason(field, value, fragment):
    with pytest.raises(ValidationError) as excinfo:
        Provider(npi="1234567893", **{field: value})
    errors = excinfo.value.errors()
    assert [e["loc"] for e in errors] == [(field,)]
    assert fragment in errors[0]["msg"]


def test_non_string_npi_is_refused():
    # An integer would lose meaning for IDs with leading zeros; pydantic refuses it.
    with pytest.raises(ValidationError) as excinfo:
        Provider(npi=1234567893)
    assert excinfo.value.errors()[0]["loc"] == ("npi",)


# --- PECOS identifiers ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["I20031103000001", "O20031216000213", "I20070525000116"])
def test_enrollment_ids_from_ppef(value):
    assert validate_enrollment_id(value) == value


def test_enrollment_id_is_uppercased_and_trimmed():
    assert validate_enrollment_id(" o20031216000213 ") == "O20031216000213"


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("", "empty"),
        ("I2003110300000", "14 characters, not 15"),
        ("I2003110300000A", "must all be digits"),
        ("P20031103000001", "not I (individual) or O (organization)"),
    ],
)
def test_enrollment_id_messages(value, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)) as excinfo:
        validate_enrollment_id(value)
    assert "I20031103000001" in str(excinfo.value)  # shows an example of the right shape


def test_pac_id():
    assert validate_pac_id(" 8022034875 ") == "8022034875"
    with pytest.raises(ValueError, match="exactly 10 digits"):
        validate_pac_id("80220348X5")


def test_opaque_identifier_rules():
    assert validate_opaque_identifier("  00G577550 ", "PTAN") == "00G577550"
    assert validate_opaque_identifier("A" * 50, "PTAN") == "A" * 50
    with pytest.raises(ValueError, match="PTAN is empty"):
        validate_opaque_identifier("", "PTAN")
    with pytest.raises(ValueError, match="limit is 50"):
        validate_opaque_identifier("A" * 51, "PTAN")
    with pytest.raises(ValueError, match="U\\+0000") as excinfo:
        validate_opaque_identifier("AB\x00C", "Web Tracking ID")
    assert "Web Tracking ID" in str(excinfo.value)
    assert "position 3" in str(excinfo.value)
    with pytest.raises(ValueError, match="U\\+200B"):
        validate_opaque_identifier("LP\u200b064", "PTAN")


# --- TINs -------------------------------------------------------------------------------


def test_ein_formats():
    assert validate_ein("12-3456789") == "12-3456789"
    assert validate_ein(" 123456789 ") == "12-3456789"
    for bad in ["1-23456789", "12345678", "1234567890", "12-34567A9", "123-456789"]:
        with pytest.raises(ValueError, match="NN-NNNNNNN"):
            validate_ein(bad)


def test_ssn_formats():
    assert validate_ssn("123-45-6789") == "123-45-6789"
    assert validate_ssn("123456789") == "123-45-6789"
    with pytest.raises(ValueError, match="NNN-NN-NNNN"):
        validate_ssn("12-345-6789")
    with pytest.raises(ValueError, match="NNN-NN-NNNN"):
        validate_ssn("12345678")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("000-12-3456", "first three digits (000)"),
        ("666-12-3456", "first three digits (666)"),
        ("900-12-3456", "first three digits (900)"),
        ("999-12-3456", "first three digits (999)"),
        ("123-00-4567", "middle two digits are 00"),
        ("123-45-0000", "last four digits are 0000"),
    ],
)
def test_ssn_never_issued_ranges(value, fragment):
    with pytest.raises(ValueError, match=re.escape(fragment)):
        validate_ssn(value)


def test_ssn_boundaries_accepted():
    assert validate_ssn("899-01-0001") == "899-01-0001"
    assert validate_ssn("665-99-9999") == "665-99-9999"


def test_ssn_messages_do_not_leak_the_number():
    with pytest.raises(ValueError) as excinfo:
        validate_ssn("666-12-3456")
    assert "666-12-3456" not in str(excinfo.value)
    assert "***-**-3456" in str(excinfo.value)


def test_tin_last4_and_mask():
    assert tin_last4("123-45-6789") == "6789"
    assert tin_last4("12-3456789") == "6789"
    assert mask_tin("123-45-6789") == "***-**-6789"
    assert mask_tin("12-3456789") == "**-***6789"
    assert mask_tin("123456789", kind="SSN") == "***-**-6789"
    assert mask_tin("123456789", kind="EIN") == "**-***6789"
    assert mask_tin("123456789") == "*****6789"  # ambiguous without kind
    with pytest.raises(ValueError, match="9 digits"):
        tin_last4("12345")


def test_item11_the_support_packet_mask_shows_the_last_five_digits():
    from models.identifiers import SUPPORT_PACKET_TIN_DIGITS

    assert SUPPORT_PACKET_TIN_DIGITS == 5  # what MAC phone verification asks for
    assert mask_tin("123-45-6789", "SSN", shown=5) == "***-*5-6789"
    assert mask_tin("12-3456789", "EIN", shown=5) == "**-**56789"
    assert mask_tin("123456789", shown=5) == "****56789"
    # Everywhere else: four.
    assert mask_tin("123-45-6789", "SSN") == "***-**-6789"


def test_item3_provisional_enrollment_ids():
    from models.identifiers import (
        is_provisional_enrollment_id,
        provisional_enrollment_id,
        validate_any_enrollment_id,
    )

    one = provisional_enrollment_id("org-1", "app-1")
    assert one == provisional_enrollment_id("org-1", "app-1")  # a repeat names the same record
    assert one != provisional_enrollment_id("org-1", "app-2")
    assert one != provisional_enrollment_id("org-2", "app-1")
    assert len(one) == 15 and one[0] == "P" and is_provisional_enrollment_id(one)
    assert validate_any_enrollment_id(one.lower()) == one
    assert validate_any_enrollment_id("I20031103000001") == "I20031103000001"
    with pytest.raises(ValueError, match="I or O"):
        validate_enrollment_id(one)  # never taken for a PECOS ID


# --- states -----------------------------------------------------------------------------


def test_state_codes():
    assert len(US_STATE_CODES) == 56  # 50 states + DC + PR, VI, GU, AS, MP
    assert validate_state_code(" tx ") == "TX"
    assert validate_state_code("vi") == "VI"
    with pytest.raises(ValueError) as excinfo:
        validate_state_code("USVI")
    message = str(excinfo.value)
    assert "'USVI'" in message
    assert "DC, PR, VI" in message
