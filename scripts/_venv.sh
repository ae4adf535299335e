# Sourced by scripts/dev and scripts/test: creates or refreshes ./.venv from pyproject.toml.
# Re-installs only when pyproject.toml changed since the last install, so repeat runs start fast.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)-${1:-run}"
if [ ! -f "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U pip
  if [ "${1:-run}" = "test" ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[test]"
  else
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT"
  fi
  rm -f "$VENV"/.installed-*
  touch "$STAMP"
fi
