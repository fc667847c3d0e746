import re


def rule(event):
    return re.search(r"admin(?!istrator)", event.get("user", "")) is not None
