"""Quick check of ports being edited: the reference interpreter (`codegen run`, no build) over the
events of the last `run.sh`, against the CPython outputs that run recorded.

Usage: python3 scripts/equivalence/quick.py rules/aws_cloudtrail/x.yml [...] [--show K]
Needs target/equivalence/ from `scripts/equivalence/run.sh`. The final word is `run.sh` itself,
which runs the compiled ports.
"""

import argparse
import collections
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "target", "equivalence")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ports", nargs="+")
    ap.add_argument("--show", type=int, default=3)
    args = ap.parse_args()
    ids = {}
    for p in args.ports:
        with open(p) as f:
            spec = yaml.safe_load(f)
        ids[spec["RuleID"]] = spec
    events_path = os.path.join(OUT, "events.jsonl")
    with open(events_path) as f:
        events = f.read().splitlines()
    labels = open(os.path.join(OUT, "labels.txt")).read().splitlines()
    expected, errors = {}, {}
    for line in open(os.path.join(OUT, "cpython_alerts.jsonl")):
        a = json.loads(line)
        if a["rule_id"] in ids:
            expected[(a["line"], a["rule_id"])] = a
    for line in open(os.path.join(OUT, "cpython_errors.jsonl")):
        a = json.loads(line)
        if a["rule_id"] in ids:
            errors[(a["line"], a["rule_id"])] = a["error"]
    out = subprocess.run(["cargo", "run", "-q", "-p", "codegen", "--", "run", *args.ports, "--events", events_path],
                         cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr)
    ours = {}
    for line in out.stdout.splitlines():
        m = json.loads(line)
        # Only events of the rule's log types reach it in production.
        ev = json.loads(events[m["line"] - 1])
        if ev.get("p_log_type") in ids[m["rule_id"]].get("LogTypes", []):
            ours[(m["line"], m["rule_id"])] = m
    diffs = collections.defaultdict(list)
    for key in sorted(set(expected) | set(ours)):
        exp, got = expected.get(key), ours.get(key)
        rid = key[1]
        if exp is None:
            diffs[rid].append((key[0], "verdict", "error: " + errors[key] if key in errors else "no alert", "match"))
            continue
        if got is None:
            diffs[rid].append((key[0], "verdict", "alert", "no match"))
            continue
        spec = ids[rid]
        title = exp["title"] or spec.get("DisplayName") or rid
        ctx = json.loads(exp["alert_context"]) if exp["alert_context"] is not None else {}
        for field, a, b in (("title", title, got["title"]), ("dedup", exp["dedup"], got["dedup"]),
                            ("severity", (exp["severity"] or spec["Severity"]).upper(), got["severity"].upper()),
                            ("context", ctx, got["context"] or {})):
            if a != b:
                diffs[rid].append((key[0], field, a, b))
    for rid in ids:
        n_alerts = sum(1 for k in expected if k[1] == rid)
        print(f"{rid}: {n_alerts} CPython alerts, {len(diffs[rid])} differences")
        for line, field, a, b in diffs[rid][: args.show]:
            print(f"  line {line} ({labels[line - 1]}): {field}")
            if field == "context" and isinstance(a, dict) and isinstance(b, dict):
                for k in sorted(set(a) | set(b)):
                    if a.get(k, "<absent>") != b.get(k, "<absent>"):
                        print(f"    [{k}] CPython {json.dumps(a.get(k, '<absent>'))[:200]}")
                        print(f"    [{k}] port    {json.dumps(b.get(k, '<absent>'))[:200]}")
            else:
                print(f"    CPython {json.dumps(a)[:300]}")
                print(f"    port    {json.dumps(b)[:300]}")
            print(f"    event   {events[line - 1][:300]}")
    sys.exit(1 if any(diffs.values()) else 0)


if __name__ == "__main__":
    main()
