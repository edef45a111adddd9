#!/usr/bin/env bash
# Installs what is missing, creates or migrates the database (the SQLite file in var/ by
# default), loads the demo warehouse the first time, and serves the service under
# gunicorn at http://127.0.0.1:8000. Arguments go to `warehouse serve` (--port, --workers).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
.venv/bin/warehouse init
.venv/bin/warehouse demo
exec .venv/bin/warehouse serve "$@"
