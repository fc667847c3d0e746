#!/usr/bin/env bash
# Build-time and engine scale with N synthetic rules (issue 4, item 4), in a scratch copy of HEAD.
# Not run by CI (it takes several clean builds).
#
#   scripts/scale/run.sh [--count N] [--seed S] [--events E] [--copy DIR] [--quick]
#
# 1. `git archive HEAD` into DIR (default /tmp/scale-copy; replaced), with its own target dir, and
#    N rules (default 1000) from scripts/scale/generate.py in DIR/rules/synthetic/.
# 2. From clean: `cargo build` (the first build also generates the code of the new rules), then
#    `cargo test --no-run`, then `cargo test` (only running the tests is left); then, unless --quick,
#    `cargo test` again from clean (the generated code now present, as on a clean clone with it
#    committed), whose own "Finished" line splits building from running.
# 3. One rule edited (a Value string, and its test logs alike): `cargo test --no-run` + `cargo test`;
#    then the edit reverted: `cargo test` in one go.
# 4. `cargo build --release -p bench -p detect`; the share of the benchmark corpus that the
#    synthetic rules match (`detect scan --all --matches`); then `bench --events E --rounds 5` (default 50,000): the rows
#    "engine: bytes → verdicts" (every CloudTrail rule, disabled ones included) and its 10/100-rule
#    subsets.
# 5. The size of the generated code (scripts/scale/code_size.py).
# Tests run with --no-fail-fast: a failing test is counted and listed, and the timings go on.
# Wall times by `date +%s.%N`; max RSS (the largest process, i.e. rustc) by /usr/bin/time -v; the
# load average before each step. Results: DIR/scale-results.md (also on stdout); logs in DIR/logs/.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
count=1000 seed=1 events=50000 copy=/tmp/scale-copy quick=0
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --events) events=$2; shift 2 ;;
    --copy) copy=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--count N] [--seed S] [--events E] [--copy DIR] [--quick]" >&2; exit 2 ;;
  esac
done

rm -rf "$copy"
mkdir -p "$copy"
git -C "$repo" archive HEAD | tar -x -C "$copy"
# The scale scripts as they are in the working tree (they may be newer than HEAD).
mkdir -p "$copy/scripts/scale"
cp "$repo"/scripts/scale/*.py "$copy/scripts/scale/"
export CARGO_TARGET_DIR="$copy/target"
cd "$copy"
logs=$copy/logs results=$copy/scale-results.md
mkdir -p "$logs"
python3 scripts/scale/generate.py rules/synthetic --count "$count" --seed "$seed" 2>&1 | tee "$copy/generate.log"
cargo fetch --quiet # the network is not part of any timing

load() { cut -d' ' -f1-3 /proc/loadavg; }
note() { echo "$*" | tee -a "$results"; }
# measure NAME COMMAND...: one row of the results table (wall seconds, max RSS, load before).
# A failing build stops the script; failing tests are counted (see the note on `tests` below).
measure() {
  local name=$1; shift
  local before start end wall rss status=0 failed=""
  before=$(load)
  start=$(date +%s.%N)
  /usr/bin/time -v -o "$logs/$name.time" "$@" >"$logs/$name.log" 2>&1 || status=$?
  end=$(date +%s.%N)
  if [ "$status" != 0 ]; then
    if ! grep -q '^test result: FAILED' "$logs/$name.log"; then
      echo "failed: $* (see $logs/$name.log)" >&2
      tail -30 "$logs/$name.log" >&2
      exit 1
    fi
    failed=" ($(grep -o '^test result: FAILED. [0-9]* passed; [0-9]* failed' "$logs/$name.log" | awk '{ s += $6 } END { print s }') tests failed)"
  fi
  wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
  rss=$(awk '/Maximum resident/ { printf "%d", $NF / 1024 }' "$logs/$name.time")
  note "| $name | \`$*\` | $wall s$failed | $rss MB | $before |"
}
# The "Finished ... in X" of a cargo log: the build part of a `cargo test`.
finished() { grep -o 'Finished .* in .*' "$logs/$1.log" | tail -1 | sed 's/.* in //'; }

: >"$results"
note "# Scale: $count synthetic rules (seed $seed) + the shipped ones"
note ""
note "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, HEAD $(git -C "$repo" rev-parse --short HEAD), $(rustc --version)."
note "Rules: $(find rules -name '*.yml' | wc -l) files, $(find rules/aws_cloudtrail rules/synthetic -name '*.yml' | wc -l) of them AWS.CloudTrail."
note ""
note "| step | command | wall | max RSS | load before (1/5/15 min) |"
note "|---|---|---:|---:|---|"
measure clean-build cargo build
measure clean-test-no-run cargo test --no-run
# --no-fail-fast: should a test fail, every other one still runs and is timed.
measure clean-test-run cargo test --no-fail-fast
tests=$(grep -o '^test result: [a-zA-Z]*. [0-9]* passed' "$logs/clean-test-run.log" | awk '{ s += $4 } END { print s }')
failing=$(grep '^test .* \.\.\. FAILED$' "$logs/clean-test-run.log" | sed 's/^test //; s/ \.\.\. FAILED$//' | sort | paste -sd, -)

# One rule edited: the first synthetic rule with `eventName Equals "X"` becomes "XV2", in its
# Detection and its test logs, so that its tests still hold.
edit() {
  python3 - "$1" <<'EOF'
import pathlib, re, sys
back = sys.argv[1] == "back"
for path in sorted(pathlib.Path("rules/synthetic").glob("*.yml")):
    text = path.read_text()
    m = re.search(r'KeyPath: eventName\n    Condition: Equals\n    Value: "(\w+?)(V2)?"\n', text)
    if m and bool(m.group(2)) == back:
        old, new = (m.group(1) + "V2", m.group(1)) if back else (m.group(1), m.group(1) + "V2")
        path.write_text(text.replace(f'Value: "{old}"', f'Value: "{new}"').replace(f'"eventName": "{old}"', f'"eventName": "{new}"'))
        print(f"{path}: {old} -> {new}")
        break
EOF
}
edited=$(edit there)
cargo run --quiet -p codegen -- test "${edited%%:*}" >"$logs/edit-check.log" # the edit keeps its tests right
measure edit-test-no-run cargo test --no-run
measure edit-test-run cargo test --no-fail-fast
edit back >/dev/null
measure edit-back-test cargo test --no-fail-fast

if [ "$quick" = 0 ]; then
  rm -rf "$CARGO_TARGET_DIR"
  measure clean-test cargo test --no-fail-fast
fi

measure release-build cargo build --release -p bench -p detect
note ""
note "Edited: $edited. Tests passed: $tests; failed: ${failing:-none}."
if [ "$quick" = 0 ]; then
  note "\`cargo test\` from clean: build part (cargo's \"Finished\") $(finished clean-test), the rest is running the tests."
fi
note "\`cargo test\` after the edit back: build part $(finished edit-back-test)."
again=$(grep -o 'Compiling [^ ]*' "$logs/edit-test-run.log" | awk '{ print $2 }' | paste -sd, - || true)
if [ -n "$again" ]; then
  note "The \`cargo test\` right after the edit's \`cargo test --no-run\` compiled again ($again): build part $(finished edit-test-run)."
fi
# How much of the benchmark corpus the synthetic rules match (every rule, disabled ones included).
"$CARGO_TARGET_DIR/release/detect" sample --events "$events" --seed 1 --attack-share 0.002 >"$logs/corpus.jsonl"
"$CARGO_TARGET_DIR/release/detect" scan --all --matches --threads 1 --quiet --log-type AWS.CloudTrail "$logs/corpus.jsonl" >"$logs/matches.jsonl"
note "Of the $events benchmark events, $(grep -c '"rule_id":"Synthetic' "$logs/matches.jsonl" || true) (event, rule) matches are by synthetic rules, on $(grep '"rule_id":"Synthetic' "$logs/matches.jsonl" | grep -o '"line":[0-9]*' | sort -u | wc -l) events; all rules: $(wc -l <"$logs/matches.jsonl") matches on $(grep -o '"line":[0-9]*' "$logs/matches.jsonl" | sort -u | wc -l) events."
note ""
note "## bench --events $events --rounds 5 (load before: $(load))"
note ""
"$CARGO_TARGET_DIR/release/bench" --events "$events" --rounds 5 --profile low 2>"$logs/bench.err" | tee -a "$results"
note ""
note "$(grep corpus: "$logs/bench.err")"
note ""
note "## Generated code"
note ""
note '```'
python3 scripts/scale/code_size.py detections/src/rules detections/tests/generated/rules.rs | tee -a "$results"
note '```'
