#!/usr/bin/env bash
# Set up the virtual environment (if missing) and start the dashboard on the bundled digits.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh requirements.txt
exec .venv/bin/python -m ui.serve "$@"  # streamlit run app.py, with its first imports made while it starts
