"""Reading the public reference files by their versioned header schemas (models/refdata.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.refdata import (
    ReferenceFileError,
    ReferenceKind,
    ReferenceReader,
    name_key,
    normalised_npi,
    yyyymmdd,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "refdata"

CASES = [
    ("leie_updated.csv", ReferenceKind.LEIE, "2026", 3),
    ("sam_exclusions.csv", ReferenceKind.SAM, "uei", 2),
    ("ppef_enrollment_2025-04-01.csv", ReferenceKind.PPEF_ENROLLMENT, "2025-04-01", 2),
    ("ppef_enrollment_2024-10-07.csv", ReferenceKind.PPEF_ENROLLMENT, "2024-10-07", 1),
    ("ppef_reassignment.csv", ReferenceKind.PPEF_REASSIGNMENT, "2024", 1),
    ("ppef_practice_location.csv", ReferenceKind.PPEF_PRACTICE_LOCATION, "2024", 2),
    ("order_referring.csv", ReferenceKind.ORDER_REFERRING, "2024-04-01", 2),
    ("order_referring_2020.csv", ReferenceKind.ORDER_REFERRING, "2020", 1),
    ("revalidation_due_dates.csv", ReferenceKind.REVALIDATION_DUE_DATES, "2024", 2),
    ("group_reassignment.csv", ReferenceKind.GROUP_REASSIGNMENT, "2024", 1),
]


def read(name: str, kind: ReferenceKind) -> ReferenceReader:
    return ReferenceReader(kind, (FIXTURES / name).read_bytes().splitlines(keepends=True))


@pytest.mark.parametrize(("name", "kind", "version", "rows"), CASES)
def test_each_file_binds_to_its_header_version(
    name: str, kind: ReferenceKind, version: str, rows: int
) -> None:
    reader = read(name, kind)
    records = list(reader.records())
    assert reader.schema is not None and reader.schema.version == version
    assert len(records) == rows == reader.data_rows


def test_leie_values_keys_and_quoted_commas() -> None:
    records = list(read("leie_updated.csv", ReferenceKind.LEIE).records())
    smith, doe, acme = records
    assert smith.values["lastname"] == "SMITH, JR"
    assert smith.npi is None  # 0000000000 means none
    assert doe.npi == "1234567893"
    assert yyyymmdd(doe.values["dob"]).isoformat() == "1970-02-02"  # type: ignore[union-attr]
    assert yyyymmdd(acme.values["dob"]) is None
    assert name_key(ReferenceKind.LEIE, doe.values) == "DOE|RICHARD"
    assert name_key(ReferenceKind.LEIE, acme.values) == "ORG|ACME HOME HEALTH"
    assert len({r.key for r in records}) == 3
    assert doe.fingerprint != smith.fingerprint


def test_sam_individuals_and_firms_are_named_apart() -> None:
    roe, firm = read("sam_exclusions.csv", ReferenceKind.SAM).records()
    assert name_key(ReferenceKind.SAM, roe.values) == "ROE|MARY"
    assert name_key(ReferenceKind.SAM, firm.values) == "ORG|BAD BILLING"
    assert firm.npi == "1245319599" and firm.key == "S4MR3R800"


def test_a_drifted_header_is_refused_naming_the_columns() -> None:
    reader = read("leie_drifted.csv", ReferenceKind.LEIE)
    with pytest.raises(ReferenceFileError) as caught:
        list(reader.records())
    message = str(caught.value)
    assert "missing column(s) 'WVRSTATE'" in message
    assert "unknown column(s) 'WAIVERSTATE'" in message
    assert "leie/2026" in message
    assert "RICHARD" not in message  # never a data value


def test_the_wrong_kind_is_refused_by_its_columns() -> None:
    reader = read("order_referring.csv", ReferenceKind.PPEF_ENROLLMENT)
    with pytest.raises(ReferenceFileError, match="PPEF enrollment extract header has drifted"):
        list(reader.records())


def test_a_file_without_its_header_is_refused_without_quoting_the_data() -> None:
    lines = [b"DOE,RICHARD,,,INDIVIDUAL,PHYSICIAN,,1234567893,19700202,x,y,FL,32801,a,b,c,d,e\n"]
    with pytest.raises(ReferenceFileError) as caught:
        list(ReferenceReader(ReferenceKind.LEIE, lines).records())
    assert "not the OIG LEIE UPDATED.csv header" in str(caught.value)
    assert "RICHARD" not in str(caught.value) and "19700202" not in str(caught.value)


def test_an_empty_file_and_broken_csv_are_refused() -> None:
    with pytest.raises(ReferenceFileError, match="empty"):
        list(ReferenceReader(ReferenceKind.LEIE, [b"\n"]).records())
    lines = [b"NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE\n", b'1234567893,"DOE\n']
    with pytest.raises(ReferenceFileError, match="not readable CSV at line"):
        list(ReferenceReader(ReferenceKind.ORDER_REFERRING, lines).records())


def test_a_duplicated_header_is_refused() -> None:
    lines = [b"NPI,NPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE\n"]
    with pytest.raises(ReferenceFileError, match="'NPI' twice"):
        list(ReferenceReader(ReferenceKind.ORDER_REFERRING, lines).records())


def test_reading_is_a_stream() -> None:
    """The reader pulls lines only as records are asked for (constant memory)."""
    pulled = 0

    def lines():  # type: ignore[no-untyped-def]
        nonlocal pulled
        yield b"\xef\xbb\xbfNPI,LAST_NAME,FIRST_NAME,PARTB,DME,HHA,PMD,HOSPICE\r\n"
        for i in range(1_000_000):
            pulled += 1
            yield f"{1000000000 + i},L,F,Y,N,N,N,N\r\n".encode()

    records = ReferenceReader(ReferenceKind.ORDER_REFERRING, lines()).records()
    first = next(records)
    assert first.npi == "1000000000"
    assert pulled < 10


def test_npi_normalisation() -> None:
    assert normalised_npi(" 1234567893 ") == "1234567893"
    assert normalised_npi("0000000000") is None
    assert normalised_npi("12345") is None
