"""`enroll`: run the engine (dev, sandbox, worker, api) and drive it over its HTTP API.

One module per resource (applications, enrollments, deadlines, lifecycle, import, audit), the
engine's processes (dev, sandbox), the HTTP client and the rendering they share; `commands`
assembles them into the `enroll` command.
"""

from cli.commands import app, main

__all__ = ["app", "main"]
