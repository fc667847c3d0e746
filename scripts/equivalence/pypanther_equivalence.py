"""Upstream Python rules (pypanther) against our compiled ports, on the same events.

Run through `scripts/equivalence/run.sh`, which installs pypanther in a virtual environment and
builds `detect`. For every CloudTrail rule of `rules/aws_cloudtrail/` that pypanther also has (by
RuleID), both verdicts are computed on every event: the upstream test logs of all those rules, and
a generated corpus (`detect sample`). Every disagreement is listed; the ones explained in
`EXPLAINED` (where upstream is older than the corpus, or wrong) are counted apart. Where upstream
raises (e.g. `None.startswith` on a missing field), Panther records a rule error, not a verdict:
those events are counted and listed apart, with what the port decided.
"""

import argparse
import collections
import json
import pathlib
import subprocess
import sys
import tempfile

import yaml
from panther_core.enriched_event import PantherEvent
from pypanther import get_panther_rules
from pypanther.data_models.aws_cloudtrail import StandardAWSCloudTrail

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOG_TYPE = "AWS.CloudTrail"

# Rules whose disagreements with pypanther are understood: pypanther (0.1.1a62) is older than the
# panther-analysis version the corpus tests, or the port follows rule-format.md where Python differs.
EXPLAINED = {
    "AWS.Lambda.UpdateFunctionConfiguration": "ported from the newer panther-analysis .py (identity filter) that the corpus tests; pypanther lacks the filter",
    "AWS.CloudTrail.SES.CheckSendQuota": "ported from the newer panther-analysis .py (excludes AWSServiceRoleForTrustedAdvisor) that the corpus tests",
    "AWS.S3.DeleteObjects": "ported from panther-analysis .py @08a63bfa (also DeleteObjectVersion), newer than pypanther",
    "AWS.Console.Login": "ported from the panther-analysis .py (additionalEventData.UserName); pypanther reads userIdentity.userName",
    "AWS.EC2.StopInstances": "the seed rule follows rule-format.md §6 (errorCode IsNull); upstream tests falsiness, so an empty-string errorCode differs",
}


def test_logs():
    """(name, log) of every test case in rules/aws_cloudtrail/."""
    for path in sorted((ROOT / "rules" / "aws_cloudtrail").glob("*.yml")):
        rule = yaml.safe_load(path.read_text())
        for case in rule.get("Tests") or []:
            if isinstance(case.get("Log"), dict):
                yield f"{path.name}: {case['Name']}", case["Log"]


def sample(detect, events, seed, share):
    out = subprocess.run(
        [detect, "sample", "--events", str(events), "--seed", str(seed), "--attack-share", str(share)],
        check=True, capture_output=True, text=True,
    ).stdout
    for i, line in enumerate(out.splitlines()):
        yield f"sample seed {seed} line {i + 1}", json.loads(line)


def our_matches(detect, logs):
    """(event index, rule id) pairs that the compiled rules match."""
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for log in logs:
            f.write(json.dumps(log) + "\n")
        name = f.name
    out = subprocess.run(
        [detect, "scan", "--matches", "--all", "--threads", "1", "--quiet", "--log-type", LOG_TYPE, name],
        check=True, capture_output=True, text=True,
    ).stdout
    pathlib.Path(name).unlink()
    return {(json.loads(l)["line"] - 1, json.loads(l)["rule_id"]) for l in out.splitlines()}


def upstream_verdict(rule, event):
    """True, False, or the exception upstream raises (Panther records a rule error: no alert)."""
    try:
        return bool(rule.rule(event)) is True
    except Exception as e:  # noqa: BLE001 - any exception is a rule error upstream
        return e


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--detect", default=str(ROOT / "target" / "release" / "detect"))
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--attack-share", type=float, default=0.05)
    args = parser.parse_args()

    ours = {}
    for path in sorted((ROOT / "rules" / "aws_cloudtrail").glob("*.yml")):
        ours[yaml.safe_load(path.read_text())["RuleID"]] = path.name
    upstream = {r.id.removesuffix("-prototype"): r() for r in get_panther_rules()}
    compared = sorted(set(ours) & set(upstream))
    missing = sorted(set(ours) - set(upstream))

    events = list(test_logs())
    for seed in args.seeds:
        events += list(sample(args.detect, args.events, seed, args.attack_share))
    matched = our_matches(args.detect, [log for _, log in events])

    model = StandardAWSCloudTrail()
    disagreements = collections.defaultdict(list)
    errors = collections.defaultdict(list)
    for i, (source, log) in enumerate(events):
        event = PantherEvent(log, model)
        for rule_id in compared:
            theirs = upstream_verdict(upstream[rule_id], event)
            mine = (i, rule_id) in matched
            if isinstance(theirs, Exception):
                errors[rule_id].append((source, mine, theirs))
            elif theirs != mine:
                disagreements[rule_id].append((source, mine, theirs))

    pairs = len(events) * len(compared)
    unexplained = {r: d for r, d in disagreements.items() if r not in EXPLAINED}
    print(f"events: {len(events)} ({sum(1 for s, _ in events if not s.startswith('sample'))} upstream test logs)")
    print(f"rules compared with pypanther: {len(compared)}; ported rules pypanther lacks: {len(missing)}")
    print(f"verdicts compared: {pairs}; upstream raised (a rule error, no verdict) on {sum(len(e) for e in errors.values())}")
    print(f"disagreements: {sum(len(d) for d in disagreements.values())} in {len(disagreements)} rules, "
          f"unexplained: {sum(len(d) for d in unexplained.values())} in {len(unexplained)} rules")
    for rule_id, found in sorted(disagreements.items()):
        why = EXPLAINED.get(rule_id, "UNEXPLAINED")
        print(f"\n{rule_id} ({ours[rule_id]}): {len(found)} disagreements; {why}")
        for source, mine, theirs in found[:5]:
            print(f"  {source}: ours {'match' if mine else 'no match'}, upstream {'match' if theirs else 'no match'}")
    for rule_id, found in sorted(errors.items()):
        print(f"\nupstream {rule_id} raised on {len(found)} events:")
        for source, mine, error in found[:5]:
            print(f"  {source}: {type(error).__name__}: {error}; the port: {'match' if mine else 'no match'}")
    if missing:
        print("\nported from panther-analysis .py files, not in pypanther (checked by their upstream tests only):")
        print("  " + ", ".join(missing))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
