#!/usr/bin/env bash
# Compiles every rule of a Panther rule repository (default: ../shared/corpus/panther-analysis)
# in a scratch copy of this workspace, runs their upstream tests compiled, and prints per family:
# rules compiled, rules whose tests all pass, rules rejected, and the constructs that blocked them.
# Usage: scripts/conformance/run.sh [--check] [REPO]
#   --check  exit 1 if the figures fall below those committed in scripts/conformance/expected.json
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
check=""
if [ "${1:-}" = "--check" ]; then check="--check"; shift; fi
repo=${1:-$root/../shared/corpus/panther-analysis}
if [ ! -d "$repo/rules" ]; then
  echo "conformance: no rule repository at $repo" >&2
  exit 2
fi
out=$root/target/conformance
ws=$out/ws
rm -rf "$ws"
mkdir -p "$ws"
# The workspace as committed (plus uncommitted edits), without build output.
git ls-files -z --cached --others --exclude-standard | (cd "$root" && xargs -0 cp --parents -t "$ws")
rm -rf "$ws/rules" "$ws/detections/src/rules" "$ws/detections/tests/generated"
mkdir -p "$ws/rules" "$ws/detections/tests/generated"
for dir in rules global_helpers data_models; do
  if [ -d "$repo/$dir" ]; then cp -r "$repo/$dir" "$ws/rules/"; fi
done
# Upstream's own unit tests of its helpers are not analyses.
find "$ws/rules" -name '*_test.py' -delete
echo "conformance: compiling $(find "$ws/rules" -name '*.yml' | wc -l) analysis files from $repo" >&2
start=$(date +%s)
(cd "$ws" && env -u CI CODEGEN_SKIP_REJECTED="$out/rejected.txt" CARGO_TARGET_DIR="$out/target" \
  cargo test -p detections --test rules --no-fail-fast -- --test-threads 2 > "$out/tests.log" 2> "$out/build.log") || true
end=$(date +%s)
echo "conformance: build and tests took $((end - start)) s" >&2
if ! grep -q "test result" "$out/tests.log"; then
  echo "conformance: the compiled rules did not build; see $out/build.log" >&2
  tail -40 "$out/build.log" >&2
  exit 1
fi
exec python3 scripts/conformance/summarize.py $check --repo "$repo" --out "$out"
