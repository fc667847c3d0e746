#!/usr/bin/env bash
# The declarative ports of rules/ against their upstream Python, run by CPython under Panther's
# runtime (panther_core, batch mode, as panther_analysis_tool runs rules), on the same events:
# every output compared (verdict, title, dedup, severity, alert context). See README.md here.
# Usage: scripts/equivalence/run.sh [--events N] [--seed S] [--rounds R] [--show K]
# Environment: CORPUS (default ../shared/corpus/panther-analysis), PAT_VENV (default target/pat-venv).
# Exit status 1 on any unexplained difference. Not run by CI (it needs PyPI and a few minutes).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
corpus=${CORPUS:-$root/../shared/corpus/panther-analysis}
venv=${PAT_VENV:-$root/target/pat-venv}
out=$root/target/equivalence
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import panther_core, panther_detection_helpers' 2>/dev/null; then
  echo "equivalence: installing Panther's runtime (PyPI) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'panther_analysis_tool==1.11.1' panther_detection_helpers pycountry pyyaml
fi
echo "equivalence: building detect (release)" >&2
env -u CI cargo build --release --quiet -p detect
mkdir -p "$out"
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
exec nice "$venv/bin/python" scripts/python-equivalence/equivalence.py \
  --ports "$root" --exhaustive --high-match "${HIGH_MATCH:-20000}" --detect "$root/target/release/detect" --corpus "$corpus" --out "$out" "$@"
