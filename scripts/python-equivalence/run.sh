#!/usr/bin/env bash
# The compiled Python rules against CPython running the same rules under Panther's runtime
# (panther_core, batch mode), on the same events. See README.md in this folder.
# Usage: scripts/python-equivalence/run.sh [--events N] [--seed S] [--rounds R] [--show K] [--store]
#   --events N  generated CloudTrail events (`detect sample`), default 20000
#   --rounds R  rounds of seeded mutations of each test log, default 1
#   --store     a key-value store on both sides: CPython's caching helpers against an in-process
#               DynamoDB (moto, in the venv KV_VENV), the engine with its in-memory store
# Environment: CORPUS (default ../shared/corpus/panther-analysis), PAT_VENV (default target/pat-venv),
#   KV_VENV (default target/kv-venv: Panther's runtime and moto, for --store).
# Exit status 1 on any unexplained difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
corpus=${CORPUS:-$root/../shared/corpus/panther-analysis}
venv=${PAT_VENV:-$root/target/pat-venv}
conf=$root/target/conformance
ws=$conf/ws
out=$root/target/python-equivalence
store=""
for arg in "$@"; do
  if [ "$arg" = "--store" ]; then store=1; fi
done
if [ -n "$store" ]; then
  # moto goes into a venv of its own (PAT_VENV may be shared): Panther's runtime and moto.
  venv=${KV_VENV:-$root/target/kv-venv}
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import panther_core, panther_detection_helpers, moto' 2>/dev/null; then
    echo "python-equivalence: installing Panther's runtime and moto (PyPI) into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'panther_analysis_tool==1.11.1' 'panther_detection_helpers==1.0.2' \
      pycountry pyyaml 'moto[dynamodb]'
  fi
elif [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import panther_core, panther_detection_helpers' 2>/dev/null; then
  echo "python-equivalence: installing Panther's runtime (PyPI) into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'panther_analysis_tool==1.11.1' panther_detection_helpers pycountry pyyaml
fi
# A conformance run rebuilds the scratch workspace: wait for one in progress to finish.
# (Only one of this checkout: other checkouts have their own scratch copy.)
conformance_running() {
  for pid in $(pgrep -f 'scripts/conformance/run.sh'); do
    [ "$(readlink "/proc/$pid/cwd")" = "$root" ] && [ "$pid" != $$ ] && return 0
  done
  return 1
}
while conformance_running; do
  echo "python-equivalence: waiting for the conformance run in progress" >&2
  sleep 20
done
if [ ! -d "$ws" ] || [ ! -f "$conf/rejected.txt" ]; then
  echo "python-equivalence: no scratch build at $ws: running scripts/conformance/run.sh" >&2
  nice scripts/conformance/run.sh "$corpus" || true
  if [ ! -d "$ws" ] || [ ! -f "$conf/rejected.txt" ]; then
    echo "python-equivalence: the conformance run did not leave a scratch workspace" >&2
    exit 1
  fi
fi
# `detect scan --matches` must print the alert context.
if ! grep -q '"context": m.outputs.context' "$ws/cli/src/output.rs"; then
  cp "$root/cli/src/output.rs" "$ws/cli/src/output.rs"
fi
mkdir -p "$out"
echo "python-equivalence: building detect (release) in $ws" >&2
start=$(date +%s)
# The build compiles every rule it can and writes the rejected ones to $out/rejected.txt.
if ! (cd "$ws" && env -u CI CODEGEN_SKIP_REJECTED="$out/rejected.txt" CARGO_TARGET_DIR="$conf/target" \
  nice cargo build --release -p detect) > "$out/build.log" 2>&1; then
  tail -40 "$out/build.log" >&2
  echo "python-equivalence: the scratch detect did not build; see $out/build.log" >&2
  exit 1
fi
echo "python-equivalence: build took $(( $(date +%s) - start )) s" >&2
# A fixed string-hash seed makes CPython's set iteration order, hence the figures, reproducible
# (Panther's own processes are salted at random; see README.md).
export PYTHONHASHSEED=${PYTHONHASHSEED:-0}
# Panther's runtime runs in UTC; a naive `datetime` is UTC in the compiled rules too.
export TZ=UTC
exec nice "$venv/bin/python" scripts/python-equivalence/equivalence.py \
  --detect "$conf/target/release/detect" --corpus "$corpus" --rejected "$out/rejected.txt" --out "$out" "$@"
