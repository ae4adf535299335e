"""Identifiers used in Medicare enrollment: NPI, PECOS IDs, PTAN, MAC numbers, TINs, states.

Pure: no I/O. Every validator raises ``ValueError`` with a message that names the
identifier, says what is wrong and what to do; inside a pydantic model that becomes a
normal ``ValidationError`` located at the field.

PII: SSN and EIN messages never repeat the full number, only its last four digits.
pydantic still puts the raw input in ``ValidationError`` text unless the model sets
``ConfigDict(hide_input_in_errors=True)``; models holding TINs should set it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import partial
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

__all__ = [
    "EIN",
    "NPI",
    "NPI_FORMAT",
    "NPI_SCHEMA",
    "OPAQUE_IDENTIFIER_FORMAT",
    "PTAN",
    "SSN",
    "US_STATE_CODES",
    "EnrollmentId",
    "MacCaseNumber",
    "OrganizationId",
    "PacId",
    "StateCode",
    "WebTrackingId",
    "is_valid_npi",
    "mask_tin",
    "npi_check_digit",
    "tin_last4",
    "validate_ein",
    "validate_enrollment_id",
    "validate_npi",
    "validate_opaque_identifier",
    "validate_pac_id",
    "validate_ssn",
    "validate_state_code",
]

# --------------------------------------------------------------------------------------
# NPI
# --------------------------------------------------------------------------------------

# CMS "Requirements for NPI Check Digit": the check digit is computed as if the card-issuer
# prefix 80840 were present, which adds the constant 24 to the Luhn sum (docs/regulation.md,
# "Identifiers").
_NPI_PREFIX_CONSTANT = 24


def npi_check_digit(first9: str) -> int:
    """Luhn check digit for the 9-digit NPI base, with the implied 80840 prefix.

    CMS worked example: ``npi_check_digit("123456789") == 3``.
    """
    if len(first9) != 9 or not first9.isascii() or not first9.isdigit():
        raise ValueError(
            f"NPI base {first9!r} must be exactly 9 digits (the NPI without its check digit)"
        )
    total = _NPI_PREFIX_CONSTANT
    # Luhn "double-add-double": double every other digit starting with the rightmost
    # digit of the base; add the digits of each product (CMS "Requirements for NPI Check Digit").
    for position, char in enumerate(reversed(first9)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    # Subtract from the next multiple of ten; 0 when the total already ends in zero.
    return (10 - total % 10) % 10


def is_valid_npi(value: str) -> bool:
    """True if ``value`` is exactly a valid NPI (no whitespace tolerated; see validate_npi)."""
    return (
        len(value) == 10
        and value.isascii()
        and value.isdigit()
        and value[0] in "12"  # CMS: the first digit is 1 or 2
        and npi_check_digit(value[:9]) == int(value[9])
    )


def validate_npi(value: str) -> str:
    """Return the NPI stripped of surrounding whitespace, or raise ValueError saying why not."""
    npi = value.strip()
    if not npi:
        raise ValueError("NPI is empty: enter the provider's 10-digit NPI")
    non_digits = sorted({c for c in npi if not (c.isascii() and c.isdigit())})
    if non_digits:
        shown = ", ".join(repr(c) for c in non_digits)
        raise ValueError(
            f"NPI {npi!r} contains non-digit characters ({shown}): "
            "an NPI is exactly 10 digits with no dashes or spaces"
        )
    if len(npi) != 10:
        raise ValueError(
            f"NPI {npi!r} is not 10 digits (it has {len(npi)}): "
            "an NPI is exactly 10 digits; check for a missing or extra digit"
        )
    # NPIs begin with 1 or 2 (CMS check-digit requirements).
    if npi[0] not in "12":
        raise ValueError(f"NPI {npi!r} is invalid: the first digit must be 1 or 2, not {npi[0]}")
    expected = npi_check_digit(npi[:9])
    if int(npi[9]) != expected:
        raise ValueError(
            f"NPI {npi!r} fails the check digit: the last digit should be {expected} "
            "(Luhn with the 80840 prefix); check the NPI in the NPPES registry"
        )
    return npi


# --------------------------------------------------------------------------------------
# PECOS identifiers (docs/regulation.md, "Identifiers")
# --------------------------------------------------------------------------------------

# ENRLMT_ID: I (individual) or O (organization) + 8 digits (read as YYYYMMDD; that
# meaning is UNCONFIRMED, so not checked) + 6-digit sequence; 15 characters (CMS PPEF,
# PPEF extracts).
_ENROLLMENT_ID_RE = re.compile(r"[IO][0-9]{14}")


def validate_enrollment_id(value: str) -> str:
    """PECOS Enrollment ID (ENRLMT_ID), trimmed and upper-cased; format check only."""
    enrollment_id = value.strip().upper()
    if _ENROLLMENT_ID_RE.fullmatch(enrollment_id):
        return enrollment_id
    if not enrollment_id:
        reason = "it is empty"
    elif enrollment_id[0] not in "IO":
        reason = f"it starts with {enrollment_id[0]!r}, not I (individual) or O (organization)"
    elif len(enrollment_id) != 15:
        reason = f"it has {len(enrollment_id)} characters, not 15"
    else:
        reason = "characters 2-15 must all be digits"
    raise ValueError(
        f"PECOS Enrollment ID {value.strip()!r} is invalid: {reason}. "
        "Expected I or O followed by 14 digits, e.g. I20031103000001; "
        "copy it from PECOS or the approval letter"
    )


# An approval that gives no PECOS enrollment ID still starts its enrollment, under a
# provisional id until the ID is recorded: "P" (never a PECOS prefix) + 14 characters derived
# from the organisation and the application, so a replayed or repeated approval names the same
# record. 15 characters, like an ENRLMT_ID, so it fits wherever one does.
_PROVISIONAL_ID_RE = re.compile(r"P[0-9A-Z]{14}")
_PROVISIONAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base 32


def provisional_enrollment_id(organization_id: str, application_id: str) -> str:
    """The provisional enrollment id of an approved application that gave no PECOS ID."""
    digest = int.from_bytes(
        hashlib.sha256(f"{organization_id}\n{application_id}".encode()).digest()[:9], "big"
    )
    chars = []
    for _ in range(14):
        digest, index = divmod(digest, 32)
        chars.append(_PROVISIONAL_ALPHABET[index])
    return "P" + "".join(chars)


def is_provisional_enrollment_id(value: str) -> bool:
    return _PROVISIONAL_ID_RE.fullmatch(value) is not None


def validate_any_enrollment_id(value: str) -> str:
    """A PECOS Enrollment ID, or a provisional id the engine gave (see above)."""
    text = value.strip().upper()
    if is_provisional_enrollment_id(text):
        return text
    return validate_enrollment_id(value)


# PAC ID (PECOS_ASCT_CNTL_ID): 10 digits, e.g. 8022920719 (CMS PPEF extracts).
def validate_pac_id(value: str) -> str:
    """PECOS Associate Control ID (PAC ID): exactly 10 digits, trimmed."""
    pac_id = value.strip()
    if len(pac_id) == 10 and pac_id.isascii() and pac_id.isdigit():
        return pac_id
    raise ValueError(
        f"PAC ID {pac_id!r} is invalid: a PECOS Associate Control ID is exactly 10 digits "
        "(e.g. 8022920719); copy it from PECOS or the data.cms.gov enrollment file"
    )


# PTAN, Web Tracking ID and MAC case numbers have no published format (docs/regulation.md,
# "Identifiers":
# PTANs vary by MAC; Web Tracking ID format UNCONFIRMED), so we only keep them sane.
_OPAQUE_MAX_LENGTH = 50


def validate_opaque_identifier(value: str, field_name: str) -> str:
    """Trimmed, non-empty, at most 50 characters, no control/invisible characters."""
    identifier = value.strip()
    if not identifier:
        raise ValueError(f"{field_name} is empty: enter it as shown on the MAC/PECOS notice")
    if len(identifier) > _OPAQUE_MAX_LENGTH:
        raise ValueError(
            f"{field_name} is {len(identifier)} characters long; the limit is "
            f"{_OPAQUE_MAX_LENGTH}. Check that only the identifier was pasted"
        )
    for index, char in enumerate(identifier):
        # Category C* = control, format (zero-width), surrogate, private, unassigned:
        # typical debris from copy-paste out of PDFs and e-mails.
        if unicodedata.category(char).startswith("C"):
            raise ValueError(
                f"{field_name} {identifier!r} contains a control or invisible character "
                f"(U+{ord(char):04X}) at position {index + 1}; re-type it as plain text"
            )
    return identifier


# --------------------------------------------------------------------------------------
# TINs: EIN and SSN. Formats NN-NNNNNNN / NNN-NN-NNNN are general knowledge, UNCONFIRMED
# in a CMS source.
# --------------------------------------------------------------------------------------

_EIN_RE = re.compile(r"([0-9]{2})-?([0-9]{7})")
_SSN_RE = re.compile(r"([0-9]{3})-?([0-9]{2})-?([0-9]{4})")


def _digit_count(value: str) -> int:
    return sum(1 for c in value if c.isascii() and c.isdigit())


def validate_ein(value: str) -> str:
    """EIN as NN-NNNNNNN; accepts NN-NNNNNNN or 9 bare digits."""
    ein = value.strip()
    match = _EIN_RE.fullmatch(ein)
    if match is None:
        # Do not echo the input: an EIN can identify a sole proprietor.
        raise ValueError(
            f"EIN is not in a recognised format ({_digit_count(ein)} digits, "
            f"{len(ein)} characters): enter 9 digits as NN-NNNNNNN or NNNNNNNNN, "
            "as printed on the IRS CP575/147C letter"
        )
    return f"{match.group(1)}-{match.group(2)}"


def validate_ssn(value: str) -> str:
    """SSN as NNN-NN-NNNN; accepts NNN-NN-NNNN or 9 bare digits; rejects never-issued ranges."""
    ssn = value.strip()
    match = _SSN_RE.fullmatch(ssn)
    if match is None:
        raise ValueError(
            f"SSN is not in a recognised format ({_digit_count(ssn)} digits, "
            f"{len(ssn)} characters): enter 9 digits as NNN-NN-NNNN or NNNNNNNNN"
        )
    area, group, serial = match.groups()
    masked = f"***-**-{serial}"
    # SSA never issues area 000, 666 or 900-999, group 00 or serial 0000 (general knowledge,
    # UNCONFIRMED in a CMS source); such a number is a typo or a placeholder.
    if area == "000" or area == "666" or area >= "900":
        raise ValueError(
            f"SSN {masked} is invalid: the first three digits ({area}) are never issued "
            "(000, 666 and 900-999 are not valid areas); check the SSN against the SSA card"
        )
    if group == "00":
        raise ValueError(
            f"SSN {masked} is invalid: the middle two digits are 00, which is never issued; "
            "check the SSN against the SSA card"
        )
    if serial == "0000":
        raise ValueError(
            "SSN ***-**-0000 is invalid: the last four digits are 0000, which is never "
            "issued; check the SSN against the SSA card"
        )
    return f"{area}-{group}-{serial}"


def _tin_digits(value: str) -> str:
    text = value.strip()
    if not re.fullmatch(r"[0-9\- ]+", text) or _digit_count(text) != 9:
        raise ValueError(
            f"TIN is not 9 digits ({_digit_count(text)} digits, {len(text)} characters): "
            "an SSN or EIN has exactly 9 digits, optionally with dashes"
        )
    return "".join(c for c in text if c.isdigit())


def tin_last4(value: str) -> str:
    """Last four digits of an SSN or EIN (any accepted spelling)."""
    return _tin_digits(value)[-4:]


# The MAC's phone verification asks for the last five digits of the TIN (docs/regulation.md,
# "Identifiers"): the support packet shows five; every other view four.
SUPPORT_PACKET_TIN_DIGITS = 5

_TIN_LAYOUT = {"SSN": (3, 2, 4), "EIN": (2, 7)}


def mask_tin(value: str, kind: Literal["SSN", "EIN"] | None = None, *, shown: int = 4) -> str:
    """TIN with all but its last `shown` digits hidden.

    ``***-**-6789`` for an SSN, ``**-***6789`` for an EIN (``***-*5-6789`` and
    ``**-**56789`` with five shown). Without ``kind`` the layout of the input decides
    (NNN-NN-NNNN vs NN-NNNNNNN); 9 bare digits are ambiguous and come back as ``*****6789``.
    Masking is not validation: it does not check SSN ranges.
    """
    digits = _tin_digits(value)
    text = value.strip()
    if kind is None:
        if re.fullmatch(r"[0-9]{3}-[0-9]{2}-[0-9]{4}", text):
            kind = "SSN"
        elif re.fullmatch(r"[0-9]{2}-[0-9]{7}", text):
            kind = "EIN"
    masked = "*" * (9 - shown) + digits[9 - shown :]
    if kind is None:
        return masked
    groups, at = [], 0
    for size in _TIN_LAYOUT[kind]:
        groups.append(masked[at : at + size])
        at += size
    return "-".join(groups)


# --------------------------------------------------------------------------------------
# States and territories
# --------------------------------------------------------------------------------------

# USPS codes for the 50 states, DC and the five territories that appear in the MAC
# jurisdiction tables (docs/regulation.md, "Contractors": PR, VI, GU, AS, MP).
US_STATE_CODES: frozenset[str] = frozenset(
    {
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA",
        "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD",
        "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ",
        "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC",
        "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY",
        "DC", "PR", "VI", "GU", "AS", "MP",
    }
)  # fmt: skip


def validate_state_code(value: str) -> str:
    """Two-letter USPS code, trimmed and upper-cased."""
    code = value.strip().upper()
    if code in US_STATE_CODES:
        return code
    raise ValueError(
        f"State {value.strip()!r} is not accepted: use the two-letter USPS code of one of "
        "the 50 states, DC, PR, VI (U.S. Virgin Islands), GU, AS or MP"
    )


# --------------------------------------------------------------------------------------
# pydantic field types
# --------------------------------------------------------------------------------------

# What the OpenAPI document says of an NPI: a format of its own, since a pattern cannot say
# the check digit (API clients and the schemathesis run generate valid ones from it). No
# pattern beside it: generators that read a pattern first would ignore the format.
NPI_FORMAT = "npi"
NPI_DESCRIPTION = (
    "National Provider Identifier: 10 digits, the first 1 or 2, the last a Luhn check digit "
    "computed over the first nine with the prefix 80840 (CMS), e.g. 1234567893."
)
NPI_SCHEMA = {"format": NPI_FORMAT, "description": NPI_DESCRIPTION}

NPI = Annotated[str, AfterValidator(validate_npi), Field(json_schema_extra=NPI_SCHEMA)]

# The document's patterns say exactly what the validators take (less the surrounding
# whitespace and the lower case they forgive), so a schema-valid value is never refused.
_ENROLLMENT_ID_PATTERN = "^[IO][0-9]{14}$"
EnrollmentId = Annotated[
    str,
    AfterValidator(validate_enrollment_id),
    Field(json_schema_extra={"pattern": _ENROLLMENT_ID_PATTERN}),
]
AnyEnrollmentId = Annotated[
    str,
    AfterValidator(validate_any_enrollment_id),
    Field(json_schema_extra={"pattern": "^([IO][0-9]{14}|P[0-9A-Z]{14})$"}),
]
PacId = Annotated[
    str, AfterValidator(validate_pac_id), Field(json_schema_extra={"pattern": "^[0-9]{10}$"})
]
# PTAN, Web Tracking ID, MAC case number: no published format, so a format of the document's
# own (no pattern can say "no invisible character" portably).
OPAQUE_IDENTIFIER_FORMAT = "mac-identifier"
_OPAQUE_SCHEMA = {
    "format": OPAQUE_IDENTIFIER_FORMAT,
    "description": "As printed on the MAC or PECOS notice: 1 to 50 characters after trimming, "
    "no control or invisible character.",
}
PTAN = Annotated[
    str,
    AfterValidator(partial(validate_opaque_identifier, field_name="PTAN")),
    Field(json_schema_extra=_OPAQUE_SCHEMA),
]
WebTrackingId = Annotated[
    str,
    AfterValidator(partial(validate_opaque_identifier, field_name="Web Tracking ID")),
    Field(json_schema_extra=_OPAQUE_SCHEMA),
]
MacCaseNumber = Annotated[
    str,
    AfterValidator(partial(validate_opaque_identifier, field_name="MAC case number")),
    Field(json_schema_extra=_OPAQUE_SCHEMA),
]
EIN = Annotated[
    str,
    AfterValidator(validate_ein),
    Field(json_schema_extra={"pattern": "^[0-9]{2}-?[0-9]{7}$"}),
]
# Never-issued SSNs refused: area 000, 666 or 9xx; group 00; serial 0000.
_SSN_PATTERN = (
    "^(00[1-9]|0[1-9][0-9]|[1-578][0-9]{2}|6[0-57-9][0-9]|66[0-57-9])-?"
    "(0[1-9]|[1-9][0-9])-?(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})$"
)
SSN = Annotated[
    str, AfterValidator(validate_ssn), Field(json_schema_extra={"pattern": _SSN_PATTERN})
]
StateCode = Annotated[
    str,
    AfterValidator(validate_state_code),
    Field(json_schema_extra={"enum": sorted(US_STATE_CODES)}),
]


# --------------------------------------------------------------------------------------
# The engine's own ids
# --------------------------------------------------------------------------------------

# The group, facility or client a record belongs to: our id, safe in URLs and workflow ids.
OrganizationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
