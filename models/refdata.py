"""Public reference files (CMS, OIG, SAM.gov): their versioned header schemas, and reading them
as a stream of normalised records.

Pure: byte lines in, records out; the loader (activities/refdata.py) owns the file and the
database. Columns are bound by header name (models/due_date_list.py `normalise_header`: case,
spaces, hyphens and underscores do not matter). The publishers change their headers without
notice (the PPEF enrollment file dropped GNDR_SW between the 2024-10-07 and 2025-04-01
extracts; the Order and Referring file gained HOSPICE on 1 April 2024), so each file has one
schema per header version seen; a header that matches none is refused with an error naming the
missing and the unknown columns (docs/regulation.md, "Public reference files").

Memory stays constant: records are yielded one at a time, and only the file's header and the
current record are held.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from pydantic import BaseModel, ConfigDict

from models.due_date_list import normalise_header
from models.reference_kind import ReferenceKind as ReferenceKind  # re-exported: its old home


@dataclass(frozen=True)
class FileSchema:
    """One header version of a reference file. `columns` are canonical names (normalised
    headers) in the publisher's order; `optional` ones may be absent; `key` names the columns
    that identify a record across loads (a reload compares records by it)."""

    kind: ReferenceKind
    version: str
    title: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    npi: str | None = None  # the column holding the record's NPI, if any
    # The enrollment the record belongs to (a reassignment's practitioner, a practice
    # location's enrollment) and the one it points to (a reassignment's group), both stored
    # indexed: lookups by them are index seeks, whatever the database's collation.
    owner: str | None = None
    link: str | None = None
    optional: frozenset[str] = field(default_factory=frozenset)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.optional)


# Each canonical column as the publisher spells it, for messages.
_SHOWN: dict[str, str] = {}


def _cols(header: str) -> tuple[str, ...]:
    names = []
    for verbatim in header.split(","):
        name = normalise_header(verbatim)
        _SHOWN.setdefault(name, verbatim)
        names.append(name)
    return tuple(names)


def shown(column: str) -> str:
    """A canonical column as the publisher spells it in the header."""
    return _SHOWN.get(column, column)


_LEIE = "OIG LEIE UPDATED.csv"
_SAM = "SAM.gov exclusions extract"
_OR = "Order and Referring file"
_REVAL = "Revalidation Due Date List"
_GROUP = "Revalidation Clinic Group Practice Reassignment List"
_SAM_COMMON = (
    "Classification,Name,Prefix,First,Middle,Last,Suffix,Address 1,Address 2,Address 3,"
    "Address 4,City,State / Province,Country,Zip Code,Open Data Flag"
)
_GROUP_HEADER = (
    "Group PAC ID,Group Enrollment ID,Group Legal Business Name,Group State Code,Group Due Date,"
    "Group Reassignments and Physician Assistants,Record Type,Individual Enrollment ID,"
    "Individual NPI,Individual First Name,Individual Last Name,Individual State Code,"
    "Individual Specialty Description,Individual Due Date,Individual Total Employer Associations"
)

# Newest first: a header is bound to the first version whose required columns it has and
# whose columns cover every header it carries. Headers verbatim from domain research of the
# published files (docs/regulation.md, "Public reference files").
SCHEMAS: tuple[FileSchema, ...] = (
    FileSchema(
        ReferenceKind.LEIE,
        "2026",
        _LEIE,
        _cols(
            "LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,GENERAL,SPECIALTY,UPIN,NPI,DOB,ADDRESS,CITY,"
            "STATE,ZIP,EXCLTYPE,EXCLDATE,REINDATE,WAIVERDATE,WVRSTATE"
        ),
        key=_cols("LASTNAME,FIRSTNAME,MIDNAME,BUSNAME,NPI,DOB,EXCLTYPE,EXCLDATE"),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.SAM,
        "uei",
        _SAM,
        _cols(
            _SAM_COMMON + ",Blank (Deprecated),Unique Entity ID,Exclusion Program,"
            "Excluding Agency,CT Code,Exclusion Type,Additional Comments,Active Date,"
            "Termination Date,Record Status,Cross-Reference,SAM Number,CAGE,NPI,Creation_Date"
        ),
        key=_cols("SAM Number"),
        npi="npi",
        optional=frozenset(_cols("Blank (Deprecated)")),
    ),
    FileSchema(
        ReferenceKind.SAM,
        "duns",
        _SAM,
        _cols(
            _SAM_COMMON + ",DUNS,Exclusion Program,Excluding Agency,CT Code,Exclusion Type,"
            "Additional Comments,Active Date,Termination Date,Record Status,Cross-Reference,"
            "SAM Number,CAGE,NPI,Creation_Date"
        ),
        key=_cols("SAM Number"),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.PPEF_ENROLLMENT,
        "2025-04-01",
        "PPEF enrollment extract",
        _cols(
            "NPI,PECOS_ASCT_CNTL_ID,ENRLMT_ID,PROVIDER_TYPE_CD,PROVIDER_TYPE_DESC,STATE_CD,"
            "FIRST_NAME,MDL_NAME,LAST_NAME,ORG_NAME"
        ),
        key=("enrlmt_id",),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.PPEF_ENROLLMENT,
        "2024-10-07",
        "PPEF enrollment extract",
        _cols(
            "NPI,PECOS_ASCT_CNTL_ID,ENRLMT_ID,PROVIDER_TYPE_CD,PROVIDER_TYPE_DESC,STATE_CD,"
            "FIRST_NAME,MDL_NAME,LAST_NAME,ORG_NAME,GNDR_SW"
        ),
        key=("enrlmt_id",),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.PPEF_REASSIGNMENT,
        "2024",
        "PPEF reassignment extract",
        _cols("REASGN_BNFT_ENRLMT_ID,RCV_BNFT_ENRLMT_ID"),
        key=_cols("REASGN_BNFT_ENRLMT_ID,RCV_BNFT_ENRLMT_ID"),
        owner="reasgn_bnft_enrlmt_id",
        link="rcv_bnft_enrlmt_id",
    ),
    FileSchema(
        ReferenceKind.PPEF_PRACTICE_LOCATION,
        "2024",
        "PPEF practice location extract",
        _cols("ENRLMT_ID,CITY_NAME,STATE_CD,ZIP_CD"),
        key=_cols("ENRLMT_ID,CITY_NAME,STATE_CD,ZIP_CD"),
        owner="enrlmt_id",
    ),
    FileSchema(
        ReferenceKind.ORDER_REFERRING,
        "2024-04-01",
        _OR,
        _cols("NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE"),
        key=("npi",),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.ORDER_REFERRING,
        "2020",
        _OR,
        _cols("NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD"),
        key=("npi",),
        npi="npi",
    ),
    FileSchema(
        ReferenceKind.REVALIDATION_DUE_DATES,
        "2024",
        _REVAL,
        _cols(
            "Enrollment ID,National Provider Identifier,First Name,Last Name,Organization Name,"
            "Enrollment State Code,Enrollment Type,Provider Type Text,Enrollment Specialty,"
            "Revalidation Due Date,Adjusted Due Date,Individual Total Reassign To,"
            "Receiving Benefits Reassignment"
        ),
        key=("enrollment_id",),
        npi="national_provider_identifier",
    ),
    FileSchema(
        ReferenceKind.GROUP_REASSIGNMENT,
        "2024",
        _GROUP,
        _cols(_GROUP_HEADER + ",Individual PAC ID"),
        key=_cols("Group Enrollment ID,Individual Enrollment ID,Record Type"),
        npi="individual_npi",
        owner="individual_enrollment_id",
        link="group_enrollment_id",
        optional=frozenset({"individual_pac_id"}),
    ),
)


class ReferenceFileError(ValueError):
    """The file cannot be read as the named reference file; the message says why (the columns
    missing or unknown, the line that is not CSV) and never quotes a data value."""


@dataclass(frozen=True)
class ReferenceRecord:
    """One data row: its values by canonical column, its key across loads, its NPI (None when
    the row has none, e.g. LEIE's 0000000000), and a fingerprint of its values."""

    line: int
    key: str
    npi: str | None
    values: dict[str, str]
    owner: str | None = None
    link: str | None = None

    @property
    def data(self) -> str:
        """The values as stored: JSON, in the schema's column order (so the same row always
        gives the same text)."""
        return json.dumps(self.values, separators=(",", ":"))

    @staticmethod
    def fingerprint_of(data: str) -> str:
        return hashlib.blake2b(data.encode(), digest_size=12).hexdigest()

    @property
    def fingerprint(self) -> str:
        return self.fingerprint_of(self.data)


def schemas_for(kind: ReferenceKind) -> tuple[FileSchema, ...]:
    return tuple(s for s in SCHEMAS if s.kind == kind)


def bind_schema(kind: ReferenceKind, header: list[str]) -> tuple[FileSchema, dict[str, int]]:
    """The schema version the header is, and each canonical column's position. A header that is
    no known version is refused naming the columns that differ from the nearest version."""
    seen: dict[str, int] = {}
    for index, raw in enumerate(header):
        name = normalise_header(raw)
        if not name:
            continue
        if name in seen:
            raise ReferenceFileError(f"The header has the column {raw.strip()!r} twice; keep one")
        seen[name] = index
    versions = schemas_for(kind)
    for schema in versions:
        missing = [c for c in schema.required if c not in seen]
        unknown = [c for c in seen if c not in schema.columns]
        if not missing and not unknown:
            return schema, {c: seen[c] for c in schema.columns if c in seen}

    def distance(s: FileSchema) -> int:
        return len(set(s.required) - set(seen)) + len(set(seen) - set(s.columns))

    nearest = min(versions, key=distance)
    if not set(seen) & set(nearest.columns):
        # Probably a data row where the header should be: its cells are values (names, dates
        # of birth), which an error message never repeats.
        raise ReferenceFileError(
            f"The first line is not the {nearest.title} header: none of its {len(header)} cells "
            f"is a known column (schema {kind.value}/{nearest.version} starts with "
            f"{shown(nearest.columns[0])!r}). Is the header line missing, or is it another file?"
        )
    missing = [c for c in nearest.required if c not in seen]
    unknown = [h.strip() for h in header if normalise_header(h) not in nearest.columns]
    parts = []
    if missing:
        parts.append("missing column(s) " + ", ".join(repr(shown(c)) for c in missing))
    if unknown:
        parts.append("unknown column(s) " + ", ".join(repr(u) for u in unknown if u))
    known = ", ".join(s.version for s in versions)
    raise ReferenceFileError(
        f"The {nearest.title} header has drifted: {'; '.join(parts)} "
        f"(compared with schema {kind.value}/{nearest.version}; known versions: {known}). "
        "Check the file is the one named by --kind; a new published layout needs a new schema "
        "version in models/refdata.py."
    )


def _decoded(lines: Iterable[bytes]) -> Iterator[str]:
    first = True
    for raw in lines:
        if first:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
            first = False
        # The federal files are ASCII in practice; Latin-1 never fails where UTF-8 might.
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            yield raw.decode("latin-1")


@dataclass
class ReferenceReader:
    """Reads one reference file from its byte lines. Iterate `records()` once; `schema` is set
    once the header is read."""

    kind: ReferenceKind
    lines: Iterable[bytes]
    schema: FileSchema | None = None
    data_rows: int = 0
    skipped_rows: int = 0  # rows with no key (blank key cells): counted, not loaded

    def records(self) -> Iterator[ReferenceRecord]:
        reader = csv.reader(_decoded(self.lines), strict=True)
        positions: dict[str, int] = {}
        schema: FileSchema | None = None
        try:
            for values in reader:
                if not any(v.strip() for v in values):
                    continue
                if schema is None:
                    schema, positions = bind_schema(self.kind, values)
                    self.schema = schema
                    continue
                self.data_rows += 1
                row = {
                    c: values[i].strip() if i < len(values) else "" for c, i in positions.items()
                }
                key = "|".join(row.get(k, "") for k in schema.key)
                if not key.strip("|"):
                    self.skipped_rows += 1
                    continue
                npi = normalised_npi(row.get(schema.npi, "")) if schema.npi else None
                owner = row.get(schema.owner) or None if schema.owner else None
                link = row.get(schema.link) or None if schema.link else None
                yield ReferenceRecord(reader.line_num, key, npi, row, owner, link)
        except csv.Error as exc:
            raise ReferenceFileError(
                f"The file is not readable CSV at line {reader.line_num}: {exc}"
            ) from None
        if schema is None:
            raise ReferenceFileError("The file is empty: it needs its header line")


def normalised_npi(value: str) -> str | None:
    """A ten-digit NPI, or None (LEIE writes 0000000000 for none; blanks are none)."""
    text = value.strip()
    if len(text) != 10 or not text.isdigit() or text == "0000000000":
        return None
    return text


def yyyymmdd(value: str) -> date | None:
    """LEIE dates: YYYYMMDD, 00000000 (or blank) when empty."""
    text = value.strip()
    if not text or text == "00000000" or len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def person_name_key(last: str, first: str) -> str:
    """Names as matched across sources: upper case, letters only, 'LAST|FIRST'."""

    def letters(s: str) -> str:
        return "".join(ch for ch in s.upper() if ch.isalpha())

    return f"{letters(last)}|{letters(first)}"


def organization_name_key(name: str) -> str:
    """An organisation's name as matched: upper case, letters and digits, common suffixes off."""
    words = [w for w in "".join(c if c.isalnum() else " " for c in name.upper()).split()]
    while words and words[-1] in {"INC", "LLC", "LLP", "PC", "PA", "PLLC", "CORP", "CO", "LTD"}:
        words.pop()
    return "ORG|" + " ".join(words)


def name_key(kind: ReferenceKind, values: dict[str, str]) -> str | None:
    """The record's name as `person_name_key` / `organization_name_key` spells it, for the
    sources matched by name (the exclusion lists); None for the others or a nameless row."""
    if kind == ReferenceKind.LEIE:
        if values.get("busname"):
            return organization_name_key(values["busname"])
        last, first = values.get("lastname", ""), values.get("firstname", "")
    elif kind == ReferenceKind.SAM:
        if values.get("classification", "").lower() != "individual" and values.get("name"):
            return organization_name_key(values["name"])
        last, first = values.get("last", ""), values.get("first", "")
    else:
        return None
    return person_name_key(last, first) if last else None


class ReferenceLoadReport(BaseModel):
    """What one load did: the file's schema version and, against the load before, the records
    added, changed (same key, other values) and removed (not in this file)."""

    model_config = ConfigDict(frozen=True)

    load_id: int
    kind: ReferenceKind
    schema_version: str | None
    file_name: str
    source_date: date
    status: str
    error: str | None = None
    rows: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    duplicates: int = 0
    skipped: int = 0
