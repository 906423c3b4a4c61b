#!/usr/bin/env bash
# Set up a fresh virtual environment (if missing) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -r requirements-dev.txt
.venv/bin/python -m core warmup   # compile UMAP's numba code once (cached on disk afterwards)
.venv/bin/python -m pytest -q "$@"
