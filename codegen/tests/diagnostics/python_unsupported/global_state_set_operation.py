SEEN = set()


def rule(event):
    global SEEN
    users = frozenset(event.get("users", []))
    SEEN = SEEN | users
    return len(SEEN) > 3


def alert_context(event):
    # The set itself goes into the context: kept by Panther past the call.
    return {"seen": SEEN}
