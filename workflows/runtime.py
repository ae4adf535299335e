"""The SDK runtime every client of the engine is made on (worker, API, sandbox, CLI).

The SDK's default runtime writes its core's warnings (a workflow task failed, took over 5 s,
was not found on completion after a timeout) straight to the process's standard output, from the
thread that processes workflow tasks. When stdout is a pipe that nobody reads any more (a
supervisor or a parent that read only the first lines: bench/simulate.py did), the pipe fills
and that thread blocks in write(): the worker then takes no workflow task again, using no CPU
and logging nothing (issue 22: 833 of 1,000 workflows left at WorkflowTaskScheduled). It also
put those warnings, with failure messages that may quote payload text, outside the engine's
log, its format and its PII redaction.

Here core's logs are forwarded to the standard library logger `temporalio.core`, which
`configure_logging` routes through the same redaction and format as every other line.
"""

from __future__ import annotations

import logging

from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

CORE_LOGGER = "temporalio.core"

_runtime: Runtime | None = None


def engine_runtime() -> Runtime:
    """The process's one runtime (each runtime has its own thread pool), made on first use."""
    global _runtime
    if _runtime is None:
        _runtime = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    # The SDK's default levels: core's warnings, other crates' errors.
                    filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                    forwarding=LogForwardingConfig(logger=logging.getLogger(CORE_LOGGER)),
                )
            )
        )
    return _runtime
