#!/usr/bin/env bash
# Upstream Python (pypanther, from PyPI) against the compiled CloudTrail ports, on the same events.
# Not run by CI (it needs PyPI and a few minutes). Usage: scripts/equivalence/run.sh [--events N]
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PYPANTHER_VENV:-target/pypanther-venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pypanther==0.1.1a62' pyyaml
fi
cargo build --release --quiet -p detect
exec "$venv/bin/python" scripts/equivalence/pypanther_equivalence.py "$@"
