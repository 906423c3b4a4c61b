#!/usr/bin/env bash
# Set up the virtual environment (if missing) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements-dev.txt
.venv/bin/python -m pytest -q "$@"
