"""Fixture: a rule() that lowers completely: any() over a constant's strings, a local read from
a nested field, bool() (written for this project)."""

ACTIONS = ["Add", "Delete"]


def rule(event):
    if event.get("errorCode"):
        return False
    policy = event.deep_get("requestParameters", "policyArn", default="NOT_FOUND")
    return (
        any(event.get("eventName", "").startswith(a) for a in ACTIONS)
        and policy.endswith("Admin")
        and bool(event.deep_get("userIdentity", "userName"))
    )


def title(event):
    return f"{event.get('eventName')} of {event.deep_get('requestParameters', 'policyArn')}"
