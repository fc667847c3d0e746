"""Fixture: control flow, helpers, standard library (written for this project)."""

import ipaddress
import json
import re
from collections.abc import Mapping
from fnmatch import fnmatch

from fixture_helpers import deep_lookup, is_admin, severity_rank, walk

SUSPICIOUS = {"DeleteTrail", "StopLogging"}


def rule(event):
    if event.get("eventName") not in SUSPICIOUS:
        return False
    for item in event.get("items", []):
        if item.get("skip"):
            return False
    return any(is_admin(u) for u in walk(event, "actors") or [])


def title(event):
    actors = [a for a in walk(event, "actors") if is_admin(a)]
    first = next((a for a in actors if a.endswith("1")), "no-one")
    return f"{event.get('eventName')} by {', '.join(actors)} (first {first})"


def dedup(event):
    return deep_lookup(event, "source", "account", default="unknown")


def severity(event):
    if severity_rank(event.get("level")) >= 3:
        return "high"
    return "DEFAULT"


def alert_context(event):
    parsed = {}
    try:
        parsed = json.loads(event.get("payload", ""))
    except json.JSONDecodeError:
        parsed = {"error": "bad json"}
    try:
        address = ipaddress.ip_address(event.get("ip"))
        network = str(address) + (" private" if address.is_private else " public")
    except ValueError:
        network = "not an address"
    total = 0
    for index, item in enumerate(event.get("mixed", [])):
        if index > 5:
            break
        if hasattr_like(item) or not isinstance(item, Mapping):
            continue
        total += item.get("n", 0)
    else:
        total += 100
    if (match := re.search(r"(\w+)@(\w+)\.com", event.get("email", ""))) is not None:
        domain = match.group(2)
    else:
        domain = None
    loops = []
    for limit in (5, 2):
        for v in [1, 2, 3]:
            if v == 3:
                continue
            if v == limit:
                break
        else:
            loops.append(f"no break below {limit}")
    return {
        "trusted": str(trusted_accounts(event.get("source"))),
        "loops": loops,
        "parsed": parsed,
        "network": network,
        "total": total,
        "domain": domain,
        "globbed": [fnmatch(name, "*.exe") for name in event.get("files", [])],
        "ranks": {name: severity_rank(name) for name in ["low", "HIGH", "other"]},
        "in_net": ipaddress.ip_address("10.1.2.3") in ipaddress.ip_network("10.0.0.0/8"),
        "json": json.dumps({"a": [1, "é"], "b": None}),
    }


def trusted_accounts(source):
    return ["123", "456"] if source else []


def hasattr_like(item):
    return isinstance(item, (list, tuple))
