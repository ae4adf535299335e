"""Configuration of every process (worker, API, CLI): environment variables, read by this class.

It lives beside the client and the data converter (workflows/client.py, converter.py): the
contract every process shares to reach the workflows. Declaring it reads nothing; only the entry
points (worker.py, the API, the CLI) instantiate it, which is when the environment is read.
Every variable is `ENROLL_<NAME>` except `TEMPORAL_ADDRESS`, which follows the Temporal CLI's
convention.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.calendar import DEFAULT_TIME_ZONE


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENROLL_", extra="ignore")

    temporal_address: str = Field(
        default="localhost:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "ENROLL_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = Field(
        default="default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "ENROLL_TEMPORAL_NAMESPACE"),
    )
    task_queue: str = "enrollment"
    data_dir: Path = Path(".enroll")
    # SQLite in the data dir by default; postgresql+psycopg://... in production.
    database_url: str | None = None
    # The append-only audit archive of closed workflows (workflows/archive.py); unset =
    # <data_dir>/archive. Point it at durable, retained storage in production.
    archive_dir: Path | None = None
    # "kid:base64key,kid2:base64key" (first encrypts, all decrypt); unset = payloads in clear.
    payload_keys: str | None = None
    # JSON object {"<key>": {"actor": "...", "role": "operator|auditor|admin"}}; parsed and
    # checked by api/auth.py. Unset = every /v1 route answers 401. Kept out of repr().
    api_keys: str | None = Field(default=None, repr=False)
    default_time_zone: str = DEFAULT_TIME_ZONE
    default_organization: str = "default"
    # The worker registers the engine's search attributes at start where the server allows it.
    register_search_attributes: bool = True
    log_level: str = "INFO"
    # JSON lines for machines; unset = JSON unless stderr is a terminal (then readable lines).
    log_json: bool | None = None

    def resolved_archive_dir(self) -> Path:
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'read_model.db').resolve()}"

    # --- Notifications (activities/channels.py, activities/routing.py; README, "Notifications")
    # Where notices go: "log" (lines in the worker's log; `enroll dev` always uses it), "email"
    # (SMTP) or "webhook" (a signed JSON POST).
    notify_channel: Literal["log", "email", "webhook"] = "log"
    # The address people open records at, for the link in every message.
    notify_base_url: str = "http://127.0.0.1:8000"
    # Recipients when no routing file is set (comma-separated e-mail addresses or names).
    notify_to: str | None = None
    # A JSON routing file: recipients by organisation, provider, role and notice kind.
    notify_routes_file: Path | None = None
    notify_timeout_seconds: float = 8.0  # one send; under an attempt's 10 s
    smtp_host: str | None = None
    smtp_port: int = 587
    # "starttls" (upgrade on the submission port), "tls" (implicit, port 465) or "none" (a
    # relay on the same host only).
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = Field(default=None, repr=False)
    smtp_from: str | None = None
    smtp_ca_file: Path | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False)
    # The daily sweep (escalations, digests; only with a routing file) runs at this local hour.
    notify_sweep_hour: int = Field(default=7, ge=0, le=23)
