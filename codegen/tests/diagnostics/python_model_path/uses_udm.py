def rule(event):
    return event.udm("first_user") == "root"
