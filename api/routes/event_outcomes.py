"""The outcome of an event answered 202 (accepted by its workflow, not yet applied within the
bound): GET the link the 202 gave, by the event's id, for 200 and the record once applied."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request

from api.auth import AUTH_RESPONSES, Reader
from api.problems import MALFORMED, problem_responses
from api.responses.applications import ApplicationView
from api.responses.common import event_accepted
from api.responses.enrollments import EnrollmentView
from api.temporal import client_of, poll_event
from models.application import application_workflow_id
from models.enrollment import enrollment_workflow_id
from workflows.application import ApplicationWorkflow
from workflows.enrollment import EnrollmentWorkflow

router = APIRouter(responses={**AUTH_RESPONSES, **MALFORMED})

EventId = Annotated[
    str, Path(max_length=80, description="The event id a 202 answer gave (its `event_id`)")
]

DESCRIPTION = (
    "200 and the record as the event left it once the event is applied; 202 while it is not "
    "yet; the refusal (409/422) if the workflow refused it; 404 for an id the record never "
    "received."
)


def _docs(record: str) -> dict[str, object]:
    return {
        "summary": "The outcome of an event answered 202",
        "description": DESCRIPTION,
        "responses": {
            202: event_accepted("Still being applied: poll again after Retry-After"),
            **problem_responses(
                {
                    404: f"No such {record}, or no such event on it",
                    409: "The event was refused: not allowed in the state it met",
                    422: "The event was refused: its data",
                }
            ),
        },
    }


@router.get(
    "/v1/applications/{application_id}/events/{event_id}",
    operation_id="getApplicationEventOutcome",
    tags=["applications"],
    **_docs("application"),  # type: ignore[arg-type]
)
async def poll_application_event(
    request: Request, application_id: str, event_id: EventId, principal: Reader
) -> ApplicationView:
    handle = client_of(request).get_workflow_handle(application_workflow_id(application_id))
    state = await poll_event(handle, ApplicationWorkflow.record_event, event_id, str(request.url))
    return ApplicationView.of(state)


@router.get(
    "/v1/enrollments/{enrollment_id}/events/{event_id}",
    operation_id="getEnrollmentEventOutcome",
    tags=["enrollments"],
    **_docs("enrollment"),  # type: ignore[arg-type]
)
async def poll_enrollment_event(
    request: Request, enrollment_id: str, event_id: EventId, principal: Reader
) -> EnrollmentView:
    handle = client_of(request).get_workflow_handle(enrollment_workflow_id(enrollment_id))
    state = await poll_event(handle, EnrollmentWorkflow.record_event, event_id, str(request.url))
    return EnrollmentView.of(state)
