"""Fixture: policyuniverse's Policy and Statement (the library Panther's runtime ships), from a
JSON string (a plain dict) and from the event (Panther's case-insensitive wrapper); written for
this project."""

import json

from policyuniverse.policy import Policy
from policyuniverse.statement import Statement


def _load(event):
    doc = event.get("policy")
    if isinstance(doc, str):
        doc = json.loads(doc)
    try:
        return Policy(doc), None
    except AttributeError:
        return None, "AttributeError"
    except TypeError:
        return None, "TypeError"


def rule(event):
    policy, error = _load(event)
    if error:
        return error == event.get("expect_error")
    try:
        return policy.is_internet_accessible()
    except TypeError:
        return event.get("expect_error") == "TypeError in verdict"


def _verdict(statement):
    try:
        return statement.is_internet_accessible()
    except TypeError:
        return "TypeError"


def title(event):
    policy, error = _load(event)
    if error:
        return error
    parts = []
    for s in policy.statements:
        parts.append(
            f"{s.effect}:{s.is_condition_internet_accessible()}:{s.uses_not_principal()}:{_verdict(s)}"
        )
    return " | ".join(parts) or "no statements"


def alert_context(event):
    policy, error = _load(event)
    if error:
        return {"error": error}
    out = {"statements": []}
    for statement in policy.statements:
        entries = statement.condition_entries
        out["statements"].append(
            {
                "principals": sorted(statement.principals),
                "actions": sorted(statement.actions),
                "conditions": [repr(c) for c in entries],
                "categories": [c.category for c in entries],
                "values": [c.value for c in entries],
                "tuple": entries[0] == (entries[0][0], entries[0].value) if entries else None,
                "key": [getattr(c, "key", "none") for c in entries],
                "has": [hasattr(statement, "statement"), hasattr(statement, "effect"), hasattr(statement, "nope")],
                "raw_condition_keys": list(statement.statement.get("Condition", {}).keys()),
            }
        )
    out["all_principals"] = sorted(policy.principals)
    out["n_conditions"] = len(policy.condition_entries)
    out["direct"] = Statement({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:root"}}).is_internet_accessible()
    return out
