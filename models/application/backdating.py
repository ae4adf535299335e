"""Events are judged as of their own date (docs/regulation.md, "Counting days"), which may be
earlier than the day they are recorded: the state an event applies to is the state on that
date."""

from __future__ import annotations

from datetime import datetime

from models.application.consequences import fire_due_clocks, open_timer
from models.application.details import ApplicationCreate
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import ApplicationEventRecord, ApplicationState
from models.application.timers import TIMERS
from models.calendar import ClockKind, start_of_day
from models.clocks import ClockStep, ClosedClock
from models.notices import Notice
from models.records import OperatorEvent


def state_for_event(
    state: ApplicationState, request: OperatorEvent, now: datetime
) -> tuple[ApplicationState, str | None, list[Notice]]:
    """The state an event applies to, as of the event's own date, with a note when it withdraws
    an engine consequence and the notices of clocks that had fired before that date.

    A clock whose consequence took effect before the event's date is applied first, so an event
    dated after a last day never beats the clock. Conversely, an event dated inside a window
    that is recorded after the engine applied the window's consequence applies to the state
    before that consequence, which it withdraws, however late it is recorded: unless an
    outcome was recorded in between (any operator event ends the possibility). The grace only
    says how long the record stays open for it; a closed record is reopened by an admin's
    audited correction.
    """
    today = state.today(now)
    when = request.event_date() or today
    notices: list[Notice] = []
    if when <= today:
        cutoff = min(now, start_of_day(when, state.time_zone))
        if any(c.fires_at <= cutoff for c in state.clocks):
            settled = fire_due_clocks(state, cutoff)
            state, notices = settled.state, settled.notices
    prior, clock = state.before_consequence, state.consequence_clock
    if (
        prior is not None
        and clock is not None
        and when <= clock.last_day
        and APPLICATION_LIFECYCLE.allows(prior.status, request.event)
    ):
        prior = prior.model_copy(deep=True)
        prior.events = [e.model_copy() for e in state.events]
        prior.reminders_sent = list(state.reminders_sent)
        # Bookkeeping recorded since (assignee, notes) is no part of what is withdrawn.
        prior.assignee, prior.notes = state.assignee, list(state.notes)
        # Keep the record whole: the withdrawn expiry is no closure, and the clocks the
        # consequence opened (the grace, an engine denial's windows) end as superseded.
        still_open = {c.clock_id for c in prior.clocks}
        prior.closed_clocks = [
            c for c in state.closed_clocks if c.clock.clock_id != clock.clock_id
        ] + [
            ClosedClock(
                clock=c, closed_on=today, outcome="superseded", by_event_seq=len(state.events) + 1
            )
            for c in state.clocks
            if c.clock_id not in still_open
        ]
        note = (
            f"Recorded on {today} after the engine applied "
            f"'{TIMERS[ClockKind(clock.kind)].event}' (the {clock.rule.name.lower()} ended "
            f"{clock.last_day}); dated {when}, inside that window, so the engine's consequence "
            "is withdrawn."
        )
        return prior, note, notices
    return state, None, notices


def reopened_application(create: ApplicationCreate, now: datetime) -> ApplicationState:
    """A closed application reopened by an admin for a correction: its last state, with the
    reopening in its log and the late-recording grace running again, so the record stays open
    until the correction is recorded (which closes the grace)."""
    assert create.reopen is not None
    state = create.reopen.state.model_copy(deep=True)
    today = state.today(now)
    step = ClockStep(state, len(state.events) + 1, today)
    step.close([ClockKind.LATE_RECORDING], "superseded")
    open_timer(
        step,
        ClockKind.LATE_RECORDING,
        today,
        "the reopening for a correction",
        "the record closes again",
    )
    step.notes.append(
        "Reopened for a correction: an on-time event recorded late may withdraw the engine's "
        "consequence."
    )
    step.record(
        ApplicationEventRecord,
        "reopened",
        create.actor,
        create.role,
        create.reason,
        today,
        now,
        state.status,
    )
    return state
