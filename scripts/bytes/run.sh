#!/usr/bin/env bash
# Recomputes runtime/tests/bytes/cases.json: CPython's base64.b64decode, bytes.decode and
# str.encode on generated inputs (see generate.py). Then: cargo test -p detections-runtime --test bytes
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=${PAT_VENV:-target/pat-venv}
exec "$venv/bin/python" scripts/bytes/generate.py runtime/tests/bytes/cases.json "${1:-1500}"
