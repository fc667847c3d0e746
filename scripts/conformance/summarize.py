"""Summarises a conformance run (see run.sh): per family, the Python rules compiled, those whose
upstream tests all pass compiled, and those rejected, grouped by the construct that blocked them.

Reads the rule repository (which rules exist, with or without their `.py`), the compiler's
rejections (`rejected.txt`) and the compiled tests' output (`tests.log`).
"""

import argparse
import collections
import json
import pathlib
import re
import sys

import yaml


def snake(stem):
    out = re.sub(r"[^0-9a-zA-Z]+", "_", stem).strip("_").lower()
    return out if out and not out[0].isdigit() else "rule_" + out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repo", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    repo, out = pathlib.Path(args.repo), pathlib.Path(args.out)

    rules = {}  # module -> info
    for path in sorted((repo / "rules").rglob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text())
        except Exception:
            continue
        if not isinstance(doc, dict) or doc.get("AnalysisType") not in ("rule", "scheduled_rule"):
            continue
        family = path.relative_to(repo / "rules").parts[0]
        filename = doc.get("Filename")
        rules[snake(path.stem)] = {
            "id": doc.get("RuleID"),
            "family": family,
            "python": bool(filename),
            "has_py": bool(filename) and (path.parent / filename).exists(),
            "tests": len(doc.get("Tests") or []),
            "path": str(path.relative_to(repo)),
        }
    by_id = {r["id"]: m for m, r in rules.items()}

    # Rejections: "error: rule `ID` cannot be compiled: WHAT", or any error in the rule's file.
    rejected = {}
    text = (out / "rejected.txt").read_text() if (out / "rejected.txt").exists() else ""
    blocks = re.split(r"\n(?=error)", text)
    for block in blocks:
        m = re.match(r"error: rule `([^`]+)` cannot be compiled: (.*)", block)
        if m and m.group(1) in by_id:
            rejected[by_id[m.group(1)]] = m.group(2).strip()
            continue
        loc = re.search(r"--> (\S+?):\d+:\d+", block)
        head = block.split("\n", 1)[0].removeprefix("error: ")
        if loc:
            stem = pathlib.Path(loc.group(1)).stem
            module = snake(stem)
            if module in rules and module not in rejected:
                rejected[module] = head

    # Compiled tests: "test module::case ... ok|FAILED".
    passed, failed = collections.Counter(), collections.Counter()
    for line in (out / "tests.log").read_text().splitlines():
        m = re.match(r"test (\w+)::(\w+) \.\.\. (ok|FAILED)", line)
        if m:
            (passed if m.group(3) == "ok" else failed)[m.group(1)] += 1

    families = collections.defaultdict(collections.Counter)
    blockers = collections.Counter()
    failing = []
    for module, r in sorted(rules.items()):
        f = families[r["family"]]
        if not r["python"]:
            f["declarative"] += 1
            continue
        if not r["has_py"]:
            f["no .py"] += 1
            continue
        f["python"] += 1
        if module in rejected:
            f["rejected"] += 1
            why = re.sub(r"`[^`]*`", "`…`", rejected[module]) if "name `" in rejected[module] else rejected[module]
            blockers[why] += 1
        elif failed[module]:
            f["compiled"] += 1
            f["failing"] += 1
            failing.append((r["path"], failed[module]))
        else:
            f["compiled"] += 1
            f["passing"] += 1

    total = collections.Counter()
    for f in families.values():
        total.update(f)
    print(f"{'family':34} {'python':>6} {'compiled':>8} {'passing':>7} {'failing':>7} {'rejected':>8} {'no .py':>6}")
    for name in sorted(families):
        f = families[name]
        print(f"{name:34} {f['python']:6} {f['compiled']:8} {f['passing']:7} {f['failing']:7} {f['rejected']:8} {f['no .py']:6}")
    print(f"{'total':34} {total['python']:6} {total['compiled']:8} {total['passing']:7} {total['failing']:7} {total['rejected']:8} {total['no .py']:6}")
    share = 100.0 * total["passing"] / max(total["python"], 1)
    print(f"\n{total['passing']} of {total['python']} Python rules ({share:.1f} %) compile with every upstream test passing.")
    print("\nrejected, by the construct that blocked them:")
    for why, n in blockers.most_common():
        print(f"  {n:4}  {why}")
    if failing:
        print("\ncompiled rules with failing upstream tests:")
        for path, n in failing:
            print(f"  {path}: {n} failing")

    seed = [l for l in (out / "tests.log").read_text().splitlines() if re.match(r"test aws_ec2_stopinstances::", l)]
    if seed:
        print("\nthe seed rule as published (AWS.EC2.StopInstances):")
        for line in seed:
            print("  " + line)

    summary = {"python": total["python"], "compiled": total["compiled"], "passing": total["passing"], "failing": total["failing"]}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if args.check:
        expected = json.loads((pathlib.Path(__file__).parent / "expected.json").read_text())
        if summary["passing"] < expected["passing"]:
            print(f"\nconformance: {summary['passing']} rules pass, fewer than the {expected['passing']} committed", file=sys.stderr)
            sys.exit(1)
        if summary["failing"] > 0:
            print(f"\nconformance: {summary['failing']} compiled rules fail an upstream test", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
