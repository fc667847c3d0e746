def rule(event):
    return event.get("user") in ALLOWED_USERS
