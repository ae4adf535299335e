"""PECOS access hygiene of one organisation (docs/regulation.md, "PECOS access"): the people
who can act for it in PECOS (authorised and delegated officials, surrogates), their logins and
password changes as operators record them, reminders before a password expires (60 days after
it was set) and before an account is locked (365 days without a login), and a finding while
fewer than two people can act. Pure: the workflow (workflows/pecos_access.py) keeps the state
and its timer; no names are kept, only the operator's own user labels.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from models.calendar import WrittenDate
from models.notices import Notice, NoticeKind

__all__ = [
    "LOCK_DAYS",
    "LOGIN_REMINDER_DAYS",
    "MIN_ACTORS",
    "PASSWORD_DAYS",
    "PASSWORD_REMINDER_DAYS",
    "AccessEvent",
    "AccessState",
    "PecosRole",
    "PecosUser",
    "apply_access_event",
    "can_act",
    "due_access_notices",
    "next_access_wake",
]

# docs/regulation.md, "PECOS access": an I&A password lasts 60 days; an account not logged
# into for 365 days is locked (the user must then call the EUS help desk).
PASSWORD_DAYS = 60
LOCK_DAYS = 365
PASSWORD_REMINDER_DAYS = (10, 3)
LOGIN_REMINDER_DAYS = (30, 7)
MIN_ACTORS = 2  # one absence must not leave the organisation unable to act in PECOS
CITATION = 'CMS PECOS/I&A login guide (docs/regulation.md, "PECOS access")'

UserLabel = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class PecosRole(StrEnum):
    AUTHORIZED_OFFICIAL = "authorized_official"
    DELEGATED_OFFICIAL = "delegated_official"
    SURROGATE = "surrogate"


class PecosUser(BaseModel):
    model_config = ConfigDict(frozen=True)

    user: UserLabel
    role: PecosRole
    password_changed_on: date
    last_login_on: date

    @property
    def password_expires_on(self) -> date:
        """The first day the password no longer works."""
        return self.password_changed_on + timedelta(days=PASSWORD_DAYS)

    @property
    def locked_on(self) -> date:
        """The first day the account is locked for want of a login."""
        return self.last_login_on + timedelta(days=LOCK_DAYS)


class AccessEvent(BaseModel):
    """An operator records: a person who can act (added or updated), one who no longer can,
    a login, or a password change."""

    model_config = ConfigDict(
        frozen=True,
        # The document says what apply_access_event requires: a user_added event names the
        # person's PECOS role.
        json_schema_extra={
            "if": {"properties": {"event": {"const": "user_added"}}, "required": ["event"]},
            "then": {"required": ["role"], "properties": {"role": {"not": {"type": "null"}}}},
        },
    )

    event: Literal["user_added", "user_removed", "login_recorded", "password_changed"]
    user: UserLabel
    on: WrittenDate
    role: PecosRole | None = None  # user_added only


class AccessState(BaseModel):
    organization_id: str
    time_zone: str
    users: dict[str, PecosUser] = Field(default_factory=dict)
    reminders_sent: list[str] = Field(default_factory=list)
    # Since when fewer than MIN_ACTORS can act (the open finding), None when enough can.
    short_handed_since: date | None = None


def can_act(user: PecosUser, today: date) -> bool:
    return today < user.password_expires_on and today < user.locked_on


def apply_access_event(state: AccessState, event: AccessEvent) -> AccessState:
    """The state after an event; raises ValueError naming the field for one it cannot take."""
    users = dict(state.users)
    current = users.get(event.user)
    if event.event == "user_added":
        if event.role is None:
            raise ValueError("role: a user_added event needs the person's PECOS role")
        users[event.user] = PecosUser(
            user=event.user, role=event.role, password_changed_on=event.on, last_login_on=event.on
        )
    elif current is None:
        raise ValueError(f"user: no PECOS user {event.user!r} is recorded for this organisation")
    elif event.event == "user_removed":
        del users[event.user]
    elif event.event == "login_recorded":
        users[event.user] = current.model_copy(update={"last_login_on": event.on})
    else:
        users[event.user] = current.model_copy(
            update={"password_changed_on": event.on, "last_login_on": event.on}
        )
    return state.model_copy(update={"users": users})


def _notice(state: AccessState, key: str, subject: str, body: str, due: date | None) -> Notice:
    return Notice(
        key=key,
        kind=NoticeKind.REMINDER if due else NoticeKind.CONSEQUENCE,
        subject=f"PECOS access {state.organization_id}: {subject}",
        body=body,
        status="short_handed" if state.short_handed_since else "ok",
        due_date=due,
    )


def due_access_notices(state: AccessState, today: date) -> tuple[AccessState, list[Notice]]:
    """Reminders due by `today` (each once: its key holds the date it is about), and the
    finding when fewer than MIN_ACTORS can act (once per episode)."""
    sent = list(state.reminders_sent)
    notices: list[Notice] = []
    for user in sorted(state.users.values(), key=lambda u: u.user):
        for what, last, offsets in (
            ("password", user.password_expires_on, PASSWORD_REMINDER_DAYS),
            ("login", user.locked_on, LOGIN_REMINDER_DAYS),
        ):
            pending = [
                o
                for o in offsets
                if last - timedelta(days=o) <= today < last
                and f"{user.user}:{what}:{last}:{o}" not in sent
            ]
            if not pending:
                continue
            sent += [f"{user.user}:{what}:{last}:{o}" for o in pending]
            latest = min(pending)
            if what == "password":
                subject = f"{user.user}'s PECOS password expires {last} ({(last - today).days} d)"
                body = (
                    f"Passwords last {PASSWORD_DAYS} days ({CITATION}); set on "
                    f"{user.password_changed_on}. Change it in I&A before {last}."
                )
            else:
                subject = f"{user.user}'s PECOS account locks {last} ({(last - today).days} d)"
                body = (
                    f"An account unused for {LOCK_DAYS} days is locked ({CITATION}); last login "
                    f"{user.last_login_on}. Log in to PECOS before {last}."
                )
            notices.append(
                _notice(state, f"{user.user}:{what}:{last}:{latest}", subject, body, last)
            )
    actors = sum(can_act(u, today) for u in state.users.values())
    since = state.short_handed_since
    if actors < MIN_ACTORS and since is None:
        since = today
        notices.append(
            Notice(
                key=f"short-handed:{today}",
                kind=NoticeKind.CONSEQUENCE,
                subject=f"PECOS access {state.organization_id}: only {actors} can act",
                body=f"Fewer than {MIN_ACTORS} people can act for the organisation in PECOS "
                f"(a password expired, an account locked, or too few recorded). Add a "
                f"delegated official or surrogate ({CITATION}).",
                status="short_handed",
            )
        )
    elif actors >= MIN_ACTORS:
        since = None
    return state.model_copy(update={"reminders_sent": sent, "short_handed_since": since}), notices


def next_access_wake(state: AccessState, today: date) -> date | None:
    """The next day something is due: a reminder, an expiry or a lock (which may open the
    finding)."""
    days: list[date] = []
    for user in state.users.values():
        for last, offsets in (
            (user.password_expires_on, PASSWORD_REMINDER_DAYS),
            (user.locked_on, LOGIN_REMINDER_DAYS),
        ):
            days += [last - timedelta(days=o) for o in offsets] + [last]
    future = [d for d in days if d > today]
    return min(future, default=None)
