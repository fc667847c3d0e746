def rule(event):
    with open("/etc/hosts") as f:
        return bool(f)
