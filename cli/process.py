"""How an `enroll` command ends: with its own exit status, through `os._exit`.

A process that used the Temporal SDK can abort at interpreter shutdown (sdk-python #300), and
the exit status must be the command's own, so every command leaves through `exit_process`.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Mapping
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


# prctl(2) option: the signal a child gets when the thread that started it ends (Linux).
PR_SET_PDEATHSIG = 1


def dies_with_parent() -> Callable[[], None]:
    """A `preexec_fn` for a child that must not outlive this process, even a SIGKILLed one (a
    Temporal server left behind keeps its port and its data dir, and the next `enroll dev`
    would attach to it): on Linux the kernel sends the child SIGKILL when we end. Elsewhere it
    does nothing (the stack still stops its children when it stops normally)."""
    parent = os.getpid()

    def preexec() -> None:
        if not sys.platform.startswith("linux"):
            return
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            os._exit(127)
        if os.getppid() != parent:  # the parent ended before prctl took effect
            os._exit(1)

    return preexec


class PortInUse(RuntimeError):
    """A port the stack needs is taken (often by a stack that did not stop)."""


def check_ports_free(host: str, ports: Mapping[str, int]) -> None:
    """Refuse, before anything starts, a port that is already listened on: option -> port
    (e.g. `--temporal-port` -> 7233)."""
    seen: dict[int, str] = {}
    for name, port in ports.items():
        if port in seen:
            raise PortInUse(f"{name} and {seen[port]} are both port {port}; give each its own.")
        seen[port] = name
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
            except OSError as exc:
                raise PortInUse(
                    f"port {port} ({name}) on {host} is in use ({exc.strerror}): is another "
                    "`enroll dev` (or a Temporal server it left) still running? Stop it, or "
                    f"choose another port with {name}."
                ) from None
