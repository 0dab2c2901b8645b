# Shared by scripts/start and scripts/test: make .venv and install the project into it,
# again only when pyproject.toml changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Lianzu needs Python 3.11 or newer (found: $("$PY" --version 2>&1))." >&2
  exit 1
fi
extras="$1"
stamp=".venv/.installed-$extras"
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "Installing Lianzu and its dependencies into .venv (first run takes a minute)…" >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  if [ "$extras" = "test" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[test]"
  else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  fi
  echo "$want" > "$stamp"
fi
