#!/usr/bin/env bash
# Recomputes runtime/tests/difflib/cases.json: CPython's SequenceMatcher ratios on generated
# string pairs (see generate.py). Then: cargo test -p detections-runtime --test difflib
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PAT_VENV:-target/pat-venv}
exec "$venv/bin/python" scripts/difflib/generate.py runtime/tests/difflib/cases.json "${1:-2000}"
