"""Fixture: a rule() whose lowered conditions filter events before it runs: a local read from a
nested field, and a lower-cased substring test, which the engine cannot decide alone since
Python raises on a list (written for this project)."""


def rule(event):
    flag = event.deep_get("requestParameters", "flag")
    if flag is not False:
        return False
    return "trufflehog" in event.get("userAgent", "").lower()
