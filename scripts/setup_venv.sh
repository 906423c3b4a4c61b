#!/usr/bin/env bash
# Create .venv (if missing) with a supported Python and install the given requirements file into it.
# Usage: bash scripts/setup_venv.sh requirements.txt
#
# A second start is quick: when the requirements files and the Python are the ones last installed (a
# stamp in .venv records their hash), pip and the UMAP warm-up are skipped. Set DEEP_CLUSTERING_REINSTALL=1
# to install anyway.
set -euo pipefail
cd "$(dirname "$0")/.."
requirements=${1:-requirements.txt}
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  if ! "$PYTHON" -c 'import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'; then
    echo "Python 3.11-3.13 is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.12, say." >&2
    exit 1
  fi
  "$PYTHON" -m venv .venv || {
    echo "Could not create a virtual environment: on Debian/Ubuntu, apt-get install python3-venv" >&2
    exit 1
  }
fi
# Every requirements file (one includes another with -r) and the interpreter decide what is installed.
stamp=".venv/.installed-$(basename "$requirements")"
wanted=$( (cat requirements*.txt; .venv/bin/python --version) | sha256sum | cut -d' ' -f1)
if [ "${DEEP_CLUSTERING_REINSTALL:-0}" != "1" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
  exit 0
fi
rm -f "$stamp"
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r "$requirements"
.venv/bin/python -m core warmup   # compile UMAP's numba code once (cached on disk afterwards)
echo "$wanted" > "$stamp"
