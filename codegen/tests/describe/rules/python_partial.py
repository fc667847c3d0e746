def rule(event):
    if event.get("eventName") != "StopInstances":
        return False
    if event.get("errorCode"):
        return False
    return len(event.get("items") or []) > 1


def title(event):
    return f"{len(event.get('items') or [])} instances stopped"


def alert_context(event):
    return {"items": event.get("items")}
