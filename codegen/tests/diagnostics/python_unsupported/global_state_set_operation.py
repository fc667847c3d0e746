SEEN = set()


def rule(event):
    global SEEN
    users = frozenset(event.get("users", []))
    SEEN = SEEN | users
    return len(SEEN) > 3
