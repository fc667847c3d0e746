"""Panther's own runtime (pypanther) against our compiled rules: time per event, same events, same rules.

Run through `scripts/panther-timing/run.sh`, which installs pypanther in a virtual environment and
builds `detect` and `bench`. Steps:

1. The benchmark corpus: `detect sample --events N --seed S --attack-share F`, the generator and
   defaults of `bench` (detect::corpus::Generator), so `bench --events N` sees the same lines; the
   corpus line that `bench` prints (size, median line length) is checked against this file.
2. pypanther: the upstream rule classes that have a port in rules/aws_cloudtrail/ (by RuleID, as in
   scripts/equivalence/), on the first M events, one thread. Per event, timed: `json.loads` of the
   line, `PantherEvent(event, StandardAWSCloudTrail())` (the case-insensitive immutable wrapper that
   Panther's runtime hands to rules), then every rule's `rule(event)` (an exception counts as a rule
   error, as in Panther). A second variant calls `Rule.run(event, {}, {})` as Panther's backend does
   (filters, and title, dedup, severity, context... of a match). A third only parses and wraps.
3. Ours, in the same run, one thread: the engine's fast path (`Engine::matching`, bytes → verdicts)
   with exactly the rules pypanther has (bench's `--rule` row) and with every CloudTrail rule, on
   the same M events and on all N; and the whole `detect scan --threads 1
   --matches` process with the same rules (`--all --rule ID ...`) and with every rule.
4. A table of ns/event and the ratios Panther/ours; the match counts of both sides, as a check
   that both did the work.
"""

import argparse
import json
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

import yaml
from panther_core.enriched_event import PantherEvent
from pypanther import get_panther_rules
from pypanther.data_models.aws_cloudtrail import StandardAWSCloudTrail

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOG_TYPE = "AWS.CloudTrail"
ENGINE_ROW = "engine: bytes → verdicts"
CHOSEN_ROW = "engine: bytes → verdicts, the rules given"


def rule_sets():
    """(our rule ids, {id: upstream rule instance} for those pypanther has), mapped as scripts/equivalence/ does.

    Disabled rules included, as in bench's engine rows ("every CloudTrail rule").
    """
    ours = [yaml.safe_load(p.read_text())["RuleID"] for p in sorted((ROOT / "rules" / "aws_cloudtrail").glob("*.yml"))]
    upstream = {r.id.removesuffix("-prototype"): r for r in get_panther_rules()}
    return ours, {rule_id: upstream[rule_id]() for rule_id in ours if rule_id in upstream}


def time_python(lines, rules, rounds, engine_ns):
    """Median seconds per pass of three variants over `lines`, interleaved per round; counts from the last round.

    `engine_ns()` (the engine's ns/event on the same lines) runs in every round too, and the ratio
    Panther rule() / ours is taken per round: the machine's drift touches both sides alike.
    """
    model = StandardAWSCloudTrail()
    decide = [r.rule for r in rules]

    def parse_only():
        n = 0
        for line in lines:
            n += len(PantherEvent(json.loads(line), model))
        return n, 0

    def verdicts():
        matches = errors = 0
        for line in lines:
            event = PantherEvent(json.loads(line), model)
            for f in decide:
                try:
                    if f(event) is True:
                        matches += 1
                except Exception:  # noqa: BLE001 - Panther records a rule error and goes on
                    errors += 1
        return matches, errors

    def full_run():
        matches = errors = 0
        for line in lines:
            event = PantherEvent(json.loads(line), model)
            for r in rules:
                result = r.run(event, {}, {}, True)
                matches += result.trigger_alert
                errors += result.detection_exception is not None
        return matches, errors

    variants = {"parse": parse_only, "rule": verdicts, "run": full_run}
    times = {name: [] for name in variants}
    counts = {}
    ratios = []
    for i in range(rounds):
        ours = engine_ns()
        for name, f in variants.items():
            start = time.perf_counter()
            counts[name] = f()
            times[name].append(time.perf_counter() - start)
        ratios.append(times["rule"][-1] * 1e9 / len(lines) / ours)
        print(f"  round {i + 1}/{rounds}: ours {ours:,.0f} ns/event; python " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items())
              + f"; rule() / ours {ratios[-1]:.0f}", file=sys.stderr)
    return {name: statistics.median(t) for name, t in times.items()}, counts, ratios


def run_bench(bench, events, rounds, seed, share, rule_ids, only=ENGINE_ROW):
    """{row name: (ns/event, matches)} of bench's engine rows, with a row for `rule_ids` alone, and bench's corpus line."""
    rules = [arg for rule_id in rule_ids for arg in ("--rule", rule_id)]
    out = subprocess.run(
        [bench, "--events", str(events), "--rounds", str(rounds), "--seed", str(seed),
         "--profile", "low", "--attack-share", str(share), "--only", only, *rules],
        check=True, capture_output=True, text=True,
    )
    rows = {}
    for line in out.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 6 and cells[1].isdigit():
            rows[cells[0]] = (int(cells[1]), int(cells[5]))
    corpus = next(l for l in out.stderr.splitlines() if l.startswith("corpus:"))
    return rows, corpus


def time_scan(detect, path, rule_ids, rounds):
    """Median wall seconds of `detect scan --threads 1 --matches` over `path`, and its match count."""
    cmd = [detect, "scan", "--threads", "1", "--all", "--matches", "--log-type", LOG_TYPE]
    for rule_id in rule_ids:
        cmd += ["--rule", rule_id]
    times, matches = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        out = subprocess.run(cmd + [str(path)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        times.append(time.perf_counter() - start)
        found = re.search(r"\(([\d,]+) matches\)", out.stderr)
        matches = int(found.group(1).replace(",", "")) if found else 0
    return statistics.median(times), matches


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--detect", default=str(ROOT / "target" / "release" / "detect"))
    parser.add_argument("--bench", default=str(ROOT / "target" / "release" / "bench"))
    parser.add_argument("--events", type=int, default=200_000, help="corpus size (bench's default)")
    parser.add_argument("--python-events", type=int, default=20_000, help="the first M events, timed in Python")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--attack-share", type=float, default=0.002)
    parser.add_argument("--rounds", type=int, default=5, help="Python rounds (median)")
    parser.add_argument("--our-rounds", type=int, default=15, help="bench and detect scan rounds (median)")
    args = parser.parse_args()
    m = min(args.python_events, args.events)

    ours, upstream = rule_sets()
    ids = list(upstream)
    print(f"pypanther {version('pypanther')}, panther-core {version('panther-core')}, Python {sys.version.split()[0]}")
    print(f"rules: {len(ours)} CloudTrail ports (disabled ones included); {len(ids)} of them exist in pypanther and are timed on both sides")

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="panther-timing-"))
    corpus = tmp / "corpus.jsonl"
    with corpus.open("wb") as f:
        subprocess.run([args.detect, "sample", "--events", str(args.events), "--seed", str(args.seed),
                        "--attack-share", str(args.attack_share)], check=True, stdout=f)
    lines = corpus.read_bytes().splitlines()
    subset = tmp / "subset.jsonl"
    subset.write_bytes(b"".join(l + b"\n" for l in lines[:m]))
    empty = tmp / "empty.jsonl"
    empty.write_bytes(b"")
    # Let the writeback of the corpus (hundreds of MB) finish before anything is timed.
    os.sync()

    # bench generates its corpus itself, from the same generator: its summary must describe this file.
    rows_m, bench_corpus = run_bench(args.bench, m, args.our_rounds, args.seed, args.attack_share, ids)
    sub = lines[:m]
    expect = (f"corpus: {m} CloudTrail events, {sum(len(l) + 1 for l in sub) / 1e6:.1f} MB "
              f"(median {sorted(len(l) for l in sub)[m // 2]} bytes), seed {args.seed}, attack share {args.attack_share}")
    if not bench_corpus.startswith(expect):
        sys.exit(f"bench's corpus differs from detect sample's:\n  bench: {bench_corpus}\n  file:  {expect}")
    print(f"same corpus: {bench_corpus}")
    rows_n, _ = run_bench(args.bench, args.events, max(3, args.our_rounds // 3), args.seed, args.attack_share, [])
    startup, _ = time_scan(args.detect, empty, ids, args.our_rounds)
    scan_same, scan_same_matches = time_scan(args.detect, subset, ids, args.our_rounds)
    scan_all, scan_all_matches = time_scan(args.detect, subset, [], args.our_rounds)

    print(f"timing pypanther on {m} events x {len(ids)} rules, {args.rounds} rounds ...", file=sys.stderr)
    def engine_ns():
        rows, _ = run_bench(args.bench, m, 5, args.seed, args.attack_share, ids, only=CHOSEN_ROW + "$")
        return rows[CHOSEN_ROW][0]

    py, counts, ratios = time_python(lines[:m], list(upstream.values()), args.rounds, engine_ns)

    ns = lambda secs: secs * 1e9 / m  # noqa: E731
    py_rule, py_run = ns(py["rule"]), ns(py["run"])
    scan_same_ns = ns(scan_same)
    scan_same_net = ns(scan_same - startup)
    same, same_matches = rows_m[CHOSEN_ROW]
    every, every_matches = rows_m[ENGINE_ROW]
    print(f"\ncorpus: seed {args.seed}, attack share {args.attack_share}; Python timed on the first {m} of {args.events} events")
    print(f"matches on those {m} events: pypanther rule() {counts['rule'][0]} (+{counts['rule'][1]} rule errors), "
          f"Rule.run alerts {counts['run'][0]}; ours: engine {same_matches} (all {len(ours)} rules: {every_matches}), "
          f"detect scan {scan_same_matches} (all: {scan_all_matches})\n")
    print("| measurement | rules | events | ns/event | Panther rule() / this |")
    print("|---|---:|---:|---:|---:|")
    table = [
        ("pypanther: json.loads + PantherEvent only", 0, m, ns(py["parse"])),
        ("pypanther: json.loads + PantherEvent + rule(event)", len(ids), m, py_rule),
        ("pypanther: json.loads + PantherEvent + Rule.run(event)", len(ids), m, py_run),
        (f"ours: bench `{CHOSEN_ROW}` (the same rules)", len(ids), m, same),
        (f"ours: bench `{ENGINE_ROW}` (every CloudTrail rule)", len(ours), m, every),
        (f"ours: bench `{ENGINE_ROW}` (every CloudTrail rule)", len(ours), args.events, rows_n[ENGINE_ROW][0]),
        ("floor: serde_json → IgnoredAny (bench)", 0, m, rows_m["floor: serde_json → IgnoredAny"][0]),
        ("ours: detect scan --threads 1 --matches, the same rules, process wall time", len(ids), m, scan_same_ns),
        ("ours: the same, less process start-up (empty input)", len(ids), m, scan_same_net),
        ("ours: detect scan --threads 1 --matches, every rule, wall time", len(ours), m, ns(scan_all)),
    ]
    for name, rules, events, value in table:
        print(f"| {name} | {rules} | {events} | {value:,.0f} | {py_rule / value:,.1f} |")
    print(f"\nsame {m} events, same {len(ids)} rules, one thread: Panther rule() {py_rule:,.0f} ns/event, "
          f"ours (engine, bytes → verdicts) {same:,.0f} ns/event: {py_rule / same:,.0f}x")
    print(f"per round (ours timed right before Panther in each of {args.rounds} rounds): Panther rule() / ours "
          + ", ".join(f"{r:,.0f}" for r in ratios) + f"; median {statistics.median(ratios):,.0f}x")
    print(f"whole detect scan process instead (I/O, --matches records): {py_rule / scan_same_ns:,.0f}x; "
          f"Panther Rule.run / the same scan: {py_run / scan_same_ns:,.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
