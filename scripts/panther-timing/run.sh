#!/usr/bin/env bash
# Panther's runtime (pypanther, from PyPI) against our compiled rules: ns/event on the same events
# and the same rules. Not run by CI (it needs PyPI and a few minutes).
# Usage: scripts/panther-timing/run.sh [--events N] [--python-events M] [--rounds R] [--our-rounds R]
# PYPANTHER_VENV: the virtual environment to use or create (default target/pypanther-venv, which
# scripts/equivalence/run.sh shares).
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PYPANTHER_VENV:-target/pypanther-venv}
if ! "$venv/bin/python" -c 'import pypanther, yaml' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'pypanther==0.1.1a62' pyyaml
fi
cargo build --release --quiet -p detect -p bench
exec "$venv/bin/python" scripts/panther-timing/pypanther_timing.py "$@"
