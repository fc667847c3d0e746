SEEN = None


def rule(event):
    global SEEN
    SEEN = [event.get("user")]
    return True


def title(event):
    return f"{SEEN}"
