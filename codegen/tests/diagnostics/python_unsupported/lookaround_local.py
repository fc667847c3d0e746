import re


def rule(event):
    pattern = r"admin(?!istrator)"
    return re.search(pattern, event.get("user", "")) is not None
