#!/usr/bin/env python3
"""run_rule.py - evaluate one Panther Python rule with the real panther_core runtime.

Prints one JSON line per event:
  {"verdict", "title", "dedup", "severity", "alert_context", "errors", ...extras}

Usage (run with the venv's python):
  target/pat-venv/bin/python scripts/python-fixtures/run_rule.py RULE.yml \
      --corpus ../shared/corpus/panther-analysis  EVENTS.jsonl   [options]

  EVENTS.jsonl : one JSON object per line = one event (the raw log, with p_log_type etc.).
                 "-" reads stdin. Omit it and pass --yaml-tests to run the rule's own Tests:
                 (their Log/Resource + Mocks are used, and ExpectedResult is echoed).
  --corpus ROOT: directory holding global_helpers/ and data_models/ (every *.yml in them with
                 AnalysisType global / datamodel is loaded, like `pat test` does).
  --mode test  : (default) exactly what `panther_analysis_tool test` computes:
                 Rule.run(event, {}, {}, batch_mode=False); every aux function runs for every
                 event (even when rule() is False); exceptions in aux functions are recorded in
                 "errors" and their output is null; the configured Severity is NOT passed to
                 panther_core (so severity() returning "DEFAULT" yields null), as in PAT.
  --mode batch : production (log analysis) semantics: batch_mode=True. Aux functions only run
                 when the alert triggers; their exceptions are swallowed and replaced by defaults
                 (title -> RuleID, dedup -> "defaultDedupString:<RuleID>",
                 alert_context -> {"_error": repr(exc)}, severity -> configured severity,
                 description/reference/runbook -> "", destinations -> null). Swallowed
                 messages are reported in "swallowed". The configured Severity (upper-cased)
                 is passed to panther_core.
  --mocks FILE : JSON list [{"objectName": ..., "returnValue": ...}] applied to every event
                 (unittest.mock.patch.multiple(rule_module, name=MagicMock(return_value=v))).
  --data-model-from-rule : if the event has no p_log_type, use the data model of the rule's
                 single LogType (PAT does NOT do this; default off).

Output fields:
  verdict        rule() return value (true/false), null if rule() raised / returned non-bool
  trigger_alert  verdict is True (and filters matched)
  title, dedup, severity, description, reference, runbook, destinations: function outputs
                 (title/description/... null when the function is not defined; dedup falls back
                 to title, then "defaultDedupString:<RuleID>")
  alert_context  the JSON *string* panther_core produced (json.dumps(ctx,
                 default=PantherEvent.json_encoder, allow_nan=False)), null if undefined
  errors         {"rule"|"title"|...: "<ExceptionType>: <str(exc)>"}; "setup" for import errors
  stdout         anything the rule printed (only if non-empty)
"""
import argparse
import contextlib
import io
import json
import logging
import os
import shutil
import sys
import tempfile
from unittest.mock import MagicMock, patch

import yaml  # PyYAML (installed with panther_analysis_tool)

from panther_core.data_model import DataModel
from panther_core.enriched_event import PantherEvent
from panther_core.exceptions import UnknownDestinationError
from panther_core.rule import Rule

try:  # reuse PAT's exact YAML loader (YAML 1.2-ish semantics: yes/no stay strings, etc.)
    from panther_analysis_tool.analysis_utils import _PATSafeLoader as _Loader
except Exception:  # pragma: no cover
    _Loader = yaml.CSafeLoader

FUNCS = ["rule", "title", "dedup", "alert_context", "severity", "description", "reference",
         "runbook", "destinations", "unique", "filter", "setup", "input"]


def load_yaml(path):
    with open(path, "rb") as f:
        return yaml.load(f, Loader=_Loader)  # nosec


def iter_specs(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".yml", ".yaml")) and not fn.startswith("."):
                p = os.path.join(dirpath, fn)
                try:
                    spec = load_yaml(p)
                except Exception:  # noqa
                    continue
                if isinstance(spec, dict) and "AnalysisType" in spec:
                    yield dirpath, spec


def setup_globals(corpus, tmpdir):
    """Same as PAT main.setup_global_helpers: copy <Filename> to <tmp>/<GlobalID>.py and
    append that dir to sys.path so rules can `import <GlobalID>`."""
    gdir = os.path.join(tmpdir, "globals")
    os.makedirs(gdir)
    for dirpath, spec in iter_specs(os.path.join(corpus, "global_helpers")):
        if spec.get("AnalysisType") != "global":
            continue
        shutil.copyfile(os.path.join(dirpath, spec["Filename"]),
                        os.path.join(gdir, f'{spec["GlobalID"]}.py'))
    if gdir not in sys.path:
        sys.path.append(gdir)


class LazyDataModels:
    """Same mapping as PAT main.setup_data_models (LogType -> DataModel of the first Enabled
    data model declaring it), but each DataModel is only built on first use: building one
    parses every JSONPath with jsonpath_ng/ply, which costs ~60 ms per path (PAT builds all)."""

    def __init__(self, corpus):
        self._specs = {}
        self._built = {}
        for dirpath, spec in iter_specs(os.path.join(corpus, "data_models")):
            if spec.get("AnalysisType") != "datamodel" or not spec.get("Enabled"):
                continue
            for lt in spec["LogTypes"]:
                self._specs.setdefault(lt, (dirpath, spec))

    def get(self, log_type):
        if log_type not in self._specs:
            return None
        dirpath, spec = self._specs[log_type]
        key = spec["DataModelID"]
        if key not in self._built:
            params = {
                "id": spec["DataModelID"],
                "mappings": [{k.lower(): v for k, v in m.items()} for m in spec["Mappings"]],
                "versionId": "",
            }
            if "Filename" in spec:
                with open(os.path.join(dirpath, spec["Filename"]), encoding="utf-8") as f:
                    params["body"] = f.read()
            self._built[key] = DataModel(params)
        return self._built[key]


def fmt_exc(exc):
    return f"{type(exc).__name__}: {exc}"


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.msgs = []

    def emit(self, record):
        self.msgs.append(record.getMessage())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rule_yaml")
    ap.add_argument("events", nargs="?")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--mode", choices=["test", "batch"], default="test")
    ap.add_argument("--mocks")
    ap.add_argument("--yaml-tests", action="store_true")
    ap.add_argument("--data-model-from-rule", action="store_true")
    args = ap.parse_intermixed_args()

    spec = load_yaml(args.rule_yaml)
    rule_dir = os.path.dirname(os.path.abspath(args.rule_yaml))
    tmpdir = tempfile.mkdtemp(prefix="run_rule_")
    try:
        setup_globals(args.corpus, tmpdir)
        data_models = LazyDataModels(args.corpus)

        atype = spec["AnalysisType"]
        if "Filename" not in spec:
            sys.exit(f"run_rule.py: {args.rule_yaml} has no Filename (AnalysisType {atype}); "
                     "only Python rules/scheduled rules/policies are supported")
        config = {
            "id": spec.get("RuleID") or spec.get("PolicyID"),
            "analysisType": atype.upper(),
            "versionId": "0000-0000-0000",
            "path": os.path.join(rule_dir, spec["Filename"]),
        }
        if "CreateAlert" in spec:
            config["suppressAlert"] = not bool(spec["CreateAlert"])
        if args.mode == "batch":
            if "Severity" in spec:
                config["severity"] = str(spec["Severity"]).upper()
            if isinstance(spec.get("DedupPeriodMinutes"), int):
                config["dedupPeriodMinutes"] = spec["DedupPeriodMinutes"]
        if atype == "policy":
            from panther_core.policy import Policy
            detection = Policy(config)
        else:
            detection = Rule(config)

        cases = []  # (event dict, mocks list, extra fields)
        global_mocks = []
        if args.mocks:
            with open(args.mocks, encoding="utf-8") as f:
                global_mocks = json.load(f)
        if args.yaml_tests:
            for t in spec.get("Tests", []) or []:
                ev = t["Resource"] if "Resource" in t else t["Log"]
                cases.append((ev, (t.get("Mocks") or []) + global_mocks,
                              {"test": t.get("Name"), "expected": t.get("ExpectedResult")}))
        if args.events:
            fh = sys.stdin if args.events == "-" else open(args.events, encoding="utf-8")
            for line in fh:
                if line.strip():
                    cases.append((json.loads(line), global_mocks, {}))

        single_lt = None
        if args.data_model_from_rule and len(spec.get("LogTypes") or []) == 1:
            single_lt = spec["LogTypes"][0]

        cap = _Capture()
        logging.getLogger().addHandler(cap)
        logging.getLogger().setLevel(logging.INFO)

        for ev, mocks, extra in cases:
            cap.msgs.clear()
            log_type = ev.get("p_log_type", "") or "" if isinstance(ev, dict) else ""
            if not log_type and single_lt:
                log_type = single_lt
            if atype.upper() == "POLICY":
                event = ev
            else:
                dm = None if atype.upper() == "SCHEDULED_RULE" else data_models.get(log_type)
                event = PantherEvent(ev, dm)
            mock_methods = {m["objectName"]: MagicMock(return_value=m["returnValue"])
                            for m in mocks if "objectName" in m and "returnValue" in m}
            buf = io.StringIO()
            errors = {}
            res = None
            try:
                with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                    if mock_methods:
                        with patch.multiple(detection.module, **mock_methods):
                            res = detection.run(event, {}, {}, batch_mode=(args.mode == "batch"))
                    else:
                        res = detection.run(event, {}, {}, batch_mode=(args.mode == "batch"))
            except Exception as exc:  # e.g. patch.multiple AttributeError for unknown objectName
                errors["harness"] = fmt_exc(exc)
            out = dict(extra)
            if res is None and "expected" in extra:
                out["passed"] = False  # pat test marks the test failed (main.py:1818-1834)
            if res is not None and args.mode == "test":
                # pat test (without --available-destination) ignores UnknownDestinationError
                res.ignore_errors([UnknownDestinationError])
            if res is not None:
                for name in FUNCS:
                    exc = getattr(res, f"{name}_exception", None) if name not in ("rule",) else res.detection_exception
                    if exc is not None:
                        errors[name] = fmt_exc(exc)
                out.update({
                    "verdict": res.detection_output,
                    "trigger_alert": res.trigger_alert,
                    "title": res.title_output,
                    "dedup": res.dedup_output,
                    "severity": res.severity_output,
                    "alert_context": res.alert_context_output,
                    "description": res.description_output,
                    "reference": res.reference_output,
                    "runbook": res.runbook_output,
                    "destinations": res.destinations_output,
                })
                if args.mode == "test" and "expected" in extra:
                    # same pass/fail rule as panther_core/testing.py TestCaseEvaluator
                    if extra["expected"] == detection.matcher_alert_value:
                        out["passed"] = bool(res.trigger_alert and not res.errored)
                    else:
                        out["passed"] = extra["expected"] == res.detection_output
            out["errors"] = errors
            if args.mode == "batch" and cap.msgs:
                out["swallowed"] = list(cap.msgs)
            if buf.getvalue():
                out["stdout"] = buf.getvalue()
            print(json.dumps(out, default=repr))
            sys.stdout.flush()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


if __name__ == "__main__":
    main()
