"""Fixture: lists, dicts and sets in module state (`global`), each built by the assignment that
stores it and only read elsewhere, kept from function to function and from test case to test
case, as CPython keeps them (written for this project). Outputs list sets sorted: CPython
iterates a set of strings in hash order."""

SEEN = set()
HISTORY = []
LAST = {}
COUNTS = None


def rule(event):
    # pylint: disable=global-statement
    global SEEN, HISTORY, LAST, COUNTS
    users = set(event.get("users", []))
    new = users - SEEN
    SEEN = SEEN | users
    HISTORY = HISTORY + [event.get("name", "?")]
    LAST = {"name": event.get("name"), "users": len(users), "new": tuple(sorted(new))}
    COUNTS = {u: len(u) for u in sorted(users)}
    if event.get("kind") == "skip":
        return False
    return len(SEEN) >= 3 or "root" in SEEN


def title(event):
    return f"{len(SEEN)} users after {HISTORY[-1]}: {', '.join(sorted(SEEN))}"


def dedup(event):
    return "-".join(HISTORY)


def severity(event):
    for name in HISTORY:
        if name == "critical":
            return "HIGH"
    if LAST.get("new"):
        return "MEDIUM"
    return "LOW"


def alert_context(event):
    return {
        "seen": sorted(SEEN),
        "history": list(HISTORY),
        "last": dict(LAST),
        "first": HISTORY[0] if HISTORY else None,
        "counts": [f"{k}={v}" for k, v in COUNTS.items()],
        "any_admin": any(u.startswith("admin") for u in SEEN),
        "copy": [*HISTORY],
        "has_root": "root" in SEEN and len(LAST) == 3,
    }
