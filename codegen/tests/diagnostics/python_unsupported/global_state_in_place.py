SEEN = set()


def rule(event):
    global SEEN
    SEEN = set(event.get("users", []))
    return len(SEEN) > 3


def title(event):
    SEEN.add(event.get("user"))
    return f"{len(SEEN)} users"
