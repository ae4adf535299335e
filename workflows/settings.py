"""Configuration of every process (worker, API, CLI): environment variables, read by this class.

It lives beside the client and the data converter (workflows/client.py, converter.py): the
contract every process shares to reach the workflows. Declaring it reads nothing; only the entry
points (worker.py, the API, the CLI) instantiate it, which is when the environment is read.
Every variable is `ENROLL_<NAME>`; `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE` and
`TEMPORAL_API_KEY` follow the Temporal CLI's convention (the `ENROLL_` spelling works too).

Entry points call `load_settings()`: a bad value fails at start with one line per variable,
naming it and what to do (`SettingsError`), never a traceback of field names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from models.calendar import DEFAULT_TIME_ZONE

# Values `enroll config show` never prints (key material, credentials).
SECRET_FIELDS = frozenset({"payload_keys", "api_keys", "temporal_api_key", "temporal_tls_key"})
# The worker's sticky cache (Settings.worker_max_cached_workflows).
WORKER_MAX_CACHED_WORKFLOWS = 200
# The sandbox's (Settings.sandbox_max_cached_workflows).
SANDBOX_MAX_CACHED_WORKFLOWS = 2_000


_KEY_HINT = (
    'give kid:base64key,... with 32-byte keys, e.g. from `python -c "from workflows.converter '
    "import KeyRing; print(KeyRing.generate('k1').to_config())\"`"
)


class SettingsError(ValueError):
    """A configuration the process cannot start with: one line per bad variable."""


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

    # Temporal Cloud or a self-hosted cluster with mTLS: the client certificate and its key (PEM
    # files), and the CA that signed the server's certificate when it is not a public one.
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = Field(default=None, repr=False)
    temporal_tls_ca: Path | None = None
    # The name the server's certificate carries, when it differs from the address's host.
    temporal_tls_server_name: str | None = None
    # Temporal Cloud API key (instead of a client certificate); implies TLS. Kept out of repr().
    temporal_api_key: str | None = Field(
        default=None,
        repr=False,
        validation_alias=AliasChoices("TEMPORAL_API_KEY", "ENROLL_TEMPORAL_API_KEY"),
    )
    # The API keys as a file (a mounted Kubernetes Secret) instead of ENROLL_API_KEYS; same JSON.
    api_keys_file: Path | None = None
    # {"<organization_id>": "<IANA zone>"}: whose local midnight ends each organisation's
    # deadline days (docs/regulation.md, "Counting days"); others use default_time_zone.
    organization_time_zones: dict[str, str] = Field(default_factory=dict)
    # SIGTERM: how long a worker lets in-flight activities finish before cancelling them, and
    # how long the API lets in-flight requests finish before closing connections.
    worker_shutdown_grace_seconds: float = 30.0
    # Workflows a worker keeps in memory between their tasks (the SDK's sticky cache; it
    # defaults to 1,000). A record out of the cache replays its short history on its next task
    # (an event, a clock): milliseconds. Idle enrollments wait months between tasks, so a
    # smaller cache costs little and bounds the worker's memory (bench/README.md, "scale").
    worker_max_cached_workflows: int = Field(default=WORKER_MAX_CACHED_WORKFLOWS, ge=0, le=100_000)
    # The same for `enroll sandbox`, whose one process simulates a whole portfolio and touches
    # every record at each advance: a cache smaller than the portfolio replays years of history
    # on every touch. 1,000 enrollments x 3 years: 2,500 instead of 200 cut the sandbox's CPU
    # by a third for 205 MB more (bench/README.md, "simulate").
    sandbox_max_cached_workflows: int = Field(
        default=SANDBOX_MAX_CACHED_WORKFLOWS, ge=0, le=100_000
    )
    api_shutdown_grace_seconds: float = 30.0
    # Browser origins allowed to call the codec endpoint (api/routes/codec.py reads it).
    codec_cors_origins: str | None = None
    # The NPPES NPI Registry API v2.1 the pre-submission checks ask (e.g.
    # https://npiregistry.cms.hhs.gov/api/); unset = the NPPES check is off.
    nppes_base_url: str | None = None
    nppes_requests_per_second: float = 5.0

    @field_validator("temporal_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(
                f"{value!r} is not host:port; set it like temporal.example.com:7233 "
                "(Temporal Cloud: <namespace>.<account>.tmprl.cloud:7233)"
            )
        return value

    @field_validator("task_queue", "temporal_namespace", "default_organization")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("is empty; set a name or unset the variable to use the default")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError(
                "is not a database URL the read model supports; use "
                "postgresql+psycopg://user:password@host:5432/db (or sqlite:///path.db for one "
                "machine)"
            )
        return value

    @field_validator("payload_keys")
    @classmethod
    def _payload_keys(cls, value: str | None) -> str | None:
        if not value:
            return None
        from workflows.converter import KeyRing

        try:
            KeyRing.from_config(value)
        except ValueError as exc:
            # The key ring's own message never repeats key material.
            raise ValueError(f"{exc}; {_KEY_HINT}") from None
        return value

    @field_validator("default_time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        _check_zone(value)
        return value

    @field_validator("organization_time_zones")
    @classmethod
    def _zones(cls, value: dict[str, str]) -> dict[str, str]:
        for organization, zone in value.items():
            _check_zone(zone, f"organisation {organization!r}: ")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(f"{value!r} is not a level; use DEBUG, INFO, WARNING or ERROR")
        return value.upper()

    @field_validator("worker_shutdown_grace_seconds", "api_shutdown_grace_seconds")
    @classmethod
    def _grace(cls, value: float) -> float:
        if value < 0:
            raise ValueError("is negative; give seconds, 0 or more (e.g. 30)")
        return value

    @field_validator("temporal_tls_cert", "temporal_tls_key", "temporal_tls_ca", "api_keys_file")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file; mount it or fix the path")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if (self.temporal_tls_cert is None) != (self.temporal_tls_key is None):
            missing = "temporal_tls_key" if self.temporal_tls_key is None else "temporal_tls_cert"
            raise _FieldError(missing, "mTLS needs both the client certificate and its key; set it")
        if self.api_keys_file is not None:
            if self.api_keys:
                raise _FieldError(
                    "api_keys_file", "ENROLL_API_KEYS is set too; keep one source of API keys"
                )
            self.api_keys = self.api_keys_file.read_text()
        return self

    def time_zone_for(self, organization_id: str) -> str:
        return self.organization_time_zones.get(organization_id, self.default_time_zone)

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


class _FieldError(ValueError):
    """A cross-field check's failure, blamed on the variable the operator has to change."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _check_zone(zone: str, prefix: str = "") -> None:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{prefix}{zone!r} is not an IANA time zone; use a name like America/Chicago"
        ) from None


def env_name(field: str) -> str:
    """The environment variable an operator sets for `field` (the first alias when it has some)."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"ENROLL_{field.upper()}"


def _field_at(location: str) -> str | None:
    # A validation error's location is the field's name, or the alias it was read through.
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if location == name or (isinstance(alias, AliasChoices) and location in alias.choices):
            return name
    return None


def _field_of_source_error(exc: SourceError) -> str | None:
    # pydantic-settings says 'error parsing value for field "x" from source ...'.
    text = str(exc)
    for name in Settings.model_fields:
        if f'"{name}"' in text:
            return name
    return None


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment, or a SettingsError naming each bad variable and what
    to do (the value itself is never repeated for secrets)."""
    try:
        return Settings(**overrides)
    except SourceError as exc:
        field = _field_of_source_error(exc)
        where = env_name(field) if field else "the environment"
        raise SettingsError(f"{where}: is not valid JSON; give a JSON object") from None
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            field = _field_at(str(error["loc"][0])) if error["loc"] else None
            cause = error.get("ctx", {}).get("error")
            if isinstance(cause, _FieldError):
                field = cause.field
            message = str(cause) if cause is not None else error["msg"]
            where = env_name(field) if field else "the environment"
            lines.append(f"{where}: {message}")
        raise SettingsError("\n".join(lines)) from None
