"""Writes the expected outputs of the Python fixtures (tests/rules/python/) as CPython computes
them under Panther's runtime: for each expected-match test case, `ExpectedTitle`,
`ExpectedDedup`, `ExpectedSeverity` and `ExpectedAlertContext` (the project's test extensions).

Run through run.sh (it sets up the venv). Each rule's test cases run with run_rule.py in
`pat test` mode (their Mocks applied); a case that `pat test` itself fails stops the script.
The title a rule leaves empty or undefined shows the DisplayName, else the RuleID (Panther's
backend does that; panther_core leaves it empty), and a severity() of "DEFAULT" (or none) is the
YAML Severity.
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parents[1] / "tests" / "rules" / "python"
SEVERITY = {"INFO": "Info", "LOW": "Low", "MEDIUM": "Medium", "HIGH": "High", "CRITICAL": "Critical"}


def main():
    with tempfile.TemporaryDirectory() as tmp:
        corpus = pathlib.Path(tmp)
        (corpus / "global_helpers").mkdir()
        (corpus / "data_models").mkdir()
        for path in FIXTURES.iterdir():
            kind = yaml.safe_load(path.read_text()).get("AnalysisType") if path.suffix == ".yml" else None
            if kind == "global":
                target = corpus / "global_helpers"
            elif kind == "datamodel":
                target = corpus / "data_models"
            else:
                continue
            shutil.copy(path, target)
            shutil.copy(path.with_suffix(".py"), target)
        for rule in sorted(FIXTURES.glob("python_*.yml")):
            update(rule, corpus)


def update(rule, corpus):
    text = rule.read_text()
    # Drop the previous expectations, then compute them anew.
    text = re.sub(r"    Expected(Title|Dedup|Severity|AlertContext): .*\n", "", text)
    rule.write_text(text)
    doc = yaml.safe_load(text)
    out = subprocess.run(
        [sys.executable, str(HERE / "run_rule.py"), str(rule), "--corpus", str(corpus), "--yaml-tests"],
        check=True, capture_output=True, text=True,
    ).stdout
    for line in out.splitlines():
        case = json.loads(line)
        if not case["passed"]:
            sys.exit(f"{rule.name}: test `{case['test']}` fails under CPython: {case['errors']}")
        if not case["expected"]:
            continue
        title = case["title"] or doc.get("DisplayName") or doc["RuleID"]
        severity = SEVERITY[case["severity"]] if case["severity"] else doc["Severity"]
        lines = [
            f"    ExpectedTitle: {json.dumps(title)}",
            f"    ExpectedDedup: {json.dumps(case['dedup'])}",
            f"    ExpectedSeverity: {severity}",
        ]
        if case["alert_context"]:
            lines.append(f"    ExpectedAlertContext: {json.dumps(json.loads(case['alert_context']), ensure_ascii=False)}")
        marker = f"  - Name: {case['test']}\n    ExpectedResult: true\n"
        if marker not in text:
            sys.exit(f"{rule.name}: cannot find test `{case['test']}`")
        text = text.replace(marker, marker + "\n".join(lines) + "\n")
        print(f"{rule.name}: {case['test']}: {title!r}")
    rule.write_text(text)


if __name__ == "__main__":
    main()
