SEEN = None


def rule(event):
    global SEEN
    SEEN = [event.get("user")]
    return True


def title(event):
    # An alias: a change through it would show in SEEN in CPython, not in a copy.
    seen = SEEN
    seen.append("title")
    return f"{seen}"
