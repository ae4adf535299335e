"""The key files of a data dir: the payload key and the API keys `enroll dev` generates once
(mode 0600), so that a restart still reads every workflow it wrote and keeps the keys it printed.
Other commands read them when nothing else is configured; only the stack commands write them.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from activities.private_files import write_private_file

if TYPE_CHECKING:  # the operator commands read default_api_key only: no codec, no settings
    from workflows.converter import KeyRing
    from workflows.settings import Settings

PAYLOAD_KEYS_FILE = "payload-keys"
API_KEYS_FILE = "api-keys.json"
DEV_ACTORS = {"operator": "dev-operator", "auditor": "dev-auditor"}


def dev_payload_keys(data_dir: Path) -> str:
    """The dev stack encrypts payloads too; its key lives in the data dir so a restart can
    still read every workflow it wrote."""
    from workflows.converter import KeyRing

    path = data_dir / PAYLOAD_KEYS_FILE
    if path.exists():
        return path.read_text().strip()
    spec = KeyRing.generate("dev1").to_config()
    write_private_file(path, spec + "\n")  # 0600 from its creation, never readable to others
    return spec


def stored_keyring(settings: Settings) -> KeyRing | None:
    """ENROLL_PAYLOAD_KEYS, else the dev stack's key file (never generated here)."""
    from workflows.converter import KeyRing

    if settings.payload_keys:
        return KeyRing.from_config(settings.payload_keys)
    path = settings.data_dir / PAYLOAD_KEYS_FILE
    return KeyRing.from_config(path.read_text().strip()) if path.exists() else None


def dev_api_keys(data_dir: Path) -> str:
    """ENROLL_API_KEYS for the dev stack: an operator key and an auditor key, generated once and
    kept in the data dir (mode 0600) so a restart keeps them."""
    from api.auth import parse_api_keys

    path = data_dir / API_KEYS_FILE
    if path.exists():
        text = path.read_text()
        parse_api_keys(text, source=str(path))  # a hand-edited file gets the same checks
        return text
    keys = {
        secrets.token_urlsafe(32): {"actor": actor, "role": role}
        for role, actor in DEV_ACTORS.items()
    }
    text = json.dumps(keys, indent=2) + "\n"
    write_private_file(path, text)
    return text


def default_api_key(data_dir: Path | None = None) -> str | None:
    """The operator (else admin) key of the dev stack's keys file, if there is one."""
    path = (data_dir or Path(os.environ.get("ENROLL_DATA_DIR", ".enroll"))) / API_KEYS_FILE
    try:
        keys = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(keys, dict):
        return None
    by_role = {spec.get("role"): key for key, spec in keys.items() if isinstance(spec, dict)}
    found = by_role.get("operator") or by_role.get("admin")
    return found if isinstance(found, str) else None
