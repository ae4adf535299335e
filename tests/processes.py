"""What the tests learn about the processes they start, from Linux's /proc."""

from __future__ import annotations

from pathlib import Path


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (empty where there is no /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (comm) state ppid ...": comm may hold spaces, so split after its ')'.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def executable(pid: int) -> Path | None:
    """The file `pid` runs, or None if it is gone or not ours to read."""
    try:
        return Path(f"/proc/{pid}/exe").resolve(strict=True)
    except OSError:
        return None
