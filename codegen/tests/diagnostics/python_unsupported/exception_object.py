import json


def rule(event):
    try:
        json.loads(event.get("payload"))
    except ValueError as err:
        return "Expecting" in str(err)
    return False
