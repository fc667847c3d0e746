def rule(event):
    match event.get("actors"):
        case "root":
            return True
        case [first, *_]:
            return first == "root"
    return False
