def rule(event):
    match event.get("user"):
        case "root":
            return True
        case name if name.startswith("admin"):
            return True
    return False
