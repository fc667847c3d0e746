#!/usr/bin/env bash
# Recomputes runtime/tests/policyuniverse/cases.json: CPython's policyuniverse on generated
# policies (see generate.py). Then: cargo test -p detections-runtime --test policyuniverse
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PAT_VENV:-target/pat-venv}
PYTHONHASHSEED=0 exec "$venv/bin/python" scripts/policyuniverse/generate.py runtime/tests/policyuniverse/cases.json "${1:-2500}"
