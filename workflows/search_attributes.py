"""Typed search attributes: one definition for workflows, registration, the API and docs.

Search attributes bypass the payload codec and sit in plain text in the visibility store, so
only non-sensitive keys go here: status, form, purpose, MAC, dates, the enrollment id and the NPI
(public in NPPES). Never a name, SSN, EIN, date of birth or address.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate
from temporalio.service import RPCError, RPCStatusCode

from models.application import ApplicationState
from models.calendar import Clock, ClockKind
from models.enrollment import EnrollmentState
from models.jurisdictions import enrollment_contractor

RECORD_STATUS = SearchAttributeKey.for_keyword("EnrollmentRecordStatus")
PROVIDER_NPI = SearchAttributeKey.for_keyword("ProviderNpi")
ENROLLMENT_ID = SearchAttributeKey.for_keyword("PecosEnrollmentId")
FORM = SearchAttributeKey.for_keyword("EnrollmentForm")
PURPOSE = SearchAttributeKey.for_keyword("ApplicationPurpose")
MAC_JURISDICTION = SearchAttributeKey.for_keyword("MacJurisdiction")
ORGANIZATION = SearchAttributeKey.for_keyword("EnrollmentOrganization")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadlineAt")
# How many of the record's side effects are failing (workflows/effects.py): `> 0` lists them.
OPEN_INCIDENTS = SearchAttributeKey.for_int("EnrollOpenIncidents")

ALL_KEYS = (
    RECORD_STATUS,
    PROVIDER_NPI,
    ENROLLMENT_ID,
    FORM,
    PURPOSE,
    MAC_JURISDICTION,
    ORGANIZATION,
    NEXT_DEADLINE,
    OPEN_INCIDENTS,
)


# The dev server's --search-attribute type names.
_CLI_TYPES = {"DATETIME": "Datetime", "KEYWORD": "Keyword", "INT": "Int"}


def dev_server_args() -> list[str]:
    """`temporal server start-dev` flags that register every key."""
    args: list[str] = []
    for key in ALL_KEYS:
        args += [
            "--search-attribute",
            f"{key.name}={_CLI_TYPES[key.indexed_value_type.name]}",
        ]
    return args


async def register(client: Client, namespace: str = "default") -> None:
    """Register every key on a server that lacks them (the dev and test servers; a self-hosted
    cluster where the worker may do it). Idempotent: keys already there are left alone."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        missing = [k for k in ALL_KEYS if k.name not in existing.custom_attributes]
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:  # the Java test server cannot list
            raise
        missing = list(ALL_KEYS)
    if not missing:
        return
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=namespace,
            # The SDK's enum values are the protocol's IndexedValueType numbers.
            search_attributes={
                key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in missing
            },
        )
    )


def application_attributes(state: ApplicationState) -> list[SearchAttributeUpdate[Any]]:
    """What the Web UI and `temporal workflow list --query` can find an application by."""
    mac = (
        enrollment_contractor(state.form, state.details.state).jurisdiction
        if state.details.state
        else None
    )
    return _updates(
        {
            RECORD_STATUS: state.status.value,
            PROVIDER_NPI: state.details.npi,
            ENROLLMENT_ID: state.enrollment_id or state.details.enrollment_id,
            FORM: state.form.value,
            PURPOSE: state.purpose.value,
            MAC_JURISDICTION: mac,
            ORGANIZATION: state.organization_id,
            NEXT_DEADLINE: _next_deadline(state.clocks),
        }
    )


def enrollment_attributes(state: EnrollmentState) -> list[SearchAttributeUpdate[Any]]:
    return _updates(
        {
            RECORD_STATUS: state.status.value,
            PROVIDER_NPI: state.npi,
            ENROLLMENT_ID: state.enrollment_id,
            FORM: state.form.value,
            PURPOSE: "enrollment",
            MAC_JURISDICTION: enrollment_contractor(state.form, state.state).jurisdiction,
            ORGANIZATION: state.organization_id,
            NEXT_DEADLINE: _next_deadline(state.clocks),
        }
    )


# "No open deadline". Unsetting a datetime attribute leaves the Java test server with a value
# the SDK cannot decode (describe() fails), and a far-future value answers range queries the
# same way: `NextDeadlineAt < X` never matches a record with nothing due.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


def _next_deadline(clocks: list[Clock]) -> datetime:
    deadlines = [c.fires_at for c in clocks if c.kind != ClockKind.LATE_RECORDING]
    return min(deadlines).astimezone(UTC) if deadlines else NO_DEADLINE


def _updates(values: dict[SearchAttributeKey[Any], Any]) -> list[SearchAttributeUpdate[Any]]:
    return [
        key.value_set(value) if value is not None else key.value_unset()
        for key, value in values.items()
    ]
