#!/bin/sh
# Start JupyterHub on 127.0.0.1:8001 next to the LMS (make run backgrounds this script).
# Environment: see hub_config/settings.py.
set -eu
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="${BIN:-$ROOT/.venv/bin}"
export GIGA_HUB_STATE_DIR="${GIGA_HUB_STATE_DIR:-$ROOT/var/hub}"
export GIGA_HUB_COURSES_FILE="${GIGA_HUB_COURSES_FILE:-$GIGA_HUB_STATE_DIR/courses.json}"
# `make run` is the laptop/demo tier: everyone runs as this account unless GIGA_HUB_MODE=local is asked for
# (one unix user per person, created at first sign-in; needs root).
export GIGA_HUB_MODE="${GIGA_HUB_MODE:-test}"
if [ "$GIGA_HUB_MODE" = "local" ] && [ "$(id -u)" != "0" ]; then
  echo "GIGA_HUB_MODE=local needs root (it creates one unix user per person); unset it for the demo mode" >&2
  exit 2
fi
mkdir -p "$GIGA_HUB_STATE_DIR"
cd "$ROOT"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
exec "$BIN/jupyterhub" -f "$ROOT/hub_config/jupyterhub_config.py"
