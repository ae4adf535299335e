"""Configuration of every process (worker, API, CLI): environment variables, read by this class.

It lives beside the client and the data converter (workflows/client.py, converter.py): the
contract every process shares to reach the workflows. Declaring it reads nothing; only the entry
points (worker.py, the API, the CLI) instantiate it, which is when the environment is read.
Every variable is `ENROLL_<NAME>` except `TEMPORAL_ADDRESS`, which follows the Temporal CLI's
convention.
"""

from __future__ import annotations

from pathlib import Path

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
    # The NPPES NPI Registry API v2.1 the pre-submission checks ask (e.g.
    # https://npiregistry.cms.hhs.gov/api/); unset = the NPPES check is off.
    nppes_base_url: str | None = None
    nppes_requests_per_second: float = 5.0

    def resolved_archive_dir(self) -> Path:
        return self.archive_dir if self.archive_dir is not None else self.data_dir / "archive"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'read_model.db').resolve()}"
