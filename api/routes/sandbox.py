"""The sandbox clock: read it, and move it forward. Mounted only in sandbox mode (`enroll
sandbox`); elsewhere these paths answer 404 and are absent from the OpenAPI document."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AUTH_RESPONSES, Reader, Writer
from api.problems import MALFORMED, Problem, problem_responses
from api.reads import engine_of
from api.responses.sandbox import AdvanceReport, SandboxClockView
from api.sandbox import (
    MAX_ADVANCE_DAYS,
    ClockStalledError,
    NotSettledError,
    SandboxClock,
    advance_and_settle,
    clock_view,
)
from api.temporal import settings_of
from models.written import WholeNumber

router = APIRouter(prefix="/v1/sandbox", tags=["sandbox"], responses=AUTH_RESPONSES)


class AdvanceBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"days": 31}]})

    days: WholeNumber = Field(
        ge=1, le=MAX_ADVANCE_DAYS, description="Whole days to move the clock."
    )


def _clock(request: Request) -> SandboxClock:
    clock: SandboxClock = request.app.state.sandbox_clock
    return clock


def _lock(request: Request) -> asyncio.Lock:
    # One advance at a time: each one's report compares the read model before and after it.
    state = request.app.state
    if getattr(state, "sandbox_lock", None) is None:
        state.sandbox_lock = asyncio.Lock()
    lock: asyncio.Lock = state.sandbox_lock
    return lock


@router.get(
    "/clock",
    operation_id="getSandboxClock",
    summary="The sandbox's current time and today's date",
    description="`today` is the date in the engine's default time zone: date events with it.",
)
async def get_clock(request: Request, principal: Reader) -> SandboxClockView:
    now = await _clock(request).now()
    return SandboxClockView.model_validate(clock_view(now, settings_of(request).default_time_zone))


@router.post(
    "/clock/advance",
    operation_id="advanceSandboxClock",
    summary="Move the sandbox clock forward; returns once the engine has settled",
    description=(
        "Needs the operator or admin role. Returns only when the clock has reached the target, "
        "every timer due by then has fired, its workflow has acted and the read model shows the "
        "result, so the next read is already true. The clock moves in bounded steps (at most "
        "90 days), each settled before the next, so decades take one call. Reports what "
        "happened: the deadlines whose consequence fell due, the notices sent (reminders, "
        "consequences) and the applications and enrollments whose status changed. Time moves "
        "only through this call."
    ),
    responses={
        **MALFORMED,
        **problem_responses(
            {
                504: "The read model did not catch up (names the clocks still pending), or the "
                "clock stopped moving with no work going on"
            }
        ),
    },
)
async def advance_clock(
    request: Request, principal: Writer, body: Annotated[AdvanceBody, Body()]
) -> AdvanceReport:
    settings = settings_of(request)
    async with _lock(request):
        try:
            report = await advance_and_settle(
                _clock(request),
                engine_of(request),
                body.days,
                time_zone=settings.default_time_zone,
            )
        except NotSettledError as exc:
            raise Problem(
                504,
                "Engine did not settle",
                str(exc),
                kind="not-settled",
                now=exc.after.isoformat(),
                pending=[d.deadline_id for d in exc.pending[:100]],
            ) from None
        except ClockStalledError as exc:
            raise Problem(504, "Sandbox clock stuck", str(exc), kind="clock-stalled") from None
    return AdvanceReport.model_validate(report.to_json())
