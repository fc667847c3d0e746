"""Fixture: module state (`global`), kept from function to function and from test case to test
case, as CPython keeps it (written for this project)."""

import re

STAGE_EXPR = re.compile(r"COPY\s+INTO\s+@([\w\.]+)", flags=re.I)

ACTOR = ""
STAGE = None
SEEN = 0
LAST_DEDUP = "<none yet>"
PAIR = ()


def rule(event):
    # pylint: disable=global-statement
    global ACTOR, STAGE, SEEN, PAIR
    SEEN += 1
    STAGE = STAGE_EXPR.match(event.get("query", ""))
    if event.get("kind") == "skip":
        return False
    if event.get("kind") == "risk":
        global RISK  # pylint: disable=global-variable-undefined
        RISK = event.get("risk", "low").lower()
    for actor in event.get("actors", []):
        if actor.startswith("admin"):
            ACTOR = actor
            PAIR = (actor, SEEN)
            return True
    return STAGE is not None


def title(event):
    # Reads the dedup string of the previous alert: dedup() runs after title().
    return f"[{ACTOR}] case {SEEN} after [{LAST_DEDUP}] pair {PAIR}"


def dedup(event):
    global LAST_DEDUP  # pylint: disable=global-statement
    LAST_DEDUP = f"{ACTOR}-{SEEN}"
    return LAST_DEDUP


def severity(event):
    # RISK is never assigned at module level: NameError until a "risk" event assigns it.
    if event.get("kind") == "risk" or event.get("ask_risk"):
        return RISK
    return "DEFAULT"


def alert_context(event):
    local_actor = event.get("local", "")
    actor = local_actor
    return {
        "stage": STAGE.group(1).lower() if STAGE else None,
        "whole": STAGE.group(0) if STAGE else None,
        "seen": SEEN,
        "local": actor,
        "pair": list(PAIR),
    }
