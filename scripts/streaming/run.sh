#!/usr/bin/env bash
# The streaming figures of BENCHMARKS.md ("Streaming"): `detect consume` on a local nats-server
# with JetStream (file store, a scratch directory, a free loopback port), on this machine.
#
#   scripts/streaming/run.sh            # all three parts, about 14 minutes
#   EVENTS=50000 ROUNDS=1 LATENCY_SECONDS=20 SOAK_SECONDS=60 scripts/streaming/run.sh   # a quick look
#
# 1. Throughput: EVENTS events of `detect sample` (seed 21, 1 % attacks) published once; per
#    round, `detect scan --threads 1` over the same file (the baseline, same run), one runner
#    `--drain`, then two runners sharing one consumer `--drain`; medians of ROUNDS rounds.
# 2. Latency: a runner in `--matches` mode and one in alert mode, each on its own stream, while
#    the sample is published at RATE events/s with event time running SPEED times faster than
#    the wall clock (so 60-minute windows close within the run); from the server's store times:
#    publish -> match record, and window due -> alert record (cli/examples/stream_load.rs).
# 3. Soak: one runner in alert mode for SOAK_SECONDS under RATE events/s at SPEED; its resident
#    memory (and the server's) every SAMPLE_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/../.."
EVENTS=${EVENTS:-200000}
ROUNDS=${ROUNDS:-3}
RATE=${RATE:-2000}
SPEED=${SPEED:-600}
LATENCY_SECONDS=${LATENCY_SECONDS:-60}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SAMPLE_SECONDS=${SAMPLE_SECONDS:-30}

server_bin=$(command -v nats-server || true)
[ -n "$server_bin" ] || { echo "nats-server is not installed (apt-get install nats-server)" >&2; exit 1; }
cargo build --release --quiet -p detect --bins --examples
detect=target/release/detect
load=target/release/examples/stream_load

work=$(mktemp -d /tmp/detect-streaming.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url=nats://127.0.0.1:$port
"$server_bin" -a 127.0.0.1 -p "$port" -js -sd "$work/store" >"$work/server.log" 2>&1 &
server=$!
cleanup() { kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done

now() { date +%s.%N; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# `detect consume` on stream $1 with consumer (and bucket) $2, publishing to subject $3, more flags
# after; `&` after it gives the runner's own pid in $! (exec: no subshell in between).
consume() {
  local stream=$1 consumer=$2 subject=$3; shift 3
  exec "$detect" consume --server "$url" --stream "$stream" --subject "$stream.>" --consumer "$consumer" \
    --kv-bucket "$consumer" --output-subject "$subject" --output-stream "OUT_$consumer" \
    --dead-letter-subject "$subject.dead" "$@"
}
stream() { "$load" publish --server "$url" --stream "$1" --stream-subjects "$1.>" --subject "$1.cloudtrail" "${@:2}"; }

echo "== machine: $(nproc) cores, $(nats-server --version), $(date -u +%FT%TZ)"
"$detect" sample --events "$EVENTS" --seed 21 >"$work/events.jsonl"
stream BENCH --input "$work/events.jsonl"

echo "== throughput: $EVENTS events, $ROUNDS rounds"
: >"$work/scan"; : >"$work/one"; : >"$work/two"
for r in $(seq "$ROUNDS"); do
  t=$(now); "$detect" scan --quiet --threads 1 "$work/events.jsonl" >"$work/scan.out"; echo "$(now) - $t" | bc >>"$work/scan"
  t=$(now); (consume BENCH one$r out.one$r --drain) >"$work/one.out" 2>"$work/one.err"; echo "$(now) - $t" | bc >>"$work/one"
  t=$(now)
  consume BENCH two$r out.two$r --drain >/dev/null 2>"$work/two.a.err" &
  a=$!
  consume BENCH two$r out.two$r --drain >/dev/null 2>"$work/two.b.err" &
  b=$!
  wait $a; wait $b
  echo "$(now) - $t" | bc >>"$work/two"
  printf 'round %s: scan --threads 1 %.2f s, one runner %.2f s, two runners %.2f s\n' "$r" \
    "$(tail -1 "$work/scan")" "$(tail -1 "$work/one")" "$(tail -1 "$work/two")"
done
s=$(median <"$work/scan"); o=$(median <"$work/one"); w=$(median <"$work/two")
awk -v n="$EVENTS" -v s="$s" -v o="$o" -v w="$w" 'BEGIN {
  printf "medians: scan --threads 1 %.0f events/s; consume, one runner %.0f events/s (%.2f of scan); two runners %.0f events/s (%.2f of one runner)\n",
    n / s, n / o, s / o, n / w, o / w }'
tail -3 "$work/one.err" | sed 's/^/one runner: /'
for x in a b; do tail -3 "$work/two.$x.err" | sed "s/^/two runners ($x): /"; done

echo "== latency: $RATE events/s for $LATENCY_SECONDS s, event time x$SPEED"
stream LIVE_M --input "$work/events.jsonl" --seconds 0 >/dev/null # made before the runners start
stream LIVE_A --input "$work/events.jsonl" --seconds 0 >/dev/null
consume LIVE_M live_m out.live_m --matches --fetch-wait 100ms >/dev/null 2>"$work/live_m.err" &
m=$!
consume LIVE_A live_a out.live_a --fetch-wait 100ms >/dev/null 2>"$work/live_a.err" &
a=$!
stream LIVE_M --input "$work/events.jsonl" --rate "$RATE" --seconds "$LATENCY_SECONDS" --speed "$SPEED" &
p1=$!
stream LIVE_A --input "$work/events.jsonl" --rate "$RATE" --seconds "$LATENCY_SECONDS" --speed "$SPEED"
wait $p1
sleep 3
kill -TERM $m $a; wait $m $a || true
echo "matches mode:"; "$load" latency --server "$url" --input-stream LIVE_M --output-stream OUT_live_m --subject out.live_m
echo "alert mode:"; "$load" latency --server "$url" --input-stream LIVE_A --output-stream OUT_live_a --subject out.live_a

echo "== soak: $RATE events/s for $SOAK_SECONDS s, event time x$SPEED, memory every $SAMPLE_SECONDS s"
stream SOAK --input "$work/events.jsonl" --seconds 0 >/dev/null
consume SOAK soak out.soak --fetch-wait 100ms >/dev/null 2>"$work/soak.err" &
runner=$!
stream SOAK --input "$work/events.jsonl" --rate "$RATE" --seconds "$SOAK_SECONDS" --speed "$SPEED" >"$work/soak.pub" &
publisher=$!
start=$(date +%s)
echo "seconds  runner_rss_mb  server_rss_mb"
while kill -0 $publisher 2>/dev/null; do
  printf '%7d  %13.1f  %13.1f\n' $(( $(date +%s) - start )) "$(echo "$(rss_kb $runner) / 1024" | bc -l)" \
    "$(echo "$(rss_kb $server) / 1024" | bc -l)"
  sleep "$SAMPLE_SECONDS"
done
wait $publisher
cat "$work/soak.pub"
sleep 3
kill -TERM $runner; wait $runner || true
tail -3 "$work/soak.err" | sed 's/^/soak runner: /'
