"""Events are judged as of their own date (domain.md 7.0), which may be earlier than the day
they are recorded: the state an event applies to is the state on that date."""

from __future__ import annotations

from datetime import datetime

from models.application.consequences import fire_due_clocks
from models.application.lifecycle import APPLICATION_LIFECYCLE
from models.application.state import ApplicationState
from models.application.timers import TIMERS
from models.calendar import ClockKind, start_of_day
from models.clocks import ClosedClock, open_clock_of
from models.notices import Notice
from models.records import OperatorEvent


def state_for_event(
    state: ApplicationState, request: OperatorEvent, now: datetime
) -> tuple[ApplicationState, str | None, list[Notice]]:
    """The state an event applies to, as of the event's own date, with a note when it withdraws
    an engine consequence and the notices of clocks that had fired before that date.

    A clock whose consequence took effect before the event's date is applied first, so an event
    dated after a last day never beats the clock. Conversely, an event dated inside a window
    that is recorded after the engine applied the window's consequence (and within the grace)
    applies to the state before that consequence, which it withdraws.
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
    grace = open_clock_of(state.clocks, ClockKind.LATE_RECORDING)
    # The grace is judged against when the event is recorded, not when it happened.
    in_grace = grace is not None and now < grace.fires_at
    if (
        prior is not None
        and clock is not None
        and in_grace
        and when <= clock.last_day
        and APPLICATION_LIFECYCLE.allows(prior.status, request.event)
    ):
        prior = prior.model_copy(deep=True)
        prior.events = [e.model_copy() for e in state.events]
        prior.reminders_sent = list(state.reminders_sent)
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
            f"Recorded after the engine applied '{TIMERS[ClockKind(clock.kind)].event}' "
            f"(the {clock.rule.name.lower()} ended {clock.last_day}); dated {when}, inside "
            "that window, so the engine's consequence is withdrawn."
        )
        return prior, note, notices
    return state, None, notices
