"""Typed search attributes: one definition for workflows, registration, the API and docs.

Search attributes bypass the payload codec and sit in plain text in the visibility store, so
only non-sensitive keys go here: status, form, purpose, MAC, dates, the enrollment id and the NPI
(public in NPPES). Never a name, SSN, EIN, date of birth or address.
"""

from __future__ import annotations

from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

RECORD_STATUS = SearchAttributeKey.for_keyword("EnrollmentRecordStatus")
PROVIDER_NPI = SearchAttributeKey.for_keyword("ProviderNpi")
ENROLLMENT_ID = SearchAttributeKey.for_keyword("PecosEnrollmentId")
FORM = SearchAttributeKey.for_keyword("EnrollmentForm")
PURPOSE = SearchAttributeKey.for_keyword("ApplicationPurpose")
MAC_JURISDICTION = SearchAttributeKey.for_keyword("MacJurisdiction")
ORGANIZATION = SearchAttributeKey.for_keyword("EnrollmentOrganization")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadlineAt")

ALL_KEYS = (
    RECORD_STATUS,
    PROVIDER_NPI,
    ENROLLMENT_ID,
    FORM,
    PURPOSE,
    MAC_JURISDICTION,
    ORGANIZATION,
    NEXT_DEADLINE,
)


def _is_datetime(key: SearchAttributeKey[Any]) -> bool:
    return key.indexed_value_type.name.endswith("DATETIME")


def dev_server_args() -> list[str]:
    """`temporal server start-dev` flags that register every key."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += [
            "--search-attribute",
            f"{key.name}={'Datetime' if _is_datetime(key) else 'Keyword'}",
        ]
    return args


async def register(client: Client, namespace: str = "default") -> None:
    """Register every key on a server that lacks them (the Java test server; a self-hosted
    cluster without `temporal operator search-attribute create`)."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            # The SDK's enum values are the protocol's IndexedValueType numbers.
            search_attributes={
                key.name: IndexedValueType.ValueType(int(key.indexed_value_type))
                for key in ALL_KEYS
            },
        )
    )
