"""Structured logs that say which workflow and activity wrote them, and never carry PII: JSON
lines for machines, readable lines in a terminal.

Every process calls `configure_logging` once. Activity log lines get the workflow id, run id,
activity type and attempt from the Temporal activity context; a redaction processor replaces
sensitive fields (TINs, date of birth, names, contact details, secrets) and SSN- or EIN-shaped
text wherever they appear, as :mod:`models.privacy` defines them.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from temporalio import activity

from models.privacy import redact


def redact_pii(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The structlog processor: every field redacted as :func:`models.privacy.redact` says."""
    for key in list(event_dict):
        event_dict[key] = redact(event_dict[key], key)
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


def configure_logging(level: str = "INFO", *, json: bool | None = True) -> None:
    """`json=None`: JSON lines unless stderr is a terminal, where a person reads them (one
    readable line per event, keys aligned); ENROLL_LOG_JSON=true|false decides otherwise."""
    if json is None:
        json = not sys.stderr.isatty()
    processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_temporal_context,
        # Tracebacks become text first, so that redaction reaches the exceptions' messages too.
        structlog.processors.format_exc_info,
        redact_pii,
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
