"""How an `enroll` command ends: with its own exit status, through `os._exit`.

A process that used the Temporal SDK can abort at interpreter shutdown (sdk-python #300), and
the exit status must be the command's own, so every command leaves through `exit_process`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn

from cli.render import print_error


def exit_process(status: int) -> NoReturn:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def run_async(main: Callable[[], Coroutine[Any, Any, int | None]]) -> NoReturn:
    """Run `main` and exit with its status: 0 on Ctrl-C, 1 with one clear line on an error."""
    status = 0
    try:
        status = asyncio.run(main()) or 0
    except KeyboardInterrupt:
        status = 0
    except Exception as exc:  # the operator gets one clear line, the log has the rest
        print_error(str(exc) or type(exc).__name__)
        status = 1
    exit_process(status)
