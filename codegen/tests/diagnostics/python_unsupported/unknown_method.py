def rule(event):
    return event.get("user", "").encode("utf-8") == b"root"
