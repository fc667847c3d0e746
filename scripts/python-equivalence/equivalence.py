"""Compiled Python rules against CPython running the same rules under Panther's own runtime.

Run through `scripts/python-equivalence/run.sh` (which builds the scratch workspace and `detect`),
with the Python of the venv that holds panther_core (`target/pat-venv`). See README.md.

For every Python rule that the conformance build compiled (it has its `.py` and `detect rules`
lists it), on the same events:

* CPython side: the rule's `.py` from the corpus, loaded once by panther_core's `Rule` exactly as
  panther_analysis_tool sets it up (globals importable by `GlobalID`, data models chosen by the
  event's `p_log_type`), run in batch (production) mode: `Rule.run(event, {}, {}, batch_mode=True)`.
* Compiled side: `detect scan --matches --all --no-store` over the same event file (no
  key-value store on either side: the caching helpers raise NoRegionError in both).

With `--store`, both sides have a key-value store: CPython's caching helpers run unchanged
against an in-process DynamoDB (moto; see `KvStore`), the engine with its default in-memory
store; both take the events in file order, each event through all its rules before the next.

Every (event, rule) pair where the rule's log types hold the event's `p_log_type` is compared:
verdict, and for a match title, dedup, severity and alert context. Differences are counted per
field and listed with the event. A `rule()` that raises in CPython is a rule error in Panther (no
alert): if the compiled rule does not match either, the pair is counted apart ("CPython error,
compiled no match"); if it matches, it is a verdict difference.
"""

import argparse
import collections
import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

from panther_core.data_model import DataModel
from panther_core.enriched_event import PantherEvent
from panther_core.rule import Rule

try:  # the loader panther_analysis_tool reads rule files with (timestamps stay strings, ...)
    from panther_analysis_tool.analysis_utils import _PATSafeLoader as Loader
except Exception:  # pragma: no cover
    Loader = yaml.CSafeLoader

FIELDS = ["verdict", "title", "dedup", "severity", "context"]

# Rules whose output holds the elements of a Python set in iteration order. CPython iterates a set
# of strings in hash order, and str hashes are salted per process (PYTHONHASHSEED), so Panther
# itself gives different orders from one process to the next; the compiled runtime keeps the
# order of insertion. A difference in these rules is explained when it is one of order only
# (the same elements in another order); any other difference still counts.
SET_ORDER = {
    "Crowdstrike.AdminRoleAssigned": "title: ', '.join(list(set(roles) & ADMIN_ROLES))",
    "Crowdstrike.IpAllowlistChanged": "alert_context: changes.* = list(set(list1) - set(list2))",
    "Proofpoint.MultipleThreats": "alert_context: threatTypes/classifications = list(set(...))",
    "Proofpoint.ThreatCampaign": "alert_context: campaignIDs = list(set(...))",
    # These two alert only with a key-value store (`--store`).
    "AWS.SSM.DecryptSSMParams": "alert_context: accessedParams = list(cached_params | accessed_params)",
    "AWS.SSM.DistributedCommand": "alert_context: instanceIds = list(cached_ids | target_instance_ids)",
}


# Hand-written events that reach corners the test logs and their mutations rarely do: each one
# reproduces a difference once found (see README.md). They run against every rule of their log
# type, like any other event.
PROBES = [
    ("probe: not ((a or b) and c), all bools (GCP.K8s.Pod.Using.Host.PID.Namespace)",
     {"p_log_type": "GCP.AuditLog", "protoPayload": {"request": {"spec": {"hostPID": True}}}}),
    ("probe: c and (a or b), all bools (GCP.KMS.EnableKey)",
     {"p_log_type": "GCP.AuditLog", "protoPayload": {
         "methodName": "SetIamPolicy", "serviceName": "cloudkms.googleapis.com",
         "request": {"policy": {"bindings": [{"role": "roles/decrypter", "members": [
             "serviceAccount:x@gs-project-accounts.iam.gserviceaccount.com"]}]}}}}),
    ("probe: a and b and (c or d), all bools (ZIA.Cloud.Account.Created)",
     {"p_log_type": "Zscaler.ZIA.AdminAuditLog", "event": {
         "errorcode": "None", "result": "SUCCESS", "action": "UPDATE", "category": "X",
         "postaction": {"role": {"name": "audit"}}}}),
    ("probe: a and (b or c or d), all bools (Auth0.BotDetection.Disabled)",
     {"p_log_type": "Auth0.Events", "data": {"type": "sapi", "description": "something else", "details": {
         "request": {"channel": "https://manage.auth0.com/"},
         "response": {"statusCode": 200, "body": {"policy": "off"}}}}}),
    ("probe: (a or b) or ((c or d) and e), all bools (Auth0.AttackProtection.Disabled)",
     {"p_log_type": "Auth0.Events", "data": {"type": "sapi", "description": "Brute-force", "details": {
         "request": {"channel": "https://manage.auth0.com/", "path": "/v2/attack-protection/brute-force-protection"},
         "response": {"statusCode": 200, "body": {"enabled": True, "shields": "block"}}}}}),
    ("probe: all(generator) with a false element (panther_base_helpers.deep_walk; Azure.Audit.RoleChangedPIM)",
     {"p_log_type": "Azure.Audit", "operationName": "Add member to role in PIM completed (permanent)",
      "properties": {"result": "success", "targetResources": [
          {"type": "Role", "displayName": "Admin"}, {"type": "User", "displayName": "Malenia"}]}}),
    ("probe: all(generator) with a false element (panther_base_helpers.deep_walk; Azure.Audit.MFADisabled)",
     {"p_log_type": "Azure.Audit", "operationName": "Update conditional access policy",
      "properties": {"targetResources": [{"modifiedProperties": [{
          "oldValue": "{\"grantControls\":{\"builtInControls\":[\"mfa\"]}}",
          "newValue": "{\"grantControls\":{\"builtInControls\":[]}}"}]}]}}),
]


def store_probes(day):
    """`--store` only: events that make the key-value store's readers find what its writers
    stored. The indicator rules store a new user (`CreateUser`) or account
    (`CreateAccountResult`) until the event's time plus 3 days, an absolute time compared with the
    wall clock: with the test logs' old times it has expired at once. These events carry `day`
    (the run's date, midnight UTC), so their items are live, and the readers that follow
    (`AWS.Console.LoginWithoutMFA`, `AWS.CloudTrail.AMIModifiedForPublicAccess`) see them."""
    t = f"{day} 00:00:00"
    user, account = "probe-new-user", "999900000001"
    login = {"p_log_type": "AWS.CloudTrail", "p_event_time": t, "eventName": "ConsoleLogin",
             "eventSource": "signin.amazonaws.com", "responseElements": {"ConsoleLogin": "Success"},
             "additionalEventData": {"MFAUsed": "No"}, "recipientAccountId": "123456789012",
             "userIdentity": {"type": "IAMUser", "userName": "probe-old-user"}}
    ami = {"p_log_type": "AWS.CloudTrail", "p_event_time": t, "eventName": "ModifyImageAttribute",
           "eventSource": "ec2.amazonaws.com", "recipientAccountId": "123456789012",
           "requestParameters": {"launchPermission": {"add": {"items": [{"userId": user}]}}},
           "responseElements": {"user": {"userId": user}}}
    return [
        ("store probe: ConsoleLogin without MFA of a user not stored (alerts)", login),
        ("store probe: ModifyImageAttribute for a user not stored (no alert)", ami),
        # Standard.NewUserAccountCreated stores `{user}-{user id}`; the readers look up
        # `{userName}-{actor}` and `{userId}-{user id}`: the same key when all are `user`.
        ("store probe: CreateUser (Standard.NewUserAccountCreated stores the new user)",
         {"p_log_type": "AWS.CloudTrail", "p_event_time": t, "p_row_id": "probe-row-user",
          "eventName": "CreateUser", "eventSource": "iam.amazonaws.com",
          "recipientAccountId": "123456789012", "responseElements": {"user": {"userName": user, "userId": user}}}),
        ("store probe: ConsoleLogin without MFA of the stored new user (no alert)",
         dict(login, userIdentity={"type": "IAMUser", "userName": user})),
        ("store probe: ModifyImageAttribute for the stored new user (alerts)", dict(ami, eventID="probe-ami-2")),
        ("store probe: CreateAccountResult (Standard.NewAWSAccountCreated stores the new account)",
         {"p_log_type": "AWS.CloudTrail", "p_event_time": t, "p_row_id": "probe-row-account",
          "eventName": "CreateAccountResult", "eventSource": "organizations.amazonaws.com",
          "serviceEventDetails": json.dumps({"createAccountStatus": {"accountId": account}})}),
        ("store probe: ConsoleLogin without MFA into the stored new account (no alert)",
         dict(login, recipientAccountId=account)),
    ]


def load_yaml(path):
    with open(path, "rb") as f:
        return yaml.load(f, Loader=Loader)  # nosec - PAT's safe loader


def iter_specs(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        for fn in sorted(filenames):
            if fn.endswith((".yml", ".yaml")) and not fn.startswith("."):
                try:
                    spec = load_yaml(os.path.join(dirpath, fn))
                except Exception:  # noqa: BLE001 - PAT skips what it cannot load too
                    continue
                if isinstance(spec, dict) and "AnalysisType" in spec:
                    yield dirpath, spec


# ------------------------------------------------------------------------------------------
# Panther's runtime, set up as panther_analysis_tool does (see /tmp/research/run_rule.py)


def setup_globals(corpus, tmpdir):
    """Each global helper is importable by its GlobalID (PAT copies <Filename> to <GlobalID>.py in
    a directory it appends to sys.path)."""
    gdir = os.path.join(tmpdir, "globals")
    os.makedirs(gdir)
    for dirpath, spec in iter_specs(os.path.join(corpus, "global_helpers")):
        if spec.get("AnalysisType") == "global":
            shutil.copyfile(os.path.join(dirpath, spec["Filename"]), os.path.join(gdir, f'{spec["GlobalID"]}.py'))
    sys.path.append(gdir)


class DataModels:
    """LogType -> DataModel of the first enabled data model declaring it (PAT's mapping), each
    built on first use."""

    def __init__(self, corpus):
        self._specs, self._built = {}, {}
        for dirpath, spec in iter_specs(os.path.join(corpus, "data_models")):
            if spec.get("AnalysisType") != "datamodel" or not spec.get("Enabled"):
                continue
            for lt in spec.get("LogTypes") or []:
                self._specs.setdefault(lt, (dirpath, spec))

    def get(self, log_type):
        if log_type not in self._specs:
            return None
        dirpath, spec = self._specs[log_type]
        key = spec["DataModelID"]
        if key not in self._built:
            params = {
                "id": key,
                "mappings": [{k.lower(): v for k, v in m.items()} for m in spec["Mappings"]],
                "versionId": "",
            }
            if "Filename" in spec:
                with open(os.path.join(dirpath, spec["Filename"]), encoding="utf-8") as f:
                    params["body"] = f.read()
            self._built[key] = DataModel(params)
        return self._built[key]


class Swallowed(logging.Handler):
    """panther_core logs (at INFO) the exceptions it swallows in batch mode: kept as diagnostics."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.msgs = []

    def emit(self, record):
        try:
            self.msgs.append(record.getMessage())
        except Exception:  # noqa: BLE001
            self.msgs.append(str(record.msg))


def make_rule(info):
    spec = info["spec"]
    config = {
        "id": spec["RuleID"],
        "analysisType": spec["AnalysisType"].upper(),
        "versionId": "0000-0000-0000",
        "path": info["py"],
        "severity": str(spec["Severity"]).upper(),
    }
    if "CreateAlert" in spec:
        config["suppressAlert"] = not bool(spec["CreateAlert"])
    if isinstance(spec.get("DedupPeriodMinutes"), int):
        config["dedupPeriodMinutes"] = spec["DedupPeriodMinutes"]
    return Rule(config)


class KvStore:
    """`--store`: the caching helpers of `panther_detection_helpers.caching`, unchanged, against
    an in-process DynamoDB (moto's `mock_aws`), with the table they expect: named by
    `KV_STORE_TABLE_NAME` (default `panther-kv-store`), hash key `key` (a string), TTL attribute
    `expiresAt` (DynamoDB deletes expired items late; the helpers check the TTL themselves where
    they pass `force_ttl_check=True`).

    The helpers reach the table through `caching.kv_table()`: it is wrapped to record which rule
    reached which key on the current event (the calls go through unchanged). A key reached by two
    rules on one event would make the outcome depend on the order of the rules within the event,
    which the engine does not promise to share with this script: such events are listed."""

    def __init__(self):
        # Fake credentials and a region, and nothing that could point boto3 at a real endpoint.
        for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "ENABLE_FIPS"):
            os.environ.pop(var, None)
        os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="testing",
                          AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing")
        # The helpers log at import: without a handler in place, that would be `basicConfig()`,
        # printing every exception panther_core swallows to stderr.
        if not logging.getLogger().handlers:
            logging.getLogger().addHandler(logging.NullHandler())
        import boto3  # noqa: PLC0415 - only with --store
        from moto import mock_aws  # noqa: PLC0415 - only with --store (moto is in the store's venv)
        from panther_detection_helpers import caching  # noqa: PLC0415

        self.mock = mock_aws()
        self.mock.start()
        self.table_name = os.getenv("KV_STORE_TABLE_NAME", "panther-kv-store")
        self.client = boto3.client("dynamodb")
        self.client.create_table(
            TableName=self.table_name,
            KeySchema=[{"AttributeName": "key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST")
        self.client.update_time_to_live(
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiresAt"})
        caching._KV_TABLE = None  # noqa: SLF001 - built anew, inside the mock
        self.rule, self.touched = None, {}
        self.calls = collections.Counter()  # rule id -> table calls
        self.keys = collections.defaultdict(set)  # rule id -> keys reached
        self.shared = []  # (event index, key, rule ids) reached by more than one rule on an event
        real, recorder = caching.kv_table, self

        class Recorded:
            def __init__(self, table):
                self._table = table

            def __getattr__(self, name):
                attr = getattr(self._table, name)
                if name not in ("get_item", "put_item", "update_item", "delete_item"):
                    return attr

                def call(**kwargs):
                    key = (kwargs.get("Key") or kwargs.get("Item") or {}).get("key")
                    recorder.calls[recorder.rule] += 1
                    recorder.keys[recorder.rule].add(key)
                    recorder.touched.setdefault(key, set()).add(recorder.rule)
                    return attr(**kwargs)
                return call

        caching.kv_table = lambda: Recorded(real())

    def end_event(self, idx):
        for key, rids in self.touched.items():
            if len(rids) > 1:
                self.shared.append((idx, key, sorted(rids)))
        self.touched.clear()

    def items(self):
        return self.client.scan(TableName=self.table_name, Select="COUNT")["Count"]

    def stop(self):
        self.mock.stop()


def fmt_exc(exc):
    return f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------------------------------
# Rules and events


def compiled_rules(detect, corpus):
    """The Python rules `detect` has (all, disabled included), with their corpus spec."""
    listed = json.loads(subprocess.run([detect, "rules", "--all", "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    rules, declarative = [], 0
    for r in listed:
        # The scratch workspace holds the corpus under rules/: rules/rules/x/y.yml is corpus rules/x/y.yml.
        rel = r["source"].split("/", 1)[1]
        path = os.path.join(corpus, rel)
        spec = load_yaml(path)
        if not spec.get("Filename"):
            declarative += 1
            continue
        py = os.path.join(os.path.dirname(path), spec["Filename"])
        if not os.path.exists(py):
            continue
        log_types = spec.get("LogTypes") or spec.get("ScheduledQueries") or []
        rules.append({"id": r["id"], "yml": path, "py": py, "spec": spec, "log_types": list(log_types),
                      "engine_log_types": r["log_types"], "display_name": r["display_name"],
                      "severity": r["severity"], "tests": spec.get("Tests") or []})
    return rules, declarative


def port_rules(detect, corpus, root):
    """The declarative rules `detect` has that port an upstream Python rule (same RuleID in the
    corpus, with its `.py`): each with the upstream spec (run by CPython) and the port's file."""
    listed = json.loads(subprocess.run([detect, "rules", "--all", "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    upstream = {}
    for dirpath, spec in iter_specs(os.path.join(corpus, "rules")):
        if spec.get("AnalysisType") in ("rule", "scheduled_rule") and spec.get("Filename"):
            py = os.path.join(dirpath, spec["Filename"])
            if os.path.exists(py):
                upstream[spec.get("RuleID")] = (dirpath, spec, py)
    rules, unmatched = [], []
    for r in listed:
        port = load_yaml(os.path.join(root, r["source"]))
        if port.get("Filename"):
            continue  # a Python rule, not a port
        if r["id"] not in upstream:
            unmatched.append(r["id"])
            continue
        dirpath, spec, py = upstream[r["id"]]
        log_types = spec.get("LogTypes") or spec.get("ScheduledQueries") or []
        # The events are upstream's test logs and the port's (the same, unless the port adds some).
        tests = list(spec.get("Tests") or [])
        names = {t.get("Name") for t in tests}
        tests += [t for t in port.get("Tests") or [] if t.get("Name") not in names]
        rules.append({"id": r["id"], "yml": os.path.join(dirpath, ""), "py": py, "spec": spec,
                      "log_types": list(log_types), "engine_log_types": r["log_types"],
                      "display_name": r["display_name"], "severity": r["severity"], "tests": tests,
                      "port": r["source"]})
    return rules, unmatched


def rejected_ids(path):
    out = set()
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("error: rule `") and "cannot be compiled" in line:
                    out.add(line.split("`")[1])
    return out


def leaves(obj, path=()):
    """(path, value) of every scalar under obj, through dicts and lists."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from leaves(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from leaves(v, path + (i,))
    elif path:
        yield path, obj


def containers(obj, path=()):
    """(path, key) of every dict entry below the top level."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if path:
                yield path, k
            yield from containers(v, path + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from containers(v, path + (i,))


def at(obj, path):
    for p in path:
        obj = obj[p]
    return obj


def show_path(path):
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")


def lookup(obj, path):
    """The value at path, or KeyError/IndexError/TypeError."""
    for p in path:
        if isinstance(p, int) and not isinstance(obj, list) or isinstance(p, str) and not isinstance(obj, dict):
            raise TypeError(p)
        obj = obj[p]
    return obj


def crossings(log, other):
    """(path, value) where `other` has a value that `log` lacks or holds differently, at a place
    `log` has the parent of: a field (or subtree) of another test log of the same rule."""
    out = []
    for path, _ in list(leaves(other)) + [(p + (k,), None) for p, k in containers(other)] + \
            [((k,), None) for k in other]:
        if path[0] == "p_log_type":
            continue
        value = lookup(other, path)
        try:
            parent = lookup(log, path[:-1])
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(parent, dict) or (isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent)):
            mine = parent.get(path[-1], KeyError) if isinstance(parent, dict) else parent[path[-1]]
            if json.dumps(mine, default=str) != json.dumps(value):
                out.append((path, value))
    return out


def mutations(log, seed, siblings=()):
    """Seeded variants of a test log: (name, event). Each picks one field at random; `cross`
    takes a field from another test log of the same rule (`siblings`)."""
    rng = random.Random(seed)
    top = [k for k in log if k != "p_log_type"]
    all_leaves = [(p, v) for p, v in leaves(log) if p[0] != "p_log_type"]
    strings = [p for p, v in all_leaves if isinstance(v, str)]
    nonempty = [p for p, v in all_leaves if isinstance(v, str) and v]
    recasable = [p for p, v in all_leaves if isinstance(v, str) and v.upper() != v]
    numbers = [p for p, v in all_leaves if isinstance(v, (int, float)) and not isinstance(v, bool)]
    nested = [(p, k) for p, k in containers(log) if p[0] != "p_log_type"]
    out = []

    def variant(name, path, fn):
        ev = json.loads(json.dumps(log))
        fn(ev)
        out.append((f"{name} {show_path(path)}", ev))

    if top:
        k = rng.choice(top)
        variant("drop", (k,), lambda ev: ev.pop(k))
        k = rng.choice(top)
        variant("null", (k,), lambda ev: ev.__setitem__(k, None))
    if nested:
        p, k = rng.choice(nested)
        variant("drop", p + (k,), lambda ev: at(ev, p).pop(k))
        p, k = rng.choice(nested)
        variant("null", p + (k,), lambda ev: at(ev, p).__setitem__(k, None))
    if nonempty or strings:
        p = rng.choice(nonempty or strings)
        variant("empty", p, lambda ev: at(ev, p[:-1]).__setitem__(p[-1], ""))
    if recasable:
        p = rng.choice(recasable)
        variant("upper", p, lambda ev: at(ev, p[:-1]).__setitem__(p[-1], at(ev, p).upper()))
    if numbers:
        p = rng.choice(numbers)
        variant("numstr", p, lambda ev: at(ev, p[:-1]).__setitem__(p[-1], json.dumps(at(ev, p))))
    if siblings:
        n, other = rng.choice(siblings)
        cands = crossings(log, other)
        if cands:
            p, v = rng.choice(cands)
            variant(f"cross from #{n}", p, lambda ev: at(ev, p[:-1]).__setitem__(p[-1], json.loads(json.dumps(v))))
    return out


# `--exhaustive`: every field of every test log, one at a time, removed or given each of these
# values (every JSON type, empty and not), and strings re-cased and cut.
EXHAUSTIVE_VALUES = [None, "", 1, 0, True, False, ["x"], [], {}, "x", 1.5]


def every_path(obj, path=()):
    """The path of every value below `obj`: object keys and list indices."""
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for k, v in items:
        yield path + (k,)
        yield from every_path(v, path + (k,))


def exhaustive_variants(log):
    """(name, event) for each field of `log` removed or replaced, one field at a time."""
    for path in list(every_path(log)):
        if not path or path[0] == "p_log_type":
            continue
        parent = at(log, path[:-1])
        if isinstance(parent, dict):
            ev = json.loads(json.dumps(log))
            at(ev, path[:-1]).pop(path[-1])
            yield f"drop {show_path(path)}", ev
        for value in EXHAUSTIVE_VALUES:
            ev = json.loads(json.dumps(log))
            at(ev, path[:-1])[path[-1]] = value
            yield f"set {show_path(path)} = {json.dumps(value)}", ev
        current = at(log, path)
        if isinstance(current, str) and current:
            for value in (current.upper(), current.lower(), current[: len(current) // 2]):
                ev = json.loads(json.dumps(log))
                at(ev, path[:-1])[path[-1]] = value
                yield f"set {show_path(path)} = {json.dumps(value)}", ev


def build_events(rules, detect, n_sample, seed, rounds, n_high_match=0, exhaustive=False, store=False):
    """[(label, event)]: the test logs of the compiled rules, their mutations, then `detect sample`
    (and with `store`, `store_probes` last)."""
    events, seen = [], set()

    def add(label, ev):
        try:
            text = json.dumps(ev, allow_nan=False, sort_keys=False, ensure_ascii=False)
        except (TypeError, ValueError):
            return False
        if text in seen:
            return False
        seen.add(text)
        events.append((label, text))
        return True

    n_test = n_retyped = n_mut = n_exhaustive = 0
    for r in rules:
        logs = []  # (test number, label, log) of this rule
        for i, t in enumerate(r["tests"]):
            log = t.get("Resource") if "Resource" in t else t.get("Log")
            if not isinstance(log, dict):
                continue
            try:  # a copy, and only logs that are JSON
                log = json.loads(json.dumps(log, allow_nan=False))
            except (TypeError, ValueError):
                continue
            label = f"test {r['id']} #{i + 1} {t.get('Name', '')!r}"
            if not log.get("p_log_type") and r["log_types"]:
                log["p_log_type"] = r["log_types"][0]
            n_test += add(label, log)
            if r["log_types"] and log["p_log_type"] not in r["log_types"]:
                # The log names a log type the rule does not see (in production it never reaches
                # the rule): also under the rule's first log type, and that one is mutated.
                log = dict(log, p_log_type=r["log_types"][0])
                label += f" as {r['log_types'][0]}"
                n_retyped += add(label, log)
            logs.append((i + 1, label, log))
        for n, label, log in logs:
            if exhaustive:
                for name, ev in exhaustive_variants(log):
                    n_exhaustive += add(f"{label} / {name}", ev)
            siblings = [(m, other) for m, _, other in logs if m != n]
            for k in range(rounds):
                for name, ev in mutations(log, f"{seed}/{r['id']}/{n - 1}" + (f"/{k}" if k else ""), siblings):
                    n_mut += add(f"{label} / {name}" + (f" (round {k + 1})" if k else ""), ev)
    n_probes = sum(add(label, ev) for label, ev in PROBES)
    n_sample_added = n_high_added = 0
    # Background CloudTrail (1 % attacks), then a high-match corpus: 30 % of its events are
    # attacks taken from the shipped rules' upstream test logs, varied.
    for n, share, counter in ((n_sample, None, "sample"), (n_high_match, "0.3", "high")):
        if not n:
            continue
        extra = ["--attack-share", share] if share else []
        s = seed if share is None else seed + 1
        out = subprocess.run([detect, "sample", "--events", str(n), "--seed", str(s), *extra],
                             check=True, capture_output=True, text=True).stdout
        for i, line in enumerate(out.splitlines()):
            ev = json.loads(line)
            ev.setdefault("p_log_type", "AWS.CloudTrail")
            label = f"sample seed {s} #{i + 1}" if share is None else f"high-match sample seed {s} #{i + 1}"
            added = add(label, ev)
            if counter == "sample":
                n_sample_added += added
            else:
                n_high_added += added
    n_store_probes = 0
    if store:
        day = time.strftime("%Y-%m-%d", time.gmtime())
        n_store_probes = sum(add(label, ev) for label, ev in store_probes(day))
    return events, {"test_logs": n_test, "retyped_test_logs": n_retyped, "mutations": n_mut,
                    "probes": n_probes, "sample": n_sample_added, "high_match": n_high_added,
                    "exhaustive": n_exhaustive, "store_probes": n_store_probes}


# ------------------------------------------------------------------------------------------
# The two sides


def run_engine(detect, events_path, out_dir, store=False):
    """`detect scan` over the events, one thread (events in file order). `store`: with the
    engine's default in-memory key-value store, else `--no-store`."""
    t0 = time.monotonic()
    cmd = ["nice", detect, "scan", "--threads", "1", "--matches", "--all"] + ([] if store else ["--no-store"])
    with open(os.path.join(out_dir, "engine_matches.jsonl"), "w") as out, \
            open(os.path.join(out_dir, "engine_stderr.txt"), "w") as err:
        subprocess.run(cmd + [events_path], check=True, stdout=out, stderr=err)
    elapsed = time.monotonic() - t0
    matches = {}
    with open(os.path.join(out_dir, "engine_matches.jsonl")) as f:
        for line in f:
            m = json.loads(line)
            matches[(m["line"] - 1, m["rule_id"])] = m
    return matches, elapsed


def run_cpython(rules, events, corpus, tmpdir, store=None):
    """{(event index, rule id): outputs} for alerts, {(index, id): error} for rule() errors,
    the number of pairs evaluated, setup errors, and the seconds spent (loading, evaluating).
    Event-major: each event through every rule of its log type (in the order of the rule
    files, as `detect rules` lists them) before the next event, as the engine does with one
    thread; `store`, a `KvStore`, records the keys each rule reaches."""
    t0 = time.monotonic()
    setup_globals(corpus, tmpdir)
    models = DataModels(corpus)
    handler = Swallowed()
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.INFO)
    sink = io.StringIO()
    by_log_type = collections.defaultdict(list)
    setup_errors = {}
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for r in rules:
            try:
                det = make_rule(r)
            except Exception as exc:  # noqa: BLE001
                setup_errors[r["id"]] = fmt_exc(exc)
                continue
            if det.setup_exception is not None:
                setup_errors[r["id"]] = fmt_exc(det.setup_exception)
                continue
            scheduled = r["spec"]["AnalysisType"] == "scheduled_rule"
            for lt in r["log_types"]:
                by_log_type[lt].append((r, det, scheduled))
    t_load = time.monotonic() - t0

    t1 = time.monotonic()
    alerts, errors, pairs, per_rule_pairs, mutated = {}, {}, 0, collections.Counter(), []
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        for idx, (_, text) in enumerate(events):
            raw = json.loads(text)
            lt = raw.get("p_log_type")
            if not isinstance(lt, str) or lt not in by_log_type:
                continue
            dm = models.get(lt)
            with_model = PantherEvent(raw, dm)
            without_model = None
            for r, det, scheduled in by_log_type[lt]:
                if scheduled:  # PAT gives scheduled rules no data model
                    if without_model is None:
                        without_model = PantherEvent(raw, None)
                    event = without_model
                else:
                    event = with_model
                pairs += 1
                per_rule_pairs[r["id"]] += 1
                handler.msgs.clear()
                if store is not None:
                    store.rule = r["id"]
                res = det.run(event, {}, {}, batch_mode=True)
                if res.detection_exception is not None:
                    errors[(idx, r["id"])] = fmt_exc(res.detection_exception)
                    continue
                if not res.trigger_alert:
                    continue
                alerts[(idx, r["id"])] = {
                    "title": res.title_output,
                    "title_defined": res.title_defined,
                    "dedup": res.dedup_output,
                    "severity": res.severity_output,
                    "alert_context": res.alert_context_output,
                    "swallowed": list(handler.msgs),
                }
            if store is not None:
                store.end_event(idx)
            # Rules share the event, as in one Panther process; deep_walk hands out raw containers,
            # so check that no rule changed it.
            if json.dumps(raw, allow_nan=False, ensure_ascii=False) != text:
                mutated.append(idx)
            if len(sink.getvalue()) > 1 << 20:
                sink.seek(0)
                sink.truncate()
    logging.getLogger().removeHandler(handler)
    return alerts, errors, pairs, per_rule_pairs, setup_errors, mutated, t_load, time.monotonic() - t1


# ------------------------------------------------------------------------------------------
# Comparison


def same_json(a, b):
    """JSON equality with key order ignored, but types kept apart (1 != 1.0 != true)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    return a == b


def canonical_unordered(v):
    """v with every list sorted (by its JSON text): equal for values that differ in order only."""
    if isinstance(v, dict):
        return {k: canonical_unordered(x) for k, x in v.items()}
    if isinstance(v, list):
        return sorted((canonical_unordered(x) for x in v), key=lambda x: json.dumps(x, sort_keys=True))
    return v


def order_only(field, expected, ours):
    """The two outputs hold the same elements in another order (a set's iteration order)."""
    if field == "context":
        return isinstance(ours, dict) and same_json(canonical_unordered(expected), canonical_unordered(ours))
    if field in ("title", "dedup") and isinstance(ours, str):
        words = lambda s: sorted(re.split(r"[\s,]+", s))  # noqa: E731 - items joined by ", "
        return words(expected) == words(ours) and sorted(expected) == sorted(ours)
    return False


def first_difference(a, b, path="$"):
    """(path, a value, b value) of the first place where two JSON values differ, or None."""
    if type(a) is not type(b):
        return path, a, b
    if isinstance(a, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}", a.get(k, "<absent>"), b.get(k, "<absent>")
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return (path, a, b) if len(a) != len(b) else None
    return None if a == b else (path, a, b)


# Ports whose upstream tells a float from an integer where the rule language cannot (it has
# numbers, not Python's int and float): a difference on an event whose one change is a float is
# explained. Listed in rules/aws_cloudtrail/README.md.
FLOAT_VS_INT = {
    "AWS.IAMUser.ReconAccessDenied": "ipaddress.ip_address(1.5) raises ValueError (no alert); the port accepts a number",
    "AWS.EC2.StopInstances": "a float list element: TypeError names 'float'; the port says 'int'",
}
LABELS = []  # the events' labels, set by main()

# Rules whose dedup string can be `str(uuid.uuid4())`: random in CPython (two CPython runs never
# agree either) and in the compiled runtime. A difference is explained when it is in the dedup
# string alone and both sides are version-4 UUIDs.
RANDOM_DEDUP = {
    "Crowdstrike.Detection.passthrough": "dedup: str(uuid.uuid4()) when CompositeId is missing",
}
UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


def explained(rid, idx, fields, exp, ours):
    if rid in RANDOM_DEDUP and fields == ["dedup"]:
        return all(UUID4.fullmatch(str(x.get("dedup"))) for x in (exp, ours))
    if rid in FLOAT_VS_INT and LABELS and re.search(r" = -?[0-9]+\.[0-9]+$", LABELS[idx]):
        return True
    return rid in SET_ORDER and all(order_only(f, exp.get(f), ours.get(f)) for f in fields)


def expected_outputs(rule, out):
    """What the compiled engine should print for a CPython alert."""
    title = out["title"]
    if title is None or title == "":  # the backend shows DisplayName, else RuleID
        title = rule["display_name"] or rule["id"]
    severity = out["severity"] or str(rule["spec"]["Severity"]).upper()
    context = json.loads(out["alert_context"]) if out["alert_context"] is not None else {}
    return {"title": title, "dedup": out["dedup"], "severity": severity, "context": context}


def compare(rules, events, alerts, errors, matches):
    by_id = {r["id"]: r for r in rules}
    diffs = []  # (rule id, event index, fields, expected, ours)
    agree_alert = 0
    for key, out in alerts.items():
        idx, rid = key
        exp = expected_outputs(by_id[rid], out)
        ours = matches.get(key)
        if ours is None:
            diffs.append((rid, idx, ["verdict"], {"verdict": True, **exp, "swallowed": out["swallowed"]},
                          {"verdict": False}))
            continue
        fields = []
        if ours["title"] != exp["title"]:
            fields.append("title")
        if ours["dedup"] != exp["dedup"]:
            fields.append("dedup")
        if str(ours["severity"]).upper() != str(exp["severity"]).upper():
            fields.append("severity")
        if not same_json(ours.get("context") if ours.get("context") is not None else {}, exp["context"]):
            fields.append("context")
        if fields:
            diffs.append((rid, idx, fields, {"verdict": True, **exp, "swallowed": out["swallowed"]},
                          {"verdict": True, **{f: ours.get(f) for f in ("title", "dedup", "severity", "context")}}))
        else:
            agree_alert += 1
    for key, ours in matches.items():
        if key in alerts:
            continue
        idx, rid = key
        exp = {"verdict": "error: " + errors[key]} if key in errors else {"verdict": False}
        diffs.append((rid, idx, ["verdict"], exp, {"verdict": True, **{f: ours.get(f) for f in
                                                                      ("title", "dedup", "severity", "context")}}))
    error_no_match = {k: v for k, v in errors.items() if k not in matches}
    return diffs, agree_alert, error_no_match


def clip(s, n):
    return s if len(s) <= n else s[: n - 3] + "..."


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detect", required=True, help="the scratch workspace's detect binary")
    ap.add_argument("--corpus", required=True, help="the panther-analysis checkout")
    ap.add_argument("--rejected", help="the conformance run's rejected.txt")
    ap.add_argument("--ports", metavar="ROOT",
                    help="compare the declarative ports of ROOT/rules (this project's `detect`) with their "
                         "upstream Python, instead of the compiled Python rules")
    ap.add_argument("--out", required=True)
    ap.add_argument("--events", type=int, default=20000, help="generated CloudTrail events (detect sample)")
    ap.add_argument("--high-match", type=int, default=0,
                    help="events of a high-match CloudTrail corpus (detect sample --attack-share 0.3)")
    ap.add_argument("--exhaustive", action="store_true",
                    help="also every field of every test log removed or given each JSON type, one at a time")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1, help="rounds of mutations of each test log (each seeded apart)")
    ap.add_argument("--show", type=int, default=3, help="differences shown per rule")
    ap.add_argument("--store", action="store_true",
                    help="a key-value store on both sides: CPython's caching helpers against an in-process "
                         "DynamoDB (moto), the engine with its in-memory store; output under OUT/store")
    args = ap.parse_args()
    if args.store:
        args.out = os.path.join(args.out, "store")
    os.makedirs(args.out, exist_ok=True)

    if args.ports:
        rules, unmatched = port_rules(args.detect, args.corpus, args.ports)
        listed_rejected = []
        print(f"rules: {len(rules)} ports of upstream Python rules ({len(unmatched)} rules without an upstream "
              f".py left out: {', '.join(sorted(unmatched))})")
    else:
        rules, declarative = compiled_rules(args.detect, args.corpus)
        rejected = rejected_ids(args.rejected)
        listed_rejected = sorted(r["id"] for r in rules if r["id"] in rejected)
        print(f"rules: {len(rules)} compiled Python rules with their .py ({declarative} declarative rules left out)")
    lt_mismatch = sorted(r["id"] for r in rules if r["log_types"] != r["engine_log_types"])
    if listed_rejected:
        print(f"  warning: {len(listed_rejected)} of them are also in rejected.txt: {listed_rejected[:10]}")
    if lt_mismatch:
        print(f"  warning: log types differ between the YAML and detect for {lt_mismatch}")

    events, counts = build_events(rules, args.detect, args.events, args.seed, args.rounds, args.high_match,
                                  args.exhaustive, args.store)
    events_path = os.path.join(args.out, "events.jsonl")
    with open(events_path, "w", encoding="utf-8") as f, \
            open(os.path.join(args.out, "labels.txt"), "w", encoding="utf-8") as g:
        for label, text in events:
            f.write(text + "\n")
            g.write(label + "\n")
    print(f"events: {len(events)} ({counts['test_logs']} test logs, {counts['retyped_test_logs']} of them again under the "
          f"rule's log type, {counts['mutations']} mutations, {counts['probes']} probes, "
          f"{counts['store_probes']} store probes, "
          f"{counts['exhaustive']} exhaustive field variants, {counts['sample']} generated CloudTrail, "
          f"{counts['high_match']} high-match generated CloudTrail, "
          f"duplicates dropped) -> {events_path}")

    matches, t_engine = run_engine(args.detect, events_path, args.out, store=args.store)
    compared = {r["id"] for r in rules}
    matches = {k: m for k, m in matches.items() if k[1] in compared}
    print(f"compiled: {len(matches)} matches in {t_engine:.2f} s")

    tmpdir = tempfile.mkdtemp(prefix="python-equivalence-")
    store = KvStore() if args.store else None
    try:
        alerts, errors, pairs, per_rule_pairs, setup_errors, mutated, t_load, t_eval = run_cpython(
            rules, events, args.corpus, tmpdir, store)
        store_items = store.items() if store else None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        if store:
            store.stop()
    print(f"CPython: {pairs} (event, rule) pairs, {len(alerts)} alerts, {len(errors)} rule() errors, "
          f"in {t_eval:.2f} s (+ {t_load:.2f} s loading {len(rules)} rules)")

    with open(os.path.join(args.out, "cpython_alerts.jsonl"), "w") as f:
        for (idx, rid), out in sorted(alerts.items()):
            f.write(json.dumps({"line": idx + 1, "rule_id": rid, **out}) + "\n")
    with open(os.path.join(args.out, "cpython_errors.jsonl"), "w") as f:
        for (idx, rid), err in sorted(errors.items()):
            f.write(json.dumps({"line": idx + 1, "rule_id": rid, "error": err}) + "\n")

    LABELS.extend(label for label, _ in events)
    diffs, agree_alert, error_no_match = compare(rules, events, alerts, errors, matches)

    # Per-rule table.
    per = collections.defaultdict(collections.Counter)
    for rid, n in per_rule_pairs.items():
        per[rid]["pairs"] = n
    for _, rid in alerts:
        per[rid]["cpython"] += 1
    for _, rid in matches:
        per[rid]["compiled"] += 1
    for _, rid in errors:
        per[rid]["errors"] += 1
    for rid, _, fields, _, _ in diffs:
        per[rid]["diff"] += 1
        for fld in fields:
            per[rid][fld] += 1
    header = ["RULE", "PAIRS", "CPYTHON", "COMPILED", "ERRORS", "DIFF"] + [f.upper() for f in FIELDS] + ["NOTE"]
    rows = []
    for r in sorted(rules, key=lambda r: r["id"]):
        c = per[r["id"]]
        n_expl = sum(1 for d in diffs if d[0] == r["id"] and explained(*d))
        why = "set order" if r["id"] in SET_ORDER else RANDOM_DEDUP.get(r["id"], "float vs int")
        note = "setup error" if r["id"] in setup_errors else (
            f"{n_expl} explained ({why})" if n_expl else "")
        rows.append([r["id"], c["pairs"], c["cpython"], c["compiled"], c["errors"], c["diff"]]
                    + [c[f] for f in FIELDS] + [note])
    tot = collections.Counter()
    for row in rows:
        for i, h in enumerate(header[1:-1], 1):
            tot[h] += row[i]
    rows.append(["TOTAL"] + [tot[h] for h in header[1:-1]] + [""])
    cells = [header] + [[str(x) for x in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    table = "\n".join("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                                enumerate(zip(row, widths))).rstrip() for row in cells)
    with open(os.path.join(args.out, "table.txt"), "w") as f:
        f.write(table + "\n")
    print()
    print(table)

    # Differences, in full to a file, the first few per rule on stdout.
    labels = [label for label, _ in events]
    with open(os.path.join(args.out, "differences.jsonl"), "w") as f:
        for rid, idx, fields, exp, ours in diffs:
            f.write(json.dumps({"rule_id": rid, "line": idx + 1, "event_label": labels[idx], "fields": fields,
                                "cpython": exp, "compiled": ours, "event": json.loads(events[idx][1])},
                               ensure_ascii=False) + "\n")
    field_counts = collections.Counter(fld for _, _, fields, _, _ in diffs for fld in fields)
    unexplained = [d for d in diffs if not explained(*d)]
    print()
    print(f"events: {len(events)}   (event, rule) pairs evaluated: {pairs}")
    print(f"CPython alerts: {len(alerts)}   compiled matches: {len(matches)}   "
          f"agreeing alerts (all outputs equal): {agree_alert}")
    print(f"CPython rule() errors: {len(errors)} (CPython error, compiled no match: {len(error_no_match)})")
    print(f"differing pairs: {len(diffs)} ({len(unexplained)} unexplained)   per field: "
          + ", ".join(f"{f} {field_counts[f]}" for f in FIELDS))
    print(f"time: compiled {t_engine:.2f} s, CPython {t_eval:.2f} s (+ {t_load:.2f} s loading)")
    store_summary = None
    if store:
        store_summary = {
            "rules_reaching_the_store": {rid: {"calls": store.calls[rid], "keys": len(store.keys[rid])}
                                         for rid in sorted(store.calls)},
            "items_at_the_end": store_items,
            "keys_reached_by_several_rules": sorted({k for ks in store.keys.values() for k in ks
                                                     if sum(k in o for o in store.keys.values()) > 1}),
            "events_with_a_key_reached_by_several_rules": [
                {"line": i + 1, "key": k, "rules": rids} for i, k, rids in store.shared],
        }
        print("store (CPython side): " + ", ".join(
            f"{rid} {v['calls']} calls on {v['keys']} keys"
            for rid, v in store_summary["rules_reaching_the_store"].items())
              + f"; {store_items} items at the end; keys reached by several rules: "
              f"{len(store_summary['keys_reached_by_several_rules'])}; events where two rules reached one key: "
              f"{len(store.shared)}")
        if store.shared:
            print("warning: on these events the outcome may depend on the order of the rules: "
                  + "; ".join(f"line {i + 1} {k!r} {rids}" for i, k, rids in store.shared[:10]))
    if mutated:
        print(f"warning: {len(mutated)} events were changed by a rule during CPython's evaluation "
              f"(lines {[i + 1 for i in mutated[:10]]})")
    if setup_errors:
        print(f"\nrules CPython could not load ({len(setup_errors)}):")
        for rid, e in sorted(setup_errors.items()):
            print(f"  {rid}: {e}")

    by_rule = collections.defaultdict(list)
    for d in diffs:
        by_rule[d[0]].append(d)
    if by_rule:
        print(f"\ndifferences by rule (first {args.show} of each; all in {args.out}/differences.jsonl):")
    for rid in sorted(by_rule):
        ds = by_rule[rid]
        fc = collections.Counter(fld for _, _, fields, _, _ in ds for fld in fields)
        n_expl = sum(1 for d in ds if explained(*d))
        reason = f"set iteration order: {SET_ORDER[rid]}" if rid in SET_ORDER else RANDOM_DEDUP.get(rid) or FLOAT_VS_INT.get(rid, "")
        why = f"  [{n_expl} explained, {reason}]" if n_expl else ""
        print(f"\n{rid}: {len(ds)} pairs ({', '.join(f'{k} {v}' for k, v in fc.items())}){why}")
        for _, idx, fields, exp, ours in ds[: args.show]:
            print(f"  line {idx + 1}: {labels[idx]}")
            print(f"    event:    {clip(events[idx][1], 400)}")
            for fld in fields:
                a, b = exp.get(fld), ours.get(fld)
                where = ""
                if fld == "context" and isinstance(b, dict):
                    d = first_difference(a, b)
                    if d:
                        where, a, b = f" at {d[0]}", d[1], d[2]
                print(f"    {fld}{where}: CPython {clip(json.dumps(a, ensure_ascii=False), 300)}")
                print(f"    {' ' * len(fld + where)}  compiled {clip(json.dumps(b, ensure_ascii=False), 300)}")
            if exp.get("swallowed"):
                print(f"    CPython swallowed: {clip(' | '.join(exp['swallowed']), 300)}")

    err_rules = collections.defaultdict(collections.Counter)
    for (idx, rid), e in errors.items():
        err_rules[rid][e.split(":", 1)[0]] += 1
    if err_rules:
        print(f"\nrules where CPython's rule() raised ({len(err_rules)} rules, {len(errors)} pairs; "
              f"all in {args.out}/cpython_errors.jsonl):")
        for rid in sorted(err_rules):
            n = sum(err_rules[rid].values())
            matched = sum(1 for (i, r) in errors if r == rid and (i, r) in matches)
            example = next(e for (i, r), e in errors.items() if r == rid)
            print(f"  {rid}: {n} ({', '.join(f'{k} {v}' for k, v in err_rules[rid].items())}); "
                  f"compiled matched {matched}; e.g. {clip(example, 160)}")

    summary = {
        "rules": len(rules), "events": len(events), **counts, "pairs": pairs, "cpython_alerts": len(alerts),
        "compiled_matches": len(matches), "agreeing_alerts": agree_alert, "cpython_errors": len(errors),
        "cpython_error_compiled_no_match": len(error_no_match), "differing_pairs": len(diffs),
        "unexplained_pairs": len(unexplained), "unexplained_rules": sorted({d[0] for d in unexplained}), "differences_per_field": {f: field_counts[f] for f in FIELDS},
        "differing_rules": sorted(by_rule), "setup_errors": setup_errors, "events_changed_by_rules": len(mutated),
        "seconds": {"compiled": round(t_engine, 2), "cpython": round(t_eval, 2), "cpython_load": round(t_load, 2)},
        "store": store_summary,
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
        f.write("\n")
    if unexplained or setup_errors:
        print(f"\nFAIL: {len(unexplained)} unexplained differences in "
              f"{len({d[0] for d in unexplained})} rules, {len(setup_errors)} rules CPython could not load")
        sys.exit(1)
    print("\nOK: no unexplained difference")


if __name__ == "__main__":
    main()
