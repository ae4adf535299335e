"""PECOS access hygiene of an organisation as the API shows it (models/pecos_access.py)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class PecosUserView(BaseModel):
    user: str
    role: str
    password_changed_on: date
    password_expires_on: date = Field(description="The first day the password no longer works")
    last_login_on: date
    locked_on: date = Field(description="The first day the account is locked without a login")
    can_act: bool = Field(description="Today: password not expired and account not locked")


class PecosAccessView(BaseModel):
    organization_id: str
    workflow_id: str
    today: date
    users: list[PecosUserView]
    can_act: int = Field(description="How many can act for the organisation in PECOS today")
    short_handed_since: date | None = Field(
        description="The open finding: since when fewer than two can act (null: enough can)"
    )
    reminders_sent: list[str]
