def rule(event):
    # CPython evaluates `event["fallback"]` (and may raise) before looking at any item.
    return next((i for i in event.get("items", []) if i), event["fallback"])
