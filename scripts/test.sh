#!/usr/bin/env bash
# Installs what the tests need (Python packages, Chromium, PostgreSQL if no server answers)
# and runs every suite: lint, types, unit, API, system, PostgreSQL and browser tests.
# Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh test
scripts/ensure-postgres.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest tests/unit tests/api tests/system tests/pg tests/browser "$@"
