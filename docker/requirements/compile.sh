#!/bin/sh
# Regenerate the image locks (lms.txt, hub.txt, student.txt) from pyproject.toml and the *.in files, pinned to
# the versions installed in the project's venv (the ones `make test` checked) and hashed for Linux x86-64,
# CPython 3.11 (python:3.11-slim). Needs network access to PyPI. Run from anywhere:
#   docker/requirements/compile.sh            (uses .venv and `uv` from PATH or .venv)
set -eu
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
UV="$(command -v uv || echo "$VENV/bin/uv")"
[ -x "$UV" ] || { echo "uv is needed: $VENV/bin/pip install uv==0.13.8" >&2; exit 2; }
TESTED="$(mktemp)"
trap 'rm -f "$TESTED"' EXIT
"$VENV/bin/pip" freeze --exclude-editable | grep -E '^[A-Za-z0-9_.-]+==' > "$TESTED"
cd "$ROOT"
for spec in lms:pyproject.toml,docker/requirements/lms.in hub:docker/requirements/hub.in \
            student:docker/requirements/student.in; do
  name="${spec%%:*}"
  # shellcheck disable=SC2046  # the comma-separated inputs become separate arguments
  "$UV" pip compile $(echo "${spec#*:}" | tr ',' ' ') --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
    --generate-hashes --constraint "$TESTED" --custom-compile-command "docker/requirements/compile.sh" \
    --annotation-style line -q -o "docker/requirements/$name.txt"
  # the temporary constraints file is not part of the record
  sed -i -E "s#, -c $TESTED##; s#-c $TESTED, ##; s#  \# via -c $TESTED\$##" "docker/requirements/$name.txt"
done
echo "wrote docker/requirements/{lms,hub,student}.txt"
