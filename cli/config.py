"""`enroll config show`: the effective configuration of this machine's processes, as the
worker and the API would read it, with every secret masked."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.render import out, print_error

if TYPE_CHECKING:  # pydantic-settings and SQLAlchemy load when the command runs, not with `enroll`
    from workflows.settings import Settings

config_app = typer.Typer(no_args_is_help=True, help="The engine's configuration.")

MASK = "****"


def masked(settings: Settings) -> dict[str, Any]:
    """Each variable's effective value; secrets as **** (or unset), a database password
    hidden inside its URL."""
    from sqlalchemy.engine import make_url

    from workflows.settings import SECRET_FIELDS, Settings, env_name

    shown: dict[str, Any] = {}
    for field in Settings.model_fields:
        value = getattr(settings, field)
        if field in SECRET_FIELDS and value is not None:
            value = MASK
        elif field == "database_url":
            value = settings.resolved_database_url()
            url = make_url(value)
            if url.password:
                value = url.render_as_string(hide_password=True)
        elif field == "archive_dir":
            value = settings.resolved_archive_dir()
        plain = value is None or isinstance(value, int | float | bool | dict)
        shown[env_name(field)] = value if plain else str(value)
    return shown


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False,
) -> None:
    """Print the effective configuration (environment variables and defaults), secrets masked.
    Exits 2, naming each bad variable and what to do, when the configuration cannot start."""
    from workflows.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print_error(f"bad configuration\n{exc}")
        raise typer.Exit(2) from None
    shown = masked(settings)
    if as_json:
        out.print_json(json.dumps(shown, default=str))
    else:
        width = max(len(name) for name in shown)
        for name, value in shown.items():
            if value is None:
                text = "(unset)"
            else:
                text = json.dumps(value) if isinstance(value, dict) else str(value)
            out.print(f"{name:<{width}}  {text}", markup=False, highlight=False, soft_wrap=True)
