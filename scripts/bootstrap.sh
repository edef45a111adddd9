#!/usr/bin/env bash
# Installs what is missing on a Debian machine: system packages, a virtual
# environment in .venv and the Python packages. Safe to run again.
# Usage: scripts/bootstrap.sh [test]   ("test" adds what the test suites need)
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
need_deb() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing+=("$1"); }

# python3-venv is what Debian splits off from python3; libzbar0 decodes barcodes.
command -v python3 >/dev/null || need_deb python3
python3 -c 'import ensurepip, venv' 2>/dev/null || need_deb python3-venv
need_deb libzbar0
# Fonts the PDF labels embed: DejaVu for Latin, Greek and Cyrillic, Droid for CJK.
need_deb fonts-dejavu-core
need_deb fonts-droid-fallback
if [ "${1:-}" = test ]; then
    need_deb chromium
    need_deb poppler-utils
    need_deb openssl
    # The label tests render ZPL with an independent renderer from the npm registry.
    command -v npm >/dev/null || need_deb npm
    command -v pg_isready >/dev/null || need_deb postgresql-client
fi
if [ ${#apt_missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${apt_missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_missing[@]}" >/dev/null
fi

python3 - <<'PY'
import sys
if sys.version_info < (3, 11):
    sys.exit(f"Python 3.11 or newer is needed, this is {sys.version.split()[0]}")
PY

[ -x .venv/bin/python ] || python3 -m venv .venv
extra=""
[ "${1:-}" = test ] && extra="[test]"
stamp=".venv/.installed$extra"
# Reinstall only when pyproject.toml changed since the last install.
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -e ".$extra"
    touch "$stamp"
fi
