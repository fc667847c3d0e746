#!/usr/bin/env bash
# Recomputes runtime/tests/pydate/cases.json: CPython's datetime.strptime (with the C locale and
# TZ=UTC, as on Panther), datetime.utcfromtimestamp and dateutil.parser.parse on generated inputs
# (see generate.py). Then: cargo test -p detections-runtime --test pydate
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PAT_VENV:-target/pat-venv}
mkdir -p runtime/tests/pydate
TZ=UTC LC_ALL=C exec "$venv/bin/python" scripts/pydate/generate.py runtime/tests/pydate/cases.json "${1:-4000}"
