from difflib import SequenceMatcher


def rule(event):
    return SequenceMatcher(lambda c: c == "-", "example.com", event.get("domain", "")).ratio() > 0.8
