def rule(event):
    return event.get("user", "").expandtabs(4) == "root"
