"""Structured JSON logs that say which workflow and activity wrote them, and never carry PII.

Every process calls `configure_logging` once. Activity log lines get the workflow id, run id,
activity type and attempt from the Temporal activity context; a redaction processor masks
SSN/EIN/date-of-birth fields and SSN- or EIN-shaped strings wherever they appear.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from temporalio import activity

SENSITIVE_KEYS = frozenset(
    {"ssn", "ein", "tin", "date_of_birth", "dob", "home_address", "password", "api_key"}
)
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_EIN = re.compile(r"\b\d{2}-\d{7}\b")
REDACTED = "[REDACTED]"


def redact_text(text: str) -> str:
    return _EIN.sub(REDACTED, _SSN.sub(REDACTED, text))


def _redact(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_KEYS else _redact(v)
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_redact(v) for v in value]
    return value


def redact_pii(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in SENSITIVE_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _redact(event_dict[key])
    return event_dict


def add_temporal_context(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if activity.in_activity():
        info = activity.info()
        event_dict.setdefault("workflow_id", info.workflow_id)
        event_dict.setdefault("run_id", info.workflow_run_id)
        event_dict.setdefault("activity_type", info.activity_type)
        event_dict.setdefault("activity_id", info.activity_id)
        event_dict.setdefault("attempt", info.attempt)
    return event_dict


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_temporal_context,
        redact_pii,
        structlog.processors.format_exc_info,
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(),
    ]
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    # The SDK and uvicorn log through the standard library: route them through the same
    # redaction and format.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=processors[-1],
            foreign_pre_chain=processors[:-1],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
