#!/usr/bin/env bash
# Recomputes the expected outputs of the Python fixtures (tests/rules/python/) with CPython under
# Panther's runtime. Usage: scripts/python-fixtures/run.sh   (then review the diff and run cargo test)
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PAT_VENV:-target/pat-venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import panther_core' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'panther_analysis_tool==1.11.1' panther_detection_helpers pyyaml
fi
# Naive datetimes are local time to CPython: UTC, as on Panther (the compiled rules assume it).
export TZ=UTC
exec "$venv/bin/python" scripts/python-fixtures/expect.py
